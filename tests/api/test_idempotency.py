"""A retried write creates its data once: ``Idempotency-Key`` on launches and imports, client
ids on events, and the key the CLI derives from file contents and launch parameters."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caserun.cli.upload import LocalReport, idempotency_key, inspect
from caserun.store import launches as store_launches
from caserun.store.engine import Database
from caserun.store.tables import case_run, launch
from tests.conftest import post_report


def count(db: Database, table: object) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_retried_upload_with_the_same_key_creates_exactly_one_launch(
    client: TestClient, junit_report: Path, db: Database
) -> None:
    answers = [post_report(client, junit_report, headers={"Idempotency-Key": "ci-42"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert len({a.json()["launch"]["id"] for a in answers}) == 1
    assert count(db, launch) == 1
    assert count(db, case_run) == answers[0].json()["launch"]["summary"]["total"]


def test_concurrent_retries_with_one_key_create_one_launch_and_no_server_error(
    client: TestClient, junit_report: Path, db: Database
) -> None:
    """A client that times out and retries while the first request is still running."""
    statuses: list[int] = []

    def send() -> None:
        statuses.append(post_report(client, junit_report, headers={"Idempotency-Key": "race"}).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses.count(201) == 1, statuses
    assert sorted(statuses) == [200, 200, 200, 201], "the losers of the race answer the winner's launch"
    assert count(db, launch) == 1


@pytest.mark.parametrize("route", ["imports", "launches"])
def test_the_loser_of_a_race_on_one_key_answers_the_winners_launch(
    client: TestClient, junit_report: Path, db: Database, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """On PostgreSQL two requests with one key can both miss the look-up before either
    commits; the loser's insert then hits the unique key. Replayed here deterministically:
    the look-up misses once although the winner's launch is there."""

    def send() -> Any:
        headers = {"Idempotency-Key": "raced"}
        if route == "imports":
            return post_report(client, junit_report, headers=headers)
        return client.post("/api/v1/projects/web/launches", json={"name": "raced"}, headers=headers)

    winner = send()
    assert winner.status_code == 201
    real = store_launches.by_idempotency_key
    misses = [None]

    def late(*args: Any) -> Any:
        return misses.pop() if misses else real(*args)

    monkeypatch.setattr(store_launches, "by_idempotency_key", late)
    loser = send()
    assert not misses, "the look-up was raced"
    assert loser.status_code in (200, 201), loser.text
    body = loser.json()
    assert (body["launch"]["id"] if route == "imports" else body["id"]) == (
        winner.json()["launch"]["id"] if route == "imports" else winner.json()["id"]
    )
    assert count(db, launch) == 1


def test_the_same_key_in_another_project_is_another_launch(
    client: TestClient, junit_report: Path, db: Database, tokens: dict[str, str]
) -> None:
    client.headers["Authorization"] = f"Bearer {tokens['instance']}"
    assert client.post("/api/v1/projects", json={"key": "api"}).status_code == 201
    first = post_report(client, junit_report, "web", headers={"Idempotency-Key": "k"})
    other = post_report(client, junit_report, "api", headers={"Idempotency-Key": "k"})
    assert (first.status_code, other.status_code) == (201, 201)
    assert count(db, launch) == 2


def test_creating_a_launch_twice_with_one_key_returns_the_first(client: TestClient, db: Database) -> None:
    body = {"name": "nightly", "environment": "staging"}
    first = client.post("/api/v1/projects/web/launches", json=body, headers={"Idempotency-Key": "start-1"})
    again = client.post("/api/v1/projects/web/launches", json=body, headers={"Idempotency-Key": "start-1"})
    assert first.status_code == 201
    assert again.status_code in (200, 201)
    assert again.json()["id"] == first.json()["id"]
    assert count(db, launch) == 1


def test_an_overlong_key_is_refused_with_a_clear_error(client: TestClient, junit_report: Path, db: Database) -> None:
    answer = post_report(client, junit_report, headers={"Idempotency-Key": "k" * 129})
    assert answer.status_code == 422
    assert "idempotency" in answer.json()["error"]["message"].lower()
    assert count(db, launch) == 0


def test_resent_events_create_each_case_run_once(client: TestClient, db: Database) -> None:
    batch = {
        "events": [
            {"type": "launch.started", "launch": "L1", "name": "live"},
            {"type": "case_run.started", "launch": "L1", "id": "r1", "test": {"name": "test_a"}},
            {"type": "case_run.finished", "launch": "L1", "id": "r1", "status": "passed", "test": {"name": "test_a"}},
        ]
    }
    for _ in range(3):
        answer = client.post("/api/v1/projects/web/events", json=batch)
        assert answer.status_code < 300, answer.text
    assert count(db, launch) == 1
    assert count(db, case_run) == 1


def test_a_different_payload_with_a_used_key_is_refused(
    client: TestClient, junit_report: Path, tmp_path: Path, db: Database
) -> None:
    other = tmp_path / "other.xml"
    other.write_text('<testsuite name="s"><testcase classname="c" name="another"/></testsuite>')
    assert post_report(client, junit_report, headers={"Idempotency-Key": "reused"}).status_code == 201
    answer = post_report(client, other, headers={"Idempotency-Key": "reused"})
    assert answer.status_code == 409
    message = answer.json()["error"]["message"]
    assert "idempotency" in message.lower() and "'reused'" in message
    assert count(db, launch) == 1


def test_a_used_key_with_other_launch_parameters_is_refused(
    client: TestClient, junit_report: Path, db: Database
) -> None:
    headers = {"Idempotency-Key": "params"}
    assert post_report(client, junit_report, headers=headers, branch="main").status_code == 201
    assert post_report(client, junit_report, headers=headers, branch="main").status_code == 200
    answer = post_report(client, junit_report, headers=headers, branch="dev")
    assert answer.status_code == 409 and "'params'" in answer.json()["error"]["message"]
    assert count(db, launch) == 1


def test_a_used_key_with_another_launch_body_is_refused(client: TestClient, db: Database) -> None:
    url = "/api/v1/projects/web/launches"
    first = client.post(url, json={"name": "nightly"}, headers={"Idempotency-Key": "start-2"})
    assert first.status_code == 201
    answer = client.post(url, json={"name": "weekly"}, headers={"Idempotency-Key": "start-2"})
    assert answer.status_code == 409
    assert "'start-2'" in answer.json()["error"]["message"]
    assert count(db, launch) == 1


# --- the key the CLI sends -------------------------------------------------------------------


def _reports(*paths: Path) -> list[LocalReport]:
    found = [inspect(p, None, True) for p in paths]
    return [r for r in found if r is not None]


def test_the_cli_key_follows_file_contents_and_launch_parameters(junit_report: Path, tmp_path: Path) -> None:
    fields = [("source", "cli"), ("branch", "main")]
    key = idempotency_key(_reports(junit_report), fields, "web")
    copy = tmp_path / "copy.xml"
    copy.write_bytes(junit_report.read_bytes())
    assert idempotency_key(_reports(copy), list(reversed(fields)), "web") == key, "same bytes, same parameters"
    assert idempotency_key(_reports(junit_report), [*fields, ("attr", "os=linux")], "web") != key
    assert idempotency_key(_reports(junit_report), [("source", "cli"), ("branch", "dev")], "web") != key
    assert idempotency_key(_reports(junit_report), fields, "api") != key
    copy.write_bytes(junit_report.read_bytes().replace(b"test_passes", b"test_passez"))
    assert idempotency_key(_reports(copy), fields, "web") != key
    assert len(key) <= 128
