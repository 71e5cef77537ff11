"""Case runs: a launch's list, adding and finishing runs, one run, its attachments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from caserun.api import convert, hardening, schemas
from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.domain.model import Attempt, Failure, FailureType, Status, TestResult
from caserun.service import case_runs, launches
from caserun.store.case_runs import CaseRunFilter

router = APIRouter(tags=["case runs"])


@router.get(
    "/api/v1/launches/{launch_id}/case-runs",
    response_model=schemas.Page[schemas.CaseRunPublic],
    responses=ERRORS,
)
async def list_case_runs(
    launch_id: int,
    ctx: ContextDep,
    who: PrincipalDep,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    q: Annotated[str | None, Query(max_length=500, description="text in the test name or failure message")] = None,
    suite: Annotated[str | None, Query(max_length=2000, description="the test's suite, exactly")] = None,
    min_duration_ms: Annotated[int | None, Query(ge=0, description="runs that took at least this long")] = None,
    sort: Annotated[str, Query(description="started, status, duration or name; prefix - for descending")] = "started",
    failed_first: bool = False,
    attempts: Annotated[str, Query(pattern="^(final|all)$", description="final: one row per test")] = "final",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> schemas.Page[schemas.CaseRunPublic]:
    """The case runs of a launch: one per test (its last attempt) unless ``attempts=all``."""
    statuses = [launches.parse_status(s).value for s in status_ or []]
    flt = CaseRunFilter(
        status=statuses or None,
        text=q or None,
        suite=suite or None,
        min_duration_ms=min_duration_ms,
        sort=sort,
        failed_first=failed_first,
        all_attempts=attempts == "all",
    )
    items, nxt = await run_in_threadpool(case_runs.list_page, ctx.db, who, launch_id, flt, cursor=cursor, limit=limit)
    return schemas.Page(items=[schemas.CaseRunPublic.model_validate(i) for i in items], next=nxt)


def _failure(body: schemas.FailureIn | None) -> Failure | None:
    if body is None:
        return None
    return Failure(message=body.message, type=FailureType(body.type), exception=body.exception, trace=body.trace)


@router.post(
    "/api/v1/launches/{launch_id}/case-runs",
    response_model=schemas.CreatedIds,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def add_case_runs(
    launch_id: int, body: schemas.CaseRunBatch, ctx: ContextDep, who: PrincipalDep
) -> schemas.CreatedIds:
    """Add case runs to a running launch. A run may be ``running`` and finished later with
    PATCH. The same test sent again becomes its next attempt; an item whose ``client_id``
    was already recorded is not recorded twice (its first id is returned)."""
    results = [
        TestResult(
            suite=item.suite,
            name=item.name,
            parameters=item.parameters,
            file=item.file,
            line=item.line,
            metadata=item.metadata,
            attempts=[
                Attempt(
                    status=Status(item.status),
                    duration_ms=item.duration_ms,
                    started_at=item.started_at,
                    failure=_failure(item.failure),
                    stdout=item.stdout,
                    stderr=item.stderr,
                    client_id=item.client_id,
                )
            ],
        )
        for item in body.items
    ]
    ids = await run_in_threadpool(
        launches.add_results,
        ctx.db,
        ctx.blobs,
        who,
        launch_id,
        results,
        max_attachment_bytes=ctx.settings.max_attachment_bytes,
    )
    return schemas.CreatedIds(ids=ids)


@router.get("/api/v1/case-runs/{case_run_id}", response_model=schemas.CaseRunDetailPublic, responses=ERRORS)
async def get_case_run(case_run_id: int, ctx: ContextDep, who: PrincipalDep) -> schemas.CaseRunDetailPublic:
    """One case run with its failure, logs, metadata, attachments and attempts."""
    detail = await run_in_threadpool(case_runs.detail, ctx.db, who, case_run_id, ctx.settings.base_url)
    return convert.case_run_detail(detail)


@router.patch("/api/v1/case-runs/{case_run_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def finish_case_run(case_run_id: int, body: schemas.CaseRunFinish, ctx: ContextDep, who: PrincipalDep) -> None:
    """Finish a ``running`` case run; a finished one is not overwritten (409)."""
    attempt = Attempt(status=Status(body.status), duration_ms=body.duration_ms, failure=_failure(body.failure))
    await run_in_threadpool(launches.finish_case_run, ctx.db, who, case_run_id, attempt)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(256 * 1024):
            yield chunk


@router.get(
    "/api/v1/attachments/{attachment_id}",
    responses={**ERRORS, 200: {"content": {"application/octet-stream": {}}}},
)
async def download_attachment(attachment_id: int, ctx: ContextDep, who: PrincipalDep) -> StreamingResponse:
    """An attachment's bytes, always as a download with a safe content type."""
    view, stream = await run_in_threadpool(case_runs.open_attachment, ctx.db, ctx.blobs, who, attachment_id)
    safe_inline = view.content_type.startswith(("image/png", "image/jpeg", "image/gif", "image/webp", "video/"))
    media = view.content_type if safe_inline else "application/octet-stream"
    return StreamingResponse(
        _chunks(stream),
        media_type=media,
        headers={
            "Content-Disposition": hardening.content_disposition(view.name, inline=safe_inline),
            "X-Content-Type-Options": "nosniff",
            "Content-Length": str(view.size),
            "Cache-Control": "private, max-age=86400",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
