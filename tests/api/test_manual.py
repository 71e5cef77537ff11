"""Manual launches over the API: create from a tag, suite, text or ids; record results per
case run with step results and attachments; finish with the ordinary finish route."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_launches import report, upload


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def maint(tokens: dict[str, str]) -> dict[str, str]:
    return bearer(tokens["maintainer"])


@pytest.fixture
def tests_(client: TestClient, maint: dict[str, str], tmp_path: Path) -> dict[str, int]:
    """Four tests of project web; login and checkout tagged smoke, login with two steps."""
    upload(client, report(tmp_path, "r", {"login": "pass", "checkout": "fail", "search": "pass", "old": "pass"}))
    found = client.get("/api/v1/projects/web/tests", params={"q": "suite"}).json()
    ids = {t["name"]: t["id"] for t in found}
    steps = [{"action": "Open /login", "expected": "form"}, {"action": "Sign in", "expected": "dashboard"}]
    definitions = {
        "login": {"tags": ["smoke"], "steps": steps, "priority": "critical"},
        "checkout": {"tags": ["smoke", "cart"]},
        "search": {"tags": ["smoke-ish"]},
        "old": {"tags": ["smoke"], "lifecycle": "archived"},
    }
    for name, body in definitions.items():
        response = client.put(f"/api/v1/tests/{ids[name]}/definition", json=body, headers=maint)
        assert response.status_code == 200, response.text
    return ids


def create(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/projects/web/manual-launches", json=body, headers=headers)


def test_a_manual_launch_from_a_tag_holds_its_active_tests_as_running_runs(
    client: TestClient, maint: dict[str, str], tests_: dict[str, int]
) -> None:
    response = create(client, maint, tag="smoke", name="Release 2.1 check", environment="staging", assignee="bob")
    assert response.status_code == 201, response.text
    made = response.json()
    launch = made["launch"]
    assert (launch["status"], launch["source"], launch["environment"]) == ("running", "manual", "staging")
    assert made["assignee"] == "bob"
    # "smoke-ish" is another tag, and the archived test is left out
    assert sorted(r["full_name"].rsplit(".", 1)[-1] for r in made["case_runs"]) == ["checkout", "login"]
    assert {r["status"] for r in made["case_runs"]} == {"running"}
    summary = client.get(f"/api/v1/launches/{launch['id']}").json()["summary"]
    assert (summary["total"], summary["running"]) == (2, 2)


@pytest.mark.parametrize(
    ("selection", "names"),
    [
        ({"q": "SEARCH"}, ["search"]),
        ({"suite": "suite", "q": "o"}, ["checkout", "login"]),
        ({"tag": "cart"}, ["checkout"]),
    ],
)
def test_selection_by_text_suite_and_tag(
    client: TestClient, maint: dict[str, str], tests_: dict[str, int], selection: dict[str, str], names: list[str]
) -> None:
    made = create(client, maint, **selection).json()
    assert sorted(r["full_name"].rsplit(".", 1)[-1] for r in made["case_runs"]) == names


def test_selection_by_ids(client: TestClient, maint: dict[str, str], tests_: dict[str, int]) -> None:
    made = create(client, maint, test_ids=[tests_["search"], tests_["checkout"]]).json()
    assert sorted(r["test_id"] for r in made["case_runs"]) == sorted([tests_["search"], tests_["checkout"]])


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({}, 422, "choose the tests"),
        ({"tag": "nobody-uses-this"}, 422, "no test case matches"),
        ({"test_ids": [987654]}, 404, "987654"),
        ({"tag": "smoke", "colour": "red"}, 422, "colour"),
    ],
)
def test_bad_selections_are_refused_and_create_nothing(
    client: TestClient, maint: dict[str, str], tests_: dict[str, int], body: dict[str, Any], status: int, named: str
) -> None:
    response = create(client, maint, **body)
    assert response.status_code == status, response.text
    assert named in response.json()["error"]["message"]
    assert client.get("/api/v1/projects/web/launches", params={"source": "manual"}).json()["items"] == []


def test_only_a_maintainer_creates_one(client: TestClient, tokens: dict[str, str], tests_: dict[str, int]) -> None:
    assert create(client, bearer(tokens["reporter"]), tag="smoke").status_code == 403


def test_a_tester_records_results_with_steps_and_an_attachment_then_finishes(
    client: TestClient, maint: dict[str, str], tokens: dict[str, str], tests_: dict[str, int]
) -> None:
    made = create(client, maint, tag="smoke", assignee="bob").json()
    launch_id = made["launch"]["id"]
    by_name = {r["full_name"].rsplit(".", 1)[-1]: r["id"] for r in made["case_runs"]}
    tester = bearer(tokens["reporter"])

    steps = [{"status": "passed", "actual": "form shown"}, {"status": "failed", "actual": "error 500"}]
    response = client.post(
        f"/api/v1/case-runs/{by_name['login']}/manual-result",
        data={"status": "failed", "comment": "sign-in answers 500", "steps": json.dumps(steps)},
        files=[("attachment", ("screen.png", b"\x89PNG fake", "image/png"))],
        headers=tester,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    login = next(r for r in body["case_runs"] if r["id"] == by_name["login"])
    assert login["status"] == "failed" and login["step_results"] == steps
    assert login["executed_by"] and login["finished_at"] and login["comment"] == "sign-in answers 500"
    assert (body["launch"]["summary"]["failed"], body["launch"]["summary"]["running"]) == (1, 1)

    detail = client.get(f"/api/v1/case-runs/{by_name['login']}").json()
    assert detail["failure"]["message"] == "sign-in answers 500"
    assert [a["name"] for a in detail["attachments"]] == ["screen.png"]
    attachment = client.get(f"/api/v1/attachments/{detail['attachments'][0]['id']}")
    assert attachment.content == b"\x89PNG fake"

    blocked = client.post(
        f"/api/v1/case-runs/{by_name['checkout']}/manual-result", data={"status": "blocked"}, headers=tester
    )
    assert blocked.status_code == 422 and "needs a reason" in blocked.json()["error"]["message"]
    ok = client.post(
        f"/api/v1/case-runs/{by_name['checkout']}/manual-result",
        data={"status": "blocked", "comment": "payment sandbox down"},
        headers=tester,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["launch"]["summary"]["blocked"] == 1 and ok.json()["remaining_ms"] == 0

    finished = client.post(f"/api/v1/launches/{launch_id}/finish", json={"status": "completed"}, headers=tester)
    assert finished.status_code == 200, finished.text
    summary = finished.json()["summary"]
    assert (summary["total"], summary["failed"], summary["blocked"], summary["running"]) == (2, 1, 1, 0)
    late = client.post(f"/api/v1/case-runs/{by_name['login']}/manual-result", data={"status": "passed"}, headers=tester)
    assert late.status_code == 409

    # manual and automated runs of a test share one history
    history = client.get(f"/api/v1/tests/{tests_['login']}/history").json()["items"]
    assert {h["launch_id"] for h in history} >= {launch_id}
    assert len(history) == 2


def test_a_result_can_be_corrected_while_the_launch_runs(
    client: TestClient, maint: dict[str, str], tests_: dict[str, int]
) -> None:
    made = create(client, maint, test_ids=[tests_["search"]]).json()
    run = made["case_runs"][0]["id"]
    url = f"/api/v1/case-runs/{run}/manual-result"
    assert client.post(url, data={"status": "failed", "comment": "oops"}).status_code == 200
    fixed = client.post(url, data={"status": "passed"}).json()
    assert fixed["case_runs"][0]["status"] == "passed" and fixed["case_runs"][0]["comment"] is None
    assert (fixed["launch"]["summary"]["passed"], fixed["launch"]["summary"]["failed"]) == (1, 0)
    assert client.get(f"/api/v1/case-runs/{run}").json()["failure"] is None


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"status": "running"}, "status must be one of passed, failed, blocked, skipped"),
        ({"status": "passed", "steps": "not json"}, "steps must be a JSON list"),
        ({"status": "passed", "steps": json.dumps([{"status": "passed"}])}, "the test has 2 steps, got 1"),
        (
            {"status": "passed", "steps": json.dumps([{"status": "ok"}, {"status": "passed"}])},
            "step 1 status must be one of passed, failed, skipped, not_run",
        ),
        ({"comment": "no status"}, "status"),
    ],
)
def test_bad_results_get_a_422_and_change_nothing(
    client: TestClient, maint: dict[str, str], tests_: dict[str, int], data: dict[str, str], named: str
) -> None:
    made = create(client, maint, test_ids=[tests_["login"]]).json()
    run = made["case_runs"][0]["id"]
    response = client.post(f"/api/v1/case-runs/{run}/manual-result", data=data)
    assert response.status_code == 422, response.text
    assert named in response.json()["error"]["message"]
    assert client.get(f"/api/v1/case-runs/{run}").json()["status"] == "running"


def test_a_viewer_cannot_record_and_unknown_runs_are_not_found(
    client: TestClient, maint: dict[str, str], tokens: dict[str, str], tests_: dict[str, int]
) -> None:
    made = create(client, maint, test_ids=[tests_["login"]]).json()
    run = made["case_runs"][0]["id"]
    viewer = bearer(tokens["viewer"])
    assert (
        client.post(f"/api/v1/case-runs/{run}/manual-result", data={"status": "passed"}, headers=viewer).status_code
        == 403
    )
    assert client.post("/api/v1/case-runs/999999/manual-result", data={"status": "passed"}).status_code == 404


def test_watchers_see_a_manual_result_in_the_live_feed(
    client: TestClient, maint: dict[str, str], tests_: dict[str, int]
) -> None:
    """Progress and counters of a manual launch reach everyone watching its feed."""
    from tests.api.test_events import sse

    made = create(client, maint, tag="smoke").json()
    launch_id = made["launch"]["id"]
    url = f"/api/v1/launches/{launch_id}/stream"
    before = sse(client.get(url, params={"timeout": 0.3, "interval": 0.1}).text)
    assert before[0][0] == "progress" and before[0][1]["progress"] == 0
    last = max(int(i) for _, _, i in before if i)

    run = next(r for r in made["case_runs"] if r["full_name"].endswith("checkout"))
    recorded = client.post(f"/api/v1/case-runs/{run['id']}/manual-result", data={"status": "passed"})
    assert recorded.status_code == 200, recorded.text
    after = sse(client.get(url, params={"timeout": 0.3, "interval": 0.1}, headers={"Last-Event-ID": str(last)}).text)
    progress = after[0][1]
    assert (progress["summary"]["passed"], progress["summary"]["running"], progress["progress"]) == (1, 1, 50.0)
