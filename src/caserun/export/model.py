"""What the writers are given: a launch's facts and its tests with their attempts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caserun.domain.rules import Summary


@dataclass(frozen=True, slots=True)
class LaunchFacts:
    id: int
    project_key: str
    name: str
    status: str
    environment: str | None
    branch: str | None
    commit: str | None
    build_url: str | None
    started_at: datetime
    finished_at: datetime | None
    summary: Summary
    url: str


@dataclass(slots=True)
class AttemptOut:
    attempt: int
    status: str
    duration_ms: int | None
    started_at: datetime
    failure_type: str | None = None
    failure_exception: str | None = None
    failure_message: str | None = None
    stack_trace: str | None = None
    stdout: str | None = None
    stderr: str | None = None


@dataclass(slots=True)
class TestOut:
    """One test of a launch with its attempts, oldest first (the last is its result)."""

    __test__ = False
    suite: str
    name: str
    parameters: str
    full_name: str
    file: str | None
    line: int | None
    metadata: dict[str, Any] = field(default_factory=dict)
    attempts: list[AttemptOut] = field(default_factory=list)

    @property
    def final(self) -> AttemptOut:
        return self.attempts[-1]

    @property
    def display_name(self) -> str:
        """The name as a report writes it: parameters in brackets, as pytest does."""
        return f"{self.name}[{self.parameters}]" if self.parameters else self.name


@dataclass(frozen=True, slots=True)
class TestLink:
    """A test named in a summary: its full name, why it is listed, and where to see it."""

    __test__ = False
    full_name: str
    url: str
    note: str = ""
    duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ImageOut:
    """A screenshot for the HTML report: embedded as a ``data:`` URI, or left out (too big)."""

    name: str
    content_type: str
    size: int
    data_uri: str | None


@dataclass(slots=True)
class FailureOut:
    test: TestOut
    url: str
    images: list[ImageOut] = field(default_factory=list)


@dataclass(slots=True)
class Digest:
    """What a summary or a report says about one launch beyond its counts."""

    launch: LaunchFacts
    baseline: TestLink | None = None
    new_failures: list[TestLink] = field(default_factory=list)
    new_failures_count: int = 0
    still_failing_count: int = 0
    fixed_count: int = 0
    flaky: list[TestLink] = field(default_factory=list)
    flaky_count: int = 0
    slowest: list[TestLink] = field(default_factory=list)
    #: the failed tests with their traces (HTML report only), at most a configured number
    failures: list[FailureOut] = field(default_factory=list)
    #: the launch's pass rates before this one, oldest first (the report's chart)
    trend: list[tuple[str, float | None]] = field(default_factory=list)
