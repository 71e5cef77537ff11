"""Defects: list, create (also from a failed case run), edit and move, link case runs."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from caserun.api import schemas
from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.service import defects
from caserun.service.defects import DefectFields, DefectView
from caserun.store.defects import DefectFilter

router = APIRouter(tags=["defects"])

SeverityIn = Literal["critical", "high", "medium", "low"]
StatusIn = Literal["open", "in_progress", "resolved", "closed", "reopened"]


class DefectPublic(schemas.Public):
    id: int
    project_key: str
    title: str
    description: str | None
    severity: str
    status: str
    assignee: str | None
    external_url: str | None
    environment: str | None
    launch_id: int | None
    reopen_suggested: bool = Field(description="a resolved or closed defect whose failure came back; cleared by a move")
    created_by: str
    created_at: datetime
    updated_at: datetime
    linked_runs: int = Field(description="how many case runs are linked")
    next_statuses: list[str] = Field(description="the statuses this defect may move to")


class LinkedRunPublic(schemas.Public):
    id: int
    launch_id: int
    launch_name: str
    test_case_id: int
    full_name: str
    status: str
    attempt: int
    started_at: datetime
    failure_message: str | None
    linked_at: datetime
    linked_by: str
    origin: str


class PatternRefPublic(schemas.Public):
    id: int
    signature: str
    exception: str | None
    template: str
    count: int
    first_seen: datetime
    last_seen: datetime


class LinkedRunsPublic(BaseModel):
    count: int
    items: list[LinkedRunPublic] = Field(description="the most recently linked runs")
    next: str | None = Field(description="cursor for GET /api/v1/defects/{id}/case-runs")


class DefectDetailPublic(DefectPublic):
    case_runs: LinkedRunsPublic
    patterns: list[PatternRefPublic]


class DefectCreate(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=100_000)
    severity: SeverityIn = "medium"
    assignee: str | None = Field(default=None, max_length=200)
    external_url: str | None = Field(default=None, max_length=1000, description="http(s) link to the issue tracker")
    environment: str | None = Field(default=None, max_length=100)
    launch_id: int | None = None


class DefectFromRun(BaseModel):
    """Every field is prefilled from the case run; what is given here wins."""

    title: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=100_000)
    severity: SeverityIn | None = None
    assignee: str | None = Field(default=None, max_length=200)
    external_url: str | None = Field(default=None, max_length=1000)
    environment: str | None = Field(default=None, max_length=100)


class DefectUpdate(BaseModel):
    """Only the fields present change; ``null`` clears an optional field."""

    title: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=100_000)
    severity: SeverityIn | None = None
    assignee: str | None = Field(default=None, max_length=200)
    external_url: str | None = Field(default=None, max_length=1000)
    environment: str | None = Field(default=None, max_length=100)
    launch_id: int | None = None
    status: StatusIn | None = Field(default=None, description="move the defect (invalid moves are 409)")
    reopen_suggested: Literal[False] | None = Field(default=None, description="false dismisses the suggestion")


class CaseRunIds(BaseModel):
    case_run_ids: list[int] = Field(min_length=1, max_length=defects.MAX_LINK_IDS)


class LinkResultPublic(BaseModel):
    changed: int = Field(description="links added (POST) or removed (DELETE)")
    unchanged: int = Field(description="already linked (POST) or not linked (DELETE)")
    linked_runs: int


def _public(view: DefectView) -> DefectPublic:
    return DefectPublic.model_validate(view)


@router.get("/api/v1/projects/{key}/defects", response_model=schemas.Page[DefectPublic], responses=ERRORS)
async def list_defects(
    key: str,
    ctx: ContextDep,
    who: PrincipalDep,
    status_: Annotated[list[StatusIn] | None, Query(alias="status")] = None,
    severity: Annotated[list[SeverityIn] | None, Query()] = None,
    assignee: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> schemas.Page[DefectPublic]:
    """A project's defects, newest first; filter by ``status`` and ``severity`` (repeatable), ``assignee``."""
    flt = DefectFilter(status=list(status_ or []) or None, severity=list(severity or []) or None, assignee=assignee)
    items, nxt = await run_in_threadpool(defects.list_page, ctx.db, who, key, flt, cursor=cursor, limit=limit)
    return schemas.Page(items=[_public(v) for v in items], next=nxt)


@router.post(
    "/api/v1/projects/{key}/defects",
    response_model=DefectPublic,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def create_defect(key: str, body: DefectCreate, ctx: ContextDep, who: PrincipalDep) -> DefectPublic:
    """Create an ``open`` defect (maintainer)."""
    view = await run_in_threadpool(defects.create, ctx.db, who, key, DefectFields(**body.model_dump()))
    return _public(view)


@router.get("/api/v1/defects/{defect_id}", response_model=DefectDetailPublic, responses=ERRORS)
async def get_defect(defect_id: int, ctx: ContextDep, who: PrincipalDep) -> DefectDetailPublic:
    """A defect with its most recently linked case runs (all of them through ``/case-runs``)
    and the failure patterns linked to it."""
    detail = await run_in_threadpool(defects.get, ctx.db, who, defect_id)
    return DefectDetailPublic(
        **asdict(detail.defect),
        case_runs=LinkedRunsPublic(
            count=detail.defect.linked_runs,
            items=[LinkedRunPublic.model_validate(r) for r in detail.case_runs],
            next=detail.case_runs_next,
        ),
        patterns=[PatternRefPublic.model_validate(p) for p in detail.patterns],
    )


@router.patch("/api/v1/defects/{defect_id}", response_model=DefectPublic, responses=ERRORS)
async def edit_defect(defect_id: int, body: DefectUpdate, ctx: ContextDep, who: PrincipalDep) -> DefectPublic:
    """Edit fields and/or move the defect through its lifecycle (maintainer).
    ``open → in_progress → resolved → closed``, ``reopened``; see docs/analysis.md."""
    changes = body.model_dump(exclude_unset=True)
    return _public(await run_in_threadpool(defects.edit, ctx.db, who, defect_id, changes))


@router.get("/api/v1/defects/{defect_id}/case-runs", response_model=schemas.Page[LinkedRunPublic], responses=ERRORS)
async def defect_case_runs(
    defect_id: int,
    ctx: ContextDep,
    who: PrincipalDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> schemas.Page[LinkedRunPublic]:
    """Every case run linked to the defect, most recently linked first."""
    items, nxt = await run_in_threadpool(defects.linked_runs, ctx.db, who, defect_id, cursor=cursor, limit=limit)
    return schemas.Page(items=[LinkedRunPublic.model_validate(r) for r in items], next=nxt)


@router.post("/api/v1/defects/{defect_id}/links", response_model=LinkResultPublic, responses=ERRORS)
async def link_runs(defect_id: int, body: CaseRunIds, ctx: ContextDep, who: PrincipalDep) -> LinkResultPublic:
    """Link case runs of the defect's project to it (maintainer); linking twice is harmless."""
    result = await run_in_threadpool(defects.link, ctx.db, who, defect_id, body.case_run_ids)
    return LinkResultPublic(**asdict(result))


@router.delete("/api/v1/defects/{defect_id}/links", response_model=LinkResultPublic, responses=ERRORS)
async def unlink_runs(defect_id: int, body: CaseRunIds, ctx: ContextDep, who: PrincipalDep) -> LinkResultPublic:
    """Unlink case runs from the defect (maintainer)."""
    result = await run_in_threadpool(defects.unlink, ctx.db, who, defect_id, body.case_run_ids)
    return LinkResultPublic(**asdict(result))


@router.put("/api/v1/defects/{defect_id}/links/{case_run_id}", response_model=LinkResultPublic, responses=ERRORS)
async def link_run(defect_id: int, case_run_id: int, ctx: ContextDep, who: PrincipalDep) -> LinkResultPublic:
    """Link one case run (maintainer)."""
    result = await run_in_threadpool(defects.link, ctx.db, who, defect_id, [case_run_id])
    return LinkResultPublic(**asdict(result))


@router.delete("/api/v1/defects/{defect_id}/links/{case_run_id}", response_model=LinkResultPublic, responses=ERRORS)
async def unlink_run(defect_id: int, case_run_id: int, ctx: ContextDep, who: PrincipalDep) -> LinkResultPublic:
    """Unlink one case run (maintainer)."""
    result = await run_in_threadpool(defects.unlink, ctx.db, who, defect_id, [case_run_id])
    return LinkResultPublic(**asdict(result))


@router.post(
    "/api/v1/case-runs/{case_run_id}/defect",
    response_model=DefectPublic,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def defect_from_case_run(
    case_run_id: int, ctx: ContextDep, who: PrincipalDep, body: DefectFromRun | None = None
) -> DefectPublic:
    """Create a defect from a failed case run (maintainer): title, description (failure type,
    message, first lines of the trace), environment and launch prefilled; the run is linked."""
    overrides = DefectFields(**(body.model_dump() if body else {}))
    return _public(await run_in_threadpool(defects.from_case_run, ctx.db, who, case_run_id, overrides))
