"""One batch of live events, event by event: the state a batch keeps (the launch rows it
locked, a recorder per launch, the launches it wrote to) and the handler of each event
type. ``service.events`` runs these handlers one at a time, each in its own savepoint, for
launch events and whenever the grouped path (``service.event_groups``) falls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Integer, RowMapping, bindparam, select, update

from caserun.analysis import patterns
from caserun.domain.model import Attempt, LaunchSource, LaunchStatus, Status
from caserun.domain.rules import check_case_run_transition
from caserun.errors import CaserunError, Conflict, NotFound
from caserun.ingest import events
from caserun.service.attachments import AttachmentStore, content_type
from caserun.service.chunks import clip
from caserun.service.launches import LaunchParams, close_launch, insert_launch
from caserun.service.projects import Project
from caserun.service.recording import LaunchRecorder
from caserun.store import case_runs, launches
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
class Batch:
    conn: Connection
    project: Project
    attachments: AttachmentStore
    base_url: str
    recorders: dict[int, LaunchRecorder] = field(default_factory=dict)
    #: launches written to in this batch → their failed case runs (for failure patterns)
    touched: dict[int, list[int]] = field(default_factory=dict)
    #: launches where one test may now have several attempts (see ``settle``)
    resettle: set[int] = field(default_factory=set)
    #: launch rows by the reference events use, once locked
    launch_rows: dict[tuple[str | None, int | None], RowMapping] = field(default_factory=dict)
    #: launches whose summary this batch changed by known amounts: launch id → status → change
    counted: dict[int, dict[str, int]] = field(default_factory=dict)

    def forget(self) -> None:
        """After a refused event: recorders may have counted attempts that were rolled back,
        and row locks taken inside the savepoint went with it."""
        self.recorders.clear()
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
        """The launch the event names, locked (``lock``) and read in one statement."""
        ref = (event.launch, event.launch_id)
        cached = self.launch_rows.get(ref)
        if cached is not None:
            return cached
        if event.launch_id is not None:
            params: dict[str, Any] = {"project_id": self.project.id, "launch_id": event.launch_id}
            row = self.lock(_LOCK_BY_ID, params)
        else:
            assert event.launch is not None
            params = {"project_id": self.project.id, "key": launch_key(event.launch)}
            row = self.lock(_LOCK_BY_KEY, params)
        if row is None:
            raise NotFound(f"{event.launch_ref} not found in project {self.project.key} (send launch.started first)")
        self.launch_rows[ref] = row  # locked: nobody else changes it before this batch commits
        return row

    def lock(self, query: Any, params: dict[str, Any]) -> RowMapping | None:
        """Read the launch row and hold it until this batch commits (``SELECT … FOR UPDATE``).

        Batches for one launch (shards, a re-sent request) run one after the other from
        here: each changes the launch's summary by what it wrote, and without the lock two
        overlapping PostgreSQL transactions could each settle it without the other's
        runs. (SQLite writers are serial already.)"""
        row: RowMapping | None = self.conn.execute(query, params).mappings().first()
        return row

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
        self.resettle.discard(lid)
        self.counted.pop(lid, None)
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
            .values(status="skipped", finished_at=now())
        )
        for r in rows:
            case_runs.set_warnings(self.conn, int(r["id"]), [*(r["warnings"] or []), why])
        self.touched.setdefault(launch_id, [])
        self.resettle.add(launch_id)

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
        attempt = Attempt(status=Status.RUNNING, started_at=event.started_at or now(), client_id=event.id)
        [run_id] = self.recorder(row).add([events.to_result(event.test, event.metadata, attempt)])
        self.touched.setdefault(lid, [])
        self.resettle.add(lid)
        return Outcome(index, 201, "created", launch_id=lid, case_run_id=run_id)

    def case_run_finished(self, event: events.CaseRunFinished, index: int) -> Outcome:
        row = self.find_launch(event)
        lid = int(row["id"])
        run = self.run_by_client_id(lid, event.id)
        if run is not None and run["status"] == event.status:
            return Outcome(index, 200, "duplicate", launch_id=lid, case_run_id=int(run["id"]))
        self.check_open(row)
        failed = self.touched.setdefault(lid, [])
        self.resettle.add(lid)
        if run is None:
            if event.test is None:
                raise Conflict(
                    f"case run {event.id!r} has not started in launch {lid}: "
                    "send case_run.started first, or include test in case_run.finished"
                )
            finished_at = event.finished_at or now()
            attempt = events.finished_attempt(event, started_at=start_of(event, finished_at))
            result = events.to_result(event.test, event.metadata, attempt)
            [run_id] = self.recorder(row).add([result], finished_at=[finished_at])
            if event.status == "failed":
                failed.append(run_id)
            return Outcome(index, 201, "created", launch_id=lid, case_run_id=run_id)

        run_id = int(run["id"])
        check_case_run_transition(Status(run["status"]), Status(event.status))
        self.finish_runs([(run, event)])
        if event.status == "failed":
            failed.append(run_id)
        return Outcome(index, 200, "finished", launch_id=lid, case_run_id=run_id)

    def finish_runs(self, finishes: Sequence[tuple[RowMapping, events.CaseRunFinished]]) -> None:
        """Finish running case runs: one update statement for all of them (executemany),
        their logs and attachments in one insert each."""
        if not finishes:
            return
        rows = [{"run_id": int(run["id"]), **finished_values(run, event)} for run, event in finishes]
        self.conn.execute(_FINISH, rows)
        logs: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        for run, event in finishes:
            run_id = int(run["id"])
            for stream, text in (("stdout", event.stdout), ("stderr", event.stderr), ("log", event.log)):
                if text:
                    logs.append({"case_run_id": run_id, "stream": stream, "content": clip(text)})
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
            if warnings != list(run["warnings"] or []):
                case_runs.set_warnings(self.conn, run_id, warnings)
        case_runs.insert_logs(self.conn, logs)
        if files:
            self.attachments.register(self.conn)
            case_runs.insert_attachments(self.conn, files)

    def count(self, launch_id: int, status: str, change: int) -> None:
        """The launch's summary changes by ``change`` final runs of ``status`` (see ``settle``)."""
        self.counted.setdefault(launch_id, dict.fromkeys(SUMMARY, 0))[status] += change

    def settle(self, launch_id: int) -> None:
        """Final attempts, the launch summary and failure patterns, once per launch and batch.

        Final attempts are recomputed only when a test may now have several attempts in the
        launch (``resettle``): a test recorded again, or a retry that finished; the summary
        is then recounted from the launch's case runs (a scan of the whole launch). A test's
        only attempt is final as written, so otherwise the batch knows what it changed
        (``count``: new final runs, running runs that finished) and the summary moves by
        those amounts in one statement, whatever the launch's size: the launch row is
        locked, so it holds the counts of every batch before this one."""
        if launch_id not in self.touched:
            return
        counted = self.counted.pop(launch_id, None)
        if launch_id in self.resettle:
            case_runs.settle_attempts(self.conn, launch_id)
            self.resettle.discard(launch_id)
            launches.refresh_summary(self.conn, launch_id)
        elif counted is None:
            launches.refresh_summary(self.conn, launch_id)
        elif any(counted.values()):
            changes = {f"add_{name}": counted[name] for name in SUMMARY}
            self.conn.execute(_ADD_TO_SUMMARY, {"lid": launch_id, "add_total": sum(counted.values()), **changes})
        failed = self.touched.pop(launch_id)
        if failed:
            patterns.assign(self.conn, self.project.id, launch_id, failed)

    def settle_all(self) -> None:
        for launch_id in list(self.touched):
            self.settle(launch_id)


#: the launch row by client id or by id, locked until the batch commits (``Batch.lock``)
_LOCK_BY_KEY = (
    select(launch)
    .where(launch.c.project_id == bindparam("project_id"), launch.c.idempotency_key == bindparam("key"))
    .with_for_update()
)
_LOCK_BY_ID = (
    select(launch)
    .where(launch.c.id == bindparam("launch_id"), launch.c.project_id == bindparam("project_id"))
    .with_for_update()
)

#: the statuses a launch's summary counts (its ``total`` is their sum)
SUMMARY = ("passed", "failed", "skipped", "blocked", "running")
#: the summary moved by what a batch changed (``Batch.settle``)
_ADD_TO_SUMMARY = (
    update(launch)
    .where(launch.c.id == bindparam("lid"))
    .values({name: launch.c[name] + bindparam(f"add_{name}", type_=Integer) for name in (*SUMMARY, "total")})
)

#: the columns a finish sets, as one statement for any number of case runs
_FINISHED = (
    "status",
    "duration_ms",
    "finished_at",
    "failure_type",
    "failure_exception",
    "failure_message",
    "stack_trace",
    "metadata",
)
_FINISH = (
    update(case_run)
    .where(case_run.c.id == bindparam("run_id"))
    .values({name: bindparam(f"new_{name}", type_=case_run.c[name].type) for name in _FINISHED})
)


def finished_values(run: RowMapping, event: events.CaseRunFinished) -> dict[str, Any]:
    """The parameters of ``_FINISH`` for one running case run and its finish."""
    finished_at = event.finished_at or now()
    duration = event.duration_ms
    if duration is None:
        duration = max(0, int((finished_at - run["started_at"]).total_seconds() * 1000))
    failure = events.to_failure(event.failure)
    metadata = {**(run["metadata"] or {}), **event.metadata}
    values = {
        "status": event.status,
        "duration_ms": duration,
        "finished_at": finished_at,
        "failure_type": failure.type.value if failure else None,
        "failure_exception": failure.exception if failure else None,
        "failure_message": clip(failure.message) if failure else None,
        "stack_trace": clip(failure.trace) if failure else None,
        "metadata": metadata or None,
    }
    return {f"new_{name}": value for name, value in values.items()}


def now() -> datetime:
    return datetime.now(UTC)


def start_of(event: events.CaseRunFinished, finished_at: datetime) -> datetime:
    if event.started_at is not None:
        return event.started_at
    if event.duration_ms is not None:
        return datetime.fromtimestamp(finished_at.timestamp() - event.duration_ms / 1000, UTC)
    return finished_at
