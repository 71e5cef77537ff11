"""The pages: projects, a project's launches, a launch, a case run.

Each page parses its query, calls the same service functions as its API twin (linked in
the footer), and renders. No SQL and no rules here; formatting lives in ``present``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import Context, ContextDep
from caserun.service import case_runs, launches, projects
from caserun.service.auth import Principal
from caserun.service.projects import Project
from caserun.service.views import AttachmentView, CaseRunDetail, CaseRunRow, LaunchView
from caserun.store.case_runs import CaseRunFilter
from caserun.store.launches import LaunchFilter
from caserun.web import present
from caserun.web.rendering import PageRoute, render
from caserun.web.signin import SignedInDep

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LAUNCHES_PER_PAGE = 25
CASE_RUNS_PER_PAGE = 50

Text = Annotated[str | None, Query(max_length=500)]


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value else None


# -- projects -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectCard:
    project: Project
    last: LaunchView | None


def _overview(ctx: Context, who: Principal) -> list[ProjectCard]:
    cards = []
    for project in projects.visible(ctx.db, who.project_id):
        # one small indexed query per project; fine while projects number in the tens
        last, _ = launches.list_page(
            ctx.db, who, project.key, LaunchFilter(), cursor=None, limit=1, base_url=ctx.settings.base_url
        )
        cards.append(ProjectCard(project, last[0] if last else None))
    return cards


@router.get("/")
async def projects_page(request: Request, ctx: ContextDep, who: SignedInDep) -> Response:
    cards = await run_in_threadpool(_overview, ctx, who)
    return render(request, "projects.html", title="Projects", crumbs=[], cards=cards, api_url="/api/v1/projects")


# -- a project's launches -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LaunchList:
    project: Project
    items: list[LaunchView]
    next: str | None


def _launch_list(ctx: Context, who: Principal, key: str, flt: LaunchFilter, cursor: str | None) -> LaunchList:
    items, nxt = launches.list_page(
        ctx.db, who, key, flt, cursor=cursor, limit=LAUNCHES_PER_PAGE, base_url=ctx.settings.base_url
    )
    # list_page has checked that ``who`` may see the project
    return LaunchList(projects.get(ctx.db, key), items, nxt)


@router.get("/projects/{key}")
async def launches_page(
    request: Request,
    key: str,
    ctx: ContextDep,
    who: SignedInDep,
    status: Text = None,
    environment: Text = None,
    branch: Text = None,
    sort: Annotated[str, Query(max_length=40)] = "-created_at",
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    status, environment, branch = _blank(status), _blank(environment), _blank(branch)
    statuses = [launches.parse_launch_status(status).value] if status else None
    flt = LaunchFilter(status=statuses, environment=environment, branch=branch, sort=sort)
    data = await run_in_threadpool(_launch_list, ctx, who, key, flt, _blank(cursor))
    filters = {"status": status, "environment": environment, "branch": branch, "sort": sort}
    here = f"/projects/{key}"
    return render(
        request,
        "launches.html",
        title=data.project.name,
        crumbs=[(data.project.name, None)],
        project=data.project,
        launches=data.items,
        filters=filters,
        statuses=present.LAUNCH_STATUSES,
        sorts=present.LAUNCH_SORTS,
        next_url=present.link(here, **filters, cursor=data.next) if data.next else None,
        first_url=present.link(here, **filters) if cursor else None,
        filtered=any((status, environment, branch)),
        api_url=present.link(f"/api/v1/projects/{key}/launches", **filters),
    )


# -- a launch -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LaunchPage:
    launch: LaunchView
    project: Project
    runs: list[CaseRunRow]
    next: str | None


def _launch_page(ctx: Context, who: Principal, launch_id: int, flt: CaseRunFilter, cursor: str | None) -> LaunchPage:
    launch = launches.get(ctx.db, who, launch_id, ctx.settings.base_url)
    runs, nxt = case_runs.list_page(ctx.db, who, launch_id, flt, cursor=cursor, limit=CASE_RUNS_PER_PAGE)
    return LaunchPage(launch, projects.get(ctx.db, launch.project_key), runs, nxt)


@router.get("/launches/{launch_id}")
async def launch_page(
    request: Request,
    launch_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    status: Text = None,
    q: Text = None,
    sort: Annotated[str, Query(max_length=40)] = "started",
    failed_first: bool = False,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    status, q = _blank(status), _blank(q)
    statuses = [launches.parse_status(status).value] if status else None
    flt = CaseRunFilter(status=statuses, text=q, sort=sort, failed_first=failed_first)
    data = await run_in_threadpool(_launch_page, ctx, who, launch_id, flt, _blank(cursor))
    launch = data.launch
    filters = {"status": status, "q": q, "sort": sort, "failed_first": failed_first}
    here = f"/launches/{launch_id}"
    comparison = launch.comparison
    buckets = (
        [
            ("New failures", "failed", comparison.new_failures),
            ("Still failing", "failed", comparison.still_failing),
            ("Fixed", "passed", comparison.fixed),
            ("New tests", "new", comparison.new_tests),
            ("Missing tests", "skipped", comparison.missing_tests),
        ]
        if comparison
        else []
    )
    return render(
        request,
        "launch.html",
        title=launch.name,
        crumbs=[(data.project.name, f"/projects/{launch.project_key}"), (f"Launch #{launch.id}", None)],
        launch=launch,
        build_url=present.http_link(launch.build_url),
        cards=present.stat_cards(launch.summary),
        bar=present.status_bar(launch.summary),
        buckets=buckets,
        runs=data.runs,
        filters=filters,
        statuses=present.CASE_STATUSES,
        sorts=present.CASE_RUN_SORTS,
        next_url=present.link(here, **filters, cursor=data.next) if data.next else None,
        first_url=present.link(here, **filters) if cursor else None,
        filtered=any((status, q)),
        api_url=f"/api/v1/launches/{launch_id}",
    )


# -- a case run ---------------------------------------------------------------------------


def _case_run(ctx: Context, who: Principal, case_run_id: int) -> tuple[CaseRunDetail, Project]:
    detail = case_runs.detail(ctx.db, who, case_run_id, ctx.settings.base_url)
    return detail, projects.get(ctx.db, detail.project_key)


@router.get("/case-runs/{case_run_id}")
async def case_run_page(request: Request, case_run_id: int, ctx: ContextDep, who: SignedInDep) -> Response:
    detail, project = await run_in_threadpool(_case_run, ctx, who, case_run_id)
    run = detail.run
    images: list[AttachmentView] = [a for a in detail.attachments if present.is_inline_image(a.content_type)]
    files = [a for a in detail.attachments if not present.is_inline_image(a.content_type)]
    logs = sorted(detail.logs.items(), key=lambda kv: ({"stdout": 0, "stderr": 1}.get(kv[0], 2), kv[0]))
    return render(
        request,
        "case_run.html",
        title=run.full_name,
        crumbs=[
            (project.name, f"/projects/{project.key}"),
            (f"Launch #{run.launch_id}", f"/launches/{run.launch_id}"),
            (run.name, None),
        ],
        detail=detail,
        run=run,
        logs=logs,
        metadata=sorted(detail.metadata.items()),
        images=images,
        files=files,
        api_url=f"/api/v1/case-runs/{case_run_id}",
    )
