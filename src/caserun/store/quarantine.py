"""Quarantine rows and what active entries do to a launch's numbers.

An entry is active while it has not been lifted (``removed_at``) and has not expired
(``expires_at`` in the future, or none). "Active" is always judged at read time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, and_, case, func, insert, or_, select, update

from caserun.store import pagination
from caserun.store.tables import case_run, quarantine, test_case


def active(now: datetime) -> ColumnElement[bool]:
    return and_(
        quarantine.c.removed_at.is_(None),
        or_(quarantine.c.expires_at.is_(None), quarantine.c.expires_at > now),
    )


def insert_entry(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(quarantine).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def active_entry(conn: Connection, project_id: int, test_case_id: int, now: datetime) -> RowMapping | None:
    query = select(quarantine).where(
        quarantine.c.project_id == project_id, quarantine.c.test_case_id == test_case_id, active(now)
    )
    return conn.execute(query).mappings().first()


def lift(conn: Connection, entry_id: int, now: datetime) -> None:
    conn.execute(update(quarantine).where(quarantine.c.id == entry_id).values(removed_at=now))


def list_active(conn: Connection, project_id: int, now: datetime, *, cursor: str | None, limit: int) -> pagination.Page:
    """Active entries of a project, oldest first (a short, curated list)."""
    keys = [pagination.Key(quarantine.c.created_at)]
    query = (
        select(
            quarantine.c.id,
            quarantine.c.test_case_id,
            test_case.c.key.label("test_key"),
            test_case.c.full_name,
            quarantine.c.reason,
            quarantine.c.created_by,
            quarantine.c.created_at,
            quarantine.c.expires_at,
            quarantine.c.created_at.label("k0"),
        )
        .join(test_case, test_case.c.id == quarantine.c.test_case_id)
        .where(quarantine.c.project_id == project_id, active(now))
    )
    if cursor:
        query = query.where(pagination.after(keys, quarantine.c.id, cursor))
    query = query.order_by(*pagination.order_by(keys, quarantine.c.id)).limit(limit + 1)
    return pagination.page(list(conn.execute(query).mappings()), limit, ["k0"])


@dataclass(frozen=True, slots=True)
class Impact:
    """Final results of quarantined tests in one launch."""

    tests: int = 0
    passed: int = 0
    failed: int = 0


def impact(conn: Connection, launch_id: int, project_id: int, now: datetime) -> Impact:
    """Count the launch's final results whose test is quarantined now, in one SQL query."""
    # the active entries are few: drive the count from them through uq_case_run_attempt
    quarantined = case_run.c.test_case_id.in_(
        select(quarantine.c.test_case_id).where(quarantine.c.project_id == project_id, active(now))
    )
    query = select(
        func.count(),
        func.coalesce(func.sum(case((case_run.c.status == "passed", 1), else_=0)), 0),
        func.coalesce(func.sum(case((case_run.c.status == "failed", 1), else_=0)), 0),
    ).where(case_run.c.launch_id == launch_id, case_run.c.is_final, quarantined)
    tests, passed, failed = conn.execute(query).one()
    return Impact(tests=int(tests), passed=int(passed), failed=int(failed))
