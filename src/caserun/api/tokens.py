"""API tokens: list, create (the secret is in the answer once) and revoke.

An instance admin manages every token; a project's maintainers and admins manage that
project's tokens, up to their own role. Answers never carry a token's hash, only the first
characters of its secret (``prefix``) so people can tell tokens apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.schemas import ErrorResponse, Page
from caserun.domain.model import Role
from caserun.service import auth

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])

ERRORS: dict[int | str, dict[str, object]] = {code: {"model": ErrorResponse} for code in (401, 403, 404, 422)}


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    project_key: str | None = Field(description="null for an instance token")
    prefix: str = Field(description="the first characters of the secret, to recognise it")
    state: Literal["active", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="updated at most once a minute")
    revoked_at: datetime | None


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="what the token is for")
    role: Role = Role.REPORTER
    project: str | None = Field(default=None, max_length=64, description="project key; null for an instance token")
    expires_days: int | None = Field(default=None, ge=1, le=auth.MAX_EXPIRES_DAYS)


class TokenIssued(BaseModel):
    token: TokenPublic
    secret: str = Field(description="the token itself: shown this once, only its hash is kept")


@router.get("", response_model=Page[TokenPublic], responses=ERRORS)
async def list_tokens(
    ctx: ContextDep, who: PrincipalDep, project: str | None = Query(default=None, max_length=64)
) -> Page[TokenPublic]:
    """Tokens of ``project`` (default: the caller's project; every token for an instance admin)."""
    views = await run_in_threadpool(auth.list_tokens, ctx.db, who, project)
    return Page(items=[TokenPublic.model_validate(v) for v in views], next=None)


@router.post("", response_model=TokenIssued, status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def create_token(body: TokenCreate, ctx: ContextDep, who: PrincipalDep) -> TokenIssued:
    """Issue a token; its secret is in this answer and nowhere else, ever."""
    issued = await run_in_threadpool(
        lambda: auth.create_token(
            ctx.db,
            project_key=body.project,
            role=body.role,
            name=body.name,
            expires_days=body.expires_days,
            by=who,
        )
    )
    view = await run_in_threadpool(auth.get_token, ctx.db, issued.id)
    return TokenIssued(token=TokenPublic.model_validate(view), secret=issued.token)


@router.delete("/{token_id}", response_model=TokenPublic, responses=ERRORS)
async def revoke_token(token_id: int, ctx: ContextDep, who: PrincipalDep) -> TokenPublic:
    """Revoke a token at once (its web sessions end too); revoking again changes nothing."""
    view = await run_in_threadpool(auth.revoke_token, ctx.db, who, token_id)
    return TokenPublic.model_validate(view)
