"""A live caserun server for the pytest plugin and ``caserun run``: uvicorn in a thread,
behind a switch that can take it down (503) and bring it back, and that can answer the
quarantine list. Plugin sessions run in a subprocess (``pytester.runpytest_subprocess``).

The server runs on SQLite only: the plugin's behaviour does not depend on the database,
and the event API tests cover both.

pytester restores ``sys.modules`` after each test, dropping what the test imported. A
module imported lazily inside one test (httpx imports httpcore on first use; ijson's C
backend caches its exception classes) would be imported afresh in the next one while
older objects still hold the first copy's classes, so ``except httpx.TransportError`` or
``except ijson.JSONError`` stop matching. ``_warm_up`` imports all of that here, before
any snapshot, so every test sees one copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from caserun.app import create_app
from caserun.cli import main as _cli_main  # noqa: F401 - imported before any pytester snapshot
from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.settings import Settings
from caserun.store.engine import Database


def _warm_up() -> None:
    from caserun.ingest import registry

    # loads httpcore and httpx's exception map
    with httpx.Client(timeout=0.5) as http, contextlib.suppress(httpx.TransportError):
        http.get(f"http://127.0.0.1:{free_port()}/")
    head = b'{"type": "launch.started", "launch": "x"}\n{"type": "launch.finished", "launch": "x"}\n'
    for parser in registry.parsers().values():  # every parser module and what it imports
        with contextlib.suppress(Exception):  # only the imports matter here
            parser.sniff(head, None)  # type: ignore[arg-type]


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "caserun.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


class Switch:
    """ASGI middleware: ``GET /__switch__/down`` makes every request a 503 until
    ``/__switch__/up``; ``quarantine`` (when set) answers the quarantine list."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.down = False
        self.quarantine: list[dict[str, Any]] | None = None
        self.requests = 0
        #: seconds every request is held before it is answered (a slow server)
        self.delay = 0.0

    async def _send(self, send: Send, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": data})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path.startswith("/__switch__/"):
                self.down = path.endswith("/down")
                return await self._send(send, 200, {"down": self.down})
            self.requests += 1
            waited = 0.0
            while waited < self.delay:
                await asyncio.sleep(0.05)
                waited += 0.05
            if self.down:
                return await self._send(send, 503, {"error": {"code": "unavailable", "message": "switched off"}})
            if self.quarantine is not None and path.endswith("/quarantine"):
                return await self._send(send, 200, {"items": self.quarantine, "next": None})
        await self.app(scope, receive, send)


class Server:
    def __init__(self, url: str, switch: Switch, token: str, admin: str) -> None:
        self.url = url
        self.switch = switch
        self.token = token
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=30)

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def launches(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get("/api/v1/projects/web/launches")["items"]
        return items

    def runs(self, launch_id: int, attempts: str = "final") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get(f"/api/v1/launches/{launch_id}/case-runs", attempts=attempts, limit=500)[
            "items"
        ]
        return items

    def by_name(self, launch_id: int) -> dict[str, dict[str, Any]]:
        return {
            run["name"] + (f"[{run['parameters']}]" if run["parameters"] else ""): run for run in self.runs(launch_id)
        }


@pytest.fixture
def server(settings: Settings, db: Database) -> Iterator[Server]:
    projects.create(db, "web", "Web shop")
    token = auth.create_token(db, project_key="web", role=Role.REPORTER).token
    admin = auth.create_token(db, project_key="web", role=Role.ADMIN).token
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    switch = Switch(create_app(settings, database=db))
    config = uvicorn.Config(switch, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    live = Server(f"http://127.0.0.1:{port}", switch, token, admin)
    yield live
    live.http.close()
    switch.delay = 0.0
    uv.should_exit = True
    thread.join(10)


@pytest.fixture
def reporting(server: Server, monkeypatch: pytest.MonkeyPatch) -> Server:
    """The environment a CI job sets for ``pytest --caserun``."""
    monkeypatch.setenv("CASERUN_URL", server.url)
    monkeypatch.setenv("CASERUN_TOKEN", server.token)
    monkeypatch.setenv("CASERUN_PROJECT", "web")
    for name in ("CASERUN_LAUNCH", "CASERUN_LAUNCH_NAME", "CASERUN_ENVIRONMENT", "CASERUN_SPOOL"):
        monkeypatch.delenv(name, raising=False)
    return server


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_warm_up()
