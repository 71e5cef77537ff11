"""Exports of lists as rows: a project's launches, a launch's case runs, a test's history.

Each function checks access and reads the first page at once (so a bad filter or a
missing launch is a clear error before anything is written), then returns a generator
that reads the following keyset pages one short transaction at a time: an export of a
launch with a million case runs never holds more than one page in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from caserun.analysis import history as history_queries
from caserun.analysis.history import HistoryFilter
from caserun.domain.model import Role
from caserun.domain.rules import pass_rate
from caserun.errors import NotFound
from caserun.service import history
from caserun.service.auth import Principal
from caserun.service.projects import lookup
from caserun.store import case_runs, launches, pagination
from caserun.store.case_runs import CaseRunFilter
from caserun.store.engine import Database
from caserun.store.launches import LaunchFilter

PAGE_SIZE = 500

LAUNCH_COLUMNS = (
    "id", "name", "status", "source", "environment", "branch", "commit", "build_url", "started_at",
    "finished_at", "total", "passed", "failed", "skipped", "blocked", "running", "pass_rate", "duration_ms", "url",
)  # fmt: skip
CASE_RUN_COLUMNS = (
    "id", "launch_id", "test_case_id", "suite", "name", "parameters", "full_name", "status", "attempt",
    "attempts", "passed_on_retry", "duration_ms", "started_at", "finished_at", "failure_type",
    "failure_exception", "failure_message",
)  # fmt: skip
HISTORY_COLUMNS = (
    "id", "launch_id", "launch_name", "environment", "branch", "commit", "status", "attempt", "passed_on_retry",
    "duration_ms", "started_at", "signature", "verdict", "failure_message",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RowExport:
    """What to write: a file name stem, the columns in order, and the rows (a generator)."""

    stem: str
    columns: tuple[str, ...]
    rows: Iterator[dict[str, Any]]


def _paged(fetch: Callable[[str | None], pagination.Page]) -> Iterator[Any]:
    first = fetch(None)  # now: errors surface before the response starts

    def rows() -> Iterator[Any]:
        page = first
        while True:
            yield from page.rows
            if page.next is None:
                return
            page = fetch(page.next)

    return rows()


def _launch_row(row: Any, base_url: str) -> dict[str, Any]:
    out = {c: row[c] for c in LAUNCH_COLUMNS if c not in ("commit", "pass_rate", "url")}
    out["commit"] = row["commit_sha"]
    out["pass_rate"] = pass_rate(int(row["passed"]), int(row["failed"]))
    out["url"] = f"{base_url}/launches/{row['id']}"
    return {c: out[c] for c in LAUNCH_COLUMNS}


def launch_rows(db: Database, principal: Principal, project_key: str, flt: LaunchFilter, base_url: str) -> RowExport:
    """A project's launches with the launch list's filters and sort."""
    with db.read() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.VIEWER, project.id)

    def fetch(cursor: str | None) -> pagination.Page:
        with db.read() as conn:
            return launches.list_page(conn, project.id, flt, cursor=cursor, limit=PAGE_SIZE)

    rows = (_launch_row(r, base_url) for r in _paged(fetch))
    return RowExport(f"launches-{project.key}", LAUNCH_COLUMNS, rows)


def case_run_rows(db: Database, principal: Principal, launch_id: int, flt: CaseRunFilter) -> RowExport:
    """A launch's case runs with the case-run list's filters (status, text, sort, attempts)."""
    with db.read() as conn:
        launch = launches.get(conn, launch_id)
        if launch is None:
            raise NotFound(f"launch {launch_id} not found")
        principal.require(Role.VIEWER, int(launch["project_id"]))

    def fetch(cursor: str | None) -> pagination.Page:
        with db.read() as conn:
            return case_runs.list_page(conn, launch_id, flt, cursor=cursor, limit=PAGE_SIZE)

    rows = ({c: r[c] for c in CASE_RUN_COLUMNS} for r in _paged(fetch))
    return RowExport(f"launch-{launch_id}-case-runs", CASE_RUN_COLUMNS, rows)


def history_rows(db: Database, principal: Principal, test_case_id: int, flt: HistoryFilter) -> RowExport:
    """A test's final case runs across launches, newest first (a merged test: its target's)."""
    test = history.get_test(db, principal, test_case_id)
    if test.alias_of_id is not None:
        test = history.get_test(db, principal, test.alias_of_id)

    def fetch(cursor: str | None) -> pagination.Page:
        with db.read() as conn:
            return history_queries.timeline(conn, test.id, flt, cursor=cursor, limit=PAGE_SIZE)

    def row(r: Any) -> dict[str, Any]:
        return {c: (r["commit_sha"] if c == "commit" else r[c]) for c in HISTORY_COLUMNS}

    return RowExport(f"test-{test.id}-history", HISTORY_COLUMNS, (row(r) for r in _paged(fetch)))
