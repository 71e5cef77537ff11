"""Managing launches through the API: archive, unarchive, delete (maintainer only, nothing
changed otherwise); the new list filters (source, pass-rate band, archived; a launch's case
runs by suite and duration); finishing a launch as stopped or failed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caserun.store.engine import Database
from caserun.store.tables import attachment, case_run, case_run_log, launch, test_stats
from tests.api.test_launches import report, upload
from tests.conftest import post_report


def as_role(client: TestClient, tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def names(client: TestClient, **params: Any) -> list[str]:
    body = client.get("/api/v1/projects/web/launches", params=params)
    assert body.status_code == 200, body.text
    return [item["name"] for item in body.json()["items"]]


def count(db: Database, table: Any, *where: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_archive_hides_a_launch_from_the_list_and_the_baselines(
    client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    common = {"branch": "main", "environment": "ci"}
    first = upload(client, report(tmp_path, "a", {"t1": "pass", "t2": "pass"}), name="first", **common)
    second = upload(client, report(tmp_path, "b", {"t1": "pass", "t2": "fail"}), name="second", **common)
    third = upload(client, report(tmp_path, "c", {"t1": "fail", "t2": "fail"}), name="third", **common)
    assert client.get(f"/api/v1/launches/{third['id']}").json()["baseline"]["id"] == second["id"]

    maintainer = as_role(client, tokens, "maintainer")
    archived = client.post(f"/api/v1/launches/{second['id']}/archive", headers=maintainer)
    assert archived.status_code == 200, archived.text
    assert archived.json()["archived"] is True and archived.json()["archived_at"]
    assert names(client) == ["third", "first"]
    assert names(client, archived="true") == ["second"]
    # the baseline skips the archived launch; asking for it explicitly still works
    assert client.get(f"/api/v1/launches/{third['id']}").json()["baseline"]["id"] == first["id"]
    explicit = client.get(f"/api/v1/launches/{third['id']}", params={"baseline": second["id"]}).json()
    assert explicit["baseline"]["id"] == second["id"]
    # archiving twice keeps the first moment
    again = client.post(f"/api/v1/launches/{second['id']}/archive", headers=maintainer).json()
    assert again["archived_at"] == archived.json()["archived_at"]

    back = client.post(f"/api/v1/launches/{second['id']}/unarchive", headers=maintainer)
    assert back.status_code == 200 and back.json() == {**back.json(), "archived": False, "archived_at": None}
    assert names(client) == ["third", "second", "first"]
    assert client.get(f"/api/v1/launches/{third['id']}").json()["baseline"]["id"] == second["id"]


def test_a_running_launch_cannot_be_archived(client: TestClient, tokens: dict[str, str]) -> None:
    created = client.post("/api/v1/projects/web/launches", json={"name": "live"}).json()
    response = client.post(f"/api/v1/launches/{created['id']}/archive", headers=as_role(client, tokens, "maintainer"))
    assert response.status_code == 409 and "still running" in response.json()["error"]["message"]


@pytest.mark.parametrize("role", ["viewer", "reporter"])
def test_viewers_and_reporters_may_not_archive_or_delete(
    client: TestClient, db: Database, tokens: dict[str, str], tmp_path: Path, role: str
) -> None:
    made = upload(client, report(tmp_path, "a", {"t1": "fail"}), name="keep me")
    headers = as_role(client, tokens, role)
    for response in (
        client.post(f"/api/v1/launches/{made['id']}/archive", headers=headers),
        client.post(f"/api/v1/launches/{made['id']}/unarchive", headers=headers),
        client.delete(f"/api/v1/launches/{made['id']}", params={"confirm": "keep me"}, headers=headers),
    ):
        assert response.status_code == 403, response.text
        assert "maintainer" in response.json()["error"]["message"]
    assert names(client) == ["keep me"]
    assert count(db, case_run, case_run.c.launch_id == made["id"]) == 1
    with db.read() as conn:
        assert conn.execute(select(launch.c.archived_at).where(launch.c.id == made["id"])).scalar_one() is None


def test_delete_needs_the_launch_name_and_removes_everything_in_one_go(
    client: TestClient, db: Database, tokens: dict[str, str], tmp_path: Path
) -> None:
    keep = upload(client, report(tmp_path, "a", {"t1": "pass", "t2": "pass"}), name="older")
    xml = tmp_path / "doomed.xml"
    xml.write_text(
        '<testsuite><testcase classname="suite" name="t1" time="1">'
        "<failure message='broke'>trace</failure><system-out>some output\n[[ATTACHMENT|shot.png]]</system-out>"
        '</testcase><testcase classname="suite" name="t2"/></testsuite>'
    )
    response = post_report(client, xml, attachments={"shot.png": b"\x89PNG"}, name="doomed")
    assert response.status_code == 201, response.text
    doomed = response.json()["launch"]
    runs = case_run.c.launch_id == doomed["id"]
    run_ids = select(case_run.c.id).where(runs).scalar_subquery()
    assert count(db, case_run_log, case_run_log.c.case_run_id.in_(run_ids)) >= 1
    assert count(db, attachment, attachment.c.case_run_id.in_(run_ids)) == 1
    with db.read() as conn:
        assert conn.execute(
            select(test_stats.c.runs, test_stats.c.failed).order_by(test_stats.c.test_case_id)
        ).all() == [(2, 1), (2, 0)]

    maintainer = as_role(client, tokens, "maintainer")
    wrong = client.delete(f"/api/v1/launches/{doomed['id']}", params={"confirm": "older"}, headers=maintainer)
    assert wrong.status_code == 422 and "'doomed'" in wrong.json()["error"]["message"]
    missing = client.delete(f"/api/v1/launches/{doomed['id']}", headers=maintainer)
    assert missing.status_code == 422
    assert count(db, case_run, runs) == 2  # nothing changed

    gone = client.delete(f"/api/v1/launches/{doomed['id']}", params={"confirm": "doomed"}, headers=maintainer)
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"id": doomed["id"], "name": "doomed", "project_key": "web", "tests": 2}
    assert client.get(f"/api/v1/launches/{doomed['id']}").status_code == 404
    assert count(db, case_run, runs) == 0
    assert count(db, case_run_log) == 0 and count(db, attachment) == 0
    # the statistics hold only the launch that remains
    with db.read() as conn:
        assert conn.execute(
            select(test_stats.c.runs, test_stats.c.failed, test_stats.c.last_status).order_by(test_stats.c.test_case_id)
        ).all() == [
            (1, 0, "passed"),
            (1, 0, "passed"),
        ]
    assert names(client) == ["older"] and keep["id"] != doomed["id"]
    again = client.delete(f"/api/v1/launches/{doomed['id']}", params={"confirm": "doomed"}, headers=maintainer)
    assert again.status_code == 404


def test_deleting_a_retried_launch_keeps_its_retry(client: TestClient, tokens: dict[str, str], tmp_path: Path) -> None:
    original = upload(client, report(tmp_path, "a", {"t1": "fail"}), name="original")
    retry = client.post(f"/api/v1/launches/{original['id']}/retry").json()
    maintainer = as_role(client, tokens, "maintainer")
    gone = client.delete(f"/api/v1/launches/{original['id']}", params={"confirm": "original"}, headers=maintainer)
    assert gone.status_code == 200, gone.text
    kept = client.get(f"/api/v1/launches/{retry['id']}").json()
    assert kept["retry_of_id"] is None and kept["summary"]["total"] == 1


def test_launch_list_filters_by_source_and_pass_rate_band(client: TestClient, tmp_path: Path) -> None:
    upload(client, report(tmp_path, "a", {"t1": "pass", "t2": "pass"}), name="all green")  # 100 %
    upload(client, report(tmp_path, "b", {"t1": "pass", "t2": "fail"}), name="half")  # 50 %
    upload(client, report(tmp_path, "c", {"t1": "skip"}), name="no rate")  # no pass rate
    client.post("/api/v1/projects/web/launches", json={"name": "by hand", "source": "manual"})
    assert names(client, source="manual") == ["by hand"]
    assert names(client, source="api") == ["no rate", "half", "all green"]
    assert names(client, min_pass_rate=60) == ["all green"]
    assert names(client, max_pass_rate=50) == ["half"]
    assert names(client, min_pass_rate=50, max_pass_rate=100) == ["half", "all green"]
    assert names(client, min_pass_rate=0) == ["half", "all green"]  # a launch without a rate is in no band
    assert names(client, min_pass_rate=50, sort="pass_rate") == ["half", "all green"]

    bad = client.get("/api/v1/projects/web/launches", params={"min_pass_rate": 80, "max_pass_rate": 20})
    assert bad.status_code == 422 and "min_pass_rate 80 is above max_pass_rate 20" in bad.json()["error"]["message"]
    for params in ({"min_pass_rate": 101}, {"source": "fax"}, {"max_pass_rate": "lots"}):
        response = client.get("/api/v1/projects/web/launches", params=params)
        assert response.status_code == 422, params
        assert response.json()["error"]["message"]


def test_case_runs_filter_by_suite_and_duration(client: TestClient, tmp_path: Path) -> None:
    xml = tmp_path / "suites.xml"
    xml.write_text(
        "<testsuite>"
        '<testcase classname="shop.cart" name="quick" time="0.2"/>'
        '<testcase classname="shop.cart" name="slow" time="3"/>'
        '<testcase classname="shop.search" name="slower" time="5"><failure message="m">t</failure></testcase>'
        "</testsuite>"
    )
    made = upload(client, xml)
    url = f"/api/v1/launches/{made['id']}/case-runs"

    def tests(**params: Any) -> list[str]:
        response = client.get(url, params=params)
        assert response.status_code == 200, response.text
        return [i["name"] for i in response.json()["items"]]

    assert tests(suite="shop.cart") == ["quick", "slow"]
    assert tests(suite="shop") == []  # the suite is matched exactly
    assert tests(min_duration_ms=3000) == ["slow", "slower"]
    assert tests(suite="shop.cart", min_duration_ms=1000) == ["slow"]
    assert tests(min_duration_ms=3000, status="failed") == ["slower"]
    bad = client.get(url, params={"min_duration_ms": -1})
    assert bad.status_code == 422 and "min_duration_ms" in bad.json()["error"]["message"]


@pytest.mark.parametrize("how", ["stopped", "failed"])
def test_finishing_as_stopped_or_failed_skips_running_tests_with_a_warning(client: TestClient, how: str) -> None:
    created = client.post("/api/v1/projects/web/launches", json={"name": "interrupted"}).json()
    ids = client.post(
        f"/api/v1/launches/{created['id']}/case-runs",
        json={"items": [{"name": "done", "status": "passed"}, {"name": "hung", "status": "running"}]},
    ).json()["ids"]
    finished = client.post(f"/api/v1/launches/{created['id']}/finish", json={"status": how})
    assert finished.status_code == 200, finished.text
    summary = finished.json()["summary"]
    assert (summary["running"], summary["skipped"], summary["passed"]) == (0, 1, 1)
    hung = client.get(f"/api/v1/case-runs/{ids[1]}").json()
    assert hung["status"] == "skipped"
    assert hung["warnings"] == [f"the launch was {how} before this test finished"]
    assert client.get(f"/api/v1/case-runs/{ids[0]}").json()["warnings"] == []


def test_finish_and_events_leave_the_same_rows(client: TestClient) -> None:
    """A launch stopped through POST …/finish and one stopped by a launch.finished event end
    with the same statuses and warnings on their unfinished tests."""
    by_finish = client.post("/api/v1/projects/web/launches", json={"name": "a"}).json()
    [run_id] = client.post(
        f"/api/v1/launches/{by_finish['id']}/case-runs",
        json={"items": [{"suite": "s", "name": "hung", "status": "running"}]},
    ).json()["ids"]
    client.post(f"/api/v1/launches/{by_finish['id']}/finish", json={"status": "stopped"})

    events = [
        {"type": "launch.started", "launch": "E1", "name": "b"},
        {"type": "case_run.started", "launch": "E1", "id": "r", "test": {"suite": "s", "name": "hung"}},
        {"type": "launch.finished", "launch": "E1", "status": "stopped"},
    ]
    results = client.post("/api/v1/projects/web/events", json={"events": events}).json()["results"]
    by_event = results[0]["launch_id"]
    event_run = client.get(f"/api/v1/launches/{by_event}/case-runs").json()["items"][0]["id"]

    def shape(case_run_id: int) -> tuple[str, list[str]]:
        body = client.get(f"/api/v1/case-runs/{case_run_id}").json()
        return body["status"], body["warnings"]

    assert shape(run_id) == shape(event_run) == ("skipped", ["the launch was stopped before this test finished"])
    counts = [client.get(f"/api/v1/launches/{lid}").json()["summary"] for lid in (by_finish["id"], by_event)]
    assert [{k: v for k, v in c.items() if k != "duration_ms"} for c in counts] == [
        {k: v for k, v in counts[0].items() if k != "duration_ms"}
    ] * 2
