"""Launches left running by a dead reporter are finished as stopped after the inactivity
timeout: by ``sweep`` with a fake clock, from two processes at once, by the server's
background task, and by ``caserun db sweep``."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caserun.app import create_app
from caserun.errors import ConfigError
from caserun.service import sweeper
from caserun.settings import Settings, parse_duration
from caserun.store.engine import Database
from tests.ops.helpers import launch, send

HOUR = 3600.0


def later(hours: float) -> sweeper.Clock:
    moment = datetime.now(UTC) + timedelta(hours=hours)
    return lambda: moment


def show(client: TestClient, launch_id: int) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/launches/{launch_id}").json()
    return body


def runs(client: TestClient, launch_id: int) -> dict[str, dict[str, Any]]:
    items = client.get(f"/api/v1/launches/{launch_id}/case-runs").json()["items"]
    return {r["name"]: r for r in items}


def test_a_quiet_running_launch_is_stopped_after_the_timeout(client: TestClient, db: Database) -> None:
    dead = launch(client, "dead reporter", finish=False, running=1)
    done = launch(client, "finished")
    assert sweeper.sweep(db, 2 * HOUR, clock=later(1.5)) == []  # not quiet for long enough
    assert show(client, dead)["status"] == "running"

    stopped = sweeper.sweep(db, 2 * HOUR, clock=later(2.5))

    assert [s.id for s in stopped] == [dead]
    body = show(client, dead)
    assert body["status"] == "stopped"
    # it finished when it last did something, not hours later when the sweeper noticed
    finished = datetime.fromisoformat(body["finished_at"])
    assert finished - datetime.fromisoformat(body["started_at"]) < timedelta(minutes=5)
    assert body["summary"]["running"] == 0
    by_name = runs(client, dead)
    assert by_name["slow0"]["status"] == "skipped"
    assert (by_name["ok"]["status"], by_name["broken"]["status"]) == ("passed", "failed")
    detail = client.get(f"/api/v1/case-runs/{by_name['slow0']['id']}").json()
    assert any("stopped" in w for w in detail.get("warnings") or []), detail.get("warnings")
    assert show(client, done)["status"] == "completed"  # finished launches are left alone
    assert sweeper.sweep(db, 2 * HOUR, clock=later(5)) == []  # and it is stopped once


def test_a_launch_with_recent_case_runs_is_not_stale(client: TestClient, db: Database) -> None:
    busy = launch(client, "long suite", finish=False)
    recent = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    send(
        client,
        {
            "type": "case_run.started",
            "launch_id": busy,
            "id": "late",
            "test": {"suite": "shop", "name": "late"},
            "started_at": recent,
        },
    )
    assert sweeper.sweep(db, 2 * HOUR, clock=later(3)) == []
    assert show(client, busy)["status"] == "running"
    assert [s.id for s in sweeper.sweep(db, 2 * HOUR, clock=later(4.5))] == [busy]


def test_two_sweepers_at_once_stop_each_launch_once(client: TestClient, db: Database, settings: Settings) -> None:
    ids = {launch(client, f"crashed {i}", finish=False, running=1) for i in range(6)}
    other = Database.from_url(settings.db_url)  # a second server process has its own engine
    try:
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda d: sweeper.sweep(d, HOUR, clock=later(2)), [db, other]))
    finally:
        other.dispose()
    stopped = [s.id for r in results for s in r]
    assert sorted(stopped) == sorted(ids)  # every launch exactly once, whichever process won
    assert all(show(client, i)["status"] == "stopped" for i in ids)


def test_the_server_sweeps_in_the_background(settings: Settings, db: Database, tokens: dict[str, str]) -> None:
    quick = replace(settings, inactivity_timeout_s=1, sweep_interval_s=0.2)
    with TestClient(create_app(quick, database=db), base_url="http://caserun.test") as client:
        client.headers["Authorization"] = f"Bearer {tokens['reporter']}"
        dead = launch(client, "killed", finish=False, running=1)
        deadline = time.monotonic() + 15
        while show(client, dead)["status"] == "running":
            assert time.monotonic() < deadline, "the background sweeper never stopped the launch"
            time.sleep(0.2)
        assert show(client, dead)["status"] == "stopped"


def test_the_sweeper_is_off_when_the_timeout_is_zero(client: TestClient, db: Database) -> None:
    dead = launch(client, "kept running", finish=False)
    assert sweeper.sweep(db, 0, clock=later(1000)) == []
    assert show(client, dead)["status"] == "running"


def test_durations_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [parse_duration(t) for t in ("7200", "90m", "2h", "1d", "30s")] == [7200, 5400, 7200, 86400, 30]
    monkeypatch.setenv("CASERUN_STALE_AFTER", "45m")
    assert Settings.from_env().inactivity_timeout_s == 2700
    monkeypatch.setenv("CASERUN_STALE_AFTER", "soon")
    with pytest.raises(ConfigError, match="CASERUN_STALE_AFTER='soon'"):
        Settings.from_env()
    monkeypatch.delenv("CASERUN_STALE_AFTER")
    assert Settings.from_env().inactivity_timeout_s == 2 * 3600
