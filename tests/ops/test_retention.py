"""Retention per project: settings through the API, old launches, logs and attachments
deleted in batches, kept launches spared, statistics kept, unreferenced blobs collected."""

from __future__ import annotations

import hashlib
import io
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caserun.service import retention
from caserun.settings import Settings
from caserun.store import retention as queries
from caserun.store.blobs import FileBlobStore
from caserun.store.engine import Database
from caserun.store.tables import blob, case_run_log, test_stats
from tests.ops.helpers import launch

SETTINGS = "/api/v1/projects/web/settings"


def as_role(client: TestClient, tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def days_later(n: float) -> retention.Clock:
    moment = datetime.now(UTC) + timedelta(days=n)
    return lambda: moment


def store(settings: Settings) -> FileBlobStore:
    return FileBlobStore(settings.blob_dir)


def count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_settings_are_read_by_viewers_and_set_by_maintainers(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get(SETTINGS).json() == {"retention_days": None, "logs_days": None, "attachments_days": None}
    body = {"retention_days": 90, "logs_days": 14, "attachments_days": 30}
    denied = client.put(SETTINGS, json=body)  # the client's token is a reporter
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    saved = client.put(SETTINGS, json=body, headers=as_role(client, tokens, "maintainer"))
    assert saved.status_code == 200 and saved.json() == body
    assert client.get(SETTINGS, headers=as_role(client, tokens, "viewer")).json() == body
    for bad in ({"retention_days": 0}, {"logs_days": -3}, {"attachments_days": "soon"}, {"keep": 1}):
        answer = client.put(SETTINGS, json=bad, headers=as_role(client, tokens, "admin"))
        assert answer.status_code == 422, bad
        assert answer.json()["error"]["message"]
    assert client.get(SETTINGS).json() == body  # nothing half-written
    cleared = client.put(SETTINGS, json={"logs_days": 7}, headers=as_role(client, tokens, "maintainer"))
    assert cleared.json() == {"retention_days": None, "logs_days": 7, "attachments_days": None}
    assert client.get("/api/v1/projects/ghost/settings").status_code == 404


def test_retention_deletes_old_launches_but_spares_kept_and_running_ones(
    client: TestClient, db: Database, settings: Settings, tokens: dict[str, str]
) -> None:
    maintainer = as_role(client, tokens, "maintainer")
    old = [launch(client, f"old {i}") for i in range(3)]
    kept = launch(client, "release 1.0")
    running = launch(client, "still running", finish=False)
    assert client.post(f"/api/v1/launches/{kept}/keep").status_code == 403  # reporter
    answer = client.post(f"/api/v1/launches/{kept}/keep", headers=maintainer)
    assert answer.status_code == 200 and answer.json()["kept"] is True
    client.put(SETTINGS, json={"retention_days": 30}, headers=maintainer)
    with db.read() as conn:
        stats_before = {r["test_case_id"]: r["runs"] for r in conn.execute(select(test_stats)).mappings()}

    too_early = retention.run(db, store(settings), None, project_key="web", clock=days_later(29))
    assert too_early.projects[0].launches == 0

    dry = retention.run(db, store(settings), None, project_key="web", dry_run=True, clock=days_later(31))
    assert dry.projects[0].launches == 3
    assert all(client.get(f"/api/v1/launches/{i}").status_code == 200 for i in old)

    done = retention.run(db, store(settings), None, project_key="web", clock=days_later(31))
    assert done.projects[0].launches == 3
    assert all(client.get(f"/api/v1/launches/{i}").status_code == 404 for i in old)
    assert client.get(f"/api/v1/launches/{kept}").status_code == 200
    assert client.get(f"/api/v1/launches/{running}").status_code == 200
    with db.read() as conn:
        stats_after = {r["test_case_id"]: r["runs"] for r in conn.execute(select(test_stats)).mappings()}
    assert stats_after == stats_before  # statistics keep counting the deleted launches

    client.post(f"/api/v1/launches/{kept}/unkeep", headers=maintainer)
    client.post(f"/api/v1/launches/{running}/finish", json={"status": "completed"})
    retention.run(db, store(settings), None, project_key="web", clock=days_later(31))
    assert client.get(f"/api/v1/launches/{kept}").status_code == 404


def test_launches_go_in_bounded_batches(
    client: TestClient, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "LAUNCH_BATCH", 2)
    ids = [launch(client, f"nightly {i}") for i in range(5)]
    with db.write() as conn:
        queries.save_project_settings(conn, 1, {"retention_days": 1, "flaky_window": 30})
    done = retention.run(db, store(settings), None, clock=days_later(2))
    assert done.projects[0].launches == 5
    assert all(client.get(f"/api/v1/launches/{i}").status_code == 404 for i in ids)
    with db.read() as conn:
        assert queries.project_settings(conn, 1)["flaky_window"] == 30


def test_logs_and_attachments_go_and_unreferenced_blobs_are_collected(
    client: TestClient, db: Database, settings: Settings, tokens: dict[str, str]
) -> None:
    maintainer = as_role(client, tokens, "maintainer")
    shared, only_old, only_new = b"same screenshot", b"old screenshot", b"new screenshot"
    first = launch(client, "first", attachment=shared)
    launch(client, "second", attachment=only_old)
    kept = launch(client, "kept", attachment=shared)
    client.post(f"/api/v1/launches/{kept}/keep", headers=maintainer)
    blobs = store(settings)
    digests = {
        name: hashlib.sha256(data).hexdigest()
        for name, data in {"shared": shared, "old": only_old, "new": only_new}.items()
    }
    assert blobs.exists(digests["shared"]) and blobs.exists(digests["old"])
    assert count(db, case_run_log) == 3
    client.put(SETTINGS, json={"logs_days": 7, "attachments_days": 10}, headers=maintainer)

    # nine days on: the logs are past 7 days, the attachments not yet past 10
    nine = retention.run(db, blobs, None, project_key="web", clock=days_later(9), blob_grace_s=0)
    assert (nine.projects[0].logs, nine.projects[0].attachments) == (2, 0)
    assert count(db, case_run_log) == 1  # the kept launch keeps its log
    run_id = client.get(f"/api/v1/launches/{first}/case-runs").json()["items"][1]["id"]
    detail = client.get(f"/api/v1/case-runs/{run_id}").json()
    assert detail["status"] == "failed" and detail["failure_message"]  # the result itself stays

    eleven = retention.run(db, blobs, None, project_key="web", clock=days_later(11), blob_grace_s=0)
    assert eleven.projects[0].attachments == 2
    assert eleven.blobs == 1 and eleven.blob_bytes == len(only_old)
    assert not blobs.exists(digests["old"])
    assert blobs.exists(digests["shared"])  # still referenced by the kept launch
    with db.read() as conn:
        assert set(conn.execute(select(blob.c.sha256)).scalars()) == {digests["shared"]}

    # a new upload that brings the old content back is not robbed of it
    again = launch(client, "third", attachment=only_old)
    assert blobs.exists(digests["old"])
    items = client.get(f"/api/v1/launches/{again}/case-runs").json()["items"]
    attachment = client.get(f"/api/v1/case-runs/{items[1]['id']}").json()["attachments"][0]
    assert attachment["sha256"] == digests["old"]
    assert client.get(attachment["url"]).content == only_old


def test_a_fresh_blob_without_a_row_survives_the_grace_period(db: Database, settings: Settings) -> None:
    """An upload stores its blobs before its transaction commits: within the grace period
    garbage collection leaves such a file alone; after it, a file no row names goes."""
    blobs = store(settings)
    sha, _ = blobs.put(io.BytesIO(b"written by an upload still in progress"))
    kept_count, _ = retention.collect_blobs(db, blobs, datetime.now(UTC) - timedelta(hours=1), dry_run=False)
    assert kept_count == 0 and blobs.exists(sha)
    path = settings.blob_dir / sha[:2] / sha[2:4] / sha
    past = time.time() - 7200
    os.utime(path, (past, past))
    removed, _ = retention.collect_blobs(db, blobs, datetime.now(UTC) - timedelta(hours=1), dry_run=False)
    assert removed == 1 and not blobs.exists(sha)


def test_the_retention_api_needs_a_maintainer_and_reports_counts(client: TestClient, tokens: dict[str, str]) -> None:
    launch(client, "today")
    url = "/api/v1/projects/web/retention/run"
    assert client.post(url).status_code == 403
    assert client.post(url, headers=as_role(client, tokens, "viewer")).status_code == 403
    answer = client.post(url, params={"dry_run": "true"}, headers=as_role(client, tokens, "maintainer"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["dry_run"] is True and body["projects"][0]["project"] == "web"
    assert body["projects"][0]["launches"] == 0  # no retention settings: nothing goes
    assert (
        client.post("/api/v1/projects/ghost/retention/run", headers=as_role(client, tokens, "instance")).status_code
        == 404
    )
    assert client.post("/api/v1/launches/999999/keep", headers=as_role(client, tokens, "maintainer")).status_code == 404
