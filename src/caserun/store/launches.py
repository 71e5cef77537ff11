"""Launch rows: insert, fetch, list with filters and cursors, and the summary refresh."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    RowMapping,
    case,
    cast,
    func,
    insert,
    select,
    update,
)

from caserun.errors import InvalidInput
from caserun.store import pagination
from caserun.store.tables import case_run, launch

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
    sort: str = "-created_at"


def insert_launch(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(launch).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def get(conn: Connection, launch_id: int) -> RowMapping | None:
    return conn.execute(select(launch).where(launch.c.id == launch_id)).mappings().first()


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
    if cursor:
        query = query.where(pagination.after(keys, launch.c.id, cursor))
    query = query.order_by(*pagination.order_by(keys, launch.c.id)).limit(limit + 1)
    return pagination.page(list(conn.execute(query).mappings()), limit, ["k0"])


def previous(conn: Connection, row: RowMapping) -> RowMapping | None:
    """The baseline: the latest earlier launch of the same project, branch and environment."""
    query = select(launch).where(
        launch.c.project_id == row["project_id"],
        launch.c.id != row["id"],
        launch.c.created_at <= row["created_at"],
        launch.c.branch.is_(None) if row["branch"] is None else launch.c.branch == row["branch"],
        launch.c.environment.is_(None) if row["environment"] is None else launch.c.environment == row["environment"],
    )
    query = query.where((launch.c.created_at < row["created_at"]) | (launch.c.id < row["id"]))
    return conn.execute(query.order_by(launch.c.created_at.desc(), launch.c.id.desc()).limit(1)).mappings().first()


def refresh_summary(conn: Connection, launch_id: int, duration_ms: int | None = None) -> None:
    """Recount the launch's final attempts in SQL and store the counts on the launch row."""
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


STATUS_RANK = case(
    {"failed": 0, "blocked": 1, "running": 2, "skipped": 3, "passed": 4},
    value=case_run.c.status,
    else_=5,
)
