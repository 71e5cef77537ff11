"""Quarantine: the active list (reporters read it from CI), adding and lifting entries."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from caserun.api import schemas
from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.service import quarantine

router = APIRouter(tags=["quarantine"])


class QuarantinePublic(BaseModel):
    test_case_id: int
    test_key: str = Field(description="the test's identity key, as reporters compute it")
    full_name: str
    reason: str
    created_by: str = Field(description="the name of the token that quarantined the test")
    created_at: datetime
    expires_at: datetime | None


class QuarantineCreate(BaseModel):
    """Name the test by ``test_case_id`` or by ``test_key``."""

    test_case_id: int | None = None
    test_key: str | None = Field(default=None, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: datetime | None = Field(default=None, description="the entry stops being active then")


@router.get("/api/v1/projects/{key}/quarantine", response_model=schemas.Page[QuarantinePublic], responses=ERRORS)
async def list_quarantine(
    key: str,
    ctx: ContextDep,
    who: PrincipalDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=quarantine.MAX_LIMIT)] = 1000,
) -> schemas.Page[QuarantinePublic]:
    """The project's active quarantine entries (not lifted, not expired), oldest first."""
    items, nxt = await run_in_threadpool(quarantine.list_active, ctx.db, who, key, cursor=cursor, limit=limit)
    return schemas.Page(items=[QuarantinePublic(**asdict(i)) for i in items], next=nxt)


@router.post(
    "/api/v1/projects/{key}/quarantine",
    response_model=QuarantinePublic,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def add_quarantine(key: str, body: QuarantineCreate, ctx: ContextDep, who: PrincipalDep) -> QuarantinePublic:
    """Quarantine a test (maintainer); 409 when it is already quarantined."""
    entry = await run_in_threadpool(
        lambda: quarantine.add(
            ctx.db,
            who,
            key,
            reason=body.reason,
            test_case_id=body.test_case_id,
            test_key=body.test_key,
            expires_at=body.expires_at,
        )
    )
    return QuarantinePublic(**asdict(entry))


@router.delete(
    "/api/v1/projects/{key}/quarantine/{test_case_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS
)
async def lift_quarantine(key: str, test_case_id: int, ctx: ContextDep, who: PrincipalDep) -> None:
    """Lift a test's active quarantine (maintainer); the entry is kept, marked removed."""
    await run_in_threadpool(quarantine.lift, ctx.db, who, key, test_case_id)
