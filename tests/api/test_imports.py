"""Importing reports over the API: one launch per upload, all or nothing, stable identity."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caserun.store.engine import Database
from caserun.store.tables import case_run, launch, test_case
from tests.conftest import post_report


def count(db: Database, table: object) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_import_creates_one_launch_with_one_case_run_per_test(client: TestClient, junit_report: Path) -> None:
    response = post_report(
        client,
        junit_report,
        name="CI #12",
        environment="staging",
        branch="main",
        commit="abc123",
        attr=["browser=chromium"],
    )
    assert response.status_code == 201, response.text
    body = response.json()["launch"]
    assert body["name"] == "CI #12"
    assert body["status"] == "completed"
    assert (body["environment"], body["branch"], body["commit"]) == ("staging", "main", "abc123")
    assert body["attributes"] == {"browser": "chromium"}
    assert body["url"] == f"http://caserun.test/launches/{body['id']}"
    assert body["summary"] == {
        "total": 6,
        "passed": 3,
        "failed": 2,
        "skipped": 1,
        "blocked": 0,
        "running": 0,
        "pass_rate": 60.0,
        "duration_ms": body["summary"]["duration_ms"],
    }

    runs = client.get(f"/api/v1/launches/{body['id']}/case-runs", params={"status": "failed"}).json()["items"]
    by_name = {r["name"]: r for r in runs}
    assert set(by_name) == {"test_fails", "test_errors"}
    assert by_name["test_errors"]["failure_type"] == "error"
    assert by_name["test_errors"]["failure_exception"] == "ValueError"
    assert by_name["test_fails"]["failure_type"] == "assertion"

    detail = client.get(f"/api/v1/case-runs/{by_name['test_fails']['id']}").json()
    assert detail["failure"]["exception"] == "AssertionError"
    assert "assert" in detail["failure"]["message"]
    assert 'assert expected == {"total": 4}' in detail["failure"]["stack_trace"]
    assert [a["attempt"] for a in detail["attempt_list"]] == [1]

    passes = client.get(f"/api/v1/launches/{body['id']}/case-runs", params={"q": "test_passes"}).json()["items"]
    logs = client.get(f"/api/v1/case-runs/{passes[0]['id']}").json()["logs"]
    assert "hello from stdout" in logs["stdout"]


def test_three_uploads_give_each_test_a_history_of_three(client: TestClient, junit_report: Path, db: Database) -> None:
    for n in range(3):
        assert post_report(client, junit_report, name=f"run {n}").status_code == 201
    assert count(db, launch) == 3
    assert count(db, test_case) == 6
    with db.read() as conn:
        per_test = conn.execute(select(case_run.c.test_case_id, func.count()).group_by(case_run.c.test_case_id)).all()
    assert sorted(n for _, n in per_test) == [3] * 6


def test_parameters_are_split_from_the_name(client: TestClient, junit_report: Path) -> None:
    launch_id = post_report(client, junit_report).json()["launch"]["id"]
    items = client.get(f"/api/v1/launches/{launch_id}/case-runs", params={"q": "test_param", "sort": "name"}).json()
    assert [(i["name"], i["parameters"]) for i in items["items"]] == [("test_param", "1"), ("test_param", "2")]


def test_a_broken_report_writes_nothing_and_names_file_and_line(
    client: TestClient, tmp_path: Path, db: Database
) -> None:
    bad = tmp_path / "junit-broken.xml"
    bad.write_text('<testsuite>\n<testcase classname="a" name="b"/>\n<testcase classname="a" name="c">\n')
    good = tmp_path / "good.xml"
    good.write_text('<testsuite><testcase classname="a" name="z"/></testsuite>')
    files = [("report", ("good.xml", good.read_bytes())), ("report", ("junit-broken.xml", bad.read_bytes()))]
    response = client.post("/api/v1/projects/web/imports", files=files)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert "junit-broken.xml:4" in error["message"]
    assert count(db, launch) == 0
    assert count(db, test_case) == 0


def test_several_files_make_one_launch(client: TestClient, tmp_path: Path) -> None:
    a, b = tmp_path / "a.xml", tmp_path / "b.xml"
    a.write_text('<testsuite><testcase classname="a" name="one"/></testsuite>')
    b.write_text('<testsuite><testcase classname="b" name="two"><failure message="no"/></testcase></testsuite>')
    files = [("report", ("a.xml", a.read_bytes())), ("report", ("b.xml", b.read_bytes()))]
    body = client.post("/api/v1/projects/web/imports", files=files).json()["launch"]
    assert (body["summary"]["total"], body["summary"]["failed"]) == (2, 1)


def test_duplicate_testcases_become_attempts_and_pass_on_retry(client: TestClient, tmp_path: Path) -> None:
    report = tmp_path / "rerun.xml"
    report.write_text("""<testsuite>
      <testcase classname="m" name="flaky"><failure message="first try">t</failure></testcase>
      <testcase classname="m" name="other"/>
      <testcase classname="m" name="flaky"/>
    </testsuite>""")
    body = post_report(client, report).json()["launch"]
    assert body["summary"]["total"] == 2
    assert body["summary"]["passed"] == 2
    runs = client.get(f"/api/v1/launches/{body['id']}/case-runs", params={"q": "flaky"}).json()["items"]
    assert len(runs) == 1
    assert runs[0]["attempts"] == 2 and runs[0]["passed_on_retry"] and runs[0]["attempt"] == 2
    every = client.get(f"/api/v1/launches/{body['id']}/case-runs", params={"q": "flaky", "attempts": "all"}).json()
    assert [(r["attempt"], r["status"]) for r in every["items"]] == [(1, "failed"), (2, "passed")]


def test_attachments_are_stored_served_safely_and_missing_ones_warn(client: TestClient, tmp_path: Path) -> None:
    report = tmp_path / "att.xml"
    report.write_text("""<testsuite><testcase classname="ui" name="shot"><failure message="x"/>
      <system-out>[[ATTACHMENT|shots/a.png]]
[[ATTACHMENT|shots/missing.png]]
[[ATTACHMENT|../../etc/passwd]]</system-out></testcase></testsuite>""")
    png = b"\x89PNG\r\n\x1a\nfakepng"
    body = post_report(client, report, attachments={"shots/a.png": png}).json()["launch"]
    run = client.get(f"/api/v1/launches/{body['id']}/case-runs").json()["items"][0]
    detail = client.get(f"/api/v1/case-runs/{run['id']}").json()
    assert [(a["name"], a["content_type"], a["size"]) for a in detail["attachments"]] == [
        ("a.png", "image/png", len(png))
    ]
    assert any("shots/missing.png" in w for w in detail["warnings"])
    assert any("etc/passwd" in w for w in detail["warnings"])
    download = client.get(detail["attachments"][0]["url"].replace("http://caserun.test", ""))
    assert download.content == png
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "filename=" in download.headers["content-disposition"]


def test_idempotency_key_returns_the_first_launch(client: TestClient, junit_report: Path, db: Database) -> None:
    first = post_report(client, junit_report, headers={"Idempotency-Key": "k-1"})
    again = post_report(client, junit_report, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["launch"]["id"] == again.json()["launch"]["id"]
    assert count(db, launch) == 1


def test_retry_of_links_case_runs_to_the_runs_they_retry(client: TestClient, junit_report: Path) -> None:
    first = post_report(client, junit_report).json()["launch"]["id"]
    second = post_report(client, junit_report, retry_of=str(first)).json()["launch"]
    assert second["retry_of_id"] == first
    run = client.get(f"/api/v1/launches/{second['id']}/case-runs", params={"q": "test_fails"}).json()["items"][0]
    detail = client.get(f"/api/v1/case-runs/{run['id']}").json()
    original = client.get(f"/api/v1/launches/{first}/case-runs", params={"q": "test_fails"}).json()["items"][0]
    assert detail["retry_of_id"] == original["id"]


def test_upload_mistakes_are_4xx(client: TestClient, tmp_path: Path) -> None:
    assert client.post("/api/v1/projects/web/imports", json={"x": 1}).status_code == 422
    empty = client.post("/api/v1/projects/web/imports", files=[("attachment", ("a.png", b"x"))])
    assert empty.status_code == 422
    report = tmp_path / "r.xml"
    report.write_text('<testsuite><testcase classname="a" name="b"/></testsuite>')
    assert post_report(client, report, project="nope").status_code == 404
    assert post_report(client, report, format="nosuchformat").status_code == 422
    assert post_report(client, report, retry_of="999").status_code == 404
