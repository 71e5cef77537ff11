"""Plain dataclasses that services return and every way in renders (JSON, HTML, CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from caserun.analysis.compare import Comparison
from caserun.domain.rules import Summary


@dataclass(frozen=True, slots=True)
class QuarantineImpact:
    """A launch's numbers with the tests quarantined now left out (read time, never stored)."""

    quarantined_tests: int
    quarantined_failures: int
    pass_rate_excluding_quarantined: float | None
    #: "failed" when a test that is not quarantined failed, None while tests still run
    verdict: str | None


@dataclass(slots=True)
class LaunchView:
    id: int
    project_key: str
    name: str
    status: str
    source: str
    environment: str | None
    branch: str | None
    commit: str | None
    build_url: str | None
    attributes: dict[str, Any]
    retry_of_id: int | None
    started_at: datetime
    finished_at: datetime | None
    created_at: datetime
    summary: Summary
    url: str = ""
    baseline: LaunchView | None = None
    comparison: Comparison | None = None
    quarantine: QuarantineImpact | None = None

    @classmethod
    def from_row(cls, row: RowMapping, project_key: str, base_url: str) -> LaunchView:
        summary = Summary(
            total=row["total"],
            passed=row["passed"],
            failed=row["failed"],
            skipped=row["skipped"],
            blocked=row["blocked"],
            running=row["running"],
            duration_ms=row["duration_ms"],
        )
        return cls(
            id=row["id"],
            project_key=project_key,
            name=row["name"],
            status=row["status"],
            source=row["source"],
            environment=row["environment"],
            branch=row["branch"],
            commit=row["commit_sha"],
            build_url=row["build_url"],
            attributes=row["attributes"] or {},
            retry_of_id=row["retry_of_id"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            created_at=row["created_at"],
            summary=summary,
            url=f"{base_url}/launches/{row['id']}",
        )


@dataclass(slots=True)
class CaseRunRow:
    id: int
    launch_id: int
    test_case_id: int
    suite: str
    name: str
    parameters: str
    full_name: str
    status: str
    attempt: int
    attempts: int
    is_final: bool
    passed_on_retry: bool
    duration_ms: int | None
    started_at: datetime
    failure_type: str | None
    failure_exception: str | None
    failure_message: str | None

    @classmethod
    def from_row(cls, row: RowMapping) -> CaseRunRow:
        return cls(**{name: row[name] for name in cls.__slots__})


@dataclass(slots=True)
class AttachmentView:
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    url: str


@dataclass(slots=True)
class AttemptView:
    id: int
    attempt: int
    status: str
    duration_ms: int | None
    started_at: datetime
    failure_message: str | None
    is_final: bool


@dataclass(slots=True)
class DefectRef:
    id: int
    title: str
    status: str
    severity: str


@dataclass(slots=True)
class StatusChangeView:
    actor: str
    at: datetime
    old_status: str
    new_status: str
    comment: str


@dataclass(slots=True)
class CaseRunDetail:
    run: CaseRunRow
    project_key: str
    test_key: str
    file: str | None
    line: int | None
    finished_at: datetime | None
    stack_trace: str | None
    logs: dict[str, str]
    metadata: dict[str, Any]
    warnings: list[str]
    retry_of_id: int | None
    attachments: list[AttachmentView] = field(default_factory=list)
    attempts: list[AttemptView] = field(default_factory=list)
    defects: list[DefectRef] = field(default_factory=list)
    signature: str | None = None
    pattern_id: int | None = None
    new_failure: bool | None = None
    suggested_defects: list[DefectRef] = field(default_factory=list)
    status_changes: list[StatusChangeView] = field(default_factory=list)
