"""Launch use cases: create, record results piece by piece, finish, read, archive, delete,
and the projects overview."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, RowMapping, select, update
from sqlalchemy.exc import IntegrityError

from caserun.analysis import patterns, stats
from caserun.analysis.compare import compare
from caserun.domain.model import Attempt, LaunchSource, LaunchStatus, Role, Status, TestResult
from caserun.domain.rules import check_case_run_transition, check_launch_transition
from caserun.errors import Conflict, InvalidInput, NotFound
from caserun.service import quarantine, webhooks
from caserun.service.attachments import AttachmentStore
from caserun.service.auth import Principal
from caserun.service.projects import Project, lookup
from caserun.service.recording import LaunchRecorder
from caserun.service.views import LaunchView
from caserun.store import case_runs, launches, pagination, projects
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
    #: sha256 of what was asked (see ``request_hash``), kept beside the idempotency key
    request_hash: str | None = None


def request_hash(params: LaunchParams, file_digests: Sequence[str] = ()) -> str:
    """The fingerprint of a request that creates a launch: its launch parameters and the
    sha256 of each uploaded file (in order). A reused Idempotency-Key must come with it."""
    fields = {
        "name": params.name,
        "environment": params.environment,
        "branch": params.branch,
        "commit": params.commit,
        "build_url": params.build_url,
        "attributes": dict(sorted(params.attributes.items())),
        "retry_of": params.retry_of,
        "source": params.source.value,
        "files": list(file_digests),
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def check_same_request(existing: RowMapping, params: LaunchParams) -> None:
    """Refuse (409) a reused Idempotency-Key that came with a different request."""
    stored = existing["request_hash"]
    if stored is not None and params.request_hash is not None and stored != params.request_hash:
        raise Conflict(
            f"Idempotency-Key {params.idempotency_key!r} was already used for a different request "
            f"(launch {existing['id']}); send a new key for new data"
        )


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
        request_hash=params.request_hash if params.idempotency_key else None,
        started_at=params.started_at or now,
        created_at=now,
    )


def record_completed_launch(
    conn: Connection,
    project_id: int,
    params: LaunchParams,
    results: Iterable[TestResult],
    blobs: BlobStore,
    *,
    max_attachment_bytes: int = 10_000_000,
) -> int:
    """A launch recorded from results in one go, completed, its statistics folded: what an
    import does, for results already in memory (demo data, benchmarks, tests). It is
    created and started at ``params.started_at`` and finishes after its tests' durations."""
    launch_id = insert_launch(conn, project_id, params, LaunchStatus.RUNNING)
    row = launches.get(conn, launch_id)
    assert row is not None
    recorder = LaunchRecorder(
        conn,
        project_id=project_id,
        launch_id=launch_id,
        launch_started=row["started_at"],
        attachments=AttachmentStore(blobs, {}, max_bytes=max_attachment_bytes),
        fresh_launch=True,
    )
    recorder.add(results)
    recorder.finish()
    duration = launches.sum_durations(conn, launch_id)
    launches.set_status(
        conn,
        launch_id,
        status=LaunchStatus.COMPLETED.value,
        finished_at=row["started_at"] + timedelta(milliseconds=duration),
        created_at=row["started_at"],
    )
    stats.update_for_launch(conn, launch_id)
    return launch_id


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
    if params.idempotency_key and params.request_hash is None:
        params = replace(params, request_hash=request_hash(params))
    try:
        with db.write() as conn:
            project = lookup(conn, project_key)
            principal.require(Role.REPORTER, project.id)
            if params.idempotency_key:
                existing = launches.by_idempotency_key(conn, project.id, params.idempotency_key)
                if existing is not None:
                    check_same_request(existing, params)
                    return LaunchView.from_row(existing, project.key, base_url)
            launch_id = insert_launch(conn, project.id, params, LaunchStatus.RUNNING)
            row = launches.get(conn, launch_id)
            assert row is not None
            return LaunchView.from_row(row, project.key, base_url)
    except IntegrityError:
        winner = idempotent_winner(db, project_key, params)
        if winner is None:
            raise
        return LaunchView.from_row(winner, project_key, base_url)


def idempotent_winner(db: Database, project_key: str, params: LaunchParams) -> RowMapping | None:
    """After a unique conflict: the launch a concurrent request with the same
    Idempotency-Key committed first (on PostgreSQL both may pass the look-up before either
    commits), checked to be the same request; None when the conflict was about something else."""
    if not params.idempotency_key:
        return None
    with db.read() as conn:
        project = lookup(conn, project_key)
        existing = launches.by_idempotency_key(conn, project.id, params.idempotency_key)
    if existing is not None:
        check_same_request(existing, params)
    return existing


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

    Case runs still ``running`` become skipped: nothing will finish them any more. When the
    launch is stopped or failed, each also gets a warning saying so (as the events path does).
    """
    with db.write() as conn:
        row = _load(conn, launch_id, principal, Role.REPORTER)
        fresh = close_launch(conn, row, status)
        return LaunchView.from_row(fresh, _project_key(conn, int(row["project_id"])), base_url)


def close_launch(conn: Connection, row: RowMapping, status: LaunchStatus, at: datetime | None = None) -> RowMapping:
    """``finish`` inside the caller's transaction; ``at`` is when it finished (default now).

    The one place a launch closes, whichever way the finish arrives (``POST …/finish`` or a
    ``launch_finished`` event), so both leave the same rows behind."""
    launch_id = int(row["id"])
    check_launch_transition(LaunchStatus(row["status"]), status)
    now = at or datetime.now(UTC)
    if status is LaunchStatus.COMPLETED:
        conn.execute(
            update(case_run)
            .where(case_run.c.launch_id == launch_id, case_run.c.status == "running")
            .values(status="skipped", finished_at=now)
        )
    else:
        abandon_running(conn, launch_id, f"the launch was {status.value} before this test finished", now)
    duration = max(0, int((now - row["started_at"]).total_seconds() * 1000))
    launches.set_status(conn, launch_id, status=status.value, finished_at=now)
    launches.refresh_summary(conn, launch_id, duration)
    stats.update_for_launch(conn, launch_id)
    webhooks.enqueue_launch_events(conn, launch_id)  # the outbox: rows only, sent later
    fresh = launches.get(conn, launch_id)
    assert fresh is not None
    return fresh


def abandon_running(conn: Connection, launch_id: int, why: str, at: datetime) -> None:
    """Tests still running when a launch stops (Ctrl-C, a killed job) never finish: they
    become ``skipped`` with the warning ``why``, so the launch shows no test running for ever."""
    query = select(case_run.c.id, case_run.c.warnings).where(
        case_run.c.launch_id == launch_id, case_run.c.status == "running"
    )
    rows = conn.execute(query).mappings().all()
    if not rows:
        return
    conn.execute(
        update(case_run).where(case_run.c.id.in_([int(r["id"]) for r in rows])).values(status="skipped", finished_at=at)
    )
    for r in rows:
        case_runs.set_warnings(conn, int(r["id"]), [*(r["warnings"] or []), why])


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
    check_band(flt.min_pass_rate, flt.max_pass_rate)
    with db.read() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.VIEWER, project.id)
        page = launches.list_page(conn, project.id, flt, cursor=cursor, limit=limit)
    return [LaunchView.from_row(r, project.key, base_url) for r in page.rows], page.next


# -- archive and delete ------------------------------------------------------------------

#: archiving and deleting change what everyone sees: maintainers only
MANAGE_ROLE = Role.MAINTAINER


@dataclass(frozen=True, slots=True)
class LaunchState:
    """What the launch row says beyond its view: archived (when) and kept from retention."""

    id: int
    name: str
    archived_at: datetime | None
    kept: bool

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


def _state(row: RowMapping) -> LaunchState:
    return LaunchState(id=int(row["id"]), name=str(row["name"]), archived_at=row["archived_at"], kept=bool(row["kept"]))


def state(db: Database, principal: Principal, launch_id: int) -> LaunchState:
    with db.read() as conn:
        return _state(_load(conn, launch_id, principal, Role.VIEWER))


def archive(db: Database, principal: Principal, launch_id: int) -> LaunchState:
    """Archive a finished launch (maintainer): it leaves the default launch list and is
    never picked as a comparison baseline; its data stays. Archiving twice changes nothing."""
    with db.write() as conn:
        row = _load(conn, launch_id, principal, MANAGE_ROLE)
        if row["status"] == LaunchStatus.RUNNING.value:
            raise Conflict(f"launch {launch_id} is still running; archive it once it has finished")
        if row["archived_at"] is None:
            launches.set_archived(conn, launch_id, datetime.now(UTC))
        fresh = launches.get(conn, launch_id)
        assert fresh is not None
        return _state(fresh)


def unarchive(db: Database, principal: Principal, launch_id: int) -> LaunchState:
    """Bring an archived launch back to the launch list and the baselines (maintainer)."""
    with db.write() as conn:
        _load(conn, launch_id, principal, MANAGE_ROLE)
        launches.set_archived(conn, launch_id, None)
        fresh = launches.get(conn, launch_id)
        assert fresh is not None
        return _state(fresh)


@dataclass(frozen=True, slots=True)
class DeletedLaunch:
    id: int
    name: str
    project_key: str
    tests: int


def delete(db: Database, principal: Principal, launch_id: int, confirm: str) -> DeletedLaunch:
    """Delete a launch for good (maintainer): the launch, its case runs, their logs,
    attachment rows, defect links and audit rows, then rebuild the statistics of the tests
    it touched from the history that remains, all in one transaction.

    ``confirm`` must be the launch's name, as the user typed it: a guard against deleting
    the wrong launch by its id."""
    with db.write() as conn:
        row = _load(conn, launch_id, principal, MANAGE_ROLE)
        name = str(row["name"])
        if confirm.strip() != name.strip():
            raise InvalidInput(f"to delete launch {launch_id}, confirm with its exact name {name!r}")
        project_id = int(row["project_id"])
        tests = launches.delete_launch(conn, launch_id)
        stats.rebuild(conn, project_id, tests)
        return DeletedLaunch(id=launch_id, name=name, project_key=_project_key(conn, project_id), tests=len(tests))


# -- the projects overview ----------------------------------------------------------------

TREND_LAUNCHES = 30


@dataclass(frozen=True, slots=True)
class ProjectOverview:
    project: Project
    #: the newest launch that is not archived, or None
    last: LaunchView | None
    #: (launch id, pass rate or None, name) of the last launches, oldest first
    trend: list[tuple[int, float | None, str]]


def overview(
    db: Database, principal: Principal, base_url: str, *, per_project: int = TREND_LAUNCHES
) -> list[ProjectOverview]:
    """Every project the principal sees with its last launch and the pass rates of its last
    ``per_project`` launches, read in one query for all projects."""
    with db.read() as conn:
        rows = [
            r for r in projects.all_projects(conn) if principal.project_id is None or r["id"] == principal.project_id
        ]
        recent = launches.recent_by_project(conn, [int(r["id"]) for r in rows], per_project)
    by_project: dict[int, list[RowMapping]] = {}
    for launch_row in recent:
        by_project.setdefault(int(launch_row["project_id"]), []).append(launch_row)
    out = []
    for r in rows:
        key = str(r["key"])
        mine = by_project.get(int(r["id"]), [])
        views = [LaunchView.from_row(x, key, base_url) for x in mine]
        out.append(
            ProjectOverview(
                project=Project(id=int(r["id"]), key=key, name=str(r["name"]), created_at=r["created_at"]),
                last=views[0] if views else None,
                trend=[(v.id, v.summary.pass_rate, v.name) for v in reversed(views)],
            )
        )
    return out


def check_band(low: float | None, high: float | None) -> None:
    if low is not None and high is not None and low > high:
        raise InvalidInput(f"min_pass_rate {low:g} is above max_pass_rate {high:g}")


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
