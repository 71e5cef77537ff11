"""Triage: bulk status changes of case runs, retry launches and retry plans."""

from __future__ import annotations

import shlex
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from caserun.api import convert, schemas
from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.service import triage

router = APIRouter(tags=["triage"])


class StatusChangeBody(BaseModel):
    case_run_ids: list[int] = Field(min_length=1, max_length=triage.MAX_IDS)
    status: Literal["passed", "failed", "skipped", "blocked"]
    comment: str = Field(min_length=1, max_length=10_000, description="why; kept in every audit row")


class StatusChangeResult(BaseModel):
    changed: int
    unchanged: int = Field(description="runs that already had this status (no audit row)")
    summary: schemas.SummaryPublic


class RetryBody(BaseModel):
    name: str | None = Field(default=None, max_length=300)
    case_run_ids: list[int] | None = Field(
        default=None, max_length=10_000, description="retry exactly these case runs (default: every failed test)"
    )


class RetryPlanPublic(BaseModel):
    runner: str
    tests: int = Field(description="failed tests the arguments select")
    args: list[str]
    command: str = Field(description="the arguments, quoted for a POSIX shell")
    notes: list[str]


@router.post("/api/v1/launches/{launch_id}/case-runs/status", response_model=StatusChangeResult, responses=ERRORS)
async def change_status(
    launch_id: int, body: StatusChangeBody, ctx: ContextDep, who: PrincipalDep
) -> StatusChangeResult:
    """Change the status of some of a launch's case runs (maintainer, comment required).
    Each change is audited on the run (who, when, old → new, comment); the launch summary is recounted."""
    result = await run_in_threadpool(
        triage.change_status, ctx.db, who, launch_id, body.case_run_ids, body.status, body.comment
    )
    return StatusChangeResult(
        changed=result.changed,
        unchanged=result.unchanged,
        summary=schemas.SummaryPublic.model_validate(result.summary),
    )


@router.post(
    "/api/v1/launches/{launch_id}/retry",
    response_model=schemas.LaunchPublic,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def create_retry(
    launch_id: int, ctx: ContextDep, who: PrincipalDep, body: RetryBody | None = None
) -> schemas.LaunchPublic:
    """A ``running`` manual launch holding the launch's failed tests as ``running`` case runs,
    each linked to the run it retries, for re-execution by hand (reporter)."""
    view = await run_in_threadpool(
        lambda: triage.create_retry(
            ctx.db,
            who,
            launch_id,
            ctx.settings.base_url,
            name=body.name if body else None,
            case_run_ids=body.case_run_ids if body else None,
        )
    )
    return convert.launch(view)


@router.get("/api/v1/launches/{launch_id}/retry-plan", response_model=RetryPlanPublic, responses=ERRORS)
async def retry_plan(
    launch_id: int,
    ctx: ContextDep,
    who: PrincipalDep,
    runner: Annotated[str, Query(description="pytest, jest, playwright or go")],
) -> RetryPlanPublic:
    """The command-line arguments that re-run exactly the launch's failed tests."""
    chosen = triage.parse_runner(runner)
    plan = await run_in_threadpool(triage.retry_plan, ctx.db, who, launch_id, chosen)
    return RetryPlanPublic(
        runner=plan.runner.value,
        tests=plan.tests,
        args=plan.args,
        command=shlex.join(plan.args),
        notes=plan.notes,
    )
