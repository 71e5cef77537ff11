"""Exports: lists as CSV / JSON / JSON Lines, a launch as JUnit XML, CTRF JSON, Markdown,
HTML or PDF. Everything long is streamed; nothing builds a whole launch in memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from caserun.analysis.history import HistoryFilter
from caserun.api import hardening
from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.export import tabular
from caserun.service import exports, launches, reports
from caserun.service.exports import RowExport
from caserun.store.case_runs import CaseRunFilter
from caserun.store.launches import LaunchFilter

router = APIRouter(tags=["exports"])

Format = Annotated[str, Query(pattern="^(csv|json|jsonl)$", description="csv, json ({items: [...]}) or jsonl")]
_TEXT: dict[str, object] = {"schema": {"type": "string"}}
#: what the file routes answer, so the OpenAPI schema describes their bodies
ROWS: dict[int | str, dict[str, object]] = {
    **ERRORS,
    200: {
        "description": "the rows as a file",
        "content": {"text/csv": _TEXT, "application/json": {}, "application/x-ndjson": _TEXT},
    },
}
LAUNCH_FILES: dict[int | str, dict[str, object]] = {
    **ERRORS,
    200: {
        "description": "the launch as a file",
        "content": {
            "application/xml": _TEXT,
            "application/json": {},
            "text/markdown": _TEXT,
            "text/html": _TEXT,
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            # XML, HTML and PDF downloads leave as octet-stream (api/hardening: types that can
            # carry script are never served under their own type)
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
}
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"


def _download(name: str) -> dict[str, str]:
    return {"Content-Disposition": hardening.content_disposition(name), "X-Content-Type-Options": "nosniff"}


def _encoded(chunks: Iterator[str]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk.encode("utf-8")


def _rows(export: RowExport, fmt: str) -> StreamingResponse:
    body = _encoded(tabular.write(fmt, export.columns, export.rows))
    media = tabular.MEDIA_TYPES[fmt]
    return StreamingResponse(body, media_type=media, headers=_download(f"{export.stem}.{fmt}"))


@router.get("/api/v1/projects/{key}/launches/export", responses=ROWS, response_class=StreamingResponse)
async def export_launches(
    key: str,
    ctx: ContextDep,
    who: PrincipalDep,
    format: Format = "csv",
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    environment: str | None = None,
    branch: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    archived: bool = False,
    sort: str = "-created_at",
) -> StreamingResponse:
    """A project's launches as a file, with the launch list's filters; streamed."""
    statuses = [launches.parse_launch_status(s).value for s in status_ or []]
    flt = LaunchFilter(
        status=statuses or None,
        environment=environment,
        branch=branch,
        since=since,
        until=until,
        archived=archived,
        sort=sort,
    )
    export = await run_in_threadpool(exports.launch_rows, ctx.db, who, key, flt, ctx.settings.base_url)
    return _rows(export, format)


@router.get("/api/v1/launches/{launch_id}/case-runs/export", responses=ROWS, response_class=StreamingResponse)
async def export_case_runs(
    launch_id: int,
    ctx: ContextDep,
    who: PrincipalDep,
    format: Format = "csv",
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
    suite: Annotated[str | None, Query(max_length=2000, description="the test's suite, exactly")] = None,
    min_duration_ms: Annotated[int | None, Query(ge=0, description="runs that took at least this long")] = None,
    sort: str = "started",
    failed_first: bool = False,
    attempts: Annotated[str, Query(pattern="^(final|all)$")] = "final",
) -> StreamingResponse:
    """A launch's case runs as a file, with the case-run list's filters; streamed."""
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
    export = await run_in_threadpool(exports.case_run_rows, ctx.db, who, launch_id, flt)
    return _rows(export, format)


@router.get("/api/v1/tests/{test_id}/history/export", responses=ROWS, response_class=StreamingResponse)
async def export_history(
    test_id: int,
    ctx: ContextDep,
    who: PrincipalDep,
    format: Format = "csv",
    environment: str | None = None,
    branch: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    """A test's history (final case runs across launches, newest first) as a file; streamed."""
    flt = HistoryFilter(environment=environment, branch=branch, since=since, until=until)
    export = await run_in_threadpool(exports.history_rows, ctx.db, who, test_id, flt)
    return _rows(export, format)


@router.get("/api/v1/launches/{launch_id}/export", responses=LAUNCH_FILES, response_class=Response)
async def export_launch(
    launch_id: int,
    ctx: ContextDep,
    who: PrincipalDep,
    format: Annotated[str, Query(pattern="^(junit|ctrf|html|pdf|markdown)$")] = "junit",
) -> Response:
    """The launch as JUnit XML or CTRF JSON (streamed, every attempt kept), a Markdown
    summary, a single-file HTML report (opens offline) or that report as PDF."""
    base = ctx.settings.base_url
    if format == "junit":
        chunks = await run_in_threadpool(reports.junit, ctx.db, who, launch_id, base)
        name = reports.report_name(launch_id, "junit.xml")
        return StreamingResponse(chunks, media_type="application/xml", headers=_download(name))
    if format == "ctrf":
        text = await run_in_threadpool(reports.ctrf, ctx.db, who, launch_id, base)
        name = reports.report_name(launch_id, "ctrf.json")
        return StreamingResponse(_encoded(text), media_type="application/json", headers=_download(name))
    if format == "markdown":
        md = await run_in_threadpool(reports.markdown, ctx.db, who, launch_id, base)
        return Response(md, media_type="text/markdown; charset=utf-8")
    if format == "html":
        page = await run_in_threadpool(reports.html, ctx.db, ctx.blobs, who, launch_id, base)
        headers = {**_download(reports.report_name(launch_id, "html")), "Content-Security-Policy": REPORT_CSP}
        return Response(page, media_type="text/html; charset=utf-8", headers=headers)
    data = await run_in_threadpool(reports.pdf, ctx.db, ctx.blobs, who, launch_id, base)
    return Response(data, media_type="application/pdf", headers=_download(reports.report_name(launch_id, "pdf")))
