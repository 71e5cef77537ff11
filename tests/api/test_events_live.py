"""The event endpoint under real conditions, on SQLite and PostgreSQL: NDJSON bodies with
bad lines, shards racing to create one launch, launches that stop with tests still
running or whose reporter was killed, and the live feed served by another server
process than the one taking the events, watched by a real browser."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from caserun.domain.model import Role
from caserun.ingest import events as schema
from caserun.service import auth
from caserun.service import events as events_service
from caserun.settings import Settings
from caserun.store.engine import Database
from tests.api.test_events import URL, codes, finished, run_finished, run_started, send, sse, started

CHROMIUM = Path("/usr/bin/chromium")


def test_ndjson_body_answers_each_line_and_a_bad_line_alone(client: TestClient) -> None:
    lines = [
        json.dumps(started("N1")),
        "",
        json.dumps(run_started("a", "test_a", launch="N1")),
        '{"type": "case_run.finished", "launch": "N1", "id": "a", "status": "pas',
        json.dumps(run_finished("b", "passed", launch="N1", test={"name": "test_b"})),
        "[1, 2]",
    ]
    response = client.post(URL, content="\n".join(lines).encode(), headers={"content-type": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["index"], r["status"], r["code"]) for r in results] == [
        (0, 201, "created"),
        (2, 201, "created"),
        (3, 422, "invalid_input"),
        (4, 201, "created"),
        (5, 422, "invalid_input"),
    ]
    assert results[2]["message"].startswith("line 4 is not JSON")
    assert results[4]["message"] == "an event is a JSON object"
    launch = client.get(f"/api/v1/launches/{results[0]['launch_id']}").json()
    assert launch["summary"]["total"] == 2 and launch["summary"]["running"] == 1  # the bad line changed nothing


def test_shards_racing_to_start_one_launch_make_one_launch(client: TestClient) -> None:
    """Shards of a CI job start at the same moment and all send ``launch.started`` with the
    same client id. On PostgreSQL the requests really overlap: the loser of the race on the
    unique key retries and joins the launch the winner created, instead of answering 409
    and losing its case runs."""
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    reporter = auth.authenticate(ctx.db, client.headers["Authorization"].split()[1])
    shards = 8
    barrier = threading.Barrier(shards)
    answers: list[list[events_service.Outcome]] = [[] for _ in range(shards)]

    def shard(n: int) -> None:
        batch = [
            started("build-77", name="CI #77"),
            run_finished(f"s{n}", "passed", launch="build-77", test={"suite": "shard", "name": f"test_{n}"}),
        ]
        items = [(i, schema.parse_event(e)) for i, e in enumerate(batch)]
        barrier.wait()
        answers[n] = events_service.apply(
            ctx.db, ctx.blobs, reporter, "web", items, base_url="http://x", max_attachment_bytes=10**6
        )

    threads = [threading.Thread(target=shard, args=(n,)) for n in range(shards)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    flat = [o for outcomes in answers for o in outcomes]
    assert len(flat) == 2 * shards and all(o.ok for o in flat), [(o.status, o.message) for o in flat if not o.ok]
    assert sorted(o.code for o in flat if o.index == 0) == ["created"] + ["duplicate"] * (shards - 1)
    [launch] = client.get("/api/v1/projects/web/launches").json()["items"]
    assert launch["summary"]["total"] == shards


def test_a_stopped_launch_leaves_no_test_running(client: TestClient) -> None:
    [launch] = send(client, started())
    send(client, run_started("r1", "test_done"), run_finished("r1", "passed"), run_started("r2", "test_cut"))
    results = send(client, finished(status="stopped"))
    assert codes(results) == [(200, "finished")]
    body = client.get(f"/api/v1/launches/{launch['launch_id']}").json()
    assert body["status"] == "stopped"
    assert {k: body["summary"][k] for k in ("total", "passed", "skipped", "running")} == {
        "total": 2,
        "passed": 1,
        "skipped": 1,
        "running": 0,
    }
    runs = client.get(f"/api/v1/launches/{launch['launch_id']}/case-runs").json()["items"]
    cut = next(r for r in runs if r["name"] == "test_cut")
    detail = client.get(f"/api/v1/case-runs/{cut['id']}").json()
    assert detail["warnings"] == ["the launch was stopped before this test finished"]


def test_a_killed_reporter_leaves_a_stale_launch_that_can_still_be_finished(client: TestClient) -> None:
    [launch] = send(client, started())
    send(client, run_started("r1", "test_hangs"))  # ... and the reporter is killed (kill -9)
    url = f"/api/v1/launches/{launch['launch_id']}/stream"
    fresh = sse(client.get(url, params={"timeout": 0.2, "interval": 0.1}).text)
    assert fresh[0][0] == "progress" and fresh[0][1]["stale"] is False and fresh[0][1]["last_activity_at"]
    time.sleep(0.3)
    quiet = sse(client.get(url, params={"timeout": 0.2, "interval": 0.1, "stale_after": 0.25}).text)
    assert quiet[0][0] == "progress" and quiet[0][1]["stale"] is True and quiet[0][1]["status"] == "running"

    # whoever notices finishes it, by its server id, and the feed ends
    ref = {"type": "launch.finished", "launch_id": launch["launch_id"], "status": "stopped"}
    assert codes(send(client, ref)) == [(200, "finished")]
    done = sse(client.get(url, params={"stale_after": 0.25}).text)
    assert done[-1][0] == "end" and done[-1][1]["status"] == "stopped" and done[-1][1]["stale"] is False
    assert done[-1][1]["summary"]["running"] == 0


# several server processes, one database, one browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """``caserun serve`` in its own process."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CASERUN_DATABASE_URL": settings.db_url, "CASERUN_DATA_DIR": str(settings.data_dir)}
        env["CASERUN_PUBLIC_URL"] = self.url
        self.log = (folder / f"serve-{self.port}.log").open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 - our own command
            [sys.executable, "-m", "caserun", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, (folder / f"serve-{self.port}.log").read_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "caserun serve did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def two_servers(settings: Settings, db: Database, tokens: dict[str, str], tmp_path: Path) -> Iterator[list[Process]]:
    servers: list[Process] = []
    try:
        servers = [Process(settings, tmp_path), Process(settings, tmp_path)]
        yield servers
    finally:
        for server in servers:
            server.stop()


def _post(server: Process, token: str, *events: dict[str, Any]) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{server.url}{URL}", json={"events": list(events)}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    assert all(r["status"] < 400 for r in results), results
    return results


def test_feed_from_one_process_shows_events_taken_by_another(
    two_servers: list[Process], tokens: dict[str, str]
) -> None:
    """No process memory: events posted to process A reach a watcher of process B."""
    taker, feeder = two_servers
    reporter = tokens["reporter"]
    [launch] = _post(taker, reporter, started())
    seen: list[tuple[str, Any]] = []
    url = f"{feeder.url}/api/v1/launches/{launch['launch_id']}/stream"

    def watch() -> None:
        headers = {"Authorization": f"Bearer {tokens['viewer']}"}
        with httpx.stream("GET", url, params={"interval": 0.1}, headers=headers, timeout=30) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            buffer = ""
            for chunk in response.iter_text():
                buffer += chunk
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    seen.extend((e, d) for e, d, _ in sse(block + "\n\n"))
                    if seen and seen[-1][0] == "end":
                        return

    watcher = threading.Thread(target=watch)
    watcher.start()
    _wait(lambda: len(seen) >= 1)
    _post(taker, reporter, run_started("r1", "test_live"))
    _wait(lambda: any(e == "case_run" and d["status"] == "running" for e, d in seen))
    _post(taker, reporter, run_finished("r1", "failed", failure={"message": "boom"}), finished())
    watcher.join(30)
    assert not watcher.is_alive()
    kinds = [(e, d.get("status")) for e, d in seen]
    assert ("case_run", "running") in kinds and ("case_run", "failed") in kinds
    assert kinds[-1] == ("end", "completed")


def _wait(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_signed_in_browser_follows_the_feed_of_another_process(
    two_servers: list[Process], tokens: dict[str, str], db: Database
) -> None:
    """A real browser's ``EventSource``, signed in by session cookie on process B, sees the
    case runs a reporter posts to process A as they happen."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (install Debian's chromium: make browsers)")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    taker, feeder = two_servers
    reporter = tokens["reporter"]
    [launch] = _post(taker, reporter, started(name="watched"))
    viewer = auth.create_token(db, project_key="web", role=Role.VIEWER)
    code = auth.create_login_code(db, viewer.id)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(f"{feeder.url}/login/{code}")
            page.evaluate(
                """url => {
                    window.seen = [];
                    const source = new EventSource(url);
                    for (const kind of ["progress", "case_run", "end"]) {
                        source.addEventListener(kind, e => {
                            const data = JSON.parse(e.data);
                            window.seen.push([kind, data.name || null, data.status, e.lastEventId]);
                            if (kind === "end") source.close();
                        });
                    }
                    source.onerror = () => window.seen.push(["error", null, null, null]);
                }""",
                f"/api/v1/launches/{launch['launch_id']}/stream?interval=0.1",
            )
            # (wait_for_function evaluates strings, which the pages' CSP forbids: poll instead)
            _wait(lambda: page.evaluate("window.seen.length") >= 1)
            runs = _post(taker, reporter, run_started("r1", "test_checkout"))
            _wait(lambda: page.evaluate("window.seen.some(s => s[0] === 'case_run')"))
            _post(taker, reporter, run_finished("r1", "passed"), finished())
            _wait(lambda: page.evaluate("window.seen.some(s => s[0] === 'end')"))
            seen = page.evaluate("window.seen")
        finally:
            browser.close()
    assert ["error", None, None, None] not in seen
    run_id = str(runs[0]["case_run_id"])
    assert ["case_run", "test_checkout", "running", run_id] in seen
    assert ["case_run", "test_checkout", "passed", run_id] in seen
    assert seen[0][0] == "progress" and seen[-1][:3] == ["end", None, "completed"]


def test_the_feed_calls_a_launch_stale_when_the_sweeper_would_stop_it(tmp_path: Path) -> None:
    from caserun.service import live
    from caserun.settings import Settings

    assert live.stale_after(Settings(data_dir=tmp_path, inactivity_timeout_s=600)) == 600
    # with the sweeper off, the feed still marks silence, after its own default
    assert live.stale_after(Settings(data_dir=tmp_path, inactivity_timeout_s=0)) == live.STALE_AFTER_S
