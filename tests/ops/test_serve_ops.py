"""``caserun serve`` as operators run it: JSON log lines with a request id, and SIGTERM
during a slow upload lets that upload finish before the process exits."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.store import migrate
from caserun.store.engine import Database

REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="shop" tests="2" failures="1">
  <testcase classname="shop.cart" name="adds" time="0.1"/>
  <testcase classname="shop.cart" name="pays" time="0.2"><failure message="declined">trace</failure></testcase>
</testsuite>
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reporter_token(data_dir: Path) -> str:
    data_dir.mkdir(parents=True)
    db = Database.from_url(f"sqlite:///{data_dir / 'caserun.db'}")
    try:
        migrate.upgrade(db.engine)
        projects.create(db, "web")
        return auth.create_token(db, project_key="web", role=Role.REPORTER).token
    finally:
        db.dispose()


def _serve(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASERUN_")}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "caserun",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--log-format",
            "json",
        ],
        env={**env, "CASERUN_SHUTDOWN_GRACE": "20"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)


def test_sigterm_lets_a_slow_upload_finish_and_logs_are_json(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    token = _reporter_token(data_dir)
    port = _port()
    server = _serve(data_dir, port)
    first_half_sent = threading.Event()
    signalled = threading.Event()
    boundary = "caserun-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="report"; filename="report.xml"\r\n'
        "Content-Type: application/xml\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head + REPORT[:60]
        first_half_sent.set()
        assert signalled.wait(20)
        time.sleep(1.0)  # the server is shutting down while the rest is still on its way
        yield REPORT[60:]
        yield f"\r\n--{boundary}--\r\n".encode()

    answer: dict[str, httpx.Response] = {}

    def upload() -> None:
        answer["response"] = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/projects/web/imports",
            content=body(),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "X-Request-ID": "upload-during-shutdown",
            },
            timeout=60,
        )

    try:
        sender = threading.Thread(target=upload)
        sender.start()
        assert first_half_sent.wait(20)
        time.sleep(0.3)  # the request has reached the server
        server.send_signal(signal.SIGTERM)
        signalled.set()
        sender.join(60)
        response = answer["response"]
        assert response.status_code == 201, response.text
        assert response.headers["x-request-id"] == "upload-during-shutdown"
        assert response.json()["launch"]["summary"]["total"] == 2
        # uvicorn re-raises the signal once it has shut down cleanly: "killed by SIGTERM"
        assert server.wait(30) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    assert server.stderr is not None
    with server.stderr:
        logs = server.stderr.read()
    records = [json.loads(line) for line in logs.splitlines() if line.strip()]  # every line is JSON
    access = [r for r in records if r["logger"] == "caserun.access"]
    upload_line = next(r for r in access if r.get("request_id") == "upload-during-shutdown")
    assert upload_line["method"] == "POST" and upload_line["path"] == "/api/v1/projects/web/imports"
    assert upload_line["status"] == 201 and upload_line["duration_ms"] >= 1000
    health = next(r for r in access if r["path"] == "/healthz")
    assert len(health["request_id"]) == 32 and health["status"] == 200  # made up when not sent
    assert any("shutdown" in r["message"].lower() for r in records)
    # the launch is there after a restart
    db = Database.from_url(f"sqlite:///{data_dir / 'caserun.db'}")
    try:
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT total, status FROM launch").all() == [(2, "completed")]
    finally:
        db.dispose()
