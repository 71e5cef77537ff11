"""An import is all or nothing: a failure half-way, or a killed server, leaves no partial launch."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from bench.junit_gen import generate
from sqlalchemy import func, select

from caserun.domain.model import Role
from caserun.errors import ParseError
from caserun.service import auth, imports, projects
from caserun.service.launches import LaunchParams
from caserun.settings import Settings
from caserun.store.blobs import FileBlobStore
from caserun.store.engine import Database
from caserun.store.tables import case_run, launch, test_case


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in (launch, test_case, case_run)
        )


def test_an_error_after_thousands_of_rows_rolls_everything_back(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    projects.create(db, "web")
    report = tmp_path / "big.xml"
    generate(report, 5000)
    text = report.read_text()
    report.write_text(text[: int(len(text) * 0.8)])  # truncated: fails after ~4,000 tests were written
    who = auth.Principal(token_id=0, role=Role.ADMIN, project_id=None)
    with pytest.raises(ParseError):
        imports.import_reports(
            db,
            FileBlobStore(settings.blob_dir),
            who,
            "web",
            [imports.ReportFile(report, report.name)],
            {},
            LaunchParams(),
            base_url="",
            max_attachment_bytes=1000,
        )
    assert counts(db) == (0, 0, 0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(data_dir: Path, db_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CASERUN_DATABASE_URL": db_url, "CASERUN_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "caserun", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


def test_killing_the_server_during_an_upload_leaves_no_partial_launch(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    projects.create(db, "web")
    secret = auth.create_token(db, project_key="web", role=Role.REPORTER).token
    report = tmp_path / "big.xml"
    generate(report, 30_000)
    port = _free_port()
    server = _start(settings.data_dir, settings.db_url, port)
    outcome: list[object] = []
    sent = threading.Event()

    class Watched:
        """The report as a stream that says when the last byte has gone out."""

        def __init__(self) -> None:
            self.stream = report.open("rb")

        def read(self, size: int = -1) -> bytes:
            chunk = self.stream.read(size)
            if not chunk:
                sent.set()
            return chunk

    body = Watched()

    def upload() -> None:
        try:
            outcome.append(
                httpx.post(
                    f"http://127.0.0.1:{port}/api/v1/projects/web/imports",
                    files=[("report", ("big.xml", body))],
                    headers={"Authorization": f"Bearer {secret}"},
                    timeout=120,
                )
            )
        except httpx.HTTPError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=upload)
    thread.start()
    assert sent.wait(60)
    time.sleep(0.5)  # the server is now parsing and writing 30,000 case runs (several seconds)
    server.send_signal(signal.SIGKILL)
    server.wait()
    thread.join()
    body.stream.close()
    assert isinstance(outcome[0], httpx.HTTPError), "the upload was acknowledged before the kill"
    restarted = _start(settings.data_dir, settings.db_url, port)
    try:
        assert counts(db) == (0, 0, 0)
    finally:
        restarted.terminate()
        restarted.wait(10)
