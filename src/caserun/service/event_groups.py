"""Case run events in bulk: a run of consecutive ``case_run.started`` and
``case_run.finished`` events of one batch, answered in order but written together.

Every answer is decided before anything is written, from the rows the batch can see (the
launch rows it locked, the case runs of those launches with the events' client ids) and
from what the earlier events of the group did, exactly as one event after another would
decide it: a refused event (unknown or finished launch, a finish before its start, a
second finish with another status) simply plans no write. Then the group is written in
one savepoint:

* the new case runs, in the order their first event came, in one ``LaunchRecorder.add``
  per launch (one multi-row insert, so attempts are numbered as one by one); a start and
  a finish of the same test in the group are one finished row;
* the finishes of case runs started by earlier requests, in one update statement, their
  logs and attachments in one insert each.

If that write fails anyway (another request recorded the same client id in between, a
bad attachment), the savepoint is rolled back and the caller applies the group's events
one by one, each in its own savepoint, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ARRAY, RowMapping, String, any_, bindparam, select
from sqlalchemy.exc import IntegrityError

from caserun.domain.model import Attempt, LaunchStatus, Status, TestResult
from caserun.domain.rules import check_case_run_transition
from caserun.errors import CaserunError, Conflict
from caserun.ingest import events
from caserun.service.event_batch import Batch, Outcome, now, start_of
from caserun.store.tables import case_run

CaseRunEvent = events.CaseRunStarted | events.CaseRunFinished
#: each launch reference of a group → its locked row, or why the events cannot use it
_Launches = dict[tuple[str | None, int | None], RowMapping | CaserunError]


@dataclass(slots=True, eq=False)
class _Run:
    """A case run the group writes or answers about."""

    launch: RowMapping
    client_id: str
    status: str
    #: the row when an earlier request recorded it
    existing: RowMapping | None = None
    start: events.CaseRunStarted | None = None
    finish: events.CaseRunFinished | None = None
    started_at: datetime | None = None
    id: int | None = None


@dataclass(slots=True)
class _Answer:
    """An accepted event whose case run id is known once the group is written."""

    index: int
    status: int
    code: str
    run: _Run

    def outcome(self) -> Outcome:
        return Outcome(
            self.index, self.status, self.code, launch_id=int(self.run.launch["id"]), case_run_id=self.run.id
        )


@dataclass
class _Group:
    batch: Batch
    #: case runs by (launch id, client id): those found in the database and those planned
    runs: dict[tuple[int, str], _Run] = field(default_factory=dict)
    #: new case runs in the order of their first event
    new: list[_Run] = field(default_factory=list)
    #: case runs of earlier requests that this group finishes
    finishing: list[_Run] = field(default_factory=list)

    def plan(self, items: Sequence[tuple[int, CaseRunEvent]]) -> list[Outcome | _Answer]:
        rows = self.launches(items)
        self.load_runs(items, rows)
        answers: list[Outcome | _Answer] = []
        for index, event in items:
            row = rows[(event.launch, event.launch_id)]
            if isinstance(row, CaserunError):
                answers.append(Outcome.refused(index, row))
                continue
            try:
                if isinstance(event, events.CaseRunStarted):
                    answers.append(self.started(row, event, index))
                else:
                    answers.append(self.finished(row, event, index))
            except CaserunError as exc:
                answers.append(Outcome.refused(index, exc))
        return answers

    def launches(self, items: Sequence[tuple[int, CaseRunEvent]]) -> _Launches:
        """Each launch the group names, locked (``Batch.lock``), or why it cannot be used."""
        rows: _Launches = {}
        for _, event in items:
            ref = (event.launch, event.launch_id)
            if ref not in rows:
                try:
                    rows[ref] = self.batch.find_launch(event)
                except CaserunError as exc:
                    rows[ref] = exc
        return rows

    def load_runs(
        self,
        items: Sequence[tuple[int, CaseRunEvent]],
        rows: _Launches,
    ) -> None:
        """The case runs earlier requests recorded with the group's client ids: one query
        per launch. The launch row is locked first, so a request for the same launch that
        committed meanwhile is seen here."""
        wanted: dict[int, tuple[RowMapping, set[str]]] = {}
        for _, event in items:
            row = rows[(event.launch, event.launch_id)]
            if not isinstance(row, CaserunError):
                wanted.setdefault(int(row["id"]), (row, set()))[1].add(event.id)
        query = _RUNS_BY_CLIENT_ID[self.batch.conn.dialect.name == "postgresql"]
        for lid, (row, client_ids) in wanted.items():
            for found in self.batch.conn.execute(query, {"lid": lid, "cids": sorted(client_ids)}).mappings():
                cid = str(found["client_id"])
                self.runs[(lid, cid)] = _Run(row, cid, str(found["status"]), existing=found, id=int(found["id"]))

    @staticmethod
    def check_open(row: RowMapping) -> None:
        if LaunchStatus(row["status"]).finished:
            raise Conflict(f"launch {row['id']} is {row['status']}; it accepts no more results")

    def started(self, row: RowMapping, event: events.CaseRunStarted, index: int) -> _Answer:
        key = (int(row["id"]), event.id)
        run = self.runs.get(key)
        if run is not None:
            return _Answer(index, 200, "duplicate", run)
        self.check_open(row)
        run = _Run(row, event.id, Status.RUNNING.value, start=event, started_at=event.started_at or now())
        self.runs[key] = run
        self.new.append(run)
        return _Answer(index, 201, "created", run)

    def finished(self, row: RowMapping, event: events.CaseRunFinished, index: int) -> _Answer:
        lid = int(row["id"])
        run = self.runs.get((lid, event.id))
        if run is not None and run.status == event.status:
            return _Answer(index, 200, "duplicate", run)
        self.check_open(row)
        if run is None:
            if event.test is None:
                raise Conflict(
                    f"case run {event.id!r} has not started in launch {lid}: "
                    "send case_run.started first, or include test in case_run.finished"
                )
            run = _Run(row, event.id, event.status, finish=event)
            self.runs[(lid, event.id)] = run
            self.new.append(run)
            return _Answer(index, 201, "created", run)
        check_case_run_transition(Status(run.status), Status(event.status))
        run.status = event.status
        run.finish = event
        if run.existing is not None:
            self.finishing.append(run)
        return _Answer(index, 200, "finished", run)

    def write(self) -> None:
        by_launch: dict[int, list[_Run]] = {}
        for run in self.new:
            by_launch.setdefault(int(run.launch["id"]), []).append(run)
        for lid, runs in by_launch.items():
            results, ends = zip(*(_new_result(run) for run in runs), strict=True)
            recorder = self.batch.recorder(runs[0].launch)
            ids = recorder.add(results, finished_at=ends)
            for run, run_id in zip(runs, ids, strict=True):
                run.id = run_id
            if recorder.split_tests:  # a test recorded again: a new attempt
                self.batch.resettle.add(lid)
        self.batch.finish_runs([(run.existing, run.finish) for run in self.finishing if run.existing and run.finish])

    def settle_later(self) -> None:
        """Once written: the launches to settle at the end of the batch, what this group
        changed in their summaries, their new failures, and where a retry finished (its
        final attempt may change)."""
        batch = self.batch
        for run in self.new:
            lid = int(run.launch["id"])
            failed = batch.touched.setdefault(lid, [])
            if run.status == Status.FAILED.value and run.id is not None:
                failed.append(run.id)
            batch.count(lid, run.status, 1)  # a new test's only attempt (else ``write`` resettles)
        for run in self.finishing:
            lid = int(run.launch["id"])
            failed = batch.touched.setdefault(lid, [])
            if run.status == Status.FAILED.value and run.id is not None:
                failed.append(run.id)
            existing = run.existing
            assert existing is not None
            if existing["attempt"] > 1 or not existing["is_final"]:
                batch.resettle.add(lid)
            else:
                batch.count(lid, str(existing["status"]), -1)
                batch.count(lid, run.status, 1)


#: what the group needs of the case runs earlier requests recorded with its client ids
_RUN_COLUMNS = (
    case_run.c.id,
    case_run.c.client_id,
    case_run.c.status,
    case_run.c.attempt,
    case_run.c.is_final,
    case_run.c.started_at,
    case_run.c.metadata,
    case_run.c.warnings,
)
#: one statement for any number of client ids: an expanding ``IN`` (SQLite), or one array
#: parameter on PostgreSQL, so the statement's text is the same for every batch and the
#: server prepares it once per connection
_RUNS_BY_CLIENT_ID = (
    select(*_RUN_COLUMNS).where(
        case_run.c.launch_id == bindparam("lid"), case_run.c.client_id.in_(bindparam("cids", expanding=True))
    ),
    select(*_RUN_COLUMNS).where(
        case_run.c.launch_id == bindparam("lid"), case_run.c.client_id == any_(bindparam("cids", type_=ARRAY(String)))
    ),
)


def _new_result(run: _Run) -> tuple[TestResult, datetime | None]:
    """The row of a new case run: started, started and finished, or finished alone."""
    start, finish = run.start, run.finish
    if finish is None:
        assert start is not None and run.started_at is not None
        attempt = Attempt(status=Status.RUNNING, started_at=run.started_at, client_id=run.client_id)
        return events.to_result(start.test, start.metadata, attempt), None
    finished_at = finish.finished_at or now()
    if start is None:
        assert finish.test is not None
        attempt = events.finished_attempt(finish, started_at=start_of(finish, finished_at))
        return events.to_result(finish.test, finish.metadata, attempt), finished_at
    # started and finished in this group: the start's time and test, both metadata
    assert run.started_at is not None
    attempt = events.finished_attempt(finish)
    attempt.started_at = run.started_at
    if attempt.duration_ms is None:
        attempt.duration_ms = max(0, int((finished_at - run.started_at).total_seconds() * 1000))
    return events.to_result(start.test, {**start.metadata, **finish.metadata}, attempt), finished_at


def apply(batch: Batch, items: Sequence[tuple[int, CaseRunEvent]]) -> list[Outcome] | None:
    """The answers to a run of case run events, written in bulk; ``None`` when the write
    failed and nothing of it is left, so the caller applies the events one by one."""
    group = _Group(batch)
    planned = group.plan(items)
    try:
        with batch.conn.begin_nested():
            group.write()
    except (CaserunError, IntegrityError):
        return None
    group.settle_later()
    return [a.outcome() if isinstance(a, _Answer) else a for a in planned]
