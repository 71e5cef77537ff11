"""Per-test statistics, kept up to date when a launch's results are final.

List pages (flaky, broken, slow) read these rows instead of scanning history. Each
finished launch adds one result per test: counters, last pass/failure, the current
failing streak, the last ``RECENT_KEEP`` results (status, retry, launch, commit,
duration) and the flakiness score computed from them. Failed final runs get their
verdict (likely flaky / likely real) here too, from the score the test had before.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Connection,
    RowMapping,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from caserun.analysis.flakiness import FLAKY_VERDICT_SCORE, RECENT_KEEP, Run, score
from caserun.store import bulk
from caserun.store.tables import Time, case_run, launch, test_stats

#: tests rebuilt per read (their whole histories are in memory at once)
REBUILD_CHUNK = 200
#: advisory-lock namespace of per-project statistics updates (PostgreSQL)
_STATS_LOCK = 0x5747_0000_0000
_DECIDED = ("passed", "failed")


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
    run its verdict.

    Set-based, whatever the launch's size: one UPDATE gives verdicts from the scores the
    tests had before, one INSERT … SELECT adds rows for tests seen for the first time, one
    UPDATE … FROM folds every result into counters, streak, last-seen times and the recent
    results (appended in SQL, as :func:`apply` does in Python). Python then rescores only
    the tests whose kept results hold a failure or a pass on retry, or whose score was not
    0: a window of clean passes scores 0, so a passing test never leaves the database."""
    row = conn.execute(select(launch.c.project_id, launch.c.commit_sha).where(launch.c.id == launch_id)).one()
    project_id, commit = int(row[0]), row[1]
    if conn.dialect.name == "postgresql":
        # two launches of one project finishing at once would both insert a new test's
        # row; on SQLite the write lock (BEGIN IMMEDIATE) already serialises them
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _STATS_LOCK + project_id})
    now = datetime.now(UTC)
    _give_verdicts(conn, launch_id)
    _add_new_tests(conn, project_id, launch_id, now)
    _fold(conn, launch_id, commit, now)
    _rescore(conn, launch_id)


def _final(run: Any, launch_id: int) -> ColumnElement[bool]:
    return and_(run.c.launch_id == launch_id, run.c.is_final, run.c.status != "running")


def _give_verdicts(conn: Connection, launch_id: int) -> None:
    """``flakiness.verdict`` in SQL, from each test's score before this launch."""
    prior = (
        select(test_stats.c.flaky_score).where(test_stats.c.test_case_id == case_run.c.test_case_id).scalar_subquery()
    )
    known_flaky = and_(
        func.coalesce(prior, 0) >= FLAKY_VERDICT_SCORE, not_(func.coalesce(case_run.c.new_failure, false()))
    )
    conn.execute(
        update(case_run)
        .where(_final(case_run, launch_id), or_(case_run.c.status == "failed", case_run.c.passed_on_retry))
        .values(
            verdict=case(
                (or_(case_run.c.passed_on_retry, known_flaky), "likely_flaky"),
                else_="likely_real",
            )
        )
    )


def _add_new_tests(conn: Connection, project_id: int, launch_id: int, now: datetime) -> None:
    run = case_run.alias("run")
    zero = literal(0)
    counters = ("runs", "passed", "failed", "skipped", "blocked", "passed_on_retry", "flips", "streak_length")
    new = select(
        run.c.test_case_id,
        literal(project_id).label("project_id"),
        *(zero.label(name) for name in counters),
        literal(0).label("flaky_score"),
        literal(now, Time).label("updated_at"),
    ).where(
        _final(run, launch_id),
        ~exists().where(test_stats.c.test_case_id == run.c.test_case_id),
    )
    columns = ["test_case_id", "project_id", *counters, "flaky_score", "updated_at"]
    conn.execute(insert(test_stats).from_select(columns, new))


def _fold(conn: Connection, launch_id: int, commit: str | None, now: datetime) -> None:
    """:func:`apply` for every test of the launch at once (values on the right-hand side
    are the row's old ones, in SQL)."""
    run, stats = case_run.alias("run"), test_stats
    status = run.c.status
    newest = or_(stats.c.last_run_at.is_(None), run.c.started_at >= stats.c.last_run_at)
    decided = status.in_(_DECIDED)
    flipped = and_(newest, decided, stats.c.last_status.in_(_DECIDED), stats.c.last_status != status)
    fails_now = and_(newest, status == "failed")
    passes_now = and_(newest, status == "passed")

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return case((condition, 1), else_=0)

    def latest(column: Any, wanted: str) -> ColumnElement[Any]:
        later = or_(column.is_(None), run.c.started_at > column)
        return case((and_(status == wanted, later), run.c.started_at), else_=column)

    conn.execute(
        update(stats)
        .where(stats.c.test_case_id == run.c.test_case_id, _final(run, launch_id))
        .values(
            runs=stats.c.runs + 1,
            passed=stats.c.passed + count(status == "passed"),
            failed=stats.c.failed + count(status == "failed"),
            skipped=stats.c.skipped + count(status == "skipped"),
            blocked=stats.c.blocked + count(status == "blocked"),
            passed_on_retry=stats.c.passed_on_retry + count(run.c.passed_on_retry),
            flips=stats.c.flips + count(flipped),
            last_status=case((and_(newest, decided), status), else_=stats.c.last_status),
            streak_run_id=case(
                (and_(fails_now, stats.c.streak_length == 0), run.c.id),
                (passes_now, null()),
                else_=stats.c.streak_run_id,
            ),
            streak_length=case(
                (fails_now, stats.c.streak_length + 1),
                (passes_now, 0),
                else_=stats.c.streak_length,
            ),
            last_run_at=case((newest, run.c.started_at), else_=stats.c.last_run_at),
            last_pass_at=latest(stats.c.last_pass_at, "passed"),
            last_failure_at=latest(stats.c.last_failure_at, "failed"),
            recent=_appended(conn.dialect.name, run, launch_id, commit),
            updated_at=now,
        )
    )


def _appended(dialect: str, run: Any, launch_id: int, commit: str | None) -> ColumnElement[Any]:
    """``recent`` with this result appended (``Run.to_json``'s shape) and the oldest
    dropped past RECENT_KEEP, in each dialect's JSON functions."""
    if dialect == "postgresql":
        kept = func.coalesce(cast(test_stats.c.recent, JSONB), literal_column("'[]'::jsonb"))
        room = case((func.jsonb_array_length(kept) >= RECENT_KEEP, kept.op("-")(literal_column("0"))), else_=kept)
        entry = func.jsonb_build_array(
            run.c.status,
            run.c.passed_on_retry,
            cast(literal(launch_id), BigInteger),
            cast(literal(commit), Text),
            run.c.duration_ms,
        )
        return cast(room.op("||")(func.jsonb_build_array(entry)), JSON)
    kept_text = func.coalesce(type_coerce(test_stats.c.recent, Text), "[]")
    retry = case((run.c.passed_on_retry, func.json("true")), else_=func.json("false"))
    entry = func.json_array(run.c.status, retry, launch_id, commit, run.c.duration_ms)
    # the oldest dropped before the append, not after: SQLite parses the JSON text once per
    # function, and a full window then costs three parses instead of four
    full = func.json_array_length(kept_text) >= RECENT_KEEP
    return case(
        (full, func.json_insert(func.json_remove(kept_text, "$[0]"), "$[#]", entry)),
        else_=func.json_insert(kept_text, "$[#]", entry),
    )


def _rescore(conn: Connection, launch_id: int) -> None:
    run = case_run.alias("run")
    kept = cast(test_stats.c.recent, Text)
    may_score = or_(test_stats.c.flaky_score != 0, kept.like('%"failed"%'), kept.like("%true%"))
    rows = conn.execute(
        select(test_stats.c.test_case_id, test_stats.c.recent, test_stats.c.flaky_score)
        .join(run, run.c.test_case_id == test_stats.c.test_case_id)
        .where(_final(run, launch_id), may_score)
    )
    changed = []
    for test_case_id, recent, old in rows:
        new = score([Run.from_json(item) for item in recent or []]).score
        if new != old:
            changed.append({"tc": test_case_id, "score": new})
    if changed:
        conn.execute(
            update(test_stats)
            .where(test_stats.c.test_case_id == bindparam("tc"))
            .values(flaky_score=bindparam("score")),
            changed,
        )


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
