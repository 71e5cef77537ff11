"""Service views → API response models (one place, so every route renders alike)."""

from __future__ import annotations

from caserun.api import schemas
from caserun.service.views import CaseRunDetail, LaunchView


def launch(view: LaunchView) -> schemas.LaunchPublic:
    return schemas.LaunchPublic.model_validate(view)


def launch_detail(view: LaunchView) -> schemas.LaunchDetailPublic:
    return schemas.LaunchDetailPublic.model_validate(view)


def case_run_detail(detail: CaseRunDetail) -> schemas.CaseRunDetailPublic:
    run = detail.run
    failure = None
    if run.failure_message is not None or detail.stack_trace is not None:
        failure = schemas.FailurePublic(
            type=run.failure_type,
            exception=run.failure_exception,
            message=run.failure_message,
            stack_trace=detail.stack_trace,
        )
    base = schemas.CaseRunPublic.model_validate(run).model_dump()
    return schemas.CaseRunDetailPublic(
        **base,
        project_key=detail.project_key,
        test_key=detail.test_key,
        file=detail.file,
        line=detail.line,
        finished_at=detail.finished_at,
        failure=failure,
        logs=detail.logs,
        metadata=detail.metadata,
        warnings=detail.warnings,
        retry_of_id=detail.retry_of_id,
        attachments=[schemas.AttachmentPublic.model_validate(a) for a in detail.attachments],
        attempt_list=[schemas.AttemptPublic.model_validate(a) for a in detail.attempts],
    )
