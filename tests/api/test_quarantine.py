"""Quarantine over the API: the active list, adding and lifting, expiry, launch numbers, roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.store.engine import Database
from caserun.store.tables import launch, quarantine
from tests.api.test_launches import report, upload

URL = "/api/v1/projects/web/quarantine"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def maint(tokens: dict[str, str]) -> dict[str, str]:
    return bearer(tokens["maintainer"])


@pytest.fixture
def launch_with_failures(client: TestClient, tmp_path: Path) -> dict[str, Any]:
    """Two passed, two failed, one skipped."""
    return upload(
        client,
        report(tmp_path, "r", {"p1": "pass", "p2": "pass", "f1": "fail", "f2": "fail", "s1": "skip"}),
    )


def ids_by_name(client: TestClient, launch_id: int) -> dict[str, int]:
    runs = client.get(f"/api/v1/launches/{launch_id}/case-runs").json()["items"]
    return {r["name"]: r["test_case_id"] for r in runs}


def test_add_list_and_lift(
    client: TestClient, maint: dict[str, str], launch_with_failures: dict[str, Any], db: Database
) -> None:
    ids = ids_by_name(client, launch_with_failures["id"])
    assert client.get(URL).json() == {"items": [], "next": None}

    added = client.post(URL, json={"test_case_id": ids["f1"], "reason": "flaky on CI, WEB-12"}, headers=maint)
    assert added.status_code == 201, added.text
    entry = added.json()
    assert entry["full_name"] == "suite.f1" and entry["created_by"] == "maintainer token"
    assert entry["expires_at"] is None and len(entry["test_key"]) == 64

    later = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    by_key = client.post(
        URL, json={"test_key": _key(client, ids["f2"]), "reason": "x", "expires_at": later}, headers=maint
    )
    assert by_key.status_code == 201 and by_key.json()["expires_at"] is not None

    listed = client.get(URL).json()
    assert [i["full_name"] for i in listed["items"]] == ["suite.f1", "suite.f2"]
    assert set(listed["items"][0]) == {
        "test_case_id",
        "test_key",
        "full_name",
        "reason",
        "created_by",
        "created_at",
        "expires_at",
    }
    assert listed["next"] is None
    first = client.get(URL, params={"limit": 1}).json()
    assert len(first["items"]) == 1
    assert client.get(URL, params={"limit": 1, "cursor": first["next"]}).json()["items"][0]["full_name"] == "suite.f2"

    again = client.post(URL, json={"test_case_id": ids["f1"], "reason": "again"}, headers=maint)
    assert again.status_code == 409

    assert client.delete(f"{URL}/{ids['f1']}", headers=maint).status_code == 204
    assert client.delete(f"{URL}/{ids['f1']}", headers=maint).status_code == 404
    assert [i["full_name"] for i in client.get(URL).json()["items"]] == ["suite.f2"]
    # lifted entries are kept (who quarantined what, when), just not active
    with db.read() as conn:
        lifted = conn.execute(quarantine.select().where(quarantine.c.removed_at.is_not(None))).mappings().all()
    assert [(r["test_case_id"], r["reason"]) for r in lifted] == [(ids["f1"], "flaky on CI, WEB-12")]
    assert client.post(URL, json={"test_case_id": ids["f1"], "reason": "back"}, headers=maint).status_code == 201


def _key(client: TestClient, test_case_id: int) -> str:
    found = client.get("/api/v1/projects/web/tests", params={"q": "suite."}).json()
    return next(t["key"] for t in found if t["id"] == test_case_id)


def test_expired_entries_are_not_active(
    client: TestClient, maint: dict[str, str], launch_with_failures: dict[str, Any], db: Database
) -> None:
    ids = ids_by_name(client, launch_with_failures["id"])
    client.post(URL, json={"test_case_id": ids["f1"], "reason": "for a while"}, headers=maint)
    with db.write() as conn:
        conn.execute(update(quarantine).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    assert client.get(URL).json()["items"] == []
    detail = client.get(f"/api/v1/launches/{launch_with_failures['id']}").json()
    assert detail["summary"]["quarantined_failures"] == 0
    assert client.delete(f"{URL}/{ids['f1']}", headers=maint).status_code == 404
    assert client.post(URL, json={"test_case_id": ids["f1"], "reason": "again"}, headers=maint).status_code == 201


def test_bad_requests(client: TestClient, maint: dict[str, str], launch_with_failures: dict[str, Any]) -> None:
    ids = ids_by_name(client, launch_with_failures["id"])
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    cases = [
        ({"test_case_id": ids["f1"], "reason": ""}, 422),
        ({"test_case_id": ids["f1"], "reason": "   "}, 422),
        ({"reason": "which test?"}, 422),
        ({"test_case_id": ids["f1"], "test_key": "a" * 64, "reason": "both"}, 422),
        ({"test_case_id": ids["f1"], "reason": "x", "expires_at": past}, 422),
        ({"test_case_id": 999999, "reason": "x"}, 404),
        ({"test_key": "0" * 64, "reason": "x"}, 404),
    ]
    for body, code in cases:
        response = client.post(URL, json=body, headers=maint)
        assert response.status_code == code, (body, response.text)
        assert set(response.json()["error"]) == {"code", "message"}


def test_quarantined_failures_are_left_out_of_the_pass_rate_and_verdict(
    client: TestClient, maint: dict[str, str], launch_with_failures: dict[str, Any], db: Database
) -> None:
    lid = launch_with_failures["id"]
    ids = ids_by_name(client, lid)
    summary = client.get(f"/api/v1/launches/{lid}").json()["summary"]
    assert (summary["pass_rate"], summary["quarantined_failures"], summary["quarantined_tests"]) == (50.0, 0, 0)
    assert (summary["pass_rate_excluding_quarantined"], summary["verdict"]) == (50.0, "failed")

    client.post(URL, json={"test_case_id": ids["f1"], "reason": "flaky"}, headers=maint)
    summary = client.get(f"/api/v1/launches/{lid}").json()["summary"]
    assert (summary["failed"], summary["pass_rate"]) == (2, 50.0)  # shown, stored numbers unchanged
    assert summary["quarantined_failures"] == 1
    assert summary["pass_rate_excluding_quarantined"] == 66.7
    assert summary["verdict"] == "failed"

    client.post(URL, json={"test_case_id": ids["f2"], "reason": "flaky"}, headers=maint)
    client.post(URL, json={"test_case_id": ids["p1"], "reason": "slow"}, headers=maint)
    summary = client.get(f"/api/v1/launches/{lid}").json()["summary"]
    assert (summary["quarantined_failures"], summary["quarantined_tests"]) == (2, 3)
    assert (summary["pass_rate_excluding_quarantined"], summary["verdict"]) == (100.0, "passed")
    with db.read() as conn:  # nothing stored changed
        row = conn.execute(launch.select().where(launch.c.id == lid)).mappings().one()
    assert (row["passed"], row["failed"]) == (2, 2)
    listed = client.get("/api/v1/projects/web/launches").json()["items"][0]["summary"]
    assert listed["pass_rate"] == 50.0 and "quarantined_failures" not in listed

    client.delete(f"{URL}/{ids['f2']}", headers=maint)
    assert client.get(f"/api/v1/launches/{lid}").json()["summary"]["verdict"] == "failed"


def test_a_running_launch_has_no_verdict_until_something_fails(client: TestClient) -> None:
    lid = client.post("/api/v1/projects/web/launches", json={}).json()["id"]
    client.post(f"/api/v1/launches/{lid}/case-runs", json={"items": [{"name": "slow", "status": "running"}]})
    assert client.get(f"/api/v1/launches/{lid}").json()["summary"]["verdict"] is None
    client.post(f"/api/v1/launches/{lid}/case-runs", json={"items": [{"name": "bad", "status": "failed"}]})
    assert client.get(f"/api/v1/launches/{lid}").json()["summary"]["verdict"] == "failed"


def test_roles_and_other_projects(
    client: TestClient, tokens: dict[str, str], db: Database, launch_with_failures: dict[str, Any]
) -> None:
    ids = ids_by_name(client, launch_with_failures["id"])
    body = {"test_case_id": ids["f1"], "reason": "flaky"}
    for role in ("viewer", "reporter"):
        h = bearer(tokens[role])
        assert client.get(URL, headers=h).status_code == 200
        assert client.post(URL, json=body, headers=h).status_code == 403
    assert client.post(URL, json=body, headers=bearer(tokens["maintainer"])).status_code == 201
    assert client.delete(f"{URL}/{ids['f1']}", headers=bearer(tokens["reporter"])).status_code == 403

    projects.create(db, "other")
    stranger = bearer(auth.create_token(db, project_key="other", role=Role.MAINTAINER).token)
    assert client.get(URL, headers=stranger).status_code == 404
    assert client.delete(f"{URL}/{ids['f1']}", headers=stranger).status_code == 404
    # a test of project web cannot be quarantined in project other
    theirs = client.post("/api/v1/projects/other/quarantine", json=body, headers=stranger)
    assert theirs.status_code == 404
    assert len(client.get(URL).json()["items"]) == 1
