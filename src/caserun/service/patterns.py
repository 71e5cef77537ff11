"""Failure pattern use cases: a project's patterns, one pattern with its runs, a launch's
patterns, and linking a pattern to a defect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, RowMapping

from caserun.analysis.signatures import parse_template
from caserun.domain.model import Role
from caserun.errors import NotFound
from caserun.service.auth import Principal
from caserun.service.projects import lookup
from caserun.store import launches, pagination, projects
from caserun.store import patterns as store
from caserun.store.engine import Database
from caserun.store.patterns import PatternFilter

DAYS = 30
#: characters of the example trace a pattern carries
TRACE_CHARS = 20_000


@dataclass(slots=True)
class PatternDefect:
    id: int
    title: str
    status: str


@dataclass(slots=True)
class DayCount:
    day: str
    count: int


@dataclass(slots=True)
class PatternView:
    id: int
    project_key: str
    signature: str
    exception: str | None
    message: str
    template: str
    example_case_run_id: int | None
    example_message: str | None
    example_trace: str | None
    count: int
    tests_affected: int
    launches_affected: int
    first_seen: datetime
    last_seen: datetime
    daily: list[DayCount] = field(default_factory=list)
    defect: PatternDefect | None = None


@dataclass(slots=True)
class LaunchPatternView:
    pattern: PatternView
    launch_count: int
    launch_tests: int
    #: first seen in this launch
    new: bool


@dataclass(slots=True)
class PatternRunView:
    id: int
    launch_id: int
    launch_name: str
    test_case_id: int
    full_name: str
    status: str
    attempt: int
    started_at: datetime
    failure_message: str | None
    new_failure: bool | None


def _views(conn: Connection, rows: Sequence[RowMapping], project_key: str) -> list[PatternView]:
    ids = [int(r["id"]) for r in rows]
    spread = store.spread(conn, ids)
    today = datetime.now(UTC).date()
    start = today - timedelta(days=DAYS - 1)
    daily = store.daily_counts(conn, ids, datetime(start.year, start.month, start.day, tzinfo=UTC))
    days = [(start + timedelta(days=n)).isoformat() for n in range(DAYS)]
    views = []
    for row in rows:
        pid = int(row["id"])
        counts = daily.get(pid, {})
        trace = row["example_trace"]
        views.append(
            PatternView(
                id=pid,
                project_key=project_key,
                signature=row["signature"],
                exception=row["exception"],
                message=parse_template(row["template"]).message,
                template=row["template"],
                example_case_run_id=row["example_case_run_id"],
                example_message=row["example_message"],
                example_trace=trace[:TRACE_CHARS] if trace else trace,
                count=int(row["count"]),
                tests_affected=spread.get(pid, (0, 0))[0],
                launches_affected=spread.get(pid, (0, 0))[1],
                first_seen=row["first_seen"],
                last_seen=row["last_seen"],
                daily=[DayCount(day=d, count=counts.get(d, 0)) for d in days],
                defect=PatternDefect(id=row["defect_id"], title=row["defect_title"], status=row["defect_status"])
                if row["defect_id"] is not None
                else None,
            )
        )
    return views


def _project_key(conn: Connection, project_id: int) -> str:
    row = projects.by_id(conn, project_id)
    assert row is not None
    return str(row["key"])


def list_page(
    db: Database, principal: Principal, project_key: str, flt: PatternFilter, *, cursor: str | None, limit: int
) -> tuple[list[PatternView], str | None]:
    pagination.check_limit(limit)
    with db.read() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.VIEWER, project.id)
        page = store.list_page(conn, project.id, flt, cursor=cursor, limit=limit)
        return _views(conn, page.rows, project.key), page.next


def _load(conn: Connection, principal: Principal, pattern_id: int, needed: Role) -> RowMapping:
    row = store.get(conn, pattern_id)
    if row is None:
        raise NotFound(f"failure pattern {pattern_id} not found")
    principal.require(needed, int(row["project_id"]))
    return row


def get(
    db: Database, principal: Principal, pattern_id: int, *, cursor: str | None, limit: int
) -> tuple[PatternView, list[PatternRunView], str | None]:
    """One pattern and a page of its case runs, newest first."""
    pagination.check_limit(limit)
    with db.read() as conn:
        row = _load(conn, principal, pattern_id, Role.VIEWER)
        view = _views(conn, [row], _project_key(conn, int(row["project_id"])))[0]
        page = store.runs_page(conn, pattern_id, cursor=cursor, limit=limit)
    runs = [PatternRunView(**{f.name: r[f.name] for f in fields(PatternRunView)}) for r in page.rows]
    return view, runs, page.next


def for_launch(
    db: Database, principal: Principal, launch_id: int, *, cursor: str | None, limit: int
) -> tuple[list[LaunchPatternView], str | None]:
    """The patterns of a launch's failures, most failures in the launch first."""
    pagination.check_limit(limit)
    with db.read() as conn:
        launch = launches.get(conn, launch_id)
        if launch is None:
            raise NotFound(f"launch {launch_id} not found")
        principal.require(Role.VIEWER, int(launch["project_id"]))
        page = store.launch_page(conn, launch_id, cursor=cursor, limit=limit)
        views = _views(conn, page.rows, _project_key(conn, int(launch["project_id"])))
    items = [
        LaunchPatternView(
            pattern=view,
            launch_count=int(row["launch_count"]),
            launch_tests=int(row["launch_tests"]),
            new=row["example_launch_id"] == launch_id,
        )
        for view, row in zip(views, page.rows, strict=True)
    ]
    return items, page.next


def set_defect(db: Database, principal: Principal, pattern_id: int, defect_id: int | None) -> PatternView:
    """Link a pattern to a defect of its project (maintainer), or unlink it with ``None``."""
    with db.write() as conn:
        row = _load(conn, principal, pattern_id, Role.MAINTAINER)
        if defect_id is not None:
            found = store.defect_row(conn, defect_id)
            if found is None or found["project_id"] != row["project_id"]:
                raise NotFound(f"defect {defect_id} not found in this project")
        store.set_defect(conn, pattern_id, defect_id)
        fresh = store.get(conn, pattern_id)
        assert fresh is not None
        return _views(conn, [fresh], _project_key(conn, int(row["project_id"])))[0]
