"""The live feed of one launch: what changed since the last look, read from the database.

Nothing is kept in server memory between requests, so any server process sharing the
database can serve a watcher (several ``caserun serve`` behind a load balancer, one
PostgreSQL). Each poll costs three indexed reads: the launch row by id, case runs with
an id above the last one sent (new runs), and the runs this watcher last saw
``running`` (finished since). The watcher's position lives in a ``Cursor`` it owns.

A launch whose reporter was killed (``kill -9``, a lost CI machine) stays ``running``:
nothing can finish it from the client side. The feed marks it **stale** once no test has
started or finished in it for ``stale_after`` seconds (the time of the last activity is
read once when the watcher connects, then kept up to date from what the polls see), so a
person watching knows to finish it (``POST /api/v1/launches/{id}/finish`` or a
``launch.finished`` event; both still work).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, func, select

from caserun.domain.model import LaunchStatus, Role
from caserun.errors import NotFound
from caserun.service.auth import Principal
from caserun.service.views import CaseRunRow, LaunchView
from caserun.settings import Settings
from caserun.store import case_runs, launches, projects
from caserun.store.engine import Database
from caserun.store.tables import case_run, test_case

PAGE = 500
#: running case runs a watcher keeps an eye on; more than this are picked up on reconnect
MAX_WATCHED = 2000
#: stale after this long when the server's sweeper is off (``CASERUN_STALE_AFTER=0``)
STALE_AFTER_S = 1800.0


def stale_after(settings: Settings) -> float:
    """The inactivity after which the feed calls a running launch stale: the sweeper's."""
    return float(settings.inactivity_timeout_s) or STALE_AFTER_S


_COLUMNS = (
    case_run.c.id,
    case_run.c.launch_id,
    case_run.c.test_case_id,
    case_run.c.attempt,
    case_run.c.is_final,
    case_run.c.status,
    case_run.c.passed_on_retry,
    case_run.c.started_at,
    case_run.c.duration_ms,
    case_run.c.failure_type,
    case_run.c.failure_exception,
    case_run.c.failure_message,
    test_case.c.suite,
    test_case.c.name,
    test_case.c.parameters,
    test_case.c.full_name,
)


@dataclass
class Cursor:
    """Where one watcher is: the last case run id sent and the runs it saw running."""

    last_id: int = 0
    running: set[int] = field(default_factory=set)
    summary: tuple[object, ...] | None = None
    #: when a test last started or finished in the launch (or it started)
    last_activity: datetime | None = None
    stale_after: float = STALE_AFTER_S


@dataclass
class Changes:
    launch: LaunchView
    runs: list[CaseRunRow]
    summary_changed: bool
    #: more new runs are waiting (poll again at once)
    more: bool
    last_activity: datetime | None = None
    #: running, and nothing happened in it for the cursor's ``stale_after`` seconds
    stale: bool = False

    @property
    def finished(self) -> bool:
        return LaunchStatus(self.launch.status).finished and not self.more


def open_feed(db: Database, principal: Principal, launch_id: int, base_url: str) -> LaunchView:
    """The launch, after checking the caller may see it."""
    with db.read() as conn:
        row = launches.get(conn, launch_id)
        if row is None:
            raise NotFound(f"launch {launch_id} not found")
        principal.require(Role.VIEWER, int(row["project_id"]))
        project = projects.by_id(conn, int(row["project_id"]))
        assert project is not None
        return LaunchView.from_row(row, str(project["key"]), base_url)


def last_activity(db: Database, launch_id: int) -> datetime | None:
    """When a test last started or finished in the launch, or else when it started."""
    with db.read() as conn:
        query = select(func.max(case_run.c.started_at), func.max(case_run.c.finished_at)).where(
            case_run.c.launch_id == launch_id
        )
        times = list(conn.execute(query).one())
        row = launches.get(conn, launch_id)
        if row is not None:
            times.append(row["started_at"])
    found = [_aware(t) for t in times if t is not None]
    return max(found) if found else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _runs(conn: Connection, query: Select[Any]) -> list[CaseRunRow]:
    return [CaseRunRow.from_row(r) for r in conn.execute(query).mappings()]


def poll(db: Database, launch_id: int, project_key: str, cursor: Cursor, base_url: str) -> Changes:
    """New and finished case runs since ``cursor`` (which is advanced) and the launch now."""
    with db.read() as conn:
        row = launches.get(conn, launch_id)
        if row is None:
            raise NotFound(f"launch {launch_id} not found")
        view = LaunchView.from_row(row, project_key, base_url)
        base = (
            select(*_COLUMNS, case_runs.attempts_column().label("attempts"))
            .join(test_case, test_case.c.id == case_run.c.test_case_id)
            .where(case_run.c.launch_id == launch_id)
        )
        fresh = _runs(conn, base.where(case_run.c.id > cursor.last_id).order_by(case_run.c.id).limit(PAGE + 1))
        more = len(fresh) > PAGE
        fresh = fresh[:PAGE]
        done: list[CaseRunRow] = []
        if cursor.running:
            watched = sorted(cursor.running)
            done = _runs(conn, base.where(case_run.c.id.in_(watched), case_run.c.status != "running"))
    for run in done:
        cursor.running.discard(run.id)
    for run in fresh:
        cursor.last_id = max(cursor.last_id, run.id)
        if run.status == "running" and len(cursor.running) < MAX_WATCHED:
            cursor.running.add(run.id)
    now = datetime.now(UTC)
    seen = [_aware(view.started_at)] if cursor.last_activity is None else [cursor.last_activity]
    seen += [now for _ in done[:1]]  # finished since the last look
    seen += [_aware(r.started_at) + timedelta(milliseconds=r.duration_ms or 0) for r in fresh if r.started_at]
    cursor.last_activity = max(seen)
    stale = view.status == LaunchStatus.RUNNING.value and (now - cursor.last_activity).total_seconds() >= (
        cursor.stale_after
    )
    signature = (view.status, view.summary, stale)
    changed = signature != cursor.summary
    cursor.summary = signature
    runs = sorted(done + fresh, key=lambda r: r.id)
    return Changes(
        launch=view, runs=runs, summary_changed=changed, more=more, last_activity=cursor.last_activity, stale=stale
    )
