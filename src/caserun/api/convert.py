"""Service views → API response models (one place, so every route renders alike)."""

from __future__ import annotations

from dataclasses import asdict

from caserun.api import schemas
from caserun.service.views import CaseRunDetail, LaunchView


def launch(view: LaunchView) -> schemas.LaunchPublic:
    return schemas.LaunchPublic.model_validate(view)


def launch_detail(view: LaunchView) -> schemas.LaunchDetailPublic:
    out = schemas.LaunchDetailPublic.model_validate(view)
    if view.quarantine is not None:
        out.summary = out.summary.model_copy(update=asdict(view.quarantine))
    return out


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
        defects=[schemas.DefectRefPublic.model_validate(d) for d in detail.defects],
        status_changes=[schemas.StatusChangePublic.model_validate(c) for c in detail.status_changes],
        signature=detail.signature,
        pattern_id=detail.pattern_id,
        new_failure=detail.new_failure,
        suggested_defects=[schemas.DefectRefPublic.model_validate(d) for d in detail.suggested_defects],
    )
