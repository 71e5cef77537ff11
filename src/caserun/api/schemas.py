"""Request and response shapes of the JSON API (they are the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class Page(Public, Generic[T]):
    items: list[T]
    next: str | None = Field(description="cursor for the next page, or null on the last page")


class SummaryPublic(Public):
    total: int
    passed: int
    failed: int
    skipped: int
    blocked: int
    running: int
    pass_rate: float | None = Field(description="passed / (passed + failed) × 100")
    duration_ms: int


class ProjectPublic(Public):
    id: int
    key: str
    name: str
    created_at: datetime


class ProjectCreate(BaseModel):
    key: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)


class LaunchRefPublic(Public):
    id: int
    name: str
    status: str
    created_at: datetime
    summary: SummaryPublic


class TestRefPublic(Public):
    test_case_id: int
    full_name: str
    case_run_id: int | None


class BucketPublic(Public):
    count: int
    items: list[TestRefPublic]


class ComparisonPublic(Public):
    baseline_id: int
    new_failures: BucketPublic
    still_failing: BucketPublic
    fixed: BucketPublic
    new_tests: BucketPublic
    missing_tests: BucketPublic
    flaky: BucketPublic
    slower: BucketPublic


class LaunchPublic(Public):
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
    summary: SummaryPublic
    url: str


class LaunchSummaryPublic(SummaryPublic):
    """The summary of one launch read alone, with what quarantined tests did to it."""

    quarantined_tests: int = Field(default=0, description="tests in this launch that are quarantined now")
    quarantined_failures: int = Field(default=0, description="failed tests that are quarantined now")
    pass_rate_excluding_quarantined: float | None = Field(
        default=None, description="pass rate over the tests that are not quarantined"
    )
    verdict: Literal["passed", "failed"] | None = Field(
        default=None, description="failed if a test that is not quarantined failed; null while tests still run"
    )


class LaunchDetailPublic(LaunchPublic):
    summary: LaunchSummaryPublic
    baseline: LaunchRefPublic | None = None
    comparison: ComparisonPublic | None = None


class LaunchEnvelope(BaseModel):
    launch: LaunchPublic


class LaunchCreate(BaseModel):
    name: str | None = Field(default=None, max_length=300)
    environment: str | None = Field(default=None, max_length=100)
    branch: str | None = Field(default=None, max_length=200)
    commit: str | None = Field(default=None, max_length=64)
    build_url: str | None = Field(default=None, max_length=1000)
    attributes: dict[str, str] = Field(default_factory=dict)
    retry_of: int | None = None
    source: Literal["api", "cli", "pytest", "manual"] = "api"


class LaunchFinish(BaseModel):
    status: Literal["completed", "failed", "stopped"]


class FailureIn(BaseModel):
    message: str = Field(max_length=1_000_000)
    type: Literal["assertion", "error", "timeout", "crash", "unknown"] = "assertion"
    exception: str | None = Field(default=None, max_length=500)
    trace: str | None = Field(default=None, max_length=5_000_000)


class CaseRunCreate(BaseModel):
    suite: str = Field(default="", max_length=2000)
    name: str = Field(min_length=1, max_length=2000)
    parameters: str | None = Field(default=None, max_length=2000)
    status: Literal["passed", "failed", "skipped", "blocked", "running"]
    duration_ms: int | None = Field(default=None, ge=0)
    started_at: datetime | None = None
    failure: FailureIn | None = None
    stdout: str | None = Field(default=None, max_length=5_000_000)
    stderr: str | None = Field(default=None, max_length=5_000_000)
    metadata: dict[str, str] = Field(default_factory=dict)
    file: str | None = None
    line: int | None = None
    client_id: str | None = Field(default=None, max_length=128, description="makes a re-sent case run idempotent")


class CaseRunBatch(BaseModel):
    items: list[CaseRunCreate] = Field(min_length=1, max_length=5000)


class CaseRunFinish(BaseModel):
    status: Literal["passed", "failed", "skipped", "blocked"]
    duration_ms: int | None = Field(default=None, ge=0)
    failure: FailureIn | None = None


class CreatedIds(BaseModel):
    ids: list[int]


class CaseRunPublic(Public):
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


class AttachmentPublic(Public):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    url: str


class AttemptPublic(Public):
    id: int
    attempt: int
    status: str
    duration_ms: int | None
    started_at: datetime
    failure_message: str | None
    is_final: bool


class FailurePublic(BaseModel):
    type: str | None
    exception: str | None
    message: str | None
    stack_trace: str | None


class DefectRefPublic(Public):
    id: int
    title: str
    status: str
    severity: str


class StatusChangePublic(Public):
    actor: str
    at: datetime
    old_status: str
    new_status: str
    comment: str


class CaseRunDetailPublic(CaseRunPublic):
    project_key: str
    test_key: str
    file: str | None
    line: int | None
    finished_at: datetime | None
    failure: FailurePublic | None
    logs: dict[str, str]
    metadata: dict[str, Any]
    warnings: list[str]
    retry_of_id: int | None
    attachments: list[AttachmentPublic]
    attempt_list: list[AttemptPublic] = Field(description="every attempt of this test in this launch")
    defects: list[DefectRefPublic] = Field(default_factory=list, description="defects this run is linked to")
    status_changes: list[StatusChangePublic] = Field(
        default_factory=list, description="manual status changes, oldest first"
    )
    signature: str | None = Field(default=None, description="sha256 of the failure's normalised template")
    pattern_id: int | None = Field(default=None, description="the failure pattern this failure belongs to")
    new_failure: bool | None = Field(default=None, description="its pattern was first seen in this run's launch")
    suggested_defects: list[DefectRefPublic] = Field(
        default_factory=list, description="open defects linked to this failure's pattern, not linked to this run yet"
    )


class FormatPublic(Public):
    name: str
    title: str
    module: str


class Health(BaseModel):
    status: str
    version: str
    database: str
