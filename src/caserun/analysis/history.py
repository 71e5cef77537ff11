"""A test's history: its timeline across launches and statistics over it, in SQL.

Every query here is bounded by one test's history (served by the ``(test_case_id,
started_at)`` index) or by a window of launches, never by the project's whole history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, case, func, select
from sqlalchemy.orm import aliased

from caserun.analysis.flakiness import DEFAULT_WINDOW, Flakiness, Run, is_broken, score, score_bound
from caserun.analysis.trends import Slowdown, detect, percentile
from caserun.store import pagination
from caserun.store.tables import case_run, launch, test_case, test_stats

DURATION_SAMPLE = 200


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    environment: str | None = None
    branch: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def empty(self) -> bool:
        return not (self.environment or self.branch or self.since or self.until)


def _filtered(query: Any, flt: HistoryFilter) -> Any:
    if flt.environment:
        query = query.where(launch.c.environment == flt.environment)
    if flt.branch:
        query = query.where(launch.c.branch == flt.branch)
    if flt.since:
        query = query.where(case_run.c.started_at >= flt.since)
    if flt.until:
        query = query.where(case_run.c.started_at < flt.until)
    return query


def timeline(
    conn: Connection, test_case_id: int, flt: HistoryFilter, *, cursor: str | None, limit: int
) -> pagination.Page:
    """The test's final case runs, newest first, with their launch's context."""
    keys = [pagination.Key(case_run.c.started_at, descending=True)]
    query = _filtered(
        select(
            case_run.c.id,
            case_run.c.launch_id,
            case_run.c.status,
            case_run.c.attempt,
            case_run.c.passed_on_retry,
            case_run.c.duration_ms,
            case_run.c.started_at,
            case_run.c.signature,
            case_run.c.failure_message,
            case_run.c.verdict,
            launch.c.name.label("launch_name"),
            launch.c.environment,
            launch.c.branch,
            launch.c.commit_sha,
            case_run.c.started_at.label("k0"),
        )
        .join(launch, launch.c.id == case_run.c.launch_id)
        .where(case_run.c.test_case_id == test_case_id, case_run.c.is_final),
        flt,
    )
    if cursor:
        query = query.where(pagination.after(keys, case_run.c.id, cursor))
    query = query.order_by(*pagination.order_by(keys, case_run.c.id)).limit(limit + 1)
    return pagination.page(list(conn.execute(query).mappings()), limit, ["k0"])


@dataclass(slots=True)
class TestStatistics:
    __test__ = False
    runs: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    blocked: int = 0
    pass_rate: float | None = None
    failure_rate: float | None = None
    last_pass_at: datetime | None = None
    last_failure_at: datetime | None = None
    failing_since: dict[str, Any] | None = None
    duration_p50_ms: int | None = None
    duration_p95_ms: int | None = None
    slowdown: Slowdown | None = None
    flakiness: Flakiness | None = None
    pattern: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def statistics(conn: Connection, test_case_id: int, flt: HistoryFilter, window: int = DEFAULT_WINDOW) -> TestStatistics:
    base = _filtered(
        select(case_run.c.status, func.count())
        .join(launch, launch.c.id == case_run.c.launch_id)
        .where(case_run.c.test_case_id == test_case_id, case_run.c.is_final, case_run.c.status != "running")
        .group_by(case_run.c.status),
        flt,
    )
    counts = {str(s): int(n) for s, n in conn.execute(base).all()}
    out = TestStatistics(
        passed=counts.get("passed", 0),
        failed=counts.get("failed", 0),
        skipped=counts.get("skipped", 0),
        blocked=counts.get("blocked", 0),
    )
    out.runs = sum(counts.values())
    decided = out.passed + out.failed
    if decided:
        out.pass_rate = round(100 * out.passed / decided, 1)
        out.failure_rate = round(100 * out.failed / decided, 1)
    recent_rows = list(
        conn.execute(
            _filtered(
                select(
                    case_run.c.id,
                    case_run.c.status,
                    case_run.c.passed_on_retry,
                    case_run.c.launch_id,
                    case_run.c.started_at,
                    case_run.c.duration_ms,
                    launch.c.commit_sha,
                    launch.c.name,
                )
                .join(launch, launch.c.id == case_run.c.launch_id)
                .where(case_run.c.test_case_id == test_case_id, case_run.c.is_final, case_run.c.status != "running")
                .order_by(case_run.c.started_at.desc(), case_run.c.id.desc())
                .limit(DURATION_SAMPLE),
                flt,
            )
        ).mappings()
    )
    recent_rows.reverse()
    runs = [
        Run(r["status"], bool(r["passed_on_retry"]), int(r["launch_id"]), r["commit_sha"], r["duration_ms"])
        for r in recent_rows
    ]
    out.flakiness = score(runs, window)
    out.pattern = out.flakiness.evidence.pattern
    durations = [r.duration_ms for r in runs if r.status == "passed" and r.duration_ms is not None]
    out.duration_p50_ms = percentile(durations, 0.5)
    out.duration_p95_ms = percentile(durations, 0.95)
    out.slowdown = detect(durations[-2 * window :])
    passes = [r for r in recent_rows if r["status"] == "passed"]
    fails = [r for r in recent_rows if r["status"] == "failed"]
    out.last_pass_at = passes[-1]["started_at"] if passes else _last(conn, test_case_id, "passed", flt)
    out.last_failure_at = fails[-1]["started_at"] if fails else _last(conn, test_case_id, "failed", flt)
    streak = []
    for row in reversed(recent_rows):
        if row["status"] == "passed":
            break
        if row["status"] == "failed":
            streak.append(row)
    if streak:
        first = streak[-1]
        out.failing_since = {
            "case_run_id": first["id"],
            "launch_id": first["launch_id"],
            "launch_name": first["name"],
            "commit": first["commit_sha"],
            "started_at": first["started_at"],
            "failures": len(streak),
        }
    return out


def _last(conn: Connection, test_case_id: int, status: str, flt: HistoryFilter) -> datetime | None:
    query = _filtered(
        select(func.max(case_run.c.started_at))
        .join(launch, launch.c.id == case_run.c.launch_id)
        .where(case_run.c.test_case_id == test_case_id, case_run.c.is_final, case_run.c.status == status),
        flt,
    )
    value: datetime | None = conn.execute(query).scalar()
    return value


@dataclass(slots=True)
class RankedTest:
    test_case_id: int
    full_name: str
    flakiness: Flakiness
    last_failure_at: datetime | None


def flaky_from_stats(conn: Connection, project_id: int, min_score: int, window: int) -> list[RankedTest]:
    """Ranked from the statistics kept at ingest (no history scan)."""
    query = (
        select(test_stats.c.test_case_id, test_stats.c.recent, test_stats.c.last_failure_at, test_case.c.full_name)
        .join(test_case, test_case.c.id == test_stats.c.test_case_id)
        .where(
            test_stats.c.project_id == project_id,
            test_case.c.alias_of_id.is_(None),
            (test_stats.c.failed > 0) | (test_stats.c.passed_on_retry > 0),
        )
    )
    if window == DEFAULT_WINDOW:
        query = query.where(test_stats.c.flaky_score >= max(min_score, 1))
    ranked = []
    for row in conn.execute(query).mappings():
        flakiness = score([Run.from_json(item) for item in row["recent"] or []], window)
        if flakiness.score >= max(min_score, 1):
            ranked.append(RankedTest(row["test_case_id"], row["full_name"], flakiness, row["last_failure_at"]))
    ranked.sort(key=lambda t: (-t.flakiness.score, t.full_name))
    return ranked


def _flaky_candidates(conn: Connection, launch_ids: list[int], min_score: int) -> list[int]:
    """Tests that failed in these launches and whose score *could* reach ``min_score``.

    Counts in SQL bound the score from above (``flakiness.score_bound``): a test with one
    stray failure among thirty passes cannot reach 20, so its runs are never read. Only
    failures are scanned across the window (index ``launch, status``): per test, its failed
    final runs and its failed earlier attempts. The decided final runs are then counted for
    those tests alone (:func:`_decided_counts`), so the passing majority of a large suite is
    never read into Python.
    """
    fails: dict[int, int] = {}
    earlier: dict[int, int] = {}
    for tc, final, n in conn.execute(
        select(case_run.c.test_case_id, case_run.c.is_final, func.count())
        .where(case_run.c.launch_id.in_(launch_ids), case_run.c.status == "failed")
        .group_by(case_run.c.test_case_id, case_run.c.is_final)
    ):
        (fails if final else earlier)[int(tc)] = int(n)
    failing = sorted(set(fails) | set(earlier))
    decided = _decided_counts(conn, launch_ids, failing)
    repeated_commits = conn.execute(
        select(func.count(launch.c.id) - func.count(func.distinct(launch.c.commit_sha))).where(
            launch.c.id.in_(launch_ids), launch.c.commit_sha.is_not(None)
        )
    ).scalar_one()
    floor = max(min_score, 1)
    return [
        tc
        for tc in failing
        if score_bound(decided.get(tc, 0), fails.get(tc, 0), earlier.get(tc, 0), bool(repeated_commits)) >= floor
    ]


def _decided_counts(conn: Connection, launch_ids: list[int], failing: list[int]) -> dict[int, int]:
    """Passed or failed final runs in the launches, per failing test. PostgreSQL takes the
    failing tests as a subquery (a hash join); SQLite is fastest probing ``(launch, test)``
    for 500 tests at a time. Status is counted, not filtered: a filter on it makes SQLite
    pick the ``(launch, status)`` index and read every passing run of the window."""
    decided = func.sum(case((case_run.c.status.in_(("passed", "failed")), 1), else_=0))
    query = select(case_run.c.test_case_id, decided).where(case_run.c.launch_id.in_(launch_ids), case_run.c.is_final)
    if conn.dialect.name == "postgresql":
        failed = aliased(case_run)
        tests = select(failed.c.test_case_id).where(failed.c.launch_id.in_(launch_ids), failed.c.status == "failed")
        query = query.where(case_run.c.test_case_id.in_(tests))
        return {int(tc): int(n) for tc, n in conn.execute(query.group_by(case_run.c.test_case_id))}
    counts: dict[int, int] = {}
    for start in range(0, len(failing), 500):
        chunk = query.where(case_run.c.test_case_id.in_(failing[start : start + 500]))
        counts.update((int(tc), int(n)) for tc, n in conn.execute(chunk.group_by(case_run.c.test_case_id)))
    return counts


def flaky_in_launches(
    conn: Connection, project_id: int, flt: HistoryFilter, min_score: int, window: int
) -> list[RankedTest]:
    """Ranked over the last ``window`` launches matching the filters (environment, branch)."""
    launches_q = select(launch.c.id).where(launch.c.project_id == project_id, launch.c.status != "running")
    if flt.environment:
        launches_q = launches_q.where(launch.c.environment == flt.environment)
    if flt.branch:
        launches_q = launches_q.where(launch.c.branch == flt.branch)
    launch_ids = list(conn.execute(launches_q.order_by(launch.c.created_at.desc()).limit(window)).scalars())
    if not launch_ids:
        return []
    candidates = _flaky_candidates(conn, launch_ids, min_score)
    ranked: list[RankedTest] = []
    for start in range(0, len(candidates), 500):
        ids = candidates[start : start + 500]
        rows = conn.execute(
            select(
                case_run.c.test_case_id,
                case_run.c.status,
                case_run.c.passed_on_retry,
                case_run.c.launch_id,
                case_run.c.duration_ms,
                case_run.c.started_at,
                launch.c.commit_sha,
                test_case.c.full_name,
            )
            .join(launch, launch.c.id == case_run.c.launch_id)
            .join(test_case, test_case.c.id == case_run.c.test_case_id)
            .where(case_run.c.launch_id.in_(launch_ids), case_run.c.test_case_id.in_(ids), case_run.c.is_final)
            .order_by(case_run.c.test_case_id, case_run.c.started_at)
        ).mappings()
        per_test: dict[int, list[RowMapping]] = {}
        for row in rows:
            per_test.setdefault(int(row["test_case_id"]), []).append(row)
        for tc, items in per_test.items():
            runs = [
                Run(r["status"], bool(r["passed_on_retry"]), int(r["launch_id"]), r["commit_sha"], r["duration_ms"])
                for r in items
            ]
            flakiness = score(runs, window)
            if flakiness.score >= max(min_score, 1):
                fails = [r["started_at"] for r in items if r["status"] == "failed"]
                ranked.append(RankedTest(tc, items[0]["full_name"], flakiness, max(fails) if fails else None))
    ranked.sort(key=lambda t: (-t.flakiness.score, t.full_name))
    return ranked


@dataclass(slots=True)
class BrokenTest:
    test_case_id: int
    full_name: str
    failures: int
    since: datetime | None
    commit: str | None
    launch_id: int | None
    case_run_id: int | None


def broken(conn: Connection, project_id: int) -> list[BrokenTest]:
    query = (
        select(
            test_stats.c.test_case_id,
            test_stats.c.recent,
            test_stats.c.streak_length,
            test_stats.c.streak_run_id,
            test_case.c.full_name,
            case_run.c.started_at,
            case_run.c.launch_id,
            launch.c.commit_sha,
        )
        .join(test_case, test_case.c.id == test_stats.c.test_case_id)
        .outerjoin(case_run, case_run.c.id == test_stats.c.streak_run_id)
        .outerjoin(launch, launch.c.id == case_run.c.launch_id)
        .where(
            test_stats.c.project_id == project_id,
            test_stats.c.streak_length >= 3,
            test_stats.c.passed > 0,
            test_case.c.alias_of_id.is_(None),
        )
        .order_by(case_run.c.started_at, test_case.c.full_name)
    )
    found = []
    for row in conn.execute(query).mappings():
        if is_broken([Run.from_json(item) for item in row["recent"] or []]):
            found.append(
                BrokenTest(
                    row["test_case_id"],
                    row["full_name"],
                    row["streak_length"],
                    row["started_at"],
                    row["commit_sha"],
                    row["launch_id"],
                    row["streak_run_id"],
                )
            )
    return found


@dataclass(slots=True)
class SlowTest:
    test_case_id: int
    full_name: str
    slowdown: Slowdown
    launch_id: int
    launch_name: str | None


def slow(conn: Connection, project_id: int) -> list[SlowTest]:
    query = (
        select(test_stats.c.test_case_id, test_stats.c.recent, test_case.c.full_name)
        .join(test_case, test_case.c.id == test_stats.c.test_case_id)
        .where(test_stats.c.project_id == project_id, test_stats.c.passed >= 10, test_case.c.alias_of_id.is_(None))
    )
    found = []
    for row in conn.execute(query).mappings():
        runs = [Run.from_json(item) for item in row["recent"] or []]
        passed = [r for r in runs if r.status == "passed" and r.duration_ms is not None]
        slowdown = detect([r.duration_ms for r in passed if r.duration_ms is not None])
        if slowdown is not None:
            found.append(
                SlowTest(row["test_case_id"], row["full_name"], slowdown, passed[slowdown.start].launch_id, None)
            )
    if found:
        names = dict(
            conn.execute(select(launch.c.id, launch.c.name).where(launch.c.id.in_([f.launch_id for f in found]))).all()
        )
        for item in found:
            item.launch_name = names.get(item.launch_id)
    found.sort(key=lambda t: -t.slowdown.ratio)
    return found
