"""A batch of case run events moves its launch's summary by what it changed instead of
recounting the whole launch: these tests check that the summary after every batch is
exactly what a recount of the launch's final attempts gives, over random streams of
starts, finishes, retries, duplicates and refused events (on SQLite and PostgreSQL), and
that a plain batch neither recounts the launch nor costs more statements in a large
launch than in a small one."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from caserun.store.engine import Database
from caserun.store.tables import case_run
from tests.api.test_events import finished, launch_of, run_finished, run_started, send, started

STATUSES = ("passed", "failed", "skipped", "blocked")


def recount(db: Database, launch_id: int) -> dict[str, int]:
    """The summary as a full recount gives it (``launches.refresh_summary``)."""
    query = (
        select(case_run.c.status, func.count())
        .where(case_run.c.launch_id == launch_id, case_run.c.is_final)
        .group_by(case_run.c.status)
    )
    with db.read() as conn:
        counts = {str(status): int(n) for status, n in conn.execute(query)}
    out = {name: counts.get(name, 0) for name in (*STATUSES, "running")}
    out["total"] = sum(out.values())
    return out


def summary(client: TestClient, launch_id: int) -> dict[str, int]:
    s = launch_of(client, launch_id)["summary"]
    return {name: s[name] for name in (*STATUSES, "running", "total")}


def random_events(rng: random.Random, serial: Iterator[int], ref: dict[str, Any]) -> list[dict[str, Any]]:
    """One batch: starts, finishes (of this batch's starts or earlier ones, or alone with
    their test), retries of a test already seen, re-sent and refused events."""
    batch: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 12)):
        kind = rng.random()
        test = f"test_{rng.randint(0, 60)}"
        status = rng.choice(STATUSES)
        if kind < 0.35 or not ref["runs"]:
            run = f"r{next(serial)}"  # a new run: a test seen before becomes a new attempt
            ref["runs"].append(run)
            batch.append(run_started(run, test, launch=ref["launch"]))
        elif kind < 0.7:
            batch.append(run_finished(rng.choice(ref["runs"]), status, launch=ref["launch"]))  # maybe a re-send
        elif kind < 0.8:
            run = f"r{next(serial)}"  # finished without a start: carries its test
            ref["runs"].append(run)
            batch.append(
                run_finished(run, status, launch=ref["launch"], test={"suite": "shop.cart", "name": test}),
            )
        elif kind < 0.87:
            batch.append(run_finished(f"ghost{next(serial)}", status, launch=ref["launch"]))  # refused: no start
        elif kind < 0.93:
            batch.append(run_started(f"r{next(serial)}", test, launch="nowhere"))  # refused: unknown launch
        else:
            batch.append(run_started(rng.choice(ref["runs"]), test, launch=ref["launch"]))  # a re-sent start
    return batch


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_summary_after_every_batch_is_a_recount(client: TestClient, db: Database, seed: int) -> None:
    rng = random.Random(seed)
    serial = iter(range(1_000_000))
    launch_id = send(client, started("L1"))[0]["launch_id"]
    ref: dict[str, Any] = {"launch": "L1", "runs": []}
    for _ in range(30):
        send(client, *random_events(rng, serial, ref))
        assert summary(client, launch_id) == recount(db, launch_id)
    send(client, finished("L1"))
    final = summary(client, launch_id)
    assert final == recount(db, launch_id) and final["running"] == 0


def test_two_launches_in_one_batch_each_get_their_own_changes(client: TestClient, db: Database) -> None:
    one = send(client, started("A"))[0]["launch_id"]
    two = send(client, started("B"))[0]["launch_id"]
    send(
        client,
        run_started("a1", "test_x", launch="A"),
        run_started("b1", "test_x", launch="B"),
        run_finished("a1", "failed", launch="A"),
        run_started("b2", "test_y", launch="B"),
        started("C"),  # a launch event between two groups of case run events
        run_finished("b1", "passed", launch="B"),
        run_finished("b2", "skipped", launch="B"),
        run_started("a2", "test_y", launch="A"),
    )
    assert (
        summary(client, one)
        == recount(db, one)
        == {**dict.fromkeys(STATUSES, 0), "failed": 1, "running": 1} | {"total": 2}
    )
    assert summary(client, two) == recount(db, two)
    assert summary(client, two)["total"] == 2 and summary(client, two)["running"] == 0


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def pairs(first: int, count: int, launch: str = "L1") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n in range(first, first + count):
        out += [run_started(f"r{n}", f"test_{n}", launch=launch), run_finished(f"r{n}", "passed", launch=launch)]
    return out


def test_a_plain_batch_does_not_recount_its_launch(client: TestClient, db: Database) -> None:
    launch_id = send(client, started("L1"))[0]["launch_id"]
    send(client, *pairs(0, 10))
    with statements(db) as small:
        send(client, *pairs(10, 10))
    for first in range(20, 420, 100):
        send(client, *pairs(first, 100))
    with statements(db) as large:
        send(client, *pairs(420, 10))
    assert not [s for s in small + large if "count(" in s.lower()]
    assert len(large) == len(small)
    assert summary(client, launch_id) == recount(db, launch_id) and summary(client, launch_id)["passed"] == 430
