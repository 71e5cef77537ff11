"""Defect pages: a project's defects (filter by status, severity, assignee) and one defect
with its linked case runs, its failure patterns and the moves its lifecycle allows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import ContextDep
from caserun.service import defects, test_page
from caserun.store.defects import DefectFilter
from caserun.web import present
from caserun.web.pages import Text, blank
from caserun.web.rendering import PageRoute, render
from caserun.web.signin import SignedInDep

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DEFECTS_PER_PAGE = 25
LINKED_PER_PAGE = 50

Cursor = Annotated[str | None, Query(max_length=2000)]
Notice = Annotated[str | None, Query(max_length=40)]


@router.get("/projects/{key}/defects")
async def defects_page(
    request: Request,
    key: str,
    ctx: ContextDep,
    who: SignedInDep,
    status: Text = None,
    severity: Text = None,
    assignee: Text = None,
    cursor: Cursor = None,
) -> Response:
    status, severity, assignee = blank(status), blank(severity), blank(assignee)
    flt = DefectFilter(
        status=[status] if status else None, severity=[severity] if severity else None, assignee=assignee
    )
    items, nxt = await run_in_threadpool(
        lambda: defects.list_page(ctx.db, who, key, flt, cursor=blank(cursor), limit=DEFECTS_PER_PAGE)
    )
    project = await run_in_threadpool(test_page.visible_project, ctx.db, who, key)
    filters = {"status": status, "severity": severity, "assignee": assignee}
    here = f"/projects/{key}/defects"
    return render(
        request,
        "defects.html",
        title=f"Defects · {project.name}",
        crumbs=[(project.name, f"/projects/{key}"), ("Defects", None)],
        project=project,
        tab="defects",
        defects=items,
        filters=filters,
        statuses=[(s, present.label(s)) for s in present.DEFECT_STATUSES],
        severities=present.SEVERITIES,
        filtered=any(filters.values()),
        next_url=present.link(here, **filters, cursor=nxt) if nxt else None,
        first_url=present.link(here, **filters) if cursor else None,
        api_url=present.link(f"/api/v1/projects/{key}/defects", **filters),
    )


@router.get("/defects/{defect_id}")
async def defect_page(
    request: Request, defect_id: int, ctx: ContextDep, who: SignedInDep, cursor: Cursor = None, done: Notice = None
) -> Response:
    detail = await run_in_threadpool(defects.get, ctx.db, who, defect_id)
    runs, nxt = detail.case_runs, detail.case_runs_next
    if cursor:
        runs, nxt = await run_in_threadpool(
            lambda: defects.linked_runs(ctx.db, who, defect_id, cursor=cursor, limit=LINKED_PER_PAGE)
        )
    project = await run_in_threadpool(test_page.visible_project, ctx.db, who, detail.defect.project_key)
    defect = detail.defect
    here = f"/defects/{defect_id}"
    return render(
        request,
        "defect.html",
        title=defect.title,
        crumbs=[
            (project.name, f"/projects/{project.key}"),
            ("Defects", f"/projects/{project.key}/defects"),
            (f"#{defect.id}", None),
        ],
        project=project,
        defect=defect,
        runs=runs,
        patterns=detail.patterns,
        external_url=present.http_link(defect.external_url),
        severities=present.SEVERITIES,
        notice=present.notice(done),
        next_url=present.link(here, cursor=nxt) if nxt else None,
        first_url=here if cursor else None,
        api_url=f"/api/v1/defects/{defect_id}",
    )
