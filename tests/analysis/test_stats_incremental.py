"""The incremental statistics update (set-based SQL) agrees with folding the same results
one by one in Python (``stats.apply``, the definition), and with a rebuild from history.

Random histories: tests that pass, fail, skip, are blocked, pass on retry, are missing
from some launches; commits that repeat; results whose start times go backwards; more
than RECENT_KEEP launches so the kept results roll over."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from caserun.analysis import stats
from caserun.analysis.flakiness import RECENT_KEEP, verdict
from caserun.domain.model import Attempt, Failure, Status, TestResult
from caserun.service import projects
from caserun.service.launches import LaunchParams, record_completed_launch
from caserun.store.blobs import FileBlobStore
from caserun.store.engine import Database
from caserun.store.tables import case_run, launch, test_stats

TESTS = 14
START = datetime(2026, 3, 1, tzinfo=UTC)
COMPARED = [c.name for c in test_stats.columns if c.name != "updated_at"]


def _attempts(rng: random.Random, kind: str, when: datetime) -> list[Attempt]:
    def one(status: Status) -> Attempt:
        failure = Failure(f"boom {rng.randint(0, 2)}", exception="AssertionError") if status is Status.FAILED else None
        duration = rng.choice([None, rng.randint(1, 5000)])
        return Attempt(status=status, duration_ms=duration, started_at=when, failure=failure)

    if kind == "retry":
        return [one(Status.FAILED), one(Status.PASSED)]
    return [one(Status(kind))]


def _launch(
    db: Database, blobs: Path, index: int, rng: random.Random, profile: list[float], *, jitter: bool = True
) -> int:
    when = START + timedelta(hours=index)
    commit = rng.choice(["c1", "c2", "c3", None]) if index % 3 else f"solo{index}"
    results = []
    for t in range(TESTS):
        if rng.random() < 0.1:
            continue  # this test did not run in this launch
        kinds = ["passed", "failed", "skipped", "blocked", "retry"]
        retry = profile[t] / 2 if profile[t] < 1 else 0  # a broken test never passes on retry
        weights = [1 - profile[t], profile[t], 0.05, 0.03, retry]
        kind = rng.choices(kinds, weights)[0]
        # a run now and then reports a start time before the previous launch's
        back = rng.choice([0, 0, 0, 0, 2]) if jitter else 0
        started = when - timedelta(hours=back, minutes=t)
        results.append(TestResult(suite="suite", name=f"test_{t}", attempts=_attempts(rng, kind, started)))
    with db.write() as conn:
        project = projects.lookup(conn, "p")
        params = LaunchParams(name=f"l{index}", commit=commit, started_at=when)
        launch_id = record_completed_launch(conn, project.id, params, results, FileBlobStore(blobs))
    return launch_id


def _table(db: Database) -> dict[int, dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(select(test_stats)).mappings()
        return {int(r["test_case_id"]): {name: r[name] for name in COMPARED} for r in rows}


def _folded_in_python(db: Database, project_id: int) -> dict[int, dict[str, Any]]:
    """``stats.apply`` over every final result, in the order the launches arrived."""
    query = (
        select(case_run, launch.c.commit_sha)
        .join(launch, launch.c.id == case_run.c.launch_id)
        .where(case_run.c.is_final, case_run.c.status != "running")
        .order_by(case_run.c.launch_id, case_run.c.id)
    )
    folded: dict[int, dict[str, Any]] = {}
    with db.read() as conn:
        for run in conn.execute(query).mappings():
            tc = int(run["test_case_id"])
            entry = folded.setdefault(tc, stats._fresh(project_id, tc))
            stats.apply(entry, run, int(run["launch_id"]), run["commit_sha"])
    return {tc: {name: entry[name] for name in COMPARED} for tc, entry in folded.items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_update_equals_folding_each_result(db: Database, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    project = projects.create(db, "p")
    # per test: how often it fails; some never, some always (broken), most in between
    profile = [0.0, 0.0, 1.0, *(rng.choice([0.05, 0.2, 0.5]) for _ in range(TESTS - 3))]
    for index in range(RECENT_KEEP + 8):
        before = {tc: row["flaky_score"] for tc, row in _table(db).items()}
        launch_id = _launch(db, tmp_path / "blobs", index, rng, profile)
        with db.read() as conn:
            judged = conn.execute(
                select(case_run).where(case_run.c.launch_id == launch_id, case_run.c.is_final)
            ).mappings()
            for run in judged:
                if run["status"] == "failed" or run["passed_on_retry"]:
                    prior = before.get(int(run["test_case_id"]), 0)
                    expected = verdict(prior, bool(run["passed_on_retry"]), run["new_failure"])
                    assert run["verdict"] == expected, (index, run["test_case_id"])
                else:
                    assert run["verdict"] is None

    table = _table(db)
    assert table == _folded_in_python(db, project.id)
    assert max(len(row["recent"]) for row in table.values()) == RECENT_KEEP  # rolled over, never longer
    assert any(row["flaky_score"] > 0 for row in table.values())
    assert any(row["streak_length"] >= 3 for row in table.values())  # the always-failing test


def test_rebuild_from_history_gives_the_same_statistics(db: Database, tmp_path: Path) -> None:
    """With start times in launch order, rebuilding from history (time order) and the
    incremental update (arrival order) agree on everything."""
    rng = random.Random(7)
    project = projects.create(db, "p")
    profile = [rng.choice([0.0, 0.1, 0.4, 1.0]) for _ in range(TESTS)]
    for index in range(12):
        _launch(db, tmp_path / "blobs", index, rng, profile, jitter=False)
    incremental = _table(db)
    with db.write() as conn:
        stats.rebuild(conn, project.id, incremental)
    assert _table(db) == incremental
