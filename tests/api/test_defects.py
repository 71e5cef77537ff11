"""Defects over the API: create, edit, lifecycle, links, from a failed run, roles."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.store.engine import Database
from caserun.store.tables import defect, failure_pattern
from tests.api.test_launches import report, upload


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def maint(tokens: dict[str, str]) -> dict[str, str]:
    return bearer(tokens["maintainer"])


@pytest.fixture
def failed_runs(client: TestClient, tmp_path: Path) -> list[dict[str, Any]]:
    """A launch (staging, main) with two failed tests and one passed; its failed runs."""
    launch = upload(
        client,
        report(tmp_path, "r", {"ok": "pass", "boom": "fail", "bang": "fail"}),
        name="CI #7",
        environment="staging",
        branch="main",
        commit="abc123",
    )
    runs = client.get(f"/api/v1/launches/{launch['id']}/case-runs", params={"status": "failed"}).json()["items"]
    assert len(runs) == 2
    return runs  # type: ignore[no-any-return]


def create(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/projects/web/defects", json={"title": "Cart total wrong", **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_create_edit_and_move_through_the_lifecycle(client: TestClient, maint: dict[str, str]) -> None:
    created = create(
        client,
        maint,
        severity="high",
        assignee="ana",
        external_url="https://jira.example.com/browse/WEB-1",
        description="totals are off by the discount",
    )
    assert created["status"] == "open"
    assert created["severity"] == "high"
    assert created["created_by"] == "maintainer token"
    assert created["next_statuses"] == ["in_progress", "resolved", "closed"]
    assert created["reopen_suggested"] is False and created["linked_runs"] == 0
    url = f"/api/v1/defects/{created['id']}"

    edited = client.patch(url, json={"assignee": "bo", "severity": "critical", "environment": "prod"}, headers=maint)
    assert edited.status_code == 200
    assert (edited.json()["assignee"], edited.json()["severity"], edited.json()["status"]) == ("bo", "critical", "open")
    cleared = client.patch(url, json={"assignee": None, "external_url": None}, headers=maint).json()
    assert cleared["assignee"] is None and cleared["external_url"] is None and cleared["title"] == "Cart total wrong"

    for status in ("in_progress", "resolved", "closed", "reopened", "resolved"):
        moved = client.patch(url, json={"status": status}, headers=maint)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == status
    refused = client.patch(url, json={"status": "in_progress"}, headers=maint)
    assert refused.status_code == 409
    assert "cannot become in_progress" in refused.json()["error"]["message"]
    assert client.patch(url, json={"status": "resolved"}, headers=maint).status_code == 409
    assert client.get(url).json()["status"] == "resolved"


def test_bad_input_is_refused(client: TestClient, maint: dict[str, str]) -> None:
    url = "/api/v1/projects/web/defects"
    for body in (
        {"title": "x", "external_url": "javascript:alert(1)"},
        {"title": "x", "severity": "urgent"},
        {"title": ""},
        {"title": "   "},
        {"title": "x", "launch_id": 999999},
    ):
        response = client.post(url, json=body, headers=maint)
        assert response.status_code in (404, 422), (body, response.text)
    created = create(client, maint)
    patch = f"/api/v1/defects/{created['id']}"
    assert client.patch(patch, json={"status": "done"}, headers=maint).status_code == 422
    assert client.patch(patch, json={"title": None}, headers=maint).status_code == 422
    assert client.patch(patch, json={"reopen_suggested": True}, headers=maint).status_code == 422
    assert client.patch(patch, json={"external_url": "ftp://x"}, headers=maint).status_code == 422


def test_list_filters_and_pages(client: TestClient, maint: dict[str, str]) -> None:
    ids = [
        create(client, maint, title=f"d{i}", severity=sev, assignee=who)["id"]
        for i, (sev, who) in enumerate([("low", "ana"), ("high", "bo"), ("high", "ana"), ("critical", None)])
    ]
    client.patch(f"/api/v1/defects/{ids[0]}", json={"status": "in_progress"}, headers=maint)
    url = "/api/v1/projects/web/defects"

    def found(**params: Any) -> list[int]:
        return [d["id"] for d in client.get(url, params=params).json()["items"]]

    assert found() == ids[::-1]
    assert found(status="open") == [ids[3], ids[2], ids[1]]
    assert found(status=["open", "in_progress"], severity="high") == [ids[2], ids[1]]
    assert found(severity=["high", "critical"], assignee="ana") == [ids[2]]
    first = client.get(url, params={"limit": 3}).json()
    rest = client.get(url, params={"limit": 3, "cursor": first["next"]}).json()
    assert [d["id"] for d in first["items"] + rest["items"]] == ids[::-1] and rest["next"] is None
    assert client.get(url, params={"status": "done"}).status_code == 422


def test_link_and_unlink_one_by_one_and_in_bulk(
    client: TestClient, maint: dict[str, str], failed_runs: list[dict[str, Any]], db: Database
) -> None:
    d = create(client, maint)
    url = f"/api/v1/defects/{d['id']}"
    a, b = (r["id"] for r in failed_runs)

    one = client.put(f"{url}/links/{a}", headers=maint)
    assert one.json() == {"changed": 1, "unchanged": 0, "linked_runs": 1}
    bulk = client.post(f"{url}/links", json={"case_run_ids": [a, b, b]}, headers=maint)
    assert bulk.json() == {"changed": 1, "unchanged": 1, "linked_runs": 2}

    detail = client.get(url).json()
    assert detail["case_runs"]["count"] == 2
    assert {r["id"] for r in detail["case_runs"]["items"]} == {a, b}
    item = detail["case_runs"]["items"][0]
    assert item["linked_by"] == "maintainer token" and item["origin"] == "manual" and item["launch_name"] == "CI #7"
    page = client.get(f"{url}/case-runs", params={"limit": 1}).json()
    page2 = client.get(f"{url}/case-runs", params={"limit": 1, "cursor": page["next"]}).json()
    assert {page["items"][0]["id"], page2["items"][0]["id"]} == {a, b} and page2["next"] is None
    run = client.get(f"/api/v1/case-runs/{a}").json()
    assert run["defects"] == [{"id": d["id"], "title": "Cart total wrong", "status": "open", "severity": "medium"}]

    removed = client.request("DELETE", f"{url}/links", json={"case_run_ids": [a, 999]}, headers=maint)
    assert removed.json() == {"changed": 1, "unchanged": 1, "linked_runs": 1}
    assert client.delete(f"{url}/links/{b}", headers=maint).json()["linked_runs"] == 0
    assert client.get(f"/api/v1/case-runs/{a}").json()["defects"] == []
    assert client.post(f"{url}/links", json={"case_run_ids": []}, headers=maint).status_code == 422
    missing = client.post(f"{url}/links", json={"case_run_ids": [a, 999999]}, headers=maint)
    assert missing.status_code == 404 and "999999" in missing.json()["error"]["message"]
    assert client.get(url).json()["linked_runs"] == 0  # nothing half-linked


def test_defect_shows_its_patterns(client: TestClient, maint: dict[str, str], db: Database, project: Any) -> None:
    d = create(client, maint)
    now = datetime.now(UTC)
    with db.write() as conn:
        conn.execute(
            insert(failure_pattern).values(
                project_id=project.id,
                signature="s" * 64,
                exception="AssertionError",
                template="expected <n> got <n>",
                first_seen=now,
                last_seen=now,
                count=3,
                defect_id=d["id"],
            )
        )
    patterns = client.get(f"/api/v1/defects/{d['id']}").json()["patterns"]
    assert [(p["exception"], p["count"], p["template"]) for p in patterns] == [
        ("AssertionError", 3, "expected <n> got <n>")
    ]


def test_reopen_suggestion_shows_and_a_move_clears_it(client: TestClient, maint: dict[str, str], db: Database) -> None:
    d = create(client, maint)
    url = f"/api/v1/defects/{d['id']}"
    client.patch(url, json={"status": "resolved"}, headers=maint)
    with db.write() as conn:  # what the failure analysis does when the pattern fails again
        conn.execute(update(defect).where(defect.c.id == d["id"]).values(reopen_suggested=True))
    assert client.get(url).json()["reopen_suggested"] is True
    listed = client.get("/api/v1/projects/web/defects").json()["items"][0]
    assert listed["reopen_suggested"] is True
    moved = client.patch(url, json={"status": "reopened"}, headers=maint).json()
    assert moved["reopen_suggested"] is False and moved["status"] == "reopened"
    with db.write() as conn:
        conn.execute(update(defect).where(defect.c.id == d["id"]).values(reopen_suggested=True))
    dismissed = client.patch(url, json={"reopen_suggested": False}, headers=maint).json()
    assert dismissed["reopen_suggested"] is False and dismissed["status"] == "reopened"


def test_defect_from_a_failed_case_run(
    client: TestClient, maint: dict[str, str], failed_runs: list[dict[str, Any]]
) -> None:
    run = failed_runs[0]
    response = client.post(f"/api/v1/case-runs/{run['id']}/defect", headers=maint)
    assert response.status_code == 201, response.text
    d = response.json()
    assert d["title"] == f"{run['name']}: {run['name']} broke"
    assert d["environment"] == "staging"
    assert d["launch_id"] == run["launch_id"]
    assert d["linked_runs"] == 1 and d["severity"] == "medium" and d["status"] == "open"
    description = d["description"]
    for text in ("Test: suite.", "CI #7", "branch main", "commit abc123", "Failure type:", "broke", "trace of"):
        assert text in description, text
    assert client.get(f"/api/v1/case-runs/{run['id']}").json()["defects"][0]["id"] == d["id"]

    other = failed_runs[1]
    custom = client.post(
        f"/api/v1/case-runs/{other['id']}/defect",
        json={"title": "Known outage", "severity": "critical", "external_url": "https://status.example.com"},
        headers=maint,
    ).json()
    assert (custom["title"], custom["severity"], custom["environment"]) == ("Known outage", "critical", "staging")


def test_defect_from_a_run_that_did_not_fail_is_refused(
    client: TestClient, maint: dict[str, str], tmp_path: Path
) -> None:
    launch = upload(client, report(tmp_path, "ok", {"fine": "pass"}))
    run = client.get(f"/api/v1/launches/{launch['id']}/case-runs").json()["items"][0]
    assert client.post(f"/api/v1/case-runs/{run['id']}/defect", headers=maint).status_code == 409
    assert client.post("/api/v1/case-runs/999999/defect", headers=maint).status_code == 404


def test_roles_viewer_reads_reporter_and_viewer_cannot_act_other_projects_are_invisible(
    client: TestClient, tokens: dict[str, str], maint: dict[str, str], db: Database, failed_runs: list[dict[str, Any]]
) -> None:
    d = create(client, maint)
    url = f"/api/v1/defects/{d['id']}"
    run_id = failed_runs[0]["id"]
    for role in ("viewer", "reporter"):
        h = bearer(tokens[role])
        assert client.get(url, headers=h).status_code == 200
        assert client.get("/api/v1/projects/web/defects", headers=h).status_code == 200
        assert client.post("/api/v1/projects/web/defects", json={"title": "x"}, headers=h).status_code == 403
        assert client.patch(url, json={"status": "in_progress"}, headers=h).status_code == 403
        assert client.post(f"{url}/links", json={"case_run_ids": [run_id]}, headers=h).status_code == 403
        assert client.post(f"/api/v1/case-runs/{run_id}/defect", headers=h).status_code == 403
    for role in ("admin", "instance"):
        assert client.patch(url, json={"assignee": role}, headers=bearer(tokens[role])).status_code == 200

    projects.create(db, "other")
    stranger = bearer(auth.create_token(db, project_key="other", role=Role.MAINTAINER).token)
    assert client.get(url, headers=stranger).status_code == 404
    assert client.patch(url, json={"status": "in_progress"}, headers=stranger).status_code == 404
    assert client.get("/api/v1/projects/web/defects", headers=stranger).status_code == 404
    assert client.post(f"/api/v1/case-runs/{run_id}/defect", headers=stranger).status_code == 404
    # a defect of another project cannot take this project's runs
    theirs = client.post("/api/v1/projects/other/defects", json={"title": "t"}, headers=stranger).json()
    linked = client.post(f"/api/v1/defects/{theirs['id']}/links", json={"case_run_ids": [run_id]}, headers=stranger)
    assert linked.status_code == 404
    assert client.get(url, headers=maint).json()["status"] == "open"
