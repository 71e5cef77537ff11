"""Webhooks of a project: create, list, delete, and their delivery history (maintainers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.service import webhooks
from caserun.service.webhooks import DeliveryView, WebhookView

router = APIRouter(tags=["webhooks"])


class WebhookCreate(BaseModel):
    url: str = Field(max_length=webhooks.URL_MAX, description="http:// or https:// URL that receives a POST per event")
    events: list[str] = Field(
        min_length=1, max_length=len(webhooks.EVENTS), description="some of " + ", ".join(webhooks.EVENTS)
    )
    secret: str | None = Field(
        default=None,
        min_length=webhooks.SECRET_MIN,
        max_length=webhooks.SECRET_MAX,
        description="HMAC key of X-Caserun-Signature; generated when left out",
    )
    active: bool = True


class WebhookPublic(BaseModel):
    id: int
    project: str
    url: str
    events: list[str]
    active: bool
    created_by: str
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="the signing secret, shown only in this response")


class WebhookPage(BaseModel):
    items: list[WebhookPublic]
    next: str | None = None


class DeliveryPublic(BaseModel):
    id: int
    webhook_id: int
    url: str
    event: str
    payload: dict[str, Any]
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]
    next: str | None = None


def _public(hook: WebhookView) -> WebhookPublic:
    return WebhookPublic(
        id=hook.id,
        project=hook.project_key,
        url=hook.url,
        events=hook.events,
        active=hook.active,
        created_by=hook.created_by,
        created_at=hook.created_at,
    )


def _delivery(d: DeliveryView) -> DeliveryPublic:
    return DeliveryPublic(
        id=d.id,
        webhook_id=d.webhook_id,
        url=d.url,
        event=d.event,
        payload=d.payload,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
    )


@router.post(
    "/api/v1/projects/{key}/webhooks",
    response_model=WebhookCreated,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def create_webhook(key: str, body: WebhookCreate, ctx: ContextDep, who: PrincipalDep) -> WebhookCreated:
    """Add a webhook (maintainer). Each event is POSTed as JSON, signed with
    ``X-Caserun-Signature: sha256=<HMAC-SHA256 of the body>``; see docs/webhooks.md."""
    made = await run_in_threadpool(
        webhooks.create, ctx.db, who, key, url=body.url, events=body.events, secret=body.secret, active=body.active
    )
    return WebhookCreated(**_public(made.webhook).model_dump(), secret=made.secret)


@router.get("/api/v1/projects/{key}/webhooks", response_model=WebhookPage, responses=ERRORS)
async def list_webhooks(key: str, ctx: ContextDep, who: PrincipalDep) -> WebhookPage:
    """The project's webhooks (maintainer); secrets are never shown again."""
    found = await run_in_threadpool(webhooks.list_webhooks, ctx.db, who, key)
    return WebhookPage(items=[_public(h) for h in found])


@router.delete("/api/v1/projects/{key}/webhooks/{webhook_id}", response_model=WebhookPublic, responses=ERRORS)
async def delete_webhook(key: str, webhook_id: int, ctx: ContextDep, who: PrincipalDep) -> WebhookPublic:
    """Delete a webhook and its delivery history (maintainer)."""
    gone = await run_in_threadpool(webhooks.delete, ctx.db, who, key, webhook_id)
    return _public(gone)


@router.get("/api/v1/projects/{key}/webhooks/deliveries", response_model=DeliveryPage, responses=ERRORS)
async def list_deliveries(
    key: str,
    ctx: ContextDep,
    who: PrincipalDep,
    webhook_id: Annotated[int | None, Query(description="only this webhook's deliveries")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryPage:
    """Delivery history, newest first (maintainer): status, attempts, the last answer or error."""
    items, nxt = await run_in_threadpool(
        webhooks.list_deliveries, ctx.db, who, key, webhook_id=webhook_id, cursor=cursor, limit=limit
    )
    return DeliveryPage(items=[_delivery(d) for d in items], next=nxt)
