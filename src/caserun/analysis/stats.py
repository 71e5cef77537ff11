"""Per-test statistics, kept up to date when a launch's results are final.

List pages (flaky, broken, slow) read these rows instead of scanning history. Each
finished launch adds one result per test: counters, last pass/failure, the current
failing streak, the last ``RECENT_KEEP`` results (status, retry, launch, commit,
duration) and the flakiness score computed from them. Failed final runs get their
verdict (likely flaky / likely real) here too, from the score the test had before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, delete, select, text, update

from caserun.analysis.flakiness import RECENT_KEEP, Run, score, verdict
from caserun.store import bulk
from caserun.store.tables import case_run, launch, test_stats

CHUNK = 5000
#: tests rebuilt per read (their whole histories are in memory at once)
REBUILD_CHUNK = 200
#: advisory-lock namespace of per-project statistics updates (PostgreSQL)
_STATS_LOCK = 0x5747_0000_0000
_DECIDED = ("passed", "failed")


def _final_runs(conn: Connection, launch_id: int) -> list[RowMapping]:
    query = select(
        case_run.c.id,
        case_run.c.test_case_id,
        case_run.c.status,
        case_run.c.passed_on_retry,
        case_run.c.started_at,
        case_run.c.duration_ms,
        case_run.c.new_failure,
    ).where(case_run.c.launch_id == launch_id, case_run.c.is_final, case_run.c.status != "running")
    return list(conn.execute(query).mappings())


def _existing(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = conn.execute(
            select(test_stats).where(bulk.one_of(conn, test_stats.c.test_case_id, ids[start : start + CHUNK]))
        )
        found.update({int(r["test_case_id"]): dict(r) for r in rows.mappings()})
    return found


def _fresh(project_id: int, test_case_id: int) -> dict[str, Any]:
    return {
        "test_case_id": test_case_id,
        "project_id": project_id,
        "runs": 0,
        "passed": 0,
        "failed": 0,
        "skipped": 0,
        "blocked": 0,
        "passed_on_retry": 0,
        "flips": 0,
        "last_status": None,
        "last_run_at": None,
        "last_pass_at": None,
        "last_failure_at": None,
        "streak_run_id": None,
        "streak_length": 0,
        "recent": [],
        "flaky_score": 0,
    }


def apply(stats: dict[str, Any], run: RowMapping, launch_id: int, commit: str | None) -> None:
    """Fold one final result into a test's statistics (in place)."""
    status = run["status"]
    when = run["started_at"]
    stats["runs"] += 1
    if status in ("passed", "failed", "skipped", "blocked"):
        stats[status] += 1
    if run["passed_on_retry"]:
        stats["passed_on_retry"] += 1
    newest = stats["last_run_at"] is None or when >= stats["last_run_at"]
    if status in _DECIDED and newest:
        previous = stats["last_status"]
        if previous in _DECIDED and previous != status:
            stats["flips"] += 1
        stats["last_status"] = status
        if status == "failed":
            if stats["streak_length"] == 0:
                stats["streak_run_id"] = run["id"]
            stats["streak_length"] += 1
        else:
            stats["streak_run_id"] = None
            stats["streak_length"] = 0
    if newest:
        stats["last_run_at"] = when
    if status == "passed" and (stats["last_pass_at"] is None or when > stats["last_pass_at"]):
        stats["last_pass_at"] = when
    if status == "failed" and (stats["last_failure_at"] is None or when > stats["last_failure_at"]):
        stats["last_failure_at"] = when
    entry = Run(status, bool(run["passed_on_retry"]), launch_id, commit, run["duration_ms"]).to_json()
    recent: list[Any] = list(stats["recent"] or [])
    recent.append(entry)
    stats["recent"] = recent[-RECENT_KEEP:]
    stats["flaky_score"] = score([Run.from_json(item) for item in stats["recent"]]).score


def update_for_launch(conn: Connection, launch_id: int) -> None:
    """Add a finished launch's final results to its tests' statistics, and give each failed
    run its verdict. Bulk: two reads and a few executemany writes per 5,000 tests."""
    row = conn.execute(select(launch.c.project_id, launch.c.commit_sha).where(launch.c.id == launch_id)).one()
    project_id, commit = int(row[0]), row[1]
    if conn.dialect.name == "postgresql":
        # two launches of one project finishing at once would both insert a new test's
        # row; on SQLite the write lock (BEGIN IMMEDIATE) already serialises them
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _STATS_LOCK + project_id})
    runs = _final_runs(conn, launch_id)
    for start in range(0, len(runs), CHUNK):
        chunk = runs[start : start + CHUNK]
        ids = [int(r["test_case_id"]) for r in chunk]
        existing = _existing(conn, ids)
        verdicts: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []
        inserted: list[dict[str, Any]] = []
        for run in chunk:
            tc = int(run["test_case_id"])
            stats = existing.get(tc)
            target = updated if stats is not None else inserted
            stats = stats if stats is not None else _fresh(project_id, tc)
            if run["status"] == "failed" or run["passed_on_retry"]:
                verdicts.append(
                    {
                        "rid": run["id"],
                        "v": verdict(stats["flaky_score"], bool(run["passed_on_retry"]), run["new_failure"]),
                    }
                )
            apply(stats, run, launch_id, commit)
            stats["updated_at"] = datetime.now(UTC)
            target.append(stats)
        _write(conn, inserted, updated)
        if verdicts:
            conn.execute(
                update(case_run).where(case_run.c.id == bindparam("rid")).values(verdict=bindparam("v")),
                verdicts,
            )


def _write(conn: Connection, inserted: list[dict[str, Any]], updated: list[dict[str, Any]]) -> None:
    if updated:
        # replace rather than UPDATE … WHERE with bindparams for every column: one delete, one insert
        conn.execute(
            delete(test_stats).where(bulk.one_of(conn, test_stats.c.test_case_id, [s["test_case_id"] for s in updated]))
        )
    bulk.insert_rows(conn, test_stats, inserted)
    bulk.insert_rows(conn, test_stats, updated)


def rebuild(conn: Connection, project_id: int, test_case_ids: Iterable[int]) -> None:
    """Recompute tests' statistics from their whole history (after a merge, a deleted
    launch, a status change): per chunk of tests, one delete, one read of their final runs
    in time order, one bulk insert."""
    ids = sorted(set(test_case_ids))
    for start in range(0, len(ids), REBUILD_CHUNK):
        chunk = ids[start : start + REBUILD_CHUNK]
        conn.execute(delete(test_stats).where(bulk.one_of(conn, test_stats.c.test_case_id, chunk)))
        query = (
            select(
                case_run.c.id,
                case_run.c.test_case_id,
                case_run.c.status,
                case_run.c.passed_on_retry,
                case_run.c.started_at,
                case_run.c.duration_ms,
                case_run.c.launch_id,
                launch.c.commit_sha,
            )
            .join(launch, launch.c.id == case_run.c.launch_id)
            .where(
                bulk.one_of(conn, case_run.c.test_case_id, chunk),
                case_run.c.is_final,
                case_run.c.status != "running",
                launch.c.status != "running",
            )
            .order_by(case_run.c.test_case_id, case_run.c.started_at, case_run.c.id)
        )
        rebuilt: dict[int, dict[str, Any]] = {}
        for run in conn.execute(query).mappings():
            tc = int(run["test_case_id"])
            stats = rebuilt.get(tc)
            if stats is None:
                stats = rebuilt[tc] = _fresh(project_id, tc)
            apply(stats, run, int(run["launch_id"]), run["commit_sha"])
        now = datetime.now(UTC)
        for stats in rebuilt.values():
            stats["updated_at"] = now
        bulk.insert_rows(conn, test_stats, list(rebuilt.values()))
