"""Defect rows, their links to case runs, and the failure patterns pointing at them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, func, insert, select, update

from caserun.store import pagination
from caserun.store.tables import case_run, defect, defect_link, failure_pattern, launch, test_case

CHUNK = 5000


@dataclass(frozen=True, slots=True)
class DefectFilter:
    status: list[str] | None = None
    severity: list[str] | None = None
    assignee: str | None = None


def _linked_count() -> Any:
    return (
        select(func.count())
        .select_from(defect_link)
        .where(defect_link.c.defect_id == defect.c.id)
        .scalar_subquery()
        .label("linked_runs")
    )


def insert_defect(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(defect).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def get(conn: Connection, defect_id: int) -> RowMapping | None:
    return conn.execute(select(defect, _linked_count()).where(defect.c.id == defect_id)).mappings().first()


def set_values(conn: Connection, defect_id: int, **values: Any) -> None:
    conn.execute(update(defect).where(defect.c.id == defect_id).values(**values))


def list_page(
    conn: Connection, project_id: int, flt: DefectFilter, *, cursor: str | None, limit: int
) -> pagination.Page:
    """Newest first. A project holds hundreds or thousands of defects, not millions:
    ``ix_defect_project_status`` narrows by project and status, the sort runs on the rest."""
    keys = [pagination.Key(defect.c.created_at, descending=True)]
    query = select(defect, _linked_count(), defect.c.created_at.label("k0")).where(defect.c.project_id == project_id)
    if flt.status:
        query = query.where(defect.c.status.in_(flt.status))
    if flt.severity:
        query = query.where(defect.c.severity.in_(flt.severity))
    if flt.assignee:
        query = query.where(defect.c.assignee == flt.assignee)
    if cursor:
        query = query.where(pagination.after(keys, defect.c.id, cursor))
    query = query.order_by(*pagination.order_by(keys, defect.c.id)).limit(limit + 1)
    return pagination.page(list(conn.execute(query).mappings()), limit, ["k0"])


# --- links -----------------------------------------------------------------------------


def case_runs_in_project(conn: Connection, project_id: int, case_run_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    ids = list(case_run_ids)
    for start in range(0, len(ids), CHUNK):
        query = select(case_run.c.id).where(
            case_run.c.project_id == project_id, case_run.c.id.in_(ids[start : start + CHUNK])
        )
        found.update(int(i) for i in conn.scalars(query))
    return found


def linked_ids(conn: Connection, defect_id: int, case_run_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    ids = list(case_run_ids)
    for start in range(0, len(ids), CHUNK):
        query = select(defect_link.c.case_run_id).where(
            defect_link.c.defect_id == defect_id, defect_link.c.case_run_id.in_(ids[start : start + CHUNK])
        )
        found.update(int(i) for i in conn.scalars(query))
    return found


def link(conn: Connection, defect_id: int, case_run_ids: Sequence[int], *, by: str, origin: str, at: datetime) -> None:
    if case_run_ids:
        rows = [
            {"defect_id": defect_id, "case_run_id": rid, "created_at": at, "created_by": by, "origin": origin}
            for rid in case_run_ids
        ]
        conn.execute(insert(defect_link), rows)


def unlink(conn: Connection, defect_id: int, case_run_ids: Sequence[int]) -> int:
    removed = 0
    ids = list(case_run_ids)
    for start in range(0, len(ids), CHUNK):
        result = conn.execute(
            delete(defect_link).where(
                defect_link.c.defect_id == defect_id, defect_link.c.case_run_id.in_(ids[start : start + CHUNK])
            )
        )
        removed += result.rowcount
    return removed


_RUN_COLUMNS = (
    case_run.c.id,
    case_run.c.launch_id,
    launch.c.name.label("launch_name"),
    case_run.c.test_case_id,
    test_case.c.full_name,
    case_run.c.status,
    case_run.c.attempt,
    case_run.c.started_at,
    case_run.c.failure_message,
    defect_link.c.created_at.label("linked_at"),
    defect_link.c.created_by.label("linked_by"),
    defect_link.c.origin,
)


def linked_runs_page(conn: Connection, defect_id: int, *, cursor: str | None, limit: int) -> pagination.Page:
    """A defect's linked case runs, most recently linked first."""
    keys = [pagination.Key(defect_link.c.created_at, descending=True)]
    query = (
        select(*_RUN_COLUMNS, defect_link.c.created_at.label("k0"))
        .select_from(
            defect_link.join(case_run, case_run.c.id == defect_link.c.case_run_id)
            .join(test_case, test_case.c.id == case_run.c.test_case_id)
            .join(launch, launch.c.id == case_run.c.launch_id)
        )
        .where(defect_link.c.defect_id == defect_id)
    )
    if cursor:
        query = query.where(pagination.after(keys, case_run.c.id, cursor))
    query = query.order_by(*pagination.order_by(keys, case_run.c.id)).limit(limit + 1)
    return pagination.page(list(conn.execute(query).mappings()), limit, ["k0"])


def patterns(conn: Connection, defect_id: int) -> list[RowMapping]:
    query = (
        select(
            failure_pattern.c.id,
            failure_pattern.c.signature,
            failure_pattern.c.exception,
            failure_pattern.c.template,
            failure_pattern.c.count,
            failure_pattern.c.first_seen,
            failure_pattern.c.last_seen,
        )
        .where(failure_pattern.c.defect_id == defect_id)
        .order_by(failure_pattern.c.last_seen.desc(), failure_pattern.c.id)
    )
    return list(conn.execute(query).mappings())


def for_case_run(conn: Connection, case_run_id: int) -> list[RowMapping]:
    """The defects a case run is linked to (few: usually one)."""
    query = (
        select(defect.c.id, defect.c.title, defect.c.status, defect.c.severity)
        .join(defect_link, defect_link.c.defect_id == defect.c.id)
        .where(defect_link.c.case_run_id == case_run_id)
        .order_by(defect.c.id)
    )
    return list(conn.execute(query).mappings())
