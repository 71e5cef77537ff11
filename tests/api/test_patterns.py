"""Failure patterns through the API: grouping at import, new failures, near-duplicates,
lists and filters, a launch's patterns, live batches, and the defect a pattern points at."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, update

from caserun.service import demo
from caserun.settings import Settings
from caserun.store.engine import Database
from caserun.store.tables import case_run, defect, defect_link, failure_pattern, project
from tests.conftest import post_report


def connection_trace(test: str, host: str) -> str:
    """pytest's short traceback of a client that cannot reach its server, called from ``test``."""
    return (
        f"tests/test_orders.py:{len(test) + 10}: in {test}\n"
        f'    client.call("/orders", payload)\n'
        f"shop/client.py:41: in call\n"
        f'    return self._send("POST", path, payload)\n'
        f"shop/client.py:57: in _send\n"
        f'    raise ConnectionError(f"could not connect to {{host}} after {{n}} retries")\n'
        f"E   ConnectionError: could not connect to {host} after 3 retries (request {uuid.uuid4()})"
    )


def assertion_trace(test: str, got: int) -> str:
    return f"tests/test_cart.py:{got}: in {test}\n    assert total == 13\nE   assert {got} == 13"


def failing(name: str, message: str, trace: str, exception: str | None = None) -> str:
    kind = f' type="{exception}"' if exception else ""
    return (
        f'<testcase classname="tests.suite" name="{name}" time="0.1">'
        f'<failure message="{escape(message, {chr(34): "&quot;"})}"{kind}>{escape(trace)}</failure></testcase>'
    )


def passing(name: str) -> str:
    return f'<testcase classname="tests.suite" name="{name}" time="0.1"/>'


def upload(client: TestClient, tmp_path: Path, *cases: str, **fields: str) -> int:
    path = tmp_path / f"r-{uuid.uuid4().hex[:8]}.xml"
    path.write_text(f"<testsuite>{''.join(cases)}</testsuite>")
    response = post_report(client, path, **fields)
    assert response.status_code == 201, response.text
    return int(response.json()["launch"]["id"])


def connection_failure(test: str, host: str = "10.0.3.17:5432") -> str:
    return failing(
        test,
        f"ConnectionError: could not connect to {host} after 3 retries",
        connection_trace(test, host),
        "ConnectionError",
    )


def runs_of(client: TestClient, launch_id: int) -> dict[str, dict]:  # type: ignore[type-arg]
    items = client.get(f"/api/v1/launches/{launch_id}/case-runs", params={"status": "failed"}).json()["items"]
    return {i["name"]: client.get(f"/api/v1/case-runs/{i['id']}").json() for i in items}


def patterns(client: TestClient, **params: object) -> list[dict]:  # type: ignore[type-arg]
    response = client.get("/api/v1/projects/web/failure-patterns", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


def test_import_groups_failures_and_flags_new_failures_on_first_occurrence(client: TestClient, tmp_path: Path) -> None:
    first = upload(
        client,
        tmp_path,
        connection_failure("test_create_order", "10.0.3.17:5432"),
        connection_failure("test_cancel_order", "10.0.9.2:5433"),
        connection_failure("test_refund", "db-primary.internal:5432"),
        failing("test_total", "assert 14 == 13", assertion_trace("test_total", 14), "AssertionError"),
        passing("test_ok"),
    )
    found = patterns(client)
    assert len(found) == 2
    by_exception = {p["exception"]: p for p in found}
    conn_pattern = by_exception["ConnectionError"]
    assert conn_pattern["count"] == 3
    assert conn_pattern["tests_affected"] == 3 and conn_pattern["launches_affected"] == 1
    assert conn_pattern["message"] == "could not connect to <host> after <n> retries"
    assert "at client.py:_send" in conn_pattern["template"]
    assert conn_pattern["example_message"].startswith("ConnectionError: could not connect")
    assert "shop/client.py:57: in _send" in conn_pattern["example_trace"]
    assert len(conn_pattern["daily"]) == 30
    assert conn_pattern["daily"][-1]["count"] == 3 and sum(d["count"] for d in conn_pattern["daily"]) == 3
    assert conn_pattern["defect"] is None
    assert by_exception["AssertionError"]["count"] == 1

    runs = runs_of(client, first)
    assert all(r["new_failure"] is True for r in runs.values())
    assert runs["test_create_order"]["pattern_id"] == runs["test_refund"]["pattern_id"] == conn_pattern["id"]
    # each run keeps its own signature; the near-duplicates share the pattern
    assert len(runs["test_create_order"]["signature"]) == 64
    assert runs["test_create_order"]["signature"] != runs["test_cancel_order"]["signature"]
    assert runs["test_create_order"]["suggested_defects"] == []

    second = upload(
        client,
        tmp_path,
        connection_failure("test_create_order", "10.0.4.1:5432"),
        failing("test_total", "assert 15 == 13", assertion_trace("test_total", 15), "AssertionError"),
        failing("test_new", "ValueError: bad price 'EUR 3'", "shop/prices.py:9: in parse\nE   ValueError: bad price"),
    )
    runs = runs_of(client, second)
    assert runs["test_create_order"]["new_failure"] is False
    assert runs["test_total"]["new_failure"] is False
    assert runs["test_new"]["new_failure"] is True
    conn_pattern = client.get(f"/api/v1/failure-patterns/{conn_pattern['id']}").json()
    assert conn_pattern["count"] == 4 and conn_pattern["launches_affected"] == 2
    assert conn_pattern["first_seen"] <= conn_pattern["last_seen"]

    in_launch = client.get(f"/api/v1/launches/{second}/failure-patterns").json()["items"]
    assert {(i["pattern"]["exception"], i["launch_count"], i["new"]) for i in in_launch} == {
        ("ConnectionError", 1, False),
        ("AssertionError", 1, False),
        ("ValueError", 1, True),
    }
    first_items = client.get(f"/api/v1/launches/{first}/failure-patterns").json()["items"]
    assert first_items[0]["pattern"]["exception"] == "ConnectionError" and first_items[0]["launch_count"] == 3
    assert all(i["new"] for i in first_items)


def test_near_duplicate_messages_share_a_pattern_and_different_causes_do_not(
    client: TestClient, tmp_path: Path
) -> None:
    def timeout(test: str, selector: str) -> str:
        trace = "tests/test_ui.py:20: in test_pay\n    page.click(sel)\nE   TimeoutError: waiting"
        return failing(test, f"TimeoutError: timed out waiting for {selector} to be visible in the page", trace)

    upload(
        client,
        tmp_path,
        timeout("test_pay[button]", "#pay-button"),
        # the same code, a selector the masks cannot know is volatile: a near-duplicate
        timeout("test_pay[btn]", "#pay-btn"),
        # the same code, another message: another pattern
        failing("test_pay[x]", "TimeoutError: socket closed", "tests/test_ui.py:20: in test_pay\nE   TimeoutError"),
        # the same message from other code: another pattern
        timeout("test_refund", "#pay-button").replace("in test_pay", "in test_refund"),
    )
    upload(client, tmp_path, timeout("test_pay[button]", "#pay-button-v2"))
    found = patterns(client, sort="-count")
    assert [p["count"] for p in found] == [3, 1, 1]
    runs = client.get(f"/api/v1/failure-patterns/{found[0]['id']}").json()["case_runs"]["items"]
    assert {r["full_name"] for r in runs} == {"tests.suite.test_pay[button]", "tests.suite.test_pay[btn]"}


def test_list_filters_sorts_and_pages(client: TestClient, tmp_path: Path) -> None:
    upload(client, tmp_path, *(connection_failure(f"test_{n}") for n in range(3)))
    upload(
        client,
        tmp_path,
        *(
            failing(f"t{n}", f"KeyError: 'k{n}'", f"shop/m{n}.py:1: in f{n}\nE   KeyError: 'k{n}'", "KeyError")
            for n in range(3)
        ),
    )
    assert len(patterns(client)) == 4
    assert [p["count"] for p in patterns(client, min_count=2)] == [3]
    assert [p["exception"] for p in patterns(client, q="could NOT connect")] == ["ConnectionError"]
    assert patterns(client, sort="-count")[0]["exception"] == "ConnectionError"
    assert patterns(client, sort="count")[-1]["exception"] == "ConnectionError"
    assert patterns(client, since="2999-01-01T00:00:00Z") == []
    assert patterns(client, until="2000-01-01T00:00:00Z") == []

    seen, cursor = [], None
    while True:
        params: dict[str, object] = {"limit": 3, "sort": "-count"}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/v1/projects/web/failure-patterns", params=params).json()
        seen += [p["id"] for p in body["items"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4

    bad = client.get("/api/v1/projects/web/failure-patterns", params={"sort": "name"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    assert client.get("/api/v1/projects/nope/failure-patterns").status_code == 404


def test_pattern_detail_pages_its_runs(client: TestClient, tmp_path: Path) -> None:
    upload(client, tmp_path, *(connection_failure(f"test_{n}") for n in range(5)))
    pattern_id = patterns(client)[0]["id"]
    body = client.get(f"/api/v1/failure-patterns/{pattern_id}", params={"limit": 2}).json()
    assert body["count"] == 5 and len(body["case_runs"]["items"]) == 2
    ids = [r["id"] for r in body["case_runs"]["items"]]
    cursor = body["case_runs"]["next"]
    while cursor:
        page = client.get(f"/api/v1/failure-patterns/{pattern_id}", params={"limit": 2, "cursor": cursor}).json()
        ids += [r["id"] for r in page["case_runs"]["items"]]
        cursor = page["case_runs"]["next"]
    assert len(set(ids)) == 5
    run = body["case_runs"]["items"][0]
    assert run["full_name"].startswith("tests.suite.test_") and run["new_failure"] is True
    assert client.get("/api/v1/failure-patterns/999999").status_code == 404
    assert client.get("/api/v1/launches/999999/failure-patterns").status_code == 404


def _defect(db: Database, project_id: int, status: str) -> int:
    now = datetime.now(UTC)
    with db.write() as conn:
        result = conn.execute(
            insert(defect).values(
                project_id=project_id,
                title=f"backend down ({status})",
                severity="high",
                status=status,
                reopen_suggested=False,
                created_by="tester",
                created_at=now,
                updated_at=now,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def test_linked_defects_are_suggested_auto_linked_or_flagged_for_reopening(
    client: TestClient, db: Database, tokens: dict[str, str], tmp_path: Path
) -> None:
    upload(client, tmp_path, connection_failure("test_a"))
    pattern_id = patterns(client)[0]["id"]
    project_id = db.engine.connect().execute(select(project.c.id)).scalar_one()
    open_defect = _defect(db, project_id, "open")
    maintainer = {"Authorization": f"Bearer {tokens['maintainer']}"}
    url = f"/api/v1/failure-patterns/{pattern_id}/defect"

    assert client.put(url, json={"defect_id": open_defect}).status_code == 403  # a reporter may not
    linked = client.put(url, json={"defect_id": open_defect}, headers=maintainer)
    assert linked.status_code == 200, linked.text
    assert linked.json()["defect"] == {"id": open_defect, "title": "backend down (open)", "status": "open"}
    assert patterns(client)[0]["defect"]["id"] == open_defect

    # suggested, not linked
    launch = upload(client, tmp_path, connection_failure("test_b"))
    run = runs_of(client, launch)["test_b"]
    assert [d["id"] for d in run["suggested_defects"]] == [open_defect]
    with db.read() as conn:
        assert conn.execute(select(defect_link)).all() == []

    # the project links automatically
    with db.write() as conn:
        conn.execute(update(project).values(settings={"auto_link_defects": True}))
    launch = upload(client, tmp_path, connection_failure("test_c"))
    run = runs_of(client, launch)["test_c"]
    with db.read() as conn:
        links = conn.execute(select(defect_link.c.defect_id, defect_link.c.case_run_id, defect_link.c.origin)).all()
    assert [(d, r, o) for d, r, o in links] == [(open_defect, run["id"], "auto")]
    assert run["suggested_defects"] == []  # already linked

    # a resolved defect whose pattern fails again is flagged for reopening
    resolved = _defect(db, project_id, "resolved")
    assert client.put(url, json={"defect_id": resolved}, headers=maintainer).status_code == 200
    with db.read() as conn:
        assert conn.execute(select(defect.c.reopen_suggested).where(defect.c.id == resolved)).scalar_one() is False
    launch = upload(client, tmp_path, connection_failure("test_d"))
    assert runs_of(client, launch)["test_d"]["suggested_defects"] == []
    with db.read() as conn:
        assert conn.execute(select(defect.c.reopen_suggested).where(defect.c.id == resolved)).scalar_one() is True

    unlinked = client.put(url, json={"defect_id": None}, headers=maintainer)
    assert unlinked.status_code == 200 and unlinked.json()["defect"] is None
    missing = client.put(url, json={"defect_id": 424242}, headers=maintainer)
    assert missing.status_code == 404


def test_live_batches_are_assigned_incrementally(client: TestClient) -> None:
    launch = client.post("/api/v1/projects/web/launches", json={"name": "live"}).json()["id"]

    def batch(*items: dict) -> list[int]:  # type: ignore[type-arg]
        response = client.post(f"/api/v1/launches/{launch}/case-runs", json={"items": list(items)})
        assert response.status_code == 201, response.text
        return response.json()["ids"]  # type: ignore[no-any-return]

    def failure(test: str, host: str) -> dict:  # type: ignore[type-arg]
        return {
            "name": test,
            "status": "failed",
            "failure": {
                "message": f"could not connect to {host} after 3 retries",
                "exception": "ConnectionError",
                "trace": connection_trace(test, host),
            },
        }

    [a] = batch(failure("test_a", "10.0.0.1:1"))
    [b, running] = batch(failure("test_b", "10.0.0.2:2"), {"name": "test_c", "status": "running"})
    first, second = (client.get(f"/api/v1/case-runs/{i}").json() for i in (a, b))
    assert first["pattern_id"] == second["pattern_id"] is not None
    assert first["new_failure"] is second["new_failure"] is True  # both in the launch that introduced it
    assert client.get(f"/api/v1/case-runs/{running}").json()["pattern_id"] is None

    finished = client.patch(
        f"/api/v1/case-runs/{running}",
        json={
            "status": "failed",
            "failure": {
                "message": "could not connect to 10.1.1.1:3 after 3 retries",
                "exception": "ConnectionError",
                "trace": connection_trace("test_c", "10.1.1.1:3"),
            },
        },
    )
    assert finished.status_code == 204, finished.text
    third = client.get(f"/api/v1/case-runs/{running}").json()
    assert third["pattern_id"] == first["pattern_id"]
    assert client.get(f"/api/v1/failure-patterns/{first['pattern_id']}").json()["count"] == 3


@pytest.mark.parametrize("failures", [2500])
def test_a_big_import_is_grouped_in_bulk(client: TestClient, db: Database, tmp_path: Path, failures: int) -> None:
    """More failures than one assignment chunk: every run is signed, counts add up."""
    cases = [connection_failure(f"test_{n}", f"10.0.{n % 250}.{n % 7}:5432") for n in range(failures)]
    launch = upload(client, tmp_path, *cases)
    with db.read() as conn:
        unsigned = conn.execute(
            select(case_run.c.id).where(case_run.c.launch_id == launch, case_run.c.signature.is_(None))
        ).all()
    assert unsigned == []
    [only] = patterns(client)
    assert only["count"] == failures and only["tests_affected"] == failures


def test_the_demo_history_plants_three_patterns_and_they_are_found(db: Database, settings: Settings) -> None:
    """The demo's planted failures: a timeout of two flaky tests, a backend outage hitting
    many tests, and the broken refund test; nothing else."""
    assert demo.seed(db, settings.blob_dir)
    with db.read() as conn:
        found = conn.execute(
            select(
                failure_pattern.c.exception,
                failure_pattern.c.count,
                select(func.count(func.distinct(case_run.c.test_case_id)))
                .where(case_run.c.pattern_id == failure_pattern.c.id)
                .scalar_subquery(),
            )
        ).all()
        unsigned = conn.execute(
            select(func.count()).where(case_run.c.status == "failed", case_run.c.pattern_id.is_(None))
        ).scalar_one()
    tests = {exception: n_tests for exception, _, n_tests in found}
    assert sorted(tests) == ["AssertionError", "ConnectionError", "TimeoutError"]
    assert tests["TimeoutError"] == 2 and tests["AssertionError"] == 1 and tests["ConnectionError"] > 5
    assert unsigned == 0
