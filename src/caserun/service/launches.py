"""Launch use cases: create, record results piece by piece, finish, read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping, select, update

from caserun.analysis import patterns, stats
from caserun.analysis.compare import compare
from caserun.domain.model import Attempt, LaunchSource, LaunchStatus, Role, Status, TestResult
from caserun.domain.rules import check_case_run_transition, check_launch_transition
from caserun.errors import Conflict, InvalidInput, NotFound
from caserun.service import quarantine
from caserun.service.attachments import AttachmentStore
from caserun.service.auth import Principal
from caserun.service.projects import lookup
from caserun.service.recording import LaunchRecorder
from caserun.service.views import LaunchView
from caserun.store import launches, pagination, projects
from caserun.store.blobs import BlobStore
from caserun.store.engine import Database
from caserun.store.tables import case_run


@dataclass(slots=True)
class LaunchParams:
    name: str | None = None
    environment: str | None = None
    branch: str | None = None
    commit: str | None = None
    build_url: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    retry_of: int | None = None
    source: LaunchSource = LaunchSource.API
    started_at: datetime | None = None
    idempotency_key: str | None = None


def default_name(params: LaunchParams, now: datetime) -> str:
    return params.name or f"{params.source.value} {now:%Y-%m-%d %H:%M}"


def insert_launch(conn: Connection, project_id: int, params: LaunchParams, status: LaunchStatus) -> int:
    now = datetime.now(UTC)
    if params.retry_of is not None:
        retried = launches.get(conn, params.retry_of)
        if retried is None or retried["project_id"] != project_id:
            raise NotFound(f"launch {params.retry_of} to retry not found in this project")
    return launches.insert_launch(
        conn,
        project_id=project_id,
        name=default_name(params, now)[:300],
        status=status.value,
        source=params.source.value,
        environment=params.environment,
        branch=params.branch,
        commit_sha=params.commit,
        build_url=params.build_url,
        attributes=params.attributes,
        retry_of_id=params.retry_of,
        idempotency_key=params.idempotency_key,
        started_at=params.started_at or now,
        created_at=now,
    )


def _load(conn: Connection, launch_id: int, principal: Principal, needed: Role) -> RowMapping:
    row = launches.get(conn, launch_id)
    if row is None:
        raise NotFound(f"launch {launch_id} not found")
    principal.require(needed, int(row["project_id"]))
    return row


def _project_key(conn: Connection, project_id: int) -> str:
    row = projects.by_id(conn, project_id)
    assert row is not None
    return str(row["key"])


def create(db: Database, principal: Principal, project_key: str, params: LaunchParams, base_url: str) -> LaunchView:
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.REPORTER, project.id)
        if params.idempotency_key:
            existing = launches.by_idempotency_key(conn, project.id, params.idempotency_key)
            if existing is not None:
                return LaunchView.from_row(existing, project.key, base_url)
        launch_id = insert_launch(conn, project.id, params, LaunchStatus.RUNNING)
        row = launches.get(conn, launch_id)
        assert row is not None
        return LaunchView.from_row(row, project.key, base_url)


def add_results(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    launch_id: int,
    results: Sequence[TestResult],
    *,
    max_attachment_bytes: int,
) -> list[int]:
    """Add case runs (finished or ``running``) to a running launch; re-sent client ids are
    answered with the case run they created the first time."""
    with db.write() as conn:
        row = _load(conn, launch_id, principal, Role.REPORTER)
        if LaunchStatus(row["status"]).finished:
            raise Conflict(f"launch {launch_id} is {row['status']}; it accepts no more results")
        client_ids = [a.client_id for r in results for a in r.attempts if a.client_id]
        known = _existing_client_ids(conn, launch_id, client_ids)
        fresh = [
            TestResult(
                suite=r.suite,
                name=r.name,
                parameters=r.parameters,
                file=r.file,
                line=r.line,
                key=r.key,
                metadata=r.metadata,
                warnings=r.warnings,
                attempts=[a for a in r.attempts if a.client_id not in known],
            )
            for r in results
        ]
        recorder = LaunchRecorder(
            conn,
            project_id=int(row["project_id"]),
            launch_id=launch_id,
            launch_started=row["started_at"],
            attachments=AttachmentStore(blobs, {}, max_bytes=max_attachment_bytes),
            fresh_launch=False,
        )
        new_ids = iter(recorder.add(r for r in fresh if r.attempts))
        recorder.finish(duration_ms=int(row["duration_ms"]))
        return [known[a.client_id] if a.client_id in known else next(new_ids) for r in results for a in r.attempts]


def _existing_client_ids(conn: Connection, launch_id: int, client_ids: list[str]) -> dict[str | None, int]:
    if not client_ids:
        return {}
    query = select(case_run.c.client_id, case_run.c.id).where(
        case_run.c.launch_id == launch_id, case_run.c.client_id.in_(client_ids)
    )
    return {cid: int(rid) for cid, rid in conn.execute(query)}


def finish_case_run(db: Database, principal: Principal, case_run_id: int, attempt: Attempt) -> None:
    """Finish a ``running`` case run with its result."""
    with db.write() as conn:
        run = conn.execute(select(case_run).where(case_run.c.id == case_run_id)).mappings().first()
        if run is None:
            raise NotFound(f"case run {case_run_id} not found")
        launch = _load(conn, int(run["launch_id"]), principal, Role.REPORTER)
        if LaunchStatus(launch["status"]).finished:
            raise Conflict(f"launch {launch['id']} is {launch['status']}; it accepts no more results")
        check_case_run_transition(Status(run["status"]), attempt.status)
        failure = attempt.failure
        now = datetime.now(UTC)
        conn.execute(
            update(case_run)
            .where(case_run.c.id == case_run_id)
            .values(
                status=attempt.status.value,
                duration_ms=attempt.duration_ms
                if attempt.duration_ms is not None
                else int((now - run["started_at"]).total_seconds() * 1000),
                finished_at=now,
                failure_type=failure.type.value if failure else None,
                failure_exception=failure.exception if failure else None,
                failure_message=failure.message if failure else None,
                stack_trace=failure.trace if failure else None,
            )
        )
        launches.refresh_summary(conn, int(launch["id"]))
        patterns.assign(conn, int(launch["project_id"]), int(launch["id"]), [case_run_id])


def finish(db: Database, principal: Principal, launch_id: int, status: LaunchStatus, base_url: str) -> LaunchView:
    """Move a running launch to completed, failed (system error) or stopped.

    Case runs still ``running`` when a launch is stopped or fails stay visible as such;
    when it completes, they are marked skipped: nothing will finish them any more.
    """
    with db.write() as conn:
        row = _load(conn, launch_id, principal, Role.REPORTER)
        fresh = close_launch(conn, row, status)
        return LaunchView.from_row(fresh, _project_key(conn, int(row["project_id"])), base_url)


def close_launch(conn: Connection, row: RowMapping, status: LaunchStatus, at: datetime | None = None) -> RowMapping:
    """``finish`` inside the caller's transaction; ``at`` is when it finished (default now)."""
    launch_id = int(row["id"])
    check_launch_transition(LaunchStatus(row["status"]), status)
    now = at or datetime.now(UTC)
    if status is LaunchStatus.COMPLETED:
        conn.execute(
            update(case_run)
            .where(case_run.c.launch_id == launch_id, case_run.c.status == "running")
            .values(status="skipped", finished_at=now)
        )
    duration = max(0, int((now - row["started_at"]).total_seconds() * 1000))
    launches.set_status(conn, launch_id, status=status.value, finished_at=now)
    launches.refresh_summary(conn, launch_id, duration)
    stats.update_for_launch(conn, launch_id)
    fresh = launches.get(conn, launch_id)
    assert fresh is not None
    return fresh


def get(
    db: Database, principal: Principal, launch_id: int, base_url: str, *, baseline_id: int | None = None
) -> LaunchView:
    """A launch with its summary, what quarantined tests did to it, and its comparison
    with the baseline launch."""
    with db.read() as conn:
        row = _load(conn, launch_id, principal, Role.VIEWER)
        key = _project_key(conn, int(row["project_id"]))
        view = LaunchView.from_row(row, key, base_url)
        view.quarantine = quarantine.launch_impact(conn, row, view.summary)
        if baseline_id is not None:
            base = launches.get(conn, baseline_id)
            if base is None or base["project_id"] != row["project_id"]:
                raise NotFound(f"baseline launch {baseline_id} not found")
        else:
            base = launches.previous(conn, row)
        if base is not None:
            view.baseline = LaunchView.from_row(base, key, base_url)
            view.comparison = compare(conn, launch_id, int(base["id"]))
        return view


def list_page(
    db: Database,
    principal: Principal,
    project_key: str,
    flt: launches.LaunchFilter,
    *,
    cursor: str | None,
    limit: int,
    base_url: str,
) -> tuple[list[LaunchView], str | None]:
    pagination.check_limit(limit)
    with db.read() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.VIEWER, project.id)
        page = launches.list_page(conn, project.id, flt, cursor=cursor, limit=limit)
    return [LaunchView.from_row(r, project.key, base_url) for r in page.rows], page.next


def parse_status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise InvalidInput(f"unknown status {value!r}; use one of {', '.join(s.value for s in Status)}") from None


def parse_launch_status(value: str) -> LaunchStatus:
    try:
        return LaunchStatus(value)
    except ValueError:
        known = ", ".join(s.value for s in LaunchStatus)
        raise InvalidInput(f"unknown launch status {value!r}; use one of {known}") from None
