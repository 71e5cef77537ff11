"""The words of the glossary as types: statuses, failures, attempts and parsed results.

Parsers yield :class:`TestResult` objects; services turn them into stored case runs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Status(enum.StrEnum):
    """A case run's status. ``rank`` orders "worst first" (the failed-first sort)."""

    FAILED = "failed"
    BLOCKED = "blocked"
    RUNNING = "running"
    SKIPPED = "skipped"
    PASSED = "passed"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def finished(self) -> bool:
        return self is not Status.RUNNING


_RANK = {s: i for i, s in enumerate(Status)}


class LaunchStatus(enum.StrEnum):
    """A launch's lifecycle. ``failed`` means a system error, not failing tests."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"

    @property
    def finished(self) -> bool:
        return self is not LaunchStatus.RUNNING


class LaunchSource(enum.StrEnum):
    CLI = "cli"
    API = "api"
    PYTEST = "pytest"
    MANUAL = "manual"
    DEMO = "demo"


class FailureType(enum.StrEnum):
    """What kind of failure: a broken expectation, an unexpected error, a timeout, a crash."""

    ASSERTION = "assertion"
    ERROR = "error"
    TIMEOUT = "timeout"
    CRASH = "crash"
    UNKNOWN = "unknown"


class Role(enum.StrEnum):
    """Token roles, weakest first; a role may do everything the ones before it may."""

    VIEWER = "viewer"
    REPORTER = "reporter"
    MAINTAINER = "maintainer"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


@dataclass(slots=True)
class Failure:
    message: str
    type: FailureType = FailureType.ASSERTION
    exception: str | None = None
    trace: str | None = None


@dataclass(slots=True)
class AttachmentRef:
    """An attachment as a report names it: a path relative to the report, or inline bytes."""

    name: str
    path: str | None = None
    content_type: str | None = None
    data: bytes | None = None


@dataclass(slots=True)
class Attempt:
    """One execution of a test inside one launch; retries are further attempts."""

    status: Status
    duration_ms: int | None = None
    started_at: datetime | None = None
    failure: Failure | None = None
    stdout: str | None = None
    stderr: str | None = None
    #: captured log records (pytest's ``caplog``), kept as a third log stream
    log: str | None = None
    attachments: list[AttachmentRef] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    #: an id chosen by a live reporter, so a re-sent event never makes a second case run
    client_id: str | None = None


@dataclass(slots=True)
class TestResult:
    """One test as read from a report: its identity parts and its attempts, oldest first.

    ``key`` is set when the report carries an explicit identity (e.g. Allure's testCaseId).
    """

    __test__ = False  # not a pytest test class

    suite: str
    name: str
    attempts: list[Attempt]
    parameters: str | None = None
    file: str | None = None
    line: int | None = None
    key: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def final(self) -> Attempt:
        return self.attempts[-1]
