"""Queries for running launches nobody is reporting to any more.

A launch's last activity is the latest of its start, its creation and the start or finish
of any of its case runs. The schema keeps no separate "last touched" column, so these are
the times the sweeper reads (each served by ``ix_case_run_history``'s sibling
``ix_case_run_launch_status`` for the running launches, which are few).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Exists, exists, func, or_, select, update

from caserun.store.tables import case_run, launch


def _active_since(cutoff: datetime) -> Exists:
    """SQL: some case run of the launch started or finished at or after ``cutoff``."""
    return exists().where(
        case_run.c.launch_id == launch.c.id,
        or_(case_run.c.started_at >= cutoff, case_run.c.finished_at >= cutoff),
    )


def _quiet(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [
        launch.c.status == "running",
        launch.c.started_at < cutoff,
        launch.c.created_at < cutoff,
        ~_active_since(cutoff),
    ]


def quiet_running(conn: Connection, cutoff: datetime, limit: int) -> list[int]:
    """Ids of running launches with no activity since ``cutoff``, oldest first."""
    query = select(launch.c.id).where(*_quiet(cutoff)).order_by(launch.c.id).limit(limit)
    return [int(i) for i in conn.execute(query).scalars()]


def claim(conn: Connection, launch_id: int, cutoff: datetime, at: datetime) -> bool:
    """Mark the launch as being finished, only if it is still running and still quiet.

    The UPDATE is conditional, so when several server processes sweep at once exactly one
    of them wins (on PostgreSQL the row lock makes the others re-check and match nothing;
    SQLite runs one writer at a time)."""
    result = conn.execute(update(launch).where(launch.c.id == launch_id, *_quiet(cutoff)).values(finished_at=at))
    return result.rowcount == 1


def last_activity(conn: Connection, launch_id: int) -> datetime | None:
    """The latest start or finish of the launch or any of its case runs."""
    runs = select(func.max(case_run.c.started_at), func.max(case_run.c.finished_at)).where(
        case_run.c.launch_id == launch_id
    )
    times = list(conn.execute(runs).one())
    times += list(conn.execute(select(launch.c.started_at, launch.c.created_at).where(launch.c.id == launch_id)).one())
    found = [t for t in times if t is not None]
    return max(found) if found else None
