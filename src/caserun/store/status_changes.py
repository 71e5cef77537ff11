"""Manual status changes of case runs and their audit rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, case, exists, func, insert, select, update
from sqlalchemy.orm import aliased

from caserun.store.tables import case_run, status_change

CHUNK = 5000


def runs_of_launch(conn: Connection, launch_id: int, case_run_ids: Sequence[int]) -> list[RowMapping]:
    found: list[RowMapping] = []
    ids = list(case_run_ids)
    for start in range(0, len(ids), CHUNK):
        query = select(
            case_run.c.id, case_run.c.test_case_id, case_run.c.status, case_run.c.is_final, case_run.c.project_id
        ).where(case_run.c.launch_id == launch_id, case_run.c.id.in_(ids[start : start + CHUNK]))
        found += list(conn.execute(query).mappings())
    return found


def set_statuses(conn: Connection, case_run_ids: Sequence[int], status: str, now: datetime) -> None:
    """Give the runs their new status; a run that was still running counts as finished now."""
    ids = list(case_run_ids)
    for start in range(0, len(ids), CHUNK):
        conn.execute(
            update(case_run)
            .where(case_run.c.id.in_(ids[start : start + CHUNK]))
            .values(status=status, finished_at=func.coalesce(case_run.c.finished_at, now))
        )


def settle_passed_on_retry(conn: Connection, launch_id: int, test_case_ids: Sequence[int]) -> None:
    """Recompute ``passed_on_retry`` of these tests' final runs after their statuses changed."""
    earlier = aliased(case_run)
    failed_before = exists().where(
        earlier.c.launch_id == case_run.c.launch_id,
        earlier.c.test_case_id == case_run.c.test_case_id,
        earlier.c.attempt < case_run.c.attempt,
        earlier.c.status == "failed",
    )
    ids = list(test_case_ids)
    for start in range(0, len(ids), CHUNK):
        conn.execute(
            update(case_run)
            .where(
                case_run.c.launch_id == launch_id,
                case_run.c.is_final,
                case_run.c.test_case_id.in_(ids[start : start + CHUNK]),
            )
            .values(passed_on_retry=case((and_(case_run.c.status == "passed", failed_before), True), else_=False))
        )


def record(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Audit rows: project_id, case_run_id, actor, at, old_status, new_status, comment."""
    if rows:
        conn.execute(insert(status_change), list(rows))


def for_case_run(conn: Connection, case_run_id: int) -> list[RowMapping]:
    query = (
        select(
            status_change.c.actor,
            status_change.c.at,
            status_change.c.old_status,
            status_change.c.new_status,
            status_change.c.comment,
        )
        .where(status_change.c.case_run_id == case_run_id)
        .order_by(status_change.c.at, status_change.c.id)
    )
    return list(conn.execute(query).mappings())
