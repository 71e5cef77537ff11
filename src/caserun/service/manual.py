"""Manual launches: a maintainer picks test cases (by tag, suite, text or id) and a tester
records each one's result by hand.

Creating one makes a ``running`` launch (source ``manual``) holding one ``running`` case
run per chosen test. Recording a result sets the run's status, per-step results, comment,
who executed it and when, stores attachments, and recounts the launch summary; a tester
may correct a result while the launch runs. The launch ends with the ordinary finish.
Manual and automated runs of a test share its one history (the same test case row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping

from caserun.analysis import patterns
from caserun.domain.model import AttachmentRef, FailureType, LaunchSource, LaunchStatus, Role, Status
from caserun.errors import Conflict, InvalidInput, NotFound
from caserun.service.attachments import AttachmentStore, content_type
from caserun.service.auth import Principal, actor_name
from caserun.service.definitions import Step
from caserun.service.launches import LaunchParams, insert_launch
from caserun.service.projects import lookup
from caserun.service.views import LaunchView
from caserun.store import case_runs, definitions, launches, projects, test_cases
from caserun.store.blobs import BlobStore
from caserun.store.definitions import Selection
from caserun.store.engine import Database

CREATE_ROLE = Role.MAINTAINER
RECORD_ROLE = Role.REPORTER
MAX_TESTS = 2000
MAX_COMMENT = 20_000
MAX_ACTUAL = 5_000
RESULTS = (Status.PASSED, Status.FAILED, Status.BLOCKED, Status.SKIPPED)
STEP_STATUSES = ("passed", "failed", "skipped", "not_run")


@dataclass(frozen=True, slots=True)
class ManualLaunchParams:
    name: str | None = None
    environment: str | None = None
    assignee: str | None = None


@dataclass(frozen=True, slots=True)
class StepResult:
    status: str
    actual: str = ""


@dataclass(frozen=True, slots=True)
class ManualResult:
    status: str
    comment: str = ""
    steps: list[StepResult] = field(default_factory=list)
    duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class UploadedFile:
    name: str
    data: bytes
    content_type: str | None = None


@dataclass(slots=True)
class ManualRun:
    id: int
    test_id: int
    full_name: str
    status: str
    description: str | None
    preconditions: str | None
    steps: list[Step]
    priority: str | None
    step_results: list[StepResult]
    comment: str | None
    executed_by: str | None
    finished_at: datetime | None
    duration_ms: int | None


@dataclass(slots=True)
class ManualLaunch:
    launch: LaunchView
    assignee: str | None
    runs: list[ManualRun]

    @property
    def remaining_ms(self) -> int | None:
        """Estimated time to finish: the mean time of the runs done × the runs left."""
        done = [r.duration_ms for r in self.runs if r.status != "running" and r.duration_ms is not None]
        left = sum(1 for r in self.runs if r.status == "running")
        if not done or not left:
            return 0 if not left else None
        return int(sum(done) / len(done) * left)


def _clean(value: str | None, limit: int, name: str) -> str | None:
    if value is None:
        return None
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters")
    return value.strip() or None


def create(
    db: Database,
    principal: Principal,
    project_key: str,
    chosen: Selection,
    params: ManualLaunchParams,
    base_url: str,
) -> ManualLaunch:
    """A running manual launch holding the chosen tests as ``running`` case runs (maintainer)."""
    if chosen.empty:
        raise InvalidInput("choose the tests: give a tag, a suite, a text to search or test ids")
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(CREATE_ROLE, project.id)
        if chosen.ids:
            missing = sorted(set(chosen.ids) - definitions.ids_in_project(conn, project.id, chosen.ids))
            if missing:
                raise NotFound(f"tests not in project {project.key}: {', '.join(map(str, missing[:10]))}")
        tests = definitions.select_tests(conn, project.id, chosen, MAX_TESTS)
        if not tests:
            raise InvalidInput("no test case matches this selection (archived tests are left out)")
        if len(tests) > MAX_TESTS:
            raise InvalidInput(f"more than {MAX_TESTS} tests match; narrow the selection")
        now = datetime.now(UTC)
        launch_params = LaunchParams(
            name=_clean(params.name, 300, "name") or f"Manual run {now:%Y-%m-%d %H:%M}",
            environment=_clean(params.environment, 100, "environment"),
            source=LaunchSource.MANUAL,
        )
        launch_id = insert_launch(conn, project.id, launch_params, LaunchStatus.RUNNING)
        launches.set_status(conn, launch_id, assignee=_clean(params.assignee, 200, "assignee"))
        case_runs.insert_many(
            conn,
            [
                {
                    "project_id": project.id,
                    "launch_id": launch_id,
                    "test_case_id": int(t["id"]),
                    "attempt": 1,
                    "is_final": True,
                    "retry_of_id": None,
                    "status": Status.RUNNING.value,
                    "passed_on_retry": False,
                    "started_at": now,
                }
                for t in tests
            ],
        )
        launches.refresh_summary(conn, launch_id, 0)
        return _manual_launch(conn, launch_id, base_url)


def _manual_launch(conn: Connection, launch_id: int, base_url: str) -> ManualLaunch:
    row = launches.get(conn, launch_id)
    assert row is not None
    project = projects.by_id(conn, int(row["project_id"]))
    assert project is not None
    runs = [_run(r) for r in definitions.manual_runs(conn, launch_id)]
    return ManualLaunch(LaunchView.from_row(row, str(project["key"]), base_url), row["assignee"], runs)


def _run(row: RowMapping) -> ManualRun:
    return ManualRun(
        id=int(row["id"]),
        test_id=int(row["test_case_id"]),
        full_name=row["full_name"],
        status=row["status"],
        description=row["description"],
        preconditions=row["preconditions"],
        steps=[Step(str(s.get("action", "")), str(s.get("expected", ""))) for s in row["steps"] or []],
        priority=row["priority"],
        step_results=[StepResult(str(s.get("status")), str(s.get("actual", ""))) for s in row["step_results"] or []],
        comment=(row["metadata"] or {}).get("comment"),
        executed_by=row["executed_by"],
        finished_at=row["finished_at"],
        duration_ms=row["duration_ms"],
    )


def get(db: Database, principal: Principal, launch_id: int, base_url: str) -> ManualLaunch:
    """A launch with its runs and their tests' steps, for working through it (viewer)."""
    with db.read() as conn:
        row = launches.get(conn, launch_id)
        if row is None:
            raise NotFound(f"launch {launch_id} not found")
        principal.require(Role.VIEWER, int(row["project_id"]))
        return _manual_launch(conn, launch_id, base_url)


def _check(result: ManualResult, step_count: int) -> Status:
    try:
        status = Status(result.status)
    except ValueError:
        status = None
    if status not in RESULTS:
        raise InvalidInput(f"status must be one of {', '.join(s.value for s in RESULTS)} (got {result.status!r})")
    if len(result.comment) > MAX_COMMENT:
        raise InvalidInput(f"the comment is longer than {MAX_COMMENT} characters")
    if status is Status.BLOCKED and not result.comment.strip():
        raise InvalidInput("a blocked result needs a reason in the comment")
    if result.steps and len(result.steps) != step_count:
        raise InvalidInput(f"give one result per step: the test has {step_count} steps, got {len(result.steps)}")
    for n, step in enumerate(result.steps, start=1):
        if step.status not in STEP_STATUSES:
            raise InvalidInput(f"step {n} status must be one of {', '.join(STEP_STATUSES)} (got {step.status!r})")
        if len(step.actual) > MAX_ACTUAL:
            raise InvalidInput(f"step {n} actual result is longer than {MAX_ACTUAL} characters")
    if result.duration_ms is not None and not 0 <= result.duration_ms <= 10 * 24 * 3600 * 1000:
        raise InvalidInput("duration_ms must be between 0 and ten days")
    return status


def record(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    case_run_id: int,
    result: ManualResult,
    files: Sequence[UploadedFile] = (),
    *,
    max_attachment_bytes: int,
    base_url: str,
) -> ManualLaunch:
    """Record (or correct) a tester's result of one case run of a running launch (reporter)."""
    with db.write() as conn:
        run = case_runs.get(conn, case_run_id)
        if run is None:
            raise NotFound(f"case run {case_run_id} not found")
        launch = launches.get(conn, int(run["launch_id"]), lock=True)
        assert launch is not None
        principal.require(RECORD_ROLE, int(launch["project_id"]))
        if LaunchStatus(launch["status"]).finished:
            raise Conflict(f"launch {launch['id']} is {launch['status']}; it accepts no more results")
        if not run["is_final"]:
            raise Conflict(f"case run {case_run_id} was retried; record the result on its last attempt")
        test = test_cases.get(conn, int(run["test_case_id"]))
        assert test is not None
        status = _check(result, len(test["steps"] or []))
        now = datetime.now(UTC)
        duration = result.duration_ms
        if duration is None:
            previous = definitions.last_finish(conn, int(launch["id"]), case_run_id)
            since = max(run["started_at"], previous) if previous else run["started_at"]
            duration = max(0, int((now - since).total_seconds() * 1000))
        comment = result.comment.strip() or None
        failing = status in (Status.FAILED, Status.BLOCKED)
        metadata: dict[str, Any] = {k: v for k, v in (run["metadata"] or {}).items() if k != "comment"}
        if comment:
            metadata["comment"] = comment
        definitions.record_result(
            conn,
            case_run_id,
            {
                "status": status.value,
                "finished_at": now,
                "duration_ms": duration,
                "failure_type": FailureType.ASSERTION.value if status is Status.FAILED else None,
                "failure_message": comment if failing else None,
                "failure_exception": None,
                "stack_trace": None,
                "signature": None,
                "pattern_id": None,
                "new_failure": None,
                "metadata": metadata or None,
                "step_results": [{"status": s.status, "actual": s.actual} for s in result.steps] or None,
                "executed_by": actor_name(conn, principal),
            },
        )
        _attach(conn, blobs, case_run_id, files, max_attachment_bytes)
        launches.refresh_summary(conn, int(launch["id"]))
        if status is Status.FAILED:
            patterns.assign(conn, int(launch["project_id"]), int(launch["id"]), [case_run_id])
        return _manual_launch(conn, int(launch["id"]), base_url)


def _attach(
    conn: Connection, blobs: BlobStore, case_run_id: int, files: Sequence[UploadedFile], max_bytes: int
) -> None:
    if not files:
        return
    store = AttachmentStore(blobs, {}, max_bytes=max_bytes)
    rows = []
    for upload in files:
        name = (upload.name or "attachment").replace("\\", "/").rsplit("/", 1)[-1][:500] or "attachment"
        stored = store.store(AttachmentRef(name=name, data=upload.data, content_type=upload.content_type))
        if isinstance(stored, str):
            raise InvalidInput(stored)
        sha, size = stored
        rows.append(
            {
                "case_run_id": case_run_id,
                "name": name,
                "content_type": content_type(name, upload.content_type),
                "sha256": sha,
                "size": size,
            }
        )
    store.register(conn)
    case_runs.insert_attachments(conn, rows)


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    full_name: str
    priority: str | None
    tags: list[str]
    steps: int


def preview(db: Database, principal: Principal, project_key: str, chosen: Selection, limit: int) -> list[Candidate]:
    """The tests a manual launch with this selection would hold (at most ``limit`` + 1)."""
    if chosen.empty:
        return []
    with db.read() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.VIEWER, project.id)
        rows = definitions.select_tests(conn, project.id, chosen, limit)
    return [
        Candidate(int(r["id"]), r["full_name"], r["priority"], list(r["tags"] or []), len(r["steps"] or []))
        for r in rows
    ]
