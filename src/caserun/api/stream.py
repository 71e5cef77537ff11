"""Server-sent events for one launch: progress and case run changes as they happen."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from caserun.api import convert, schemas
from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.service import live
from caserun.service.views import LaunchView

router = APIRouter(tags=["launches"])

HEARTBEAT_S = 15.0
RECONNECT_MS = 3000


def _sse(event: str, data: Any, ident: int | None = None) -> str:
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str, separators=(',', ':'))}\n\n"


def _progress(changes: live.Changes) -> dict[str, Any]:
    view: LaunchView = changes.launch
    body = convert.launch(view).model_dump(mode="json", include={"id", "status", "finished_at", "summary"})
    body["progress"] = view.summary.progress
    body["last_activity_at"] = changes.last_activity.isoformat() if changes.last_activity else None
    body["stale"] = changes.stale
    return body


@router.get(
    "/api/v1/launches/{launch_id}/stream",
    response_class=StreamingResponse,
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description": "a stream of events"}},
)
async def stream_launch(
    launch_id: int,
    request: Request,
    ctx: ContextDep,
    who: PrincipalDep,
    after: Annotated[int, Query(ge=0, description="send case runs with an id above this one")] = 0,
    interval: Annotated[float, Query(ge=0.1, le=30, description="seconds between looks at the database")] = 1.0,
    timeout: Annotated[
        float | None, Query(gt=0, le=86400, description="end the stream after this many seconds")
    ] = None,
    stale_after: Annotated[
        float | None,
        Query(
            gt=0,
            le=7 * 86400,
            description="seconds without activity after which a running launch is stale "
            "(default: the server's CASERUN_STALE_AFTER, after which the sweeper stops it)",
        ),
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """A ``text/event-stream`` of the launch: ``progress`` (status, summary and progress in
    percent) whenever it changes, ``case_run`` for every new case run and every case run
    that finished (its id is the event id), and ``end`` once the launch is finished, after
    which the stream closes. A reconnecting ``EventSource`` resumes after its
    ``Last-Event-ID``; runs that finished while it was away are not re-sent, so reload the
    list on reconnect. Works against any server process sharing the database: the stream
    polls it every ``interval`` seconds. ``progress`` also carries ``last_activity_at`` and
    ``stale``: the launch is running but no test started or finished in it for
    ``stale_after`` seconds (its reporter was probably killed; finish it)."""
    view = await run_in_threadpool(live.open_feed, ctx.db, who, launch_id, ctx.settings.base_url)
    start = after
    if last_event_id and last_event_id.strip().isdigit():
        start = max(start, int(last_event_id.strip()))
    # stale in the feed means what the sweeper acts on, unless the caller asks otherwise
    cursor = live.Cursor(last_id=start, stale_after=stale_after or live.stale_after(ctx.settings))
    cursor.last_activity = await run_in_threadpool(live.last_activity, ctx.db, launch_id)
    deadline = time.monotonic() + timeout if timeout else None

    async def events() -> AsyncIterator[str]:
        yield f"retry: {RECONNECT_MS}\n\n"
        quiet_since = time.monotonic()
        while True:
            changes = await run_in_threadpool(
                live.poll, ctx.db, launch_id, view.project_key, cursor, ctx.settings.base_url
            )
            if changes.summary_changed:
                yield _sse("progress", _progress(changes))
            for run in changes.runs:
                yield _sse("case_run", schemas.CaseRunPublic.model_validate(run).model_dump(mode="json"), run.id)
            if changes.runs or changes.summary_changed:
                quiet_since = time.monotonic()
            if changes.finished:
                yield _sse("end", _progress(changes))
                return
            if changes.more:
                continue
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            if now - quiet_since >= HEARTBEAT_S:
                yield ": keep-alive\n\n"
                quiet_since = now
            if await request.is_disconnected():
                return
            await asyncio.sleep(interval if deadline is None else min(interval, max(0.0, deadline - now)))

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
