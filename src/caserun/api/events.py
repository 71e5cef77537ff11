"""The event endpoint any runner can stream results to, and the event schema it accepts."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import Context, ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.errors import CaserunError, InvalidInput, PayloadTooLarge
from caserun.ingest import events
from caserun.service import events as events_service
from caserun.service.auth import Principal
from caserun.service.events import Outcome

router = APIRouter(tags=["events"])

#: one request; larger spools are sent in several batches
MAX_BATCH_BYTES = 64 * 1024**2
MAX_EVENTS = 1000
#: one event (its attachments included, as base64)
MAX_EVENT_BYTES = 32 * 1024**2


class EventResult(BaseModel):
    index: int = Field(description="the event's position in the request")
    status: int = Field(description="201 created, 200 duplicate or finished, 4xx refused")
    code: str = Field(description="created, duplicate, finished, or the error code")
    message: str | None = None
    launch_id: int | None = None
    case_run_id: int | None = None
    url: str | None = Field(default=None, description="the launch's page (launch events)")


class EventResults(BaseModel):
    results: list[EventResult]
    accepted: int
    refused: int


_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {"schema": {"type": "string", "description": "one event per line"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["events"],
                    "properties": {
                        "events": {
                            "type": "array",
                            "maxItems": MAX_EVENTS,
                            "items": {"type": "object"},
                            "description": "launch.started, case_run.started, case_run.finished and "
                            "launch.finished events; their JSON schema is at GET /api/v1/events/schema",
                        }
                    },
                }
            },
        },
    }
}


async def _body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BATCH_BYTES:
        raise PayloadTooLarge(f"a batch of {length} bytes is over the limit of {MAX_BATCH_BYTES}; send smaller batches")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BATCH_BYTES:
            raise PayloadTooLarge(f"a batch is limited to {MAX_BATCH_BYTES} bytes; send smaller batches")
        chunks.append(chunk)
    return b"".join(chunks)


NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")


def _json_lines(raw: bytes) -> list[tuple[int, object]]:
    """An NDJSON body: one event per line, numbered from 0; blank lines are skipped. A line
    that is not JSON (or too long) stays in the list as the error to answer it with."""
    items: list[tuple[int, object]] = []
    for number, line in enumerate(raw.split(b"\n")):
        if not line.strip():
            continue
        if len(line) > MAX_EVENT_BYTES:
            items.append((number, PayloadTooLarge(f"line of {len(line)} bytes is over the limit of {MAX_EVENT_BYTES}")))
            continue
        try:
            items.append((number, json.loads(line)))
        except (ValueError, UnicodeDecodeError) as exc:
            items.append((number, InvalidInput(f"line {number + 1} is not JSON: {exc}")))
    return items


def _validate(raw: bytes, ndjson: bool = False) -> tuple[list[tuple[int, events.Event]], list[Outcome]]:
    if ndjson:
        numbered = _json_lines(raw)
    else:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"the body is not JSON: {exc}") from None
        items = body.get("events") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise InvalidInput('send {"events": [...]} (or one event per line as application/x-ndjson)')
        numbered = list(enumerate(items))
    if len(numbered) > MAX_EVENTS:
        raise PayloadTooLarge(f"{len(numbered)} events in one batch; send at most {MAX_EVENTS}")
    parsed: list[tuple[int, events.Event]] = []
    refused: list[Outcome] = []
    for index, item in numbered:
        try:
            if isinstance(item, CaserunError):
                raise item
            size = len(json.dumps(item))
            if size > MAX_EVENT_BYTES:
                raise PayloadTooLarge(f"event of {size} bytes is over the limit of {MAX_EVENT_BYTES}")
            parsed.append((index, events.parse_event(item)))
        except CaserunError as exc:
            refused.append(Outcome.refused(index, exc))
    return parsed, refused


@router.post(
    "/api/v1/projects/{key}/events",
    response_model=EventResults,
    responses=ERRORS,
    openapi_extra=_BODY_DOC,
)
async def post_events(key: str, request: Request, ctx: ContextDep, who: PrincipalDep) -> EventResults:
    """Record a batch of events, in order, each answered on its own.

    The body is ``{"events": [...]}`` (``application/json``) or one event per line
    (``application/x-ndjson``, the lines of a ``caserun-events`` file as they are); there
    ``index`` is the line's number from 0, and a line that is not JSON is refused alone.

    Ids chosen by the sender make every event idempotent: re-sending a batch (after a
    timeout, say) answers ``duplicate`` and records nothing twice. An event that is
    refused (malformed, unknown or finished launch, a finish before its start, too large)
    gets its 4xx status and message in ``results`` and changes nothing; the others still
    apply. The request itself fails only when it is not a batch at all, is too large, or
    the token may not report to the project."""
    raw = await _body(request)
    ndjson = request.headers.get("content-type", "").split(";")[0].strip().lower() in NDJSON_TYPES
    # parsing and recording in one trip to the thread pool: each trip waits for a thread and
    # then for the event loop again, which a busy server feels on every batch
    outcomes = await run_in_threadpool(_record, ctx, who, key, raw, ndjson)
    results = [EventResult.model_validate(o, from_attributes=True) for o in outcomes]
    accepted = sum(1 for o in outcomes if o.ok)
    return EventResults(results=results, accepted=accepted, refused=len(outcomes) - accepted)


def _record(ctx: Context, who: Principal, key: str, raw: bytes, ndjson: bool) -> list[Outcome]:
    """The answers to a batch, in the order of its events: parsed, then applied."""
    parsed, refused = _validate(raw, ndjson)
    applied = events_service.apply(
        ctx.db,
        ctx.blobs,
        who,
        key,
        parsed,
        base_url=ctx.settings.base_url,
        max_attachment_bytes=ctx.settings.max_attachment_bytes,
    )
    return sorted(applied + refused, key=lambda o: o.index)


@router.get("/api/v1/events/schema")
async def event_schema() -> dict[str, Any]:
    """The JSON schema of one event: the body items of the event endpoint and the lines of a
    ``caserun-events`` JSONL file."""
    schema: dict[str, Any] = events.EVENT.json_schema()
    return schema
