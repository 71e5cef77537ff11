"""Failure patterns: a project's list, one pattern with its runs, a launch's patterns, the linked defect."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.service import patterns
from caserun.service.patterns import PatternView
from caserun.store.patterns import PatternFilter

router = APIRouter(tags=["failure patterns"])

Limit = Annotated[int, Query(ge=1, le=500)]


class DayCountPublic(BaseModel):
    day: str = Field(description="UTC day, YYYY-MM-DD")
    count: int


class PatternDefectPublic(BaseModel):
    id: int
    title: str
    status: str


class PatternPublic(BaseModel):
    id: int
    project_key: str
    signature: str = Field(description="sha256 of the template of the pattern's first failure")
    exception: str | None
    message: str = Field(description="the masked message")
    template: str = Field(description="exception, masked message and top frames, one per line")
    example_case_run_id: int | None
    example_message: str | None
    example_trace: str | None
    count: int = Field(description="failed case runs in this pattern")
    tests_affected: int
    launches_affected: int
    first_seen: datetime
    last_seen: datetime
    daily: list[DayCountPublic] = Field(
        description=f"failures per UTC day, the last {patterns.DAYS} days, oldest first"
    )
    defect: PatternDefectPublic | None


class PatternPage(BaseModel):
    items: list[PatternPublic]
    next: str | None


class PatternRunPublic(BaseModel):
    id: int
    launch_id: int
    launch_name: str
    test_case_id: int
    full_name: str
    status: str
    attempt: int
    started_at: datetime
    failure_message: str | None
    new_failure: bool | None


class PatternRunPage(BaseModel):
    items: list[PatternRunPublic]
    next: str | None


class PatternDetailPublic(PatternPublic):
    case_runs: PatternRunPage = Field(description="the pattern's case runs, newest first")


class LaunchPatternPublic(BaseModel):
    pattern: PatternPublic
    launch_count: int = Field(description="failed case runs of this launch in the pattern")
    launch_tests: int
    new: bool = Field(description="the pattern was first seen in this launch")


class LaunchPatternPage(BaseModel):
    items: list[LaunchPatternPublic]
    next: str | None


class PatternDefectBody(BaseModel):
    defect_id: int | None = Field(description="a defect of the pattern's project, or null to unlink")


def _public(view: PatternView) -> PatternPublic:
    return PatternPublic.model_validate(asdict(view))


@router.get("/api/v1/projects/{key}/failure-patterns", response_model=PatternPage, responses=ERRORS)
async def list_patterns(
    key: str,
    ctx: ContextDep,
    who: PrincipalDep,
    since: Annotated[datetime | None, Query(description="seen at or after this time")] = None,
    until: Annotated[datetime | None, Query(description="first seen before this time")] = None,
    q: Annotated[str | None, Query(max_length=500, description="text in the exception, message or template")] = None,
    min_count: Annotated[int, Query(ge=1)] = 1,
    sort: Annotated[str, Query(description="last_seen or count; prefix - for descending")] = "-last_seen",
    cursor: str | None = None,
    limit: Limit = 50,
) -> PatternPage:
    """A project's failure patterns with counts, spread, daily counts, an example and the linked defect."""
    flt = PatternFilter(since=since, until=until, text=q or None, min_count=min_count, sort=sort)
    items, nxt = await run_in_threadpool(patterns.list_page, ctx.db, who, key, flt, cursor=cursor, limit=limit)
    return PatternPage(items=[_public(v) for v in items], next=nxt)


@router.get("/api/v1/failure-patterns/{pattern_id}", response_model=PatternDetailPublic, responses=ERRORS)
async def get_pattern(
    pattern_id: int, ctx: ContextDep, who: PrincipalDep, cursor: str | None = None, limit: Limit = 50
) -> PatternDetailPublic:
    """One failure pattern and a page of its case runs (``cursor`` pages the runs)."""
    view, runs, nxt = await run_in_threadpool(patterns.get, ctx.db, who, pattern_id, cursor=cursor, limit=limit)
    page = PatternRunPage(items=[PatternRunPublic.model_validate(asdict(r)) for r in runs], next=nxt)
    return PatternDetailPublic(**_public(view).model_dump(), case_runs=page)


@router.get("/api/v1/launches/{launch_id}/failure-patterns", response_model=LaunchPatternPage, responses=ERRORS)
async def launch_patterns(
    launch_id: int, ctx: ContextDep, who: PrincipalDep, cursor: str | None = None, limit: Limit = 50
) -> LaunchPatternPage:
    """The failure patterns in this launch, most failures first; ``new`` marks those first seen here."""
    items, nxt = await run_in_threadpool(patterns.for_launch, ctx.db, who, launch_id, cursor=cursor, limit=limit)
    return LaunchPatternPage(items=[LaunchPatternPublic.model_validate(asdict(i)) for i in items], next=nxt)


@router.put("/api/v1/failure-patterns/{pattern_id}/defect", response_model=PatternPublic, responses=ERRORS)
async def set_pattern_defect(
    pattern_id: int, body: PatternDefectBody, ctx: ContextDep, who: PrincipalDep
) -> PatternPublic:
    """Link the pattern to a defect (maintainer), or unlink it with ``null``. New failures of a
    linked pattern suggest the defect (or link it, with the project's ``auto_link_defects``),
    and flag a resolved or closed one for reopening."""
    view = await run_in_threadpool(patterns.set_defect, ctx.db, who, pattern_id, body.defect_id)
    return _public(view)
