"""Case run events of one batch are answered one by one but written together: these tests
check that a batch gives the same answers and the same case runs as the same events sent
one per request, for mixed valid and refused events, duplicates inside a batch, a start
and its finish in one batch, attempts, a bulk write that fails and falls back, and the
same batch sent twice at the same moment (on SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from caserun.ingest import events as schema
from caserun.service import auth, event_groups
from caserun.service import events as events_service
from tests.api.test_events import codes, finished, launch_of, run_finished, run_started, send, started

SHOT = base64.b64encode(b"\x89PNG fake").decode()


def runs_of(client: TestClient, launch_id: int) -> list[dict[str, Any]]:
    page = client.get(f"/api/v1/launches/{launch_id}/case-runs", params={"attempts": "all", "limit": 500}).json()
    return page["items"]  # type: ignore[no-any-return]


def detail(client: TestClient, case_run_id: int) -> dict[str, Any]:
    """A case run as a user sees it, without what differs between two launches."""
    body: dict[str, Any] = client.get(f"/api/v1/case-runs/{case_run_id}").json()
    for key in ("id", "launch_id", "url", "retry_of_id", "new_failure"):  # new_failure: the second has history
        body.pop(key, None)
    body["attempt_list"] = [{k: v for k, v in a.items() if k != "id"} for a in body["attempt_list"]]
    body["attachments"] = [(a["name"], a["content_type"], a["size"]) for a in body.get("attachments", [])]
    return body


def test_valid_and_refused_events_in_one_batch(client: TestClient) -> None:
    launch_id = send(client, started())[0]["launch_id"]
    results = send(
        client,
        run_started("r1", "test_add"),
        run_finished("r1", "passed", duration_ms=5),
        run_finished("ghost", "failed"),  # never started, no test: refused
        run_started("r2", "test_pay", launch="nope"),  # unknown launch: refused
        {"type": "case_run.started", "launch": "L1", "id": "bad id", "test": {"name": "t"}},  # invalid
        run_started("r3", "test_ship"),
        run_finished("r3", "failed", failure={"message": "boom"}),
        run_finished("r3", "passed"),  # a second finish with another status: refused
        run_started("r4", "test_refund"),
    )
    assert codes(results) == [
        (201, "created"),
        (200, "finished"),
        (409, "conflict"),
        (404, "not_found"),
        (422, "invalid_input"),
        (201, "created"),
        (200, "finished"),
        (409, "conflict"),
        (201, "created"),
    ]
    assert "'ghost' has not started" in results[2]["message"]
    assert "launch 'nope' not found" in results[3]["message"]
    assert "already finished as failed" in results[7]["message"]
    assert results[1]["case_run_id"] == results[0]["case_run_id"]
    assert results[6]["case_run_id"] == results[5]["case_run_id"]
    runs = runs_of(client, launch_id)
    assert sorted((r["name"], r["status"]) for r in runs) == [
        ("test_add", "passed"),
        ("test_refund", "running"),
        ("test_ship", "failed"),
    ]
    summary = launch_of(client, launch_id)["summary"]
    assert {k: summary[k] for k in ("total", "passed", "failed", "running")} == {
        "total": 3,
        "passed": 1,
        "failed": 1,
        "running": 1,
    }


def test_duplicates_inside_one_batch(client: TestClient) -> None:
    launch_id = send(client, started())[0]["launch_id"]
    results = send(
        client,
        run_started("r1", "test_add"),
        run_started("r1", "test_add"),
        run_finished("r1", "passed"),
        run_finished("r1", "passed"),
        run_started("r1", "test_add"),
        run_finished("r2", "skipped", test={"name": "test_skip"}),
        run_finished("r2", "skipped", test={"name": "test_skip"}),
        run_started("r2", "test_skip"),
    )
    assert codes(results) == [
        (201, "created"),
        (200, "duplicate"),
        (200, "finished"),
        (200, "duplicate"),
        (200, "duplicate"),
        (201, "created"),
        (200, "duplicate"),
        (200, "duplicate"),
    ]
    assert len({r["case_run_id"] for r in results[:5]}) == 1
    assert len({r["case_run_id"] for r in results[5:]}) == 1
    runs = runs_of(client, launch_id)
    assert sorted((r["name"], r["attempt"], r["status"]) for r in runs) == [
        ("test_add", 1, "passed"),
        ("test_skip", 1, "skipped"),
    ]
    assert (
        codes(send(client, *[run_started("r1", "test_add"), run_finished("r1", "passed")])) == [(200, "duplicate")] * 2
    )


def _full_test(run: str, launch: str) -> list[dict[str, Any]]:
    return [
        run_started(
            run,
            "test_checkout",
            launch=launch,
            started_at="2026-03-01T10:00:00Z",
            metadata={"nodeid": "t.py::test_checkout", "worker": "gw1"},
            test={"suite": "shop.cart", "name": "test_checkout", "file": "t.py", "line": 12},
        ),
        run_finished(
            run,
            "failed",
            launch=launch,
            finished_at="2026-03-01T10:00:02.500Z",
            failure={"message": "expected 3", "type": "assertion", "exception": "AssertionError", "trace": "tb"},
            stdout="out",
            stderr="err",
            log="INFO x",
            attachments=[{"name": "screen.png", "data": SHOT}, {"name": "big.bin", "data": SHOT}],
            metadata={"worker": "gw2", "retries": 1},
        ),
    ]


def test_start_and_finish_in_one_batch_record_what_two_batches_record(client: TestClient) -> None:
    """One finished row, with the start's time, test and metadata and the finish's result,
    the same as when the start and the finish come in separate requests."""
    together = send(client, started("A"), *_full_test("r1", "A"))
    assert codes(together) == [(201, "created"), (201, "created"), (200, "finished")]
    apart = [send(client, started("B"))[0], *send(client, _full_test("r1", "B")[0])]
    apart += send(client, _full_test("r1", "B")[1])
    assert codes(apart) == [(201, "created"), (201, "created"), (200, "finished")]

    one, two = detail(client, together[2]["case_run_id"]), detail(client, apart[2]["case_run_id"])
    assert one == two
    assert one["status"] == "failed" and one["duration_ms"] == 2500
    assert one["started_at"].startswith("2026-03-01T10:00:00")
    assert one["finished_at"].startswith("2026-03-01T10:00:02.5")
    assert one["metadata"] == {"nodeid": "t.py::test_checkout", "worker": "gw2", "retries": "1"}
    assert one["logs"] == {"stdout": "out", "stderr": "err", "log": "INFO x"}
    assert one["failure"]["message"] == "expected 3" and one["failure"]["exception"] == "AssertionError"
    assert one["attachments"] == [("screen.png", "image/png", 9), ("big.bin", "application/octet-stream", 9)]
    for launch_id in (together[0]["launch_id"], apart[0]["launch_id"]):
        summary = launch_of(client, launch_id)["summary"]
        assert (summary["total"], summary["failed"], summary["running"]) == (1, 1, 0)


def test_attempts_of_one_test_in_one_batch_and_across_batches(client: TestClient) -> None:
    launch_id = send(client, started())[0]["launch_id"]
    send(
        client,
        run_started("a1", "test_flaky"),
        run_started("b1", "test_solid"),
        run_finished("a1", "failed", failure={"message": "flaky"}),
        run_started("a2", "test_flaky"),
    )
    results = send(client, run_finished("a2", "failed"), run_started("a3", "test_flaky"), run_finished("a3", "passed"))
    assert codes(results) == [(200, "finished"), (201, "created"), (200, "finished")]
    runs = runs_of(client, launch_id)
    assert sorted((r["name"], r["attempt"], r["status"], r["is_final"], r["passed_on_retry"]) for r in runs) == [
        ("test_flaky", 1, "failed", False, False),
        ("test_flaky", 2, "failed", False, False),
        ("test_flaky", 3, "passed", True, True),
        ("test_solid", 1, "running", True, False),
    ]
    summary = launch_of(client, launch_id)["summary"]
    assert (summary["total"], summary["passed"], summary["running"], summary["failed"]) == (2, 1, 1, 0)


def test_an_earlier_attempt_finishing_last_still_settles_the_retry(client: TestClient) -> None:
    """Attempts 1 and 2 of a test run at once (a rerun started before the first attempt
    reported); the pass of attempt 2 is known to follow a failure only when attempt 1
    finishes, in a later batch."""
    launch_id = send(client, started())[0]["launch_id"]
    send(client, run_started("a1", "test_flaky"), run_started("a2", "test_flaky"), run_started("b1", "test_solid"))
    send(client, run_finished("a2", "passed"), run_finished("b1", "passed"))
    send(client, run_finished("a1", "failed", failure={"message": "flaky"}))
    runs = runs_of(client, launch_id)
    assert sorted((r["name"], r["attempt"], r["status"], r["is_final"], r["passed_on_retry"]) for r in runs) == [
        ("test_flaky", 1, "failed", False, False),
        ("test_flaky", 2, "passed", True, True),
        ("test_solid", 1, "passed", True, False),
    ]
    summary = launch_of(client, launch_id)["summary"]
    assert (summary["total"], summary["passed"], summary["failed"]) == (2, 2, 0)


def test_finishes_of_runs_started_earlier_are_written_together(client: TestClient) -> None:
    launch_id = send(client, started())[0]["launch_id"]
    starts = [run_started(f"r{n}", f"test_{n}", metadata={"n": n}) for n in range(5)]
    ids = [r["case_run_id"] for r in send(client, *starts)]
    results = send(
        client,
        run_finished("r0", "passed", stdout="zero"),
        run_finished("r1", "failed", failure={"message": "one"}, metadata={"extra": "x"}),
        run_finished("r2", "skipped", attachments=[{"name": "a.txt", "data": SHOT}]),
        run_finished("r3", "blocked"),
        finished(status="stopped"),
    )
    assert codes(results) == [(200, "finished")] * 5
    assert [r["case_run_id"] for r in results[:4]] == ids[:4]
    assert detail(client, ids[0])["logs"] == {"stdout": "zero"}
    assert detail(client, ids[1])["metadata"] == {"n": "1", "extra": "x"}
    assert detail(client, ids[1])["failure"]["message"] == "one"
    assert detail(client, ids[2])["attachments"] == [("a.txt", "text/plain", 9)]
    left = detail(client, ids[4])
    assert left["status"] == "skipped" and "stopped before this test finished" in " ".join(left["warnings"])
    summary = launch_of(client, launch_id)["summary"]
    assert {k: summary[k] for k in ("passed", "failed", "skipped", "blocked", "running")} == {
        "passed": 1,
        "failed": 1,
        "skipped": 2,
        "blocked": 1,
        "running": 0,
    }


def test_a_failed_bulk_write_falls_back_to_one_by_one(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the bulk write fails (another request recorded a client id in between), what it
    wrote is rolled back and the events are applied one at a time, with the same answers."""
    calls = []
    write = event_groups._Group.write

    def write_then_fail(self: event_groups._Group) -> None:
        write(self)
        calls.append(len(self.new))
        raise IntegrityError("insert", {}, Exception("uq_case_run_client_id"))

    launch_id = send(client, started())[0]["launch_id"]
    monkeypatch.setattr(event_groups._Group, "write", write_then_fail)
    results = send(
        client,
        run_started("r1", "test_add"),
        run_finished("r1", "passed"),
        run_finished("r2", "failed", test={"name": "test_pay"}, failure={"message": "no"}),
        run_finished("r9", "passed"),
    )
    assert calls == [2]
    assert codes(results) == [(201, "created"), (200, "finished"), (201, "created"), (409, "conflict")]
    runs = runs_of(client, launch_id)
    assert sorted((r["name"], r["status"]) for r in runs) == [("test_add", "passed"), ("test_pay", "failed")]
    assert launch_of(client, launch_id)["summary"]["total"] == 2


def test_the_same_batch_sent_twice_at_once_records_each_test_once(client: TestClient) -> None:
    """A sender re-sending a batch while the first request still runs: on PostgreSQL the
    two transactions overlap, and the launch row lock makes the second see the first's
    case runs and answer them duplicate."""
    launch_id = send(client, started())[0]["launch_id"]
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    reporter = auth.authenticate(ctx.db, client.headers["Authorization"].split()[1])
    batch = []
    for n in range(100):
        batch += [run_started(f"r{n}", f"test_{n}"), run_finished(f"r{n}", "failed" if n % 10 == 0 else "passed")]
    items = [(i, schema.parse_event(e)) for i, e in enumerate(batch)]
    senders = 4
    barrier = threading.Barrier(senders)
    answers: list[list[events_service.Outcome]] = [[] for _ in range(senders)]

    def sender(n: int) -> None:
        barrier.wait()
        answers[n] = events_service.apply(
            ctx.db, ctx.blobs, reporter, "web", items, base_url="http://x", max_attachment_bytes=10**6
        )

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    flat = [o for outcomes in answers for o in outcomes]
    assert len(flat) == senders * len(batch) and all(o.ok for o in flat)
    assert sorted(o.code for o in flat if o.index == 0) == ["created"] + ["duplicate"] * (senders - 1)
    assert len({o.case_run_id for o in flat}) == 100
    summary = launch_of(client, launch_id)["summary"]
    assert (summary["total"], summary["passed"], summary["failed"], summary["running"]) == (100, 90, 10, 0)
