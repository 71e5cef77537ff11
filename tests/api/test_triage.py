"""Triage over the API: bulk status changes with their audit trail, retry launches, retry plans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.store.engine import Database
from tests.api.test_launches import report, upload


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def maint(tokens: dict[str, str]) -> dict[str, str]:
    return bearer(tokens["maintainer"])


@pytest.fixture
def launch(client: TestClient, tmp_path: Path) -> dict[str, Any]:
    return upload(
        client,
        report(tmp_path, "r", {"ok": "pass", "f1": "fail", "f2": "fail", "s": "skip"}),
        name="nightly",
        environment="staging",
        branch="main",
        commit="abc",
    )


def runs(client: TestClient, launch_id: int) -> dict[str, dict[str, Any]]:
    items = client.get(f"/api/v1/launches/{launch_id}/case-runs").json()["items"]
    return {r["name"]: r for r in items}


def test_bulk_status_change_is_audited_and_recounts_the_summary(
    client: TestClient, maint: dict[str, str], launch: dict[str, Any]
) -> None:
    lid = launch["id"]
    by_name = runs(client, lid)
    url = f"/api/v1/launches/{lid}/case-runs/status"
    body = {
        "case_run_ids": [by_name["f1"]["id"], by_name["f2"]["id"], by_name["s"]["id"]],
        "status": "blocked",
        "comment": "test DB was down",
    }
    response = client.post(url, json=body, headers=maint)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["changed"], result["unchanged"]) == (3, 0)
    s = result["summary"]
    assert (s["total"], s["passed"], s["failed"], s["skipped"], s["blocked"], s["pass_rate"]) == (4, 1, 0, 0, 3, 100.0)
    assert client.get(f"/api/v1/launches/{lid}").json()["summary"]["blocked"] == 3

    again = client.post(url, json={**body, "case_run_ids": [by_name["f1"]["id"], by_name["ok"]["id"]]}, headers=maint)
    assert (again.json()["changed"], again.json()["unchanged"]) == (1, 1)

    detail = client.get(f"/api/v1/case-runs/{by_name['f1']['id']}").json()
    assert detail["status"] == "blocked"
    assert detail["failure"]["message"] == "f1 broke"  # the failure stays visible
    trail = [(c["old_status"], c["new_status"], c["comment"], c["actor"]) for c in detail["status_changes"]]
    assert trail == [("failed", "blocked", "test DB was down", "maintainer token")]
    assert detail["status_changes"][0]["at"]
    ok = client.get(f"/api/v1/case-runs/{by_name['ok']['id']}").json()
    assert [(c["old_status"], c["new_status"]) for c in ok["status_changes"]] == [("passed", "blocked")]
    assert client.get(f"/api/v1/case-runs/{by_name['s']['id']}").json()["status_changes"][0]["old_status"] == "skipped"


def test_bulk_status_change_refuses_bad_requests_and_writes_nothing(
    client: TestClient, maint: dict[str, str], launch: dict[str, Any], tmp_path: Path
) -> None:
    lid = launch["id"]
    f1 = runs(client, lid)["f1"]["id"]
    other = upload(client, report(tmp_path, "o", {"x": "fail"}))
    foreign = runs(client, other["id"])["x"]["id"]
    url = f"/api/v1/launches/{lid}/case-runs/status"
    cases = [
        ({"case_run_ids": [f1], "status": "passed"}, 422),
        ({"case_run_ids": [f1], "status": "passed", "comment": ""}, 422),
        ({"case_run_ids": [f1], "status": "passed", "comment": "  "}, 422),
        ({"case_run_ids": [f1], "status": "running", "comment": "c"}, 422),
        ({"case_run_ids": [], "status": "passed", "comment": "c"}, 422),
        ({"case_run_ids": [f1, foreign], "status": "passed", "comment": "c"}, 404),
    ]
    for body, code in cases:
        response = client.post(url, json=body, headers=maint)
        assert response.status_code == code, (body, response.text)
    assert client.post("/api/v1/launches/999999/case-runs/status", json=cases[-1][0], headers=maint).status_code == 404
    detail = client.get(f"/api/v1/case-runs/{f1}").json()
    assert detail["status"] == "failed" and detail["status_changes"] == []


def test_bulk_status_change_needs_a_maintainer_of_the_project(
    client: TestClient, tokens: dict[str, str], db: Database, launch: dict[str, Any]
) -> None:
    lid = launch["id"]
    body = {"case_run_ids": [runs(client, lid)["f1"]["id"]], "status": "passed", "comment": "c"}
    url = f"/api/v1/launches/{lid}/case-runs/status"
    for role in ("viewer", "reporter"):
        assert client.post(url, json=body, headers=bearer(tokens[role])).status_code == 403
    projects.create(db, "other")
    stranger = bearer(auth.create_token(db, project_key="other", role=Role.MAINTAINER).token)
    assert client.post(url, json=body, headers=stranger).status_code == 404
    assert client.post(url, json=body, headers=bearer(tokens["admin"])).status_code == 200


def test_status_change_of_a_retried_attempt_keeps_passed_on_retry_right(
    client: TestClient, maint: dict[str, str]
) -> None:
    lid = client.post("/api/v1/projects/web/launches", json={}).json()["id"]
    for status in ("failed", "passed"):
        client.post(f"/api/v1/launches/{lid}/case-runs", json={"items": [{"name": "t", "status": status}]})
    final = client.get(f"/api/v1/launches/{lid}/case-runs").json()["items"][0]
    assert final["passed_on_retry"] is True
    first = client.get(f"/api/v1/launches/{lid}/case-runs", params={"attempts": "all"}).json()["items"][0]
    body = {"case_run_ids": [first["id"]], "status": "skipped", "comment": "the first attempt never ran"}
    assert client.post(f"/api/v1/launches/{lid}/case-runs/status", json=body, headers=maint).status_code == 200
    final = client.get(f"/api/v1/launches/{lid}/case-runs").json()["items"][0]
    assert final["passed_on_retry"] is False


def test_retry_launch_holds_the_failed_tests_as_running_runs(
    client: TestClient, maint: dict[str, str], launch: dict[str, Any]
) -> None:
    lid = launch["id"]
    original = runs(client, lid)
    created = client.post(f"/api/v1/launches/{lid}/retry")
    assert created.status_code == 201, created.text
    retry = created.json()
    assert (retry["status"], retry["source"], retry["retry_of_id"]) == ("running", "manual", lid)
    assert retry["name"] == "Retry of nightly"
    assert (retry["environment"], retry["branch"], retry["commit"]) == ("staging", "main", "abc")
    assert (retry["summary"]["total"], retry["summary"]["running"]) == (2, 2)

    retried = runs(client, retry["id"])
    assert set(retried) == {"f1", "f2"}
    for name, run in retried.items():
        assert run["status"] == "running" and run["test_case_id"] == original[name]["test_case_id"]
        assert client.get(f"/api/v1/case-runs/{run['id']}").json()["retry_of_id"] == original[name]["id"]

    # re-executed by hand: one passes now, one still fails
    client.patch(f"/api/v1/case-runs/{retried['f1']['id']}", json={"status": "passed"})
    body = {"case_run_ids": [retried["f2"]["id"]], "status": "failed", "comment": "still broken by hand"}
    assert client.post(f"/api/v1/launches/{retry['id']}/case-runs/status", json=body, headers=maint).status_code == 200
    done = client.post(f"/api/v1/launches/{retry['id']}/finish", json={"status": "completed"}).json()
    assert (done["summary"]["passed"], done["summary"]["failed"], done["summary"]["running"]) == (1, 1, 0)

    named = client.post(f"/api/v1/launches/{lid}/retry", json={"name": "second look"}).json()
    assert named["name"] == "second look"

    # retry exactly the chosen runs, whatever their status
    chosen = client.post(f"/api/v1/launches/{lid}/retry", json={"case_run_ids": [original["f2"]["id"]]})
    assert chosen.status_code == 201, chosen.text
    assert set(runs(client, chosen.json()["id"])) == {"f2"}


def test_retry_refusals_and_roles(
    client: TestClient, tokens: dict[str, str], db: Database, launch: dict[str, Any], tmp_path: Path
) -> None:
    green = upload(client, report(tmp_path, "g", {"fine": "pass"}))
    assert client.post(f"/api/v1/launches/{green['id']}/retry").status_code == 409
    live = client.post("/api/v1/projects/web/launches", json={}).json()
    client.post(f"/api/v1/launches/{live['id']}/case-runs", json={"items": [{"name": "x", "status": "failed"}]})
    assert client.post(f"/api/v1/launches/{live['id']}/retry").status_code == 409
    assert client.post("/api/v1/launches/999999/retry").status_code == 404
    assert client.post(f"/api/v1/launches/{launch['id']}/retry", headers=bearer(tokens["viewer"])).status_code == 403
    projects.create(db, "other")
    stranger = bearer(auth.create_token(db, project_key="other", role=Role.MAINTAINER).token)
    assert client.post(f"/api/v1/launches/{launch['id']}/retry", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/launches/{launch['id']}/retry-plan?runner=go", headers=stranger).status_code == 404


def test_retry_plan_endpoint(client: TestClient, tokens: dict[str, str], launch: dict[str, Any]) -> None:
    url = f"/api/v1/launches/{launch['id']}/retry-plan"
    plan = client.get(url, params={"runner": "pytest"}, headers=bearer(tokens["viewer"])).json()
    assert plan["args"] == ["suite.py::f1", "suite.py::f2"]
    assert plan["command"] == "suite.py::f1 suite.py::f2" and plan["tests"] == 2
    go = client.get(url, params={"runner": "go"}).json()
    assert go["args"] == ["-run", "^(f1|f2)$"]
    assert go["command"] == "-run '^(f1|f2)$'"
    assert client.get(url, params={"runner": "maven"}).status_code == 422
    assert client.get(url).status_code == 422
