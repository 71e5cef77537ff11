"""Manual launches: create one from chosen test cases, record a tester's result per case run."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from caserun.api import convert, definitions, schemas
from caserun.api import selections as selections_api
from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.errors import InvalidInput, PayloadTooLarge
from caserun.service import manual, selections
from caserun.service.manual import ManualLaunch, ManualLaunchParams, ManualResult, StepResult, UploadedFile
from caserun.store.definitions import Selection

router = APIRouter(tags=["manual"])
router.include_router(definitions.router)  # test case definitions: registered with manual launches
router.include_router(selections_api.router)  # saved selections of tests, for manual launches

MAX_FILES = 20


class ManualLaunchBody(BaseModel):
    """Which tests (criteria combine: tag AND suite AND text AND ids) and who runs them where."""

    model_config = ConfigDict(extra="forbid")

    tag: str | None = Field(default=None, max_length=50)
    suite: str | None = Field(default=None, max_length=2000)
    q: str | None = Field(default=None, max_length=2000, description="text in the test's full name")
    test_ids: list[int] | None = Field(default=None, max_length=manual.MAX_TESTS)
    selection: str | None = Field(
        default=None, max_length=80, description="a saved selection's name, instead of the criteria above"
    )
    name: str | None = Field(default=None, max_length=300)
    environment: str | None = Field(default=None, max_length=100)
    assignee: str | None = Field(default=None, max_length=200)


class StepResultPublic(BaseModel):
    status: str
    actual: str


class ManualRunPublic(BaseModel):
    id: int
    test_id: int
    full_name: str
    status: str
    step_results: list[StepResultPublic]
    comment: str | None
    executed_by: str | None
    finished_at: datetime | None
    duration_ms: int | None


class ManualLaunchPublic(BaseModel):
    launch: schemas.LaunchPublic
    assignee: str | None
    remaining_ms: int | None = Field(description="estimated time left: mean time per done run × runs left")
    case_runs: list[ManualRunPublic]


def _public(found: ManualLaunch) -> ManualLaunchPublic:
    return ManualLaunchPublic(
        launch=convert.launch(found.launch),
        assignee=found.assignee,
        remaining_ms=found.remaining_ms,
        case_runs=[
            ManualRunPublic(
                id=r.id,
                test_id=r.test_id,
                full_name=r.full_name,
                status=r.status,
                step_results=[StepResultPublic(status=s.status, actual=s.actual) for s in r.step_results],
                comment=r.comment,
                executed_by=r.executed_by,
                finished_at=r.finished_at,
                duration_ms=r.duration_ms,
            )
            for r in found.runs
        ],
    )


@router.post(
    "/api/v1/projects/{key}/manual-launches",
    response_model=ManualLaunchPublic,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def create_manual_launch(
    key: str, body: ManualLaunchBody, ctx: ContextDep, who: PrincipalDep
) -> ManualLaunchPublic:
    """A ``running`` manual launch holding each chosen test as a ``running`` case run (maintainer).
    Archived tests are left out. Finish it with ``POST /api/v1/launches/{id}/finish``."""
    chosen = Selection(tag=body.tag, suite=body.suite, text=body.q, ids=tuple(body.test_ids or ()))
    if body.selection:
        if not chosen.empty:
            raise InvalidInput("give a saved selection or criteria (tag, suite, q, test_ids), not both")
        chosen = await run_in_threadpool(selections.load, ctx.db, who, key, body.selection)
    params = ManualLaunchParams(name=body.name, environment=body.environment, assignee=body.assignee)
    found = await run_in_threadpool(manual.create, ctx.db, who, key, chosen, params, ctx.settings.base_url)
    return _public(found)


def parse_steps(raw: str) -> list[StepResult]:
    """``[{"status": "passed", "actual": "…"}, …]`` sent as one form field."""
    if not raw.strip():
        return []
    try:
        items = json.loads(raw)
    except ValueError:
        raise InvalidInput('steps must be a JSON list of {"status", "actual"} objects') from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidInput('steps must be a JSON list of {"status", "actual"} objects')
    out = []
    for n, item in enumerate(items, start=1):
        actual = item.get("actual") or ""
        if not isinstance(item.get("status"), str) or not isinstance(actual, str):
            raise InvalidInput(f"step {n} needs a status and an optional text actual result")
        out.append(StepResult(status=item["status"], actual=actual))
    return out


async def read_files(files: list[UploadFile], limit: int) -> list[UploadedFile]:
    if len(files) > MAX_FILES:
        raise InvalidInput(f"attach at most {MAX_FILES} files at once")
    out = []
    for part in files:
        data = await part.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"attachment {part.filename!r} is larger than {limit} bytes")
        if data or part.filename:
            out.append(UploadedFile(name=part.filename or "attachment", data=data, content_type=part.content_type))
    return out


@router.post("/api/v1/case-runs/{case_run_id}/manual-result", response_model=ManualLaunchPublic, responses=ERRORS)
async def record_manual_result(
    case_run_id: int,
    ctx: ContextDep,
    who: PrincipalDep,
    status: Annotated[str, Form(max_length=20, description="passed, failed, blocked or skipped")],
    comment: Annotated[str, Form(max_length=manual.MAX_COMMENT, description="required when blocked")] = "",
    steps: Annotated[str, Form(max_length=2_000_000, description='JSON: [{"status", "actual"}] per step')] = "",
    duration_ms: Annotated[int | None, Form(ge=0)] = None,
    attachment: Annotated[list[UploadFile] | None, File(description="screenshots or files")] = None,
) -> ManualLaunchPublic:
    """Record (or correct) a tester's result of a case run in a running launch (reporter):
    the final status, per-step results, a comment and attachments; ``executed_by`` is the caller.
    Send it as a form (``multipart/form-data`` with files, or urlencoded)."""
    result = ManualResult(status=status, comment=comment, steps=parse_steps(steps), duration_ms=duration_ms)
    files = await read_files(attachment or [], ctx.settings.max_attachment_bytes)
    found = await run_in_threadpool(
        lambda: manual.record(
            ctx.db,
            ctx.blobs,
            who,
            case_run_id,
            result,
            files,
            max_attachment_bytes=ctx.settings.max_attachment_bytes,
            base_url=ctx.settings.base_url,
        )
    )
    return _public(found)
