"""The caserun event schema: one shape for every way live results arrive.

The same four events are the body of ``POST /api/v1/projects/{key}/events``, the lines of
the pytest plugin's spool and ``--caserun-jsonl`` files (the ``caserun-events`` format)
and what ``caserun upload`` replays from those files::

    {"type": "launch.started",    "launch": "<client id>", "name": ..., "attributes": {...}}
    {"type": "case_run.started",  "launch": "<client id>", "id": "<client id>", "test": {...}}
    {"type": "case_run.finished", "launch": "<client id>", "id": "<client id>", "status": "failed",
     "failure": {...}, "stdout": ..., "attachments": [{"name": ..., "data": "<base64>"}]}
    {"type": "launch.finished",   "launch": "<client id>", "status": "completed"}

Ids are chosen by the sender, so a re-sent event is recognised and never recorded twice.
Case run events name their launch by its client id (``launch``) or, to join a launch
created some other way, by its server id (``launch_id``). Unknown fields are ignored, so
a newer writer's files still load. The models live here (not in ``api``) because the
``caserun-events`` parser validates the same lines; pydantic is the only dependency.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from caserun.domain.model import AttachmentRef, Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import InvalidInput

EVENT_TYPES = ("launch.started", "case_run.started", "case_run.finished", "launch.finished")
#: client ids are printable ASCII without spaces; the server stores ``event:<id>`` for launches
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=r"^[!-~]+$")]
MAX_TEXT = 5_000_000


def _scalar(value: object) -> object:
    """Metadata values are text; numbers and booleans from other runners are converted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _decode(value: object) -> object:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("data is not valid base64") from None
    return value


def _aware(moment: datetime) -> datetime:
    """Times without a zone are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


Moment = Annotated[datetime, AfterValidator(_aware)]
MetaValue = Annotated[str, BeforeValidator(_scalar), StringConstraints(max_length=10_000)]
Metadata = Annotated[dict[str, MetaValue], Field(max_length=500)]
Base64 = Annotated[
    bytes,
    BeforeValidator(_decode),
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str, when_used="json"),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TestRef(_Model):
    """Who the test is: the parts its identity is computed from (see ``domain.identity``)."""

    __test__ = False  # not a pytest test class

    suite: str = Field(default="", max_length=2000)
    name: str = Field(min_length=1, max_length=2000)
    parameters: str | None = Field(default=None, max_length=2000)
    key: str | None = Field(default=None, max_length=200, description="an explicit identity, kept across renames")
    file: str | None = Field(default=None, max_length=2000)
    line: int | None = Field(default=None, ge=0)


class FailureIn(_Model):
    message: str = Field(max_length=1_000_000)
    type: Literal["assertion", "error", "timeout", "crash", "unknown"] = "assertion"
    exception: str | None = Field(default=None, max_length=500)
    trace: str | None = Field(default=None, max_length=MAX_TEXT)


class AttachmentIn(_Model):
    """Inline bytes (``data``, base64) or, in a file only, a ``path`` relative to the file."""

    name: str = Field(min_length=1, max_length=500)
    content_type: str | None = Field(default=None, max_length=200)
    data: Base64 | None = None
    path: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _one_source(self) -> AttachmentIn:
        if (self.data is None) == (self.path is None):
            raise ValueError("an attachment has either data (base64) or a path")
        return self


class _OfLaunch(_Model):
    launch: ClientId | None = Field(default=None, description="the launch's client id")
    launch_id: int | None = Field(default=None, ge=1, description="or the server id of a launch to join")

    @model_validator(mode="after")
    def _one_launch(self) -> _OfLaunch:
        if (self.launch is None) == (self.launch_id is None):
            raise ValueError("name the launch by exactly one of launch (client id) or launch_id")
        return self

    @property
    def launch_ref(self) -> str:
        return f"launch {self.launch!r}" if self.launch is not None else f"launch {self.launch_id}"


class LaunchStarted(_Model):
    type: Literal["launch.started"]
    launch: ClientId
    name: str | None = Field(default=None, max_length=300)
    environment: str | None = Field(default=None, max_length=100)
    branch: str | None = Field(default=None, max_length=200)
    commit: str | None = Field(default=None, max_length=64)
    build_url: str | None = Field(default=None, max_length=1000)
    attributes: Metadata = Field(default_factory=dict)
    source: Literal["api", "cli", "pytest", "manual"] = "api"
    started_at: Moment | None = None
    #: a shard joining a launch others report to: it never finishes the launch
    join: bool = False


class CaseRunStarted(_OfLaunch):
    type: Literal["case_run.started"]
    id: ClientId
    test: TestRef
    started_at: Moment | None = None
    metadata: Metadata = Field(default_factory=dict)


class CaseRunFinished(_OfLaunch):
    """The result of a started case run; with ``test`` it may also stand alone."""

    type: Literal["case_run.finished"]
    id: ClientId
    status: Literal["passed", "failed", "skipped", "blocked"]
    test: TestRef | None = None
    started_at: Moment | None = None
    finished_at: Moment | None = None
    duration_ms: int | None = Field(default=None, ge=0)
    failure: FailureIn | None = None
    stdout: str | None = Field(default=None, max_length=MAX_TEXT)
    stderr: str | None = Field(default=None, max_length=MAX_TEXT)
    log: str | None = Field(default=None, max_length=MAX_TEXT)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=100)
    metadata: Metadata = Field(default_factory=dict)


class LaunchFinished(_OfLaunch):
    type: Literal["launch.finished"]
    status: Literal["completed", "failed", "stopped"] = "completed"
    finished_at: Moment | None = None


Event = Annotated[
    LaunchStarted | CaseRunStarted | CaseRunFinished | LaunchFinished,
    Field(discriminator="type"),
]
EVENT: TypeAdapter[Event] = TypeAdapter(Event)


def describe(exc: ValidationError) -> str:
    """One line naming the first few fields that are wrong."""
    parts = []
    for err in exc.errors()[:4]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in EVENT_TYPES)
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "invalid event"


def parse_event(raw: object) -> Event:
    """A validated event, or ``InvalidInput`` saying what is wrong with it."""
    if not isinstance(raw, dict):
        raise InvalidInput("an event is a JSON object")
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        raise InvalidInput(f"unknown event type {kind!r}; use one of {', '.join(EVENT_TYPES)}")
    try:
        return EVENT.validate_python(raw)
    except ValidationError as exc:
        raise InvalidInput(f"{kind}: {describe(exc)}") from None


def dump_event(event: Event) -> dict[str, Any]:
    """The JSON form of an event (bytes as base64, empty fields left out)."""
    data: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)
    return {"type": data.pop("type"), **data}  # type first: files sniff on it


def to_failure(failure: FailureIn | None) -> Failure | None:
    if failure is None:
        return None
    return Failure(
        message=failure.message, type=FailureType(failure.type), exception=failure.exception, trace=failure.trace
    )


def to_attachments(items: list[AttachmentIn]) -> list[AttachmentRef]:
    return [AttachmentRef(name=a.name, path=a.path, content_type=a.content_type, data=a.data) for a in items]


def to_result(test: TestRef, metadata: dict[str, str], attempt: Attempt) -> TestResult:
    return TestResult(
        suite=test.suite,
        name=test.name,
        parameters=test.parameters,
        file=test.file,
        line=test.line,
        key=test.key,
        metadata=dict(metadata),
        attempts=[attempt],
    )


def finished_attempt(event: CaseRunFinished, started_at: datetime | None = None) -> Attempt:
    return Attempt(
        status=Status(event.status),
        duration_ms=event.duration_ms,
        started_at=event.started_at or started_at,
        failure=to_failure(event.failure),
        stdout=event.stdout,
        stderr=event.stderr,
        log=event.log,
        attachments=to_attachments(event.attachments),
        client_id=event.id,
    )


def _cut(text: str | None, limit: int = MAX_TEXT) -> str | None:
    return text if text is None or len(text) <= limit else text[:limit]


def result_events(
    result: TestResult,
    *,
    launch: str | None = None,
    launch_id: int | None = None,
    id_seed: str,
    data_of: dict[str, bytes] | None = None,
) -> list[dict[str, Any]]:
    """A parsed test as ``case_run.finished`` events, one per attempt, with stable ids.

    ``id_seed`` (say, the report's path) makes the ids of the same report the same on
    every send, so re-importing it never duplicates. ``data_of`` holds the bytes of
    attachments the report names by path; others are left out.
    """
    test = {
        "suite": result.suite[:2000],
        "name": result.name[:2000] or "<unnamed>",
        "parameters": _cut(result.parameters, 2000),
        "key": _cut(result.key, 200),
        "file": _cut(result.file, 2000),
        "line": result.line,
    }
    out = []
    for number, attempt in enumerate(result.attempts, start=1):
        seed = f"{id_seed}\x1f{result.suite}\x1f{result.name}\x1f{result.parameters}\x1f{number}"
        files = []
        for ref in attempt.attachments:
            data = ref.data if ref.data is not None else (data_of or {}).get(ref.path or "")
            if data is not None:
                files.append({"name": ref.name[:500], "content_type": ref.content_type, "data": data})
        failure = attempt.failure
        status = attempt.status if attempt.status is not Status.RUNNING else Status.SKIPPED
        event = CaseRunFinished.model_validate(
            {
                "type": "case_run.finished",
                "launch": launch,
                "launch_id": launch_id,
                "id": "r-" + hashlib.sha256(seed.encode()).hexdigest()[:40],
                "status": status.value,
                "test": test,
                "started_at": attempt.started_at,
                "duration_ms": attempt.duration_ms,
                "failure": {
                    "message": _cut(failure.message, 1_000_000),
                    "type": failure.type.value,
                    "exception": _cut(failure.exception, 500),
                    "trace": _cut(failure.trace),
                }
                if failure
                else None,
                "stdout": _cut(attempt.stdout),
                "stderr": _cut(attempt.stderr),
                "log": _cut(attempt.log),
                "attachments": files,
                "metadata": {**result.metadata, **attempt.properties},
            }
        )
        out.append(dump_event(event))
    return out
