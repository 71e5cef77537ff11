"""Applying batches of live events: launch started, case run started and finished, launch finished.

A batch is one write transaction; each event runs in its own savepoint, so an event that
is refused (unknown or finished launch, a finish before its start, a bad attachment)
changes nothing while the others still apply, and each gets its own answer.

Client ids make every event idempotent: a launch's client id is stored as its
``idempotency_key`` (``event:<id>``, unique per project), a case run's as its
``client_id`` (unique per launch). A re-sent event is answered ``duplicate`` with the ids
it created the first time. Attempts, summaries and failure patterns are settled once per
batch and launch, not per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update
from sqlalchemy.exc import IntegrityError

from caserun.analysis import patterns
from caserun.domain.model import Attempt, LaunchSource, LaunchStatus, Role, Status
from caserun.domain.rules import check_case_run_transition
from caserun.errors import CaserunError, Conflict, NotFound
from caserun.ingest import events
from caserun.service.attachments import AttachmentStore, content_type
from caserun.service.auth import Principal
from caserun.service.launches import LaunchParams, close_launch, insert_launch
from caserun.service.projects import Project, lookup
from caserun.service.recording import LaunchRecorder, clip
from caserun.store import case_runs, launches
from caserun.store.blobs import BlobStore
from caserun.store.engine import Database
from caserun.store.tables import case_run, launch

KEY_PREFIX = "event:"


@dataclass(slots=True)
class Outcome:
    """The answer to one event: an HTTP-like status and a code (``created``, ``duplicate``,
    ``finished`` or the error's code) with the ids the event touched."""

    index: int
    status: int
    code: str
    message: str | None = None
    launch_id: int | None = None
    case_run_id: int | None = None
    url: str | None = None

    @property
    def ok(self) -> bool:
        return self.status < 400

    @classmethod
    def refused(cls, index: int, exc: CaserunError) -> Outcome:
        return cls(index=index, status=exc.status, code=exc.code, message=exc.message)


def launch_key(client_id: str) -> str:
    return KEY_PREFIX + client_id


@dataclass
class _Batch:
    conn: Connection
    project: Project
    attachments: AttachmentStore
    base_url: str
    recorders: dict[int, LaunchRecorder] = field(default_factory=dict)
    #: launches written to in this batch → their failed case runs (for failure patterns)
    touched: dict[int, list[int]] = field(default_factory=dict)
    #: launches whose row this transaction holds (``lock``)
    locked: set[int] = field(default_factory=set)
    #: launch rows by the reference events use, once locked
    launch_rows: dict[tuple[str | None, int | None], RowMapping] = field(default_factory=dict)

    def forget(self) -> None:
        """After a refused event: recorders may have counted attempts that were rolled back,
        and row locks taken inside the savepoint went with it."""
        self.recorders.clear()
        self.locked.clear()
        self.launch_rows.clear()

    def handle(self, event: events.Event, index: int) -> Outcome:
        if isinstance(event, events.LaunchStarted):
            return self.launch_started(event, index)
        if isinstance(event, events.CaseRunStarted):
            return self.case_run_started(event, index)
        if isinstance(event, events.CaseRunFinished):
            return self.case_run_finished(event, index)
        return self.launch_finished(event, index)

    # launches

    def find_launch(self, event: events.CaseRunStarted | events.CaseRunFinished | events.LaunchFinished) -> RowMapping:
        ref = (event.launch, event.launch_id)
        cached = self.launch_rows.get(ref)
        if cached is not None:
            return cached
        if event.launch_id is not None:
            row = launches.get(self.conn, event.launch_id)
            if row is not None and row["project_id"] != self.project.id:
                row = None
        else:
            assert event.launch is not None
            row = launches.by_idempotency_key(self.conn, self.project.id, launch_key(event.launch))
        if row is None:
            raise NotFound(f"{event.launch_ref} not found in project {self.project.key} (send launch.started first)")
        row = self.lock(row)
        self.launch_rows[ref] = row  # locked: nobody else changes it before this batch commits
        return row

    def lock(self, row: RowMapping) -> RowMapping:
        """Hold the launch row until this batch commits, and read it afresh.

        Batches for one launch (shards, a re-sent request) run one after the other from
        here: each settles the launch's summary from the case runs it can see, and without
        the lock two overlapping PostgreSQL transactions would each count without the
        other's runs, the last commit winning. (SQLite writers are serial already.)"""
        lid = int(row["id"])
        if lid in self.locked:
            return row
        fresh = self.conn.execute(select(launch).where(launch.c.id == lid).with_for_update()).mappings().one()
        self.locked.add(lid)
        return fresh

    @staticmethod
    def check_open(row: RowMapping) -> None:
        if LaunchStatus(row["status"]).finished:
            raise Conflict(f"launch {row['id']} is {row['status']}; it accepts no more results")

    def url(self, launch_id: int) -> str:
        return f"{self.base_url}/launches/{launch_id}"

    def launch_started(self, event: events.LaunchStarted, index: int) -> Outcome:
        key = launch_key(event.launch)
        existing = launches.by_idempotency_key(self.conn, self.project.id, key)
        if existing is not None:
            lid = int(existing["id"])
            return Outcome(index, 200, "duplicate", launch_id=lid, url=self.url(lid))
        params = LaunchParams(
            name=event.name,
            environment=event.environment,
            branch=event.branch,
            commit=event.commit,
            build_url=event.build_url,
            attributes=dict(event.attributes),
            source=LaunchSource(event.source),
            started_at=event.started_at,
            idempotency_key=key,
        )
        lid = insert_launch(self.conn, self.project.id, params, LaunchStatus.RUNNING)
        return Outcome(index, 201, "created", launch_id=lid, url=self.url(lid))

    def launch_finished(self, event: events.LaunchFinished, index: int) -> Outcome:
        row = self.find_launch(event)
        lid = int(row["id"])
        wanted = LaunchStatus(event.status)
        current = LaunchStatus(row["status"])
        if current.finished:
            if current is wanted:
                return Outcome(index, 200, "duplicate", launch_id=lid, url=self.url(lid))
            raise Conflict(f"launch {lid} is already {current.value}; it cannot become {wanted.value}")
        if wanted is not LaunchStatus.COMPLETED:
            self.abandon_running(lid, f"the launch was {wanted.value} before this test finished")
        self.settle(lid)
        close_launch(self.conn, row, wanted, at=event.finished_at)
        self.launch_rows.clear()
        self.touched.pop(lid, None)
        self.recorders.pop(lid, None)
        return Outcome(index, 200, "finished", launch_id=lid, url=self.url(lid))

    def abandon_running(self, launch_id: int, why: str) -> None:
        """Tests still running when a launch stops (Ctrl-C, a killed job) never finish:
        they become ``skipped`` with a warning, so the stopped launch shows no test running
        for ever. (A completed launch does the same in ``close_launch``.)"""
        query = select(case_run.c.id, case_run.c.warnings).where(
            case_run.c.launch_id == launch_id, case_run.c.status == "running"
        )
        rows = self.conn.execute(query).mappings().all()
        if not rows:
            return
        self.conn.execute(
            update(case_run)
            .where(case_run.c.id.in_([int(r["id"]) for r in rows]))
            .values(status="skipped", finished_at=_now())
        )
        for r in rows:
            case_runs.set_warnings(self.conn, int(r["id"]), [*(r["warnings"] or []), why])
        self.touched.setdefault(launch_id, [])

    # case runs

    def recorder(self, row: RowMapping) -> LaunchRecorder:
        lid = int(row["id"])
        if lid not in self.recorders:
            self.recorders[lid] = LaunchRecorder(
                self.conn,
                project_id=self.project.id,
                launch_id=lid,
                launch_started=row["started_at"],
                attachments=self.attachments,
                fresh_launch=False,
            )
        return self.recorders[lid]

    def run_by_client_id(self, launch_id: int, client_id: str) -> RowMapping | None:
        query = select(case_run).where(case_run.c.launch_id == launch_id, case_run.c.client_id == client_id)
        return self.conn.execute(query).mappings().first()

    def case_run_started(self, event: events.CaseRunStarted, index: int) -> Outcome:
        row = self.find_launch(event)
        lid = int(row["id"])
        existing = self.run_by_client_id(lid, event.id)
        if existing is not None:
            return Outcome(index, 200, "duplicate", launch_id=lid, case_run_id=int(existing["id"]))
        self.check_open(row)
        attempt = Attempt(status=Status.RUNNING, started_at=event.started_at or _now(), client_id=event.id)
        [run_id] = self.recorder(row).add([events.to_result(event.test, event.metadata, attempt)])
        self.touched.setdefault(lid, [])
        return Outcome(index, 201, "created", launch_id=lid, case_run_id=run_id)

    def case_run_finished(self, event: events.CaseRunFinished, index: int) -> Outcome:
        row = self.find_launch(event)
        lid = int(row["id"])
        run = self.run_by_client_id(lid, event.id)
        if run is not None and run["status"] == event.status:
            return Outcome(index, 200, "duplicate", launch_id=lid, case_run_id=int(run["id"]))
        self.check_open(row)
        failed = self.touched.setdefault(lid, [])
        if run is None:
            if event.test is None:
                raise Conflict(
                    f"case run {event.id!r} has not started in launch {lid}: "
                    "send case_run.started first, or include test in case_run.finished"
                )
            finished_at = event.finished_at or _now()
            attempt = events.finished_attempt(event, started_at=_start_of(event, finished_at))
            [run_id] = self.recorder(row).add([events.to_result(event.test, event.metadata, attempt)])
            self.conn.execute(update(case_run).where(case_run.c.id == run_id).values(finished_at=finished_at))
            if event.status == "failed":
                failed.append(run_id)
            return Outcome(index, 201, "created", launch_id=lid, case_run_id=run_id)

        run_id = int(run["id"])
        check_case_run_transition(Status(run["status"]), Status(event.status))
        self.finish_run(run, event)
        if event.status == "failed":
            failed.append(run_id)
        return Outcome(index, 200, "finished", launch_id=lid, case_run_id=run_id)

    def finish_run(self, run: RowMapping, event: events.CaseRunFinished) -> None:
        run_id = int(run["id"])
        finished_at = event.finished_at or _now()
        duration = event.duration_ms
        if duration is None:
            duration = max(0, int((finished_at - run["started_at"]).total_seconds() * 1000))
        failure = events.to_failure(event.failure)
        metadata = {**(run["metadata"] or {}), **event.metadata}
        self.conn.execute(
            update(case_run)
            .where(case_run.c.id == run_id)
            .values(
                status=event.status,
                duration_ms=duration,
                finished_at=finished_at,
                failure_type=failure.type.value if failure else None,
                failure_exception=failure.exception if failure else None,
                failure_message=clip(failure.message) if failure else None,
                stack_trace=clip(failure.trace) if failure else None,
                metadata=metadata or None,
            )
        )
        logs = [
            {"case_run_id": run_id, "stream": stream, "content": clip(text)}
            for stream, text in (("stdout", event.stdout), ("stderr", event.stderr), ("log", event.log))
            if text
        ]
        case_runs.insert_logs(self.conn, logs)
        files: list[dict[str, Any]] = []
        warnings: list[str] = list(run["warnings"] or [])
        for ref in events.to_attachments(event.attachments):
            stored = self.attachments.store(ref)
            if isinstance(stored, str):
                warnings.append(stored)
                continue
            sha, size = stored
            files.append(
                {
                    "case_run_id": run_id,
                    "name": ref.name,
                    "content_type": content_type(ref.name, ref.content_type),
                    "sha256": sha,
                    "size": size,
                }
            )
        if files:
            self.attachments.register(self.conn)
            case_runs.insert_attachments(self.conn, files)
        if warnings != list(run["warnings"] or []):
            case_runs.set_warnings(self.conn, run_id, warnings)

    def settle(self, launch_id: int) -> None:
        """Final attempts, the launch summary and failure patterns, once per launch and batch."""
        if launch_id not in self.touched:
            return
        case_runs.settle_attempts(self.conn, launch_id)
        launches.refresh_summary(self.conn, launch_id)
        failed = self.touched.pop(launch_id)
        if failed:
            patterns.assign(self.conn, self.project.id, launch_id, failed)

    def settle_all(self) -> None:
        for launch_id in list(self.touched):
            self.settle(launch_id)


def _now() -> datetime:
    return datetime.now(UTC)


def _start_of(event: events.CaseRunFinished, finished_at: datetime) -> datetime:
    if event.started_at is not None:
        return event.started_at
    if event.duration_ms is not None:
        return datetime.fromtimestamp(finished_at.timestamp() - event.duration_ms / 1000, UTC)
    return finished_at


def apply(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    project_key: str,
    items: Sequence[tuple[int, events.Event]],
    *,
    base_url: str,
    max_attachment_bytes: int,
) -> list[Outcome]:
    """Apply events (with their positions in the request) in order; one answer each.

    The project and the caller's role are checked once for the whole batch; everything
    else is answered per event."""
    outcomes: list[Outcome] = []
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.REPORTER, project.id)
        batch = _Batch(conn, project, AttachmentStore(blobs, {}, max_bytes=max_attachment_bytes), base_url)
        for index, event in items:
            outcomes.append(_apply_one(batch, event, index))
        batch.settle_all()
    return outcomes


def _apply_one(batch: _Batch, event: events.Event, index: int) -> Outcome:
    """One event in its own savepoint. When another request (a shard starting the same
    launch, a sender re-sending after a timeout) committed the same client id while this
    one ran, the unique index refuses the insert; by then the other row is committed and
    visible, so the event is tried once more and comes back ``duplicate`` (or applies to
    the launch the other request created)."""
    for last_try in (False, True):
        try:
            with batch.conn.begin_nested():
                return batch.handle(event, index)
        except CaserunError as exc:
            batch.forget()
            return Outcome.refused(index, exc)
        except IntegrityError:
            batch.forget()
            if last_try:
                break
    return Outcome(index, 409, "conflict", "recorded concurrently by another request; send it again")
