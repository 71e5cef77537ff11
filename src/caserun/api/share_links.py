"""Share links: read-only links to one launch for people without an account (maintainers
create, list and revoke them; the link itself is opened at ``/s/{token}``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.service import share_links
from caserun.service.share_links import ShareLinkView

router = APIRouter(tags=["share links"])


class ShareLinkCreate(BaseModel):
    expires_in_days: int = Field(
        default=share_links.DEFAULT_DAYS, ge=1, le=share_links.MAX_DAYS, description="the link stops working after"
    )
    password: str | None = Field(
        default=None,
        min_length=share_links.PASSWORD_MIN,
        max_length=share_links.PASSWORD_MAX,
        description="asked before the launch is shown; stored as an scrypt hash",
    )


class ShareLinkPublic(BaseModel):
    id: int
    launch_id: int
    prefix: str
    state: str = Field(description="active, expired or revoked")
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    view_count: int
    last_viewed_at: datetime | None
    has_password: bool


class ShareLinkCreated(ShareLinkPublic):
    token: str = Field(description="the link's secret, shown only in this response")
    url: str


class ShareLinkPage(BaseModel):
    items: list[ShareLinkPublic]
    next: str | None = None


def _public(link: ShareLinkView) -> ShareLinkPublic:
    return ShareLinkPublic(
        id=link.id,
        launch_id=link.launch_id,
        prefix=link.prefix,
        state=link.state,
        created_by=link.created_by,
        created_at=link.created_at,
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        view_count=link.view_count,
        last_viewed_at=link.last_viewed_at,
        has_password=link.has_password,
    )


@router.post(
    "/api/v1/launches/{launch_id}/share-links",
    response_model=ShareLinkCreated,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def create_share_link(
    launch_id: int, body: ShareLinkCreate, ctx: ContextDep, who: PrincipalDep
) -> ShareLinkCreated:
    """Create a read-only link to this launch (maintainer). The ``url`` holds the secret:
    it is shown once and cannot be recovered."""
    created = await run_in_threadpool(
        share_links.create,
        ctx.db,
        who,
        launch_id,
        expires_in_days=body.expires_in_days,
        password=body.password,
        base_url=ctx.settings.base_url,
    )
    return ShareLinkCreated(**_public(created.link).model_dump(), token=created.token, url=created.url)


@router.get("/api/v1/launches/{launch_id}/share-links", response_model=ShareLinkPage, responses=ERRORS)
async def list_share_links(launch_id: int, ctx: ContextDep, who: PrincipalDep) -> ShareLinkPage:
    """The launch's share links, newest first, with their state and view counts (maintainer)."""
    links = await run_in_threadpool(share_links.list_links, ctx.db, who, launch_id)
    return ShareLinkPage(items=[_public(link) for link in links])


@router.delete("/api/v1/share-links/{link_id}", response_model=ShareLinkPublic, responses=ERRORS)
async def revoke_share_link(link_id: int, ctx: ContextDep, who: PrincipalDep) -> ShareLinkPublic:
    """Revoke a share link (maintainer): it stops working at once. Revoking twice is harmless."""
    return _public(await run_in_threadpool(share_links.revoke, ctx.db, who, link_id))
