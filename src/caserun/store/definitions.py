"""Test case definitions (what a person wrote about a test) and choosing tests for a
manual launch by tag, suite, text or id.

Imports only ever insert test cases (``test_cases.insert_new``); nothing here is written by
an import, so a re-imported test keeps its definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping, Text, cast, func, select, update

from caserun.store.tables import case_run, test_case

DEFINITION_COLUMNS = ("description", "preconditions", "steps", "priority", "tags", "lifecycle", "definition_updated_at")


def save(conn: Connection, test_case_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(test_case).where(test_case.c.id == test_case_id).values(**values))


@dataclass(frozen=True, slots=True)
class Selection:
    """Which tests of a project a manual launch holds; criteria combine with AND."""

    tag: str | None = None
    suite: str | None = None
    text: str | None = None
    ids: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.tag or self.suite or self.text or self.ids)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def select_tests(conn: Connection, project_id: int, chosen: Selection, limit: int) -> list[RowMapping]:
    """Tests of the project matching ``chosen`` (archived and merged-away tests left out),
    by suite then name; at most ``limit`` + 1 rows so the caller can tell there were more."""
    query = select(test_case).where(
        test_case.c.project_id == project_id,
        test_case.c.alias_of_id.is_(None),
        func.coalesce(test_case.c.lifecycle, "active") != "archived",
    )
    if chosen.suite:
        query = query.where(test_case.c.suite == chosen.suite)
    if chosen.text:
        query = query.where(func.lower(test_case.c.full_name).like(_like(chosen.text.lower()), escape="\\"))
    if chosen.ids:
        query = query.where(test_case.c.id.in_(list(chosen.ids)))
    if chosen.tag:
        # a narrowing LIKE on the JSON text; the exact membership check follows in Python
        query = query.where(cast(test_case.c.tags, Text).like(_like(f'"{chosen.tag}"'), escape="\\"))
    query = query.order_by(test_case.c.suite, test_case.c.name, test_case.c.id)
    rows = conn.execute(query.limit(limit + 1 if not chosen.tag else None)).mappings().all()
    if chosen.tag:
        rows = [r for r in rows if chosen.tag in (r["tags"] or [])][: limit + 1]
    return list(rows)


def manual_runs(conn: Connection, launch_id: int) -> list[RowMapping]:
    """A launch's final case runs with their test's definition, in the order they were created."""
    query = (
        select(
            case_run.c.id,
            case_run.c.status,
            case_run.c.test_case_id,
            case_run.c.started_at,
            case_run.c.finished_at,
            case_run.c.duration_ms,
            case_run.c.failure_message,
            case_run.c.metadata,
            case_run.c.step_results,
            case_run.c.executed_by,
            test_case.c.suite,
            test_case.c.name,
            test_case.c.full_name,
            test_case.c.description,
            test_case.c.preconditions,
            test_case.c.steps,
            test_case.c.priority,
        )
        .join(test_case, test_case.c.id == case_run.c.test_case_id)
        .where(case_run.c.launch_id == launch_id, case_run.c.is_final.is_(True))
        .order_by(case_run.c.id)
    )
    return list(conn.execute(query).mappings().all())


def last_finish(conn: Connection, launch_id: int, excluding: int) -> Any:
    """When the launch's latest other run finished (a tester works through runs one by one)."""
    query = select(func.max(case_run.c.finished_at)).where(
        case_run.c.launch_id == launch_id, case_run.c.id != excluding
    )
    return conn.execute(query).scalar()


def record_result(conn: Connection, case_run_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(case_run).where(case_run.c.id == case_run_id).values(**values))


def ids_in_project(conn: Connection, project_id: int, ids: Sequence[int]) -> set[int]:
    query = select(test_case.c.id).where(test_case.c.project_id == project_id, test_case.c.id.in_(list(ids)))
    return {int(i) for i in conn.execute(query).scalars()}
