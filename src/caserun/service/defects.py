"""Defect use cases: create (also from a failed case run), edit, move, link and read.

Viewers read defects; creating, editing, moving and linking need the maintainer role.
Reporter tokens live in CI and record results; triage is a person's decision, so it is
left to maintainers (docs/analysis.md, "Defects").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping

from caserun.domain.defects import (
    DefectStatus,
    allowed_moves,
    check_defect_transition,
    check_external_url,
    parse_defect_status,
    parse_severity,
)
from caserun.domain.model import Role
from caserun.errors import Conflict, InvalidInput, NotFound
from caserun.service.auth import Principal, actor_name
from caserun.service.projects import lookup
from caserun.store import case_runs, defects, launches, pagination, projects
from caserun.store.defects import DefectFilter
from caserun.store.engine import Database

EDIT_ROLE = Role.MAINTAINER
#: linked case runs shown inline in a defect; the rest through the paginated list
INLINE_RUNS = 20
TITLE_MAX = 200
MESSAGE_LINES = 20
TRACE_LINES = 15
MAX_LINK_IDS = 5000


@dataclass(slots=True)
class DefectFields:
    """What a caller may set on a defect; ``None`` on create means "not given"."""

    title: str | None = None
    description: str | None = None
    severity: str | None = None
    assignee: str | None = None
    external_url: str | None = None
    environment: str | None = None
    launch_id: int | None = None


@dataclass(slots=True)
class DefectView:
    id: int
    project_key: str
    title: str
    description: str | None
    severity: str
    status: str
    assignee: str | None
    external_url: str | None
    environment: str | None
    launch_id: int | None
    reopen_suggested: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    linked_runs: int
    next_statuses: list[str] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: RowMapping, project_key: str) -> DefectView:
        names = [f.name for f in fields(cls) if f.name not in ("project_key", "next_statuses")]
        values = {name: row[name] for name in names}
        moves = [s.value for s in allowed_moves(DefectStatus(row["status"]))]
        return cls(project_key=project_key, next_statuses=moves, **values)


@dataclass(slots=True)
class LinkedRun:
    id: int
    launch_id: int
    launch_name: str
    test_case_id: int
    full_name: str
    status: str
    attempt: int
    started_at: datetime
    failure_message: str | None
    linked_at: datetime
    linked_by: str
    origin: str


@dataclass(slots=True)
class PatternRef:
    id: int
    signature: str
    exception: str | None
    template: str
    count: int
    first_seen: datetime
    last_seen: datetime


@dataclass(slots=True)
class DefectDetail:
    defect: DefectView
    case_runs: list[LinkedRun]
    case_runs_next: str | None
    patterns: list[PatternRef]


@dataclass(frozen=True, slots=True)
class LinkResult:
    changed: int
    unchanged: int
    linked_runs: int


def _load(conn: Connection, defect_id: int, principal: Principal, needed: Role) -> RowMapping:
    row = defects.get(conn, defect_id)
    if row is None:
        raise NotFound(f"defect {defect_id} not found")
    principal.require(needed, int(row["project_id"]))
    return row


def _view(conn: Connection, defect_id: int) -> DefectView:
    row = defects.get(conn, defect_id)
    assert row is not None
    project = projects.by_id(conn, int(row["project_id"]))
    assert project is not None
    return DefectView.from_row(row, str(project["key"]))


def _clean(name: str, value: Any, project_id: int, conn: Connection) -> Any:
    """Validate one settable field; blank optional text becomes NULL."""
    if isinstance(value, str):
        value = value.strip()
    if name == "title":
        if not value:
            raise InvalidInput("a defect needs a title")
        return value
    if name == "severity":
        if value is None:
            raise InvalidInput("severity cannot be empty")
        return parse_severity(value).value
    if value in (None, ""):
        return None
    if name == "external_url":
        return check_external_url(value)
    if name == "launch_id":
        row = launches.get(conn, int(value))
        if row is None or row["project_id"] != project_id:
            raise NotFound(f"launch {value} not found in this project")
        return int(value)
    return value


def _insert(conn: Connection, project_id: int, values: DefectFields, principal: Principal) -> int:
    cleaned = {
        f.name: _clean(f.name, getattr(values, f.name), project_id, conn)
        for f in fields(DefectFields)
        if f.name != "severity"
    }
    cleaned["severity"] = parse_severity(values.severity or "medium").value
    now = datetime.now(UTC)
    return defects.insert_defect(
        conn,
        project_id=project_id,
        status=DefectStatus.OPEN.value,
        reopen_suggested=False,
        created_by=actor_name(conn, principal),
        created_at=now,
        updated_at=now,
        **cleaned,
    )


def create(db: Database, principal: Principal, project_key: str, values: DefectFields) -> DefectView:
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(EDIT_ROLE, project.id)
        defect_id = _insert(conn, project.id, values, principal)
        return _view(conn, defect_id)


def edit(db: Database, principal: Principal, defect_id: int, changes: Mapping[str, Any]) -> DefectView:
    """Change fields and/or move the defect. Any move clears ``reopen_suggested``; setting
    ``reopen_suggested`` to false dismisses the suggestion without a move."""
    settable = {f.name for f in fields(DefectFields)} | {"status", "reopen_suggested"}
    unknown = set(changes) - settable
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
    with db.write() as conn:
        row = _load(conn, defect_id, principal, EDIT_ROLE)
        project_id = int(row["project_id"])
        values: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "status":
                if value is None:
                    raise InvalidInput("status cannot be empty")
                new = parse_defect_status(value)
                check_defect_transition(DefectStatus(row["status"]), new)
                values["status"] = new.value
                values["reopen_suggested"] = False
            elif name == "reopen_suggested":
                if value is not False:
                    raise InvalidInput("reopen_suggested can only be cleared (false); caserun sets it")
                values.setdefault("reopen_suggested", False)
            else:
                values[name] = _clean(name, value, project_id, conn)
        if values:
            values["updated_at"] = datetime.now(UTC)
            defects.set_values(conn, defect_id, **values)
        return _view(conn, defect_id)


def get(db: Database, principal: Principal, defect_id: int) -> DefectDetail:
    with db.read() as conn:
        _load(conn, defect_id, principal, Role.VIEWER)
        view = _view(conn, defect_id)
        page = defects.linked_runs_page(conn, defect_id, cursor=None, limit=INLINE_RUNS)
        patterns = defects.patterns(conn, defect_id)
    return DefectDetail(
        defect=view,
        case_runs=[_linked(r) for r in page.rows],
        case_runs_next=page.next,
        patterns=[PatternRef(**dict(p)) for p in patterns],
    )


def _linked(row: RowMapping) -> LinkedRun:
    return LinkedRun(**{f.name: row[f.name] for f in fields(LinkedRun)})


def linked_runs(
    db: Database, principal: Principal, defect_id: int, *, cursor: str | None, limit: int
) -> tuple[list[LinkedRun], str | None]:
    pagination.check_limit(limit)
    with db.read() as conn:
        _load(conn, defect_id, principal, Role.VIEWER)
        page = defects.linked_runs_page(conn, defect_id, cursor=cursor, limit=limit)
    return [_linked(r) for r in page.rows], page.next


def list_page(
    db: Database, principal: Principal, project_key: str, flt: DefectFilter, *, cursor: str | None, limit: int
) -> tuple[list[DefectView], str | None]:
    pagination.check_limit(limit)
    for value in flt.status or []:
        parse_defect_status(value)
    for value in flt.severity or []:
        parse_severity(value)
    with db.read() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.VIEWER, project.id)
        page = defects.list_page(conn, project.id, flt, cursor=cursor, limit=limit)
    return [DefectView.from_row(r, project.key) for r in page.rows], page.next


def _unique(case_run_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(case_run_ids))
    if not ids:
        raise InvalidInput("give at least one case run id")
    if len(ids) > MAX_LINK_IDS:
        raise InvalidInput(f"at most {MAX_LINK_IDS} case runs at a time")
    return ids


def link(db: Database, principal: Principal, defect_id: int, case_run_ids: Sequence[int]) -> LinkResult:
    """Link case runs (of the defect's project) to the defect; already linked ones are left as they are."""
    ids = _unique(case_run_ids)
    with db.write() as conn:
        row = _load(conn, defect_id, principal, EDIT_ROLE)
        found = defects.case_runs_in_project(conn, int(row["project_id"]), ids)
        missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(str(i) for i in missing[:10])
            raise NotFound(f"case runs not found in this project: {shown}{'…' if len(missing) > 10 else ''}")
        already = defects.linked_ids(conn, defect_id, ids)
        fresh = [i for i in ids if i not in already]
        defects.link(conn, defect_id, fresh, by=actor_name(conn, principal), origin="manual", at=datetime.now(UTC))
        if fresh:
            defects.set_values(conn, defect_id, updated_at=datetime.now(UTC))
        total = defects.get(conn, defect_id)
        assert total is not None
        return LinkResult(changed=len(fresh), unchanged=len(already), linked_runs=int(total["linked_runs"]))


def unlink(db: Database, principal: Principal, defect_id: int, case_run_ids: Sequence[int]) -> LinkResult:
    """Remove links; ids that were not linked are counted as unchanged, not refused."""
    ids = _unique(case_run_ids)
    with db.write() as conn:
        _load(conn, defect_id, principal, EDIT_ROLE)
        removed = defects.unlink(conn, defect_id, ids)
        if removed:
            defects.set_values(conn, defect_id, updated_at=datetime.now(UTC))
        total = defects.get(conn, defect_id)
        assert total is not None
        return LinkResult(changed=removed, unchanged=len(ids) - removed, linked_runs=int(total["linked_runs"]))


# --- a defect from a failed case run -----------------------------------------------------


def _first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _head(text: str, lines: int) -> str:
    parts = text.rstrip().splitlines()
    cut = "\n…" if len(parts) > lines else ""
    return "\n".join(parts[:lines]) + cut


def prefill(run: RowMapping, launch: RowMapping) -> DefectFields:
    """Title, description, environment and launch of a defect about a failed case run."""
    summary = _first_line(run["failure_message"]) or run["failure_exception"] or "fails"
    title = f"{run['name']}: {summary}"
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rstrip() + "…"
    where = [f"launch “{launch['name']}” (#{launch['id']})"]
    if launch["branch"]:
        where.append(f"branch {launch['branch']}")
    if launch["commit_sha"]:
        where.append(f"commit {launch['commit_sha']}")
    environment = launch["environment"] or (run["metadata"] or {}).get("environment")
    kind = run["failure_type"] or "failure"
    if run["failure_exception"]:
        kind = f"{kind} ({run['failure_exception']})"
    lines = [
        f"Test: {run['full_name']}",
        f"Failed in case run #{run['id']}, attempt {run['attempt']}, " + ", ".join(where) + ".",
    ]
    if environment:
        lines.append(f"Environment: {environment}")
    lines += ["", f"Failure type: {kind}"]
    if run["failure_message"]:
        lines += ["", "Message:", _head(run["failure_message"], MESSAGE_LINES)]
    if run["stack_trace"]:
        lines += ["", f"Stack trace (first {TRACE_LINES} lines):", _head(run["stack_trace"], TRACE_LINES)]
    return DefectFields(
        title=title,
        description="\n".join(lines),
        environment=environment,
        launch_id=int(launch["id"]),
    )


def from_case_run(db: Database, principal: Principal, case_run_id: int, overrides: DefectFields) -> DefectView:
    """Create a defect prefilled from a failed case run, linked to it; given fields win."""
    with db.write() as conn:
        run = case_runs.get(conn, case_run_id)
        if run is None:
            raise NotFound(f"case run {case_run_id} not found")
        principal.require(EDIT_ROLE, int(run["project_id"]))
        if run["status"] != "failed":
            raise Conflict(f"case run {case_run_id} is {run['status']}; a defect is created from a failed run")
        launch = launches.get(conn, int(run["launch_id"]))
        assert launch is not None
        values = prefill(run, launch)
        for f in fields(DefectFields):
            given = getattr(overrides, f.name)
            if given is not None:
                setattr(values, f.name, given)
        defect_id = _insert(conn, int(run["project_id"]), values, principal)
        defects.link(
            conn, defect_id, [case_run_id], by=actor_name(conn, principal), origin="manual", at=datetime.now(UTC)
        )
        return _view(conn, defect_id)
