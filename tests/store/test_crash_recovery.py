"""SIGKILL the server while uploads and live events stream in; what it acknowledged survives.

A real ``caserun serve`` process takes report uploads and live event batches from client
threads. At random moments it is killed with SIGKILL (no shutdown code runs), restarted on
the same database, and the clients go on. At the end every acknowledged import is there
whole (completed, every case run), every acknowledged live case run is there, and no
import is half-written: an import launch either has all its case runs or does not exist.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select

from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.settings import Settings
from caserun.store.engine import Database
from caserun.store.tables import case_run, launch

KILLS = int(os.environ.get("CASERUN_CRASH_KILLS", "3"))
TESTS_PER_REPORT = 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, db_url: str, port: int) -> subprocess.Popen[bytes]:
    """``caserun serve`` on the port; its log is appended to ``server.log`` in the data directory."""
    env = {**os.environ, "CASERUN_DATABASE_URL": db_url, "CASERUN_DATA_DIR": str(data_dir)}
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "server.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "caserun", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("server did not start")


def junit(name: str, tests: int) -> bytes:
    cases = "".join(
        f'<testcase classname="crash.{name}" name="test_{i}" time="0.01">'
        + ('<failure message="boom">trace</failure>' if i % 7 == 0 else "")
        + "</testcase>"
        for i in range(tests)
    )
    return f'<?xml version="1.0"?><testsuite name="{name}" tests="{tests}">{cases}</testsuite>'.encode()


@dataclass
class Acknowledged:
    imports: dict[str, int] = field(default_factory=dict)  # idempotency key -> launch id
    live_runs: set[str] = field(default_factory=set)  # case run client ids answered created/duplicate
    server_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def uploader(base: str, token: str, stop: threading.Event, ack: Acknowledged, seed: int) -> None:
    rng = random.Random(seed)
    number = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        while not stop.is_set():
            number += 1
            key = f"up-{seed}-{number}"
            body = junit(key, TESTS_PER_REPORT)
            while not stop.is_set():  # retried with the same key until acknowledged
                try:
                    answer = client.post(
                        "/api/v1/projects/web/imports",
                        files=[("report", (f"{key}.xml", body))],
                        headers={"Idempotency-Key": key},
                    )
                except httpx.HTTPError:
                    time.sleep(rng.uniform(0.05, 0.2))
                    continue
                if answer.status_code >= 500:
                    with ack.lock:
                        ack.server_errors.append(answer.text)
                if answer.status_code in (200, 201):
                    with ack.lock:
                        ack.imports[key] = answer.json()["launch"]["id"]
                    break
                time.sleep(0.05)


def reporter(base: str, token: str, stop: threading.Event, ack: Acknowledged, seed: int) -> None:
    launch_id = f"live-{seed}"
    number = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        started = False
        while not stop.is_set():
            batch = [] if started else [{"type": "launch.started", "launch": launch_id, "name": launch_id}]
            ids = [f"{launch_id}-{number + i}" for i in range(5)]
            batch += [
                {
                    "type": "case_run.finished",
                    "launch": launch_id,
                    "id": run_id,
                    "status": "passed",
                    "test": {"suite": "live", "name": run_id},
                }
                for run_id in ids
            ]
            try:
                answer = client.post("/api/v1/projects/web/events", json={"events": batch})
            except httpx.HTTPError:
                time.sleep(0.05)
                continue
            if answer.status_code >= 500:
                with ack.lock:
                    ack.server_errors.append(answer.text)
                continue
            if answer.status_code != 200:
                continue
            results = answer.json()["results"]
            created = [r for r in results if r["status"] in (200, 201)]
            with ack.lock:
                for result in created:
                    if result["case_run_id"] is not None:
                        ack.live_runs.add(batch[result["index"]]["id"])
            if len(created) == len(batch):
                started = True
                number += 5


def _final_counts(db: Database) -> dict[int, int]:
    with db.read() as conn:
        rows = conn.execute(
            select(case_run.c.launch_id, func.count()).where(case_run.c.is_final).group_by(case_run.c.launch_id)
        ).all()
    return {int(launch_id): int(n) for launch_id, n in rows}


def test_killed_server_keeps_every_acknowledged_case_run_and_no_half_import(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    projects.create(db, "web")
    token = auth.create_token(db, project_key="web", role=Role.REPORTER).token
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(os.environ.get("CASERUN_CRASH_SEED", "7"))
    ack = Acknowledged()
    stop = threading.Event()
    server = start_server(settings.data_dir, settings.db_url, port)
    workers = [threading.Thread(target=uploader, args=(base, token, stop, ack, n)) for n in range(2)]
    workers += [threading.Thread(target=reporter, args=(base, token, stop, ack, 100 + n)) for n in range(2)]
    for worker in workers:
        worker.start()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.5, 2.0))
            server.send_signal(signal.SIGKILL)
            server.wait()
            server = start_server(settings.data_dir, settings.db_url, port)
        time.sleep(1.0)
    finally:
        stop.set()
        for worker in workers:
            worker.join(60)
        server.terminate()
        server.wait(10)

    assert not ack.server_errors, ack.server_errors[:3]
    assert ack.imports, "no upload was acknowledged: the test proved nothing"
    assert ack.live_runs, "no live event was acknowledged: the test proved nothing"
    finals = _final_counts(db)
    with db.read() as conn:
        launches = conn.execute(select(launch.c.id, launch.c.idempotency_key, launch.c.status, launch.c.total)).all()
        live = set(conn.execute(select(case_run.c.client_id).where(case_run.c.client_id.is_not(None))).scalars())
    by_key = {row.idempotency_key: row for row in launches}
    for key, launch_id in ack.imports.items():
        row = by_key.get(key)
        assert row is not None and row.id == launch_id, f"acknowledged import {key} is gone"
    for row in launches:
        if row.idempotency_key and row.idempotency_key.startswith("up-"):
            assert row.status == "completed", f"import {row.idempotency_key} left {row.status}"
            assert row.total == TESTS_PER_REPORT
            assert finals.get(row.id) == TESTS_PER_REPORT, f"import {row.idempotency_key} is half-written"
    missing = ack.live_runs - live
    assert not missing, f"{len(missing)} acknowledged live case runs are gone, e.g. {sorted(missing)[:3]}"
