"""Fixtures for the web UI: a signed-in browser client, two launches worth comparing, and a
real uvicorn server (SQLite) for the browser test."""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from caserun.app import create_app
from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.settings import Settings
from caserun.store.engine import Database
from tests.conftest import post_report


def sign_in(client: TestClient, db: Database, project_key: str | None = "web", role: Role = Role.VIEWER) -> None:
    """Sign ``client`` in through a one-time link, as a browser would."""
    issued = auth.create_token(db, project_key=project_key, role=role)
    code = auth.create_login_code(db, issued.id)
    response = client.get(f"/login/{code}", follow_redirects=False)
    assert response.status_code == 303, response.text


@pytest.fixture
def browser(app_client: TestClient, db: Database, project: projects.Project) -> TestClient:
    """The app client, signed in as a viewer of project ``web``."""
    sign_in(app_client, db)
    return app_client


@pytest.fixture
def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['reporter']}"}


def png(width: int = 4, height: int = 3) -> bytes:
    """A tiny valid PNG (solid green)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x20\xa0\x50" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def junit(path: Path, cases: str) -> Path:
    path.write_text(f'<?xml version="1.0" encoding="utf-8"?>\n<testsuite name="shop">{cases}</testsuite>')
    return path


BASELINE = """
<testcase classname="shop.Auth" name="test_login" time="1.5"/>
<testcase classname="shop.Cart" name="test_checkout" time="2"/>
<testcase classname="shop.Search" name="test_search" time="3">
  <failure message="search timed out" type="TimeoutError">Traceback: search</failure>
</testcase>
<testcase classname="shop.Old" name="test_gone" time="0.2"/>
"""

CURRENT = """
<testcase classname="shop.Auth" name="test_login" time="1.25">
  <properties><property name="browser" value="chromium"/><property name="os" value="linux"/></properties>
  <system-out>logged in as alice
[[ATTACHMENT|shots/login.png]]
[[ATTACHMENT|logs/server.log]]
[[ATTACHMENT|missing/nowhere.png]]
</system-out>
  <system-err>warning: slow font load</system-err>
</testcase>
<testcase classname="shop.Cart" name="test_checkout" time="754">
  <failure message="expected total 3 but was 4" type="AssertionError">Traceback (most recent call last):
  File "cart.py", line 12, in test_checkout
AssertionError: expected total 3 but was 4</failure>
</testcase>
<testcase classname="shop.Search" name="test_search" time="4">
  <flakyFailure message="search timed out once" type="TimeoutError">
    <stackTrace>trace of the flaky attempt</stackTrace>
  </flakyFailure>
</testcase>
<testcase classname="shop.New" name="test_arrives" time="0.1"><skipped message="not ready"/></testcase>
"""


@dataclass(frozen=True)
class Launches:
    baseline: int
    current: int


def upload(client: TestClient, path: Path, headers: dict[str, str], **fields: str) -> int:
    attachments = {"shots/login.png": png(), "logs/server.log": b"GET /login 200\n"}
    response = post_report(client, path, attachments=attachments, headers=headers, **fields)
    assert response.status_code == 201, response.text
    return int(response.json()["launch"]["id"])


@pytest.fixture
def launches(browser: TestClient, bearer: dict[str, str], tmp_path: Path) -> Launches:
    """Two launches of ``web`` on main/staging: a baseline and one that compares against it."""
    common = {"branch": "main", "environment": "staging"}
    baseline = upload(browser, junit(tmp_path / "base.xml", BASELINE), bearer, name="Nightly 1", **common)
    current = upload(
        browser,
        junit(tmp_path / "current.xml", CURRENT),
        bearer,
        name="Nightly 2",
        commit="0a1b2c3d",
        build_url="https://ci.example.com/builds/2",
        **common,
    )
    return Launches(baseline, current)


# -- a real server for the browser test --------------------------------------------------


@dataclass(frozen=True)
class LiveServer:
    url: str
    db: Database
    settings: Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """caserun served by uvicorn on a free 127.0.0.1 port, in a background thread (SQLite)."""
    port = _free_port()
    settings = Settings(
        data_dir=tmp_path / "live", database_url=f"sqlite:///{tmp_path / 'live.db'}", port=port, host="127.0.0.1"
    )
    db = Database.from_url(settings.db_url)
    config = uvicorn.Config(
        create_app(settings, database=db), host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="caserun-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", db, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- the demo project (planted flaky, broken, slow and renamed tests) ---------------------


@pytest.fixture
def demo(app_client: TestClient, db: Database, settings: Settings) -> TestClient:
    """The app client signed in as a viewer of the seeded ``demo`` project."""
    from caserun.service import demo as demo_data

    assert demo_data.seed(db, settings.blob_dir)
    sign_in(app_client, db, project_key="demo")
    return app_client


def find_test_id(client: TestClient, full_name: str, project: str = "demo") -> int:
    found = client.get(f"/api/v1/projects/{project}/tests", params={"q": full_name}).json()
    exact = [t for t in found if t["full_name"] == full_name]
    assert len(exact) == 1, found
    return int(exact[0]["id"])
