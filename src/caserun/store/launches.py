"""Launch rows: insert, fetch, list with filters and cursors, the summary refresh, archive
and delete, and the projects overview (every project's recent launches in one query)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    RowMapping,
    case,
    cast,
    delete,
    func,
    insert,
    select,
    update,
)

from caserun.errors import InvalidInput
from caserun.store import pagination
from caserun.store.tables import (
    attachment,
    case_run,
    case_run_log,
    defect,
    defect_link,
    failure_pattern,
    launch,
    share_link,
    status_change,
)

_PASS_RATE = func.coalesce(
    cast(launch.c.passed, Float) * 100.0 / func.nullif(launch.c.passed + launch.c.failed, 0),
    -1.0,
)
SORTS: dict[str, Any] = {
    "created_at": launch.c.created_at,
    "started_at": launch.c.started_at,
    "name": launch.c.name,
    "duration_ms": launch.c.duration_ms,
    "pass_rate": _PASS_RATE,
}


@dataclass(frozen=True, slots=True)
class LaunchFilter:
    status: list[str] | None = None
    environment: str | None = None
    branch: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None
    #: pass-rate band in percent, both ends included; a launch with no pass rate is outside any band
    min_pass_rate: float | None = None
    max_pass_rate: float | None = None
    #: False: launches not archived (the default list); True: only the archived ones
    archived: bool = False
    sort: str = "-created_at"


def insert_launch(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(launch).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def get(conn: Connection, launch_id: int, *, lock: bool = False) -> RowMapping | None:
    """The launch row; with ``lock``, held until the transaction ends (PostgreSQL's ``FOR
    UPDATE``): writers that change a launch's case runs take it first, as live batches do,
    so they queue in one order instead of deadlocking."""
    query = select(launch).where(launch.c.id == launch_id)
    return conn.execute(query.with_for_update() if lock else query).mappings().first()


def by_idempotency_key(conn: Connection, project_id: int, key: str) -> RowMapping | None:
    return (
        conn.execute(select(launch).where(launch.c.project_id == project_id, launch.c.idempotency_key == key))
        .mappings()
        .first()
    )


def list_page(
    conn: Connection, project_id: int, flt: LaunchFilter, *, cursor: str | None, limit: int
) -> pagination.Page:
    descending = flt.sort.startswith("-")
    sort_name = flt.sort.lstrip("-+")
    if sort_name not in SORTS:
        raise InvalidInput(f"cannot sort launches by {sort_name!r}; use one of {', '.join(SORTS)}")
    keys = [pagination.Key(SORTS[sort_name], descending)]
    query = select(launch, keys[0].expr.label("k0")).where(launch.c.project_id == project_id)
    if flt.status:
        query = query.where(launch.c.status.in_(flt.status))
    if flt.environment:
        query = query.where(launch.c.environment == flt.environment)
    if flt.branch:
        query = query.where(launch.c.branch == flt.branch)
    if flt.since:
        query = query.where(launch.c.created_at >= flt.since)
    if flt.until:
        query = query.where(launch.c.created_at < flt.until)
    if flt.source:
        query = query.where(launch.c.source == flt.source)
    if flt.min_pass_rate is not None or flt.max_pass_rate is not None:
        # -1 marks "no pass rate" in _PASS_RATE; such a launch is in no band
        rate = _PASS_RATE
        query = query.where(rate >= max(flt.min_pass_rate or 0.0, 0.0))
        if flt.max_pass_rate is not None:
            query = query.where(rate <= flt.max_pass_rate)
    query = query.where(launch.c.archived_at.is_not(None) if flt.archived else launch.c.archived_at.is_(None))
    if cursor:
        query = query.where(pagination.after(keys, launch.c.id, cursor))
    query = query.order_by(*pagination.order_by(keys, launch.c.id)).limit(limit + 1)
    return pagination.page(list(conn.execute(query).mappings()), limit, ["k0"])


def previous(conn: Connection, row: RowMapping) -> RowMapping | None:
    """The baseline: the latest earlier launch of the same project, branch and environment
    that is not archived (an archived launch is never picked as a baseline)."""
    query = select(launch).where(
        launch.c.project_id == row["project_id"],
        launch.c.id != row["id"],
        launch.c.archived_at.is_(None),
        launch.c.created_at <= row["created_at"],
        launch.c.branch.is_(None) if row["branch"] is None else launch.c.branch == row["branch"],
        launch.c.environment.is_(None) if row["environment"] is None else launch.c.environment == row["environment"],
    )
    query = query.where((launch.c.created_at < row["created_at"]) | (launch.c.id < row["id"]))
    return conn.execute(query.order_by(launch.c.created_at.desc(), launch.c.id.desc()).limit(1)).mappings().first()


def refresh_summary(conn: Connection, launch_id: int, duration_ms: int | None = None) -> None:
    """Recount the launch's final attempts in SQL and store the counts on the launch row.

    The launch row is locked first (PostgreSQL; SQLite writers are serial anyway): a live
    batch adds its changes to the stored counts under the same lock, so a recount never
    misses a batch committing beside it, nor a batch a recount."""
    conn.execute(select(launch.c.id).where(launch.c.id == launch_id).with_for_update())
    counts: dict[str, int] = dict(
        conn.execute(
            select(case_run.c.status, func.count())
            .where(case_run.c.launch_id == launch_id, case_run.c.is_final)
            .group_by(case_run.c.status)
        ).all()
    )
    values: dict[str, Any] = {
        name: int(counts.get(name, 0)) for name in ("passed", "failed", "skipped", "blocked", "running")
    }
    values["total"] = sum(values.values())
    if duration_ms is not None:
        values["duration_ms"] = duration_ms
    conn.execute(update(launch).where(launch.c.id == launch_id).values(**values))


def sum_durations(conn: Connection, launch_id: int) -> int:
    return int(
        conn.execute(
            select(func.coalesce(func.sum(case_run.c.duration_ms), 0)).where(case_run.c.launch_id == launch_id)
        ).scalar_one()
    )


def set_status(conn: Connection, launch_id: int, **values: Any) -> None:
    conn.execute(update(launch).where(launch.c.id == launch_id).values(**values))


def set_archived(conn: Connection, launch_id: int, at: datetime | None) -> None:
    conn.execute(update(launch).where(launch.c.id == launch_id).values(archived_at=at))


def delete_launch(conn: Connection, launch_id: int) -> list[int]:
    """Delete a launch with its case runs and their logs, attachment rows, defect links,
    status-change audit and share links; return the tests whose history lost a result.

    Explicit deletes rather than trusting ``ON DELETE CASCADE``: the rows go whatever the
    engine's foreign-key settings. Blobs stay (content-addressed, maybe shared); references
    from other rows (a retry's ``retry_of``, a defect's launch, a pattern's example) are
    cleared so nothing points at a deleted row.
    """
    runs = select(case_run.c.id).where(case_run.c.launch_id == launch_id).scalar_subquery()
    tests = sorted(
        int(t)
        for t in conn.execute(
            select(case_run.c.test_case_id).where(case_run.c.launch_id == launch_id).distinct()
        ).scalars()
    )
    patterns = [
        int(p)
        for p in conn.execute(
            select(case_run.c.pattern_id)
            .where(case_run.c.launch_id == launch_id, case_run.c.pattern_id.is_not(None))
            .distinct()
        ).scalars()
    ]
    conn.execute(delete(case_run_log).where(case_run_log.c.case_run_id.in_(runs)))
    conn.execute(delete(attachment).where(attachment.c.case_run_id.in_(runs)))
    conn.execute(delete(defect_link).where(defect_link.c.case_run_id.in_(runs)))
    conn.execute(delete(status_change).where(status_change.c.case_run_id.in_(runs)))
    conn.execute(
        update(case_run)
        .where(case_run.c.retry_of_id.in_(runs), case_run.c.launch_id != launch_id)
        .values(retry_of_id=None)
    )
    conn.execute(
        update(failure_pattern).where(failure_pattern.c.example_case_run_id.in_(runs)).values(example_case_run_id=None)
    )
    conn.execute(delete(case_run).where(case_run.c.launch_id == launch_id))
    conn.execute(delete(share_link).where(share_link.c.launch_id == launch_id))
    conn.execute(update(launch).where(launch.c.retry_of_id == launch_id).values(retry_of_id=None))
    conn.execute(update(defect).where(defect.c.launch_id == launch_id).values(launch_id=None))
    conn.execute(delete(launch).where(launch.c.id == launch_id))
    _recount_patterns(conn, patterns)
    return tests


def _recount_patterns(conn: Connection, pattern_ids: Sequence[int]) -> None:
    """Patterns counted the deleted failures: recount them from the runs that remain (a
    pattern left with none keeps its row, at zero, so a defect linked to it is not lost)."""
    for pid in pattern_ids:
        n, first, last, example = conn.execute(
            select(
                func.count(),
                func.min(case_run.c.started_at),
                func.max(case_run.c.started_at),
                func.max(case_run.c.id),
            ).where(case_run.c.pattern_id == pid)
        ).one()
        values: dict[str, Any] = {"count": int(n)}
        if n:
            values.update(first_seen=first, last_seen=last)
        conn.execute(
            update(failure_pattern)
            .where(failure_pattern.c.id == pid, failure_pattern.c.example_case_run_id.is_(None))
            .values(example_case_run_id=example)
        )
        conn.execute(update(failure_pattern).where(failure_pattern.c.id == pid).values(**values))


def recent_by_project(conn: Connection, project_ids: Sequence[int], per_project: int) -> list[RowMapping]:
    """The latest ``per_project`` launches (not archived) of each project, newest first within
    a project: one query with a window function, served by ``ix_launch_project_created``."""
    if not project_ids:
        return []
    ranked = (
        select(
            launch.c.id,
            launch.c.project_id,
            func.row_number()
            .over(partition_by=launch.c.project_id, order_by=(launch.c.created_at.desc(), launch.c.id.desc()))
            .label("n"),
        )
        .where(launch.c.project_id.in_(list(project_ids)), launch.c.archived_at.is_(None))
        .subquery()
    )
    query = (
        select(launch, ranked.c.n)
        .join(ranked, ranked.c.id == launch.c.id)
        .where(ranked.c.n <= per_project)
        .order_by(launch.c.project_id, ranked.c.n)
    )
    return list(conn.execute(query).mappings())


STATUS_RANK = case(
    {"failed": 0, "blocked": 1, "running": 2, "skipped": 3, "passed": 4},
    value=case_run.c.status,
    else_=5,
)
