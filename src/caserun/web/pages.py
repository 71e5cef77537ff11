"""The pages: projects, a project's launches, a launch, a case run.

Each page parses its query, calls the same service functions as its API twin (linked in
the footer), and renders. No SQL and no rules here; formatting lives in ``present``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from caserun.api import hardening
from caserun.api.deps import Context, ContextDep
from caserun.errors import InvalidInput
from caserun.service import case_runs, launches, patterns, projects, test_page
from caserun.service.auth import Principal
from caserun.service.defects import DefectFields, DefectView
from caserun.service.patterns import LaunchPatternView
from caserun.service.projects import Project
from caserun.service.test_page import CaseRunContext
from caserun.service.views import AttachmentView, CaseRunDetail, CaseRunRow, LaunchView
from caserun.store.case_runs import CaseRunFilter
from caserun.store.launches import LaunchFilter
from caserun.web import charts, present, textview
from caserun.web.rendering import PageRoute, render
from caserun.web.signin import SignedInDep

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LAUNCHES_PER_PAGE = 25
CASE_RUNS_PER_PAGE = 50
LAUNCH_PATTERNS = 10

Text = Annotated[str | None, Query(max_length=500)]


def blank(value: str | None) -> str | None:
    return value.strip() or None if value else None


def day(value: str | None, name: str) -> date | None:
    """A ``YYYY-MM-DD`` query value (blank: none), as a date input sends it."""
    value = blank(value)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} is not a date (YYYY-MM-DD)") from None


# -- projects -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectCard:
    project: Project
    last: LaunchView | None
    spark: charts.Sparkline | None


def _overview(ctx: Context, who: Principal) -> list[ProjectCard]:
    found = launches.overview(ctx.db, who, ctx.settings.base_url)
    return [ProjectCard(o.project, o.last, charts.rate_sparkline(o.trend)) for o in found]


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
    since_day: Annotated[str | None, Query(alias="since", max_length=40)] = None,
    until_day: Annotated[str | None, Query(alias="until", max_length=40)] = None,
    source: Text = None,
    min_rate: Annotated[str | None, Query(alias="min_pass_rate", max_length=20)] = None,
    max_rate: Annotated[str | None, Query(alias="max_pass_rate", max_length=20)] = None,
    archived: bool = False,
    sort: Annotated[str, Query(max_length=40)] = "-created_at",
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    status, environment, branch, source = blank(status), blank(environment), blank(branch), blank(source)
    since, until = day(since_day, "from"), day(until_day, "to")
    low, high = percent(min_rate, "min pass rate"), percent(max_rate, "max pass rate")
    statuses = [launches.parse_launch_status(status).value] if status else None
    if source is not None and source not in present.LAUNCH_SOURCES:
        raise InvalidInput(f"unknown source {source!r}; use one of {', '.join(present.LAUNCH_SOURCES)}")
    flt = LaunchFilter(
        status=statuses,
        environment=environment,
        branch=branch,
        since=_day_start(since),
        until=_day_start(until + timedelta(days=1)) if until else None,
        source=source,
        min_pass_rate=low,
        max_pass_rate=high,
        archived=archived,
        sort=sort,
    )
    data = await run_in_threadpool(_launch_list, ctx, who, key, flt, blank(cursor))
    filters: dict[str, str | bool | None] = {
        "status": status,
        "environment": environment,
        "branch": branch,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "source": source,
        "min_pass_rate": f"{low:g}" if low is not None else None,
        "max_pass_rate": f"{high:g}" if high is not None else None,
        "archived": archived,
        "sort": sort,
    }
    by_time = sorted(data.items, key=lambda v: (v.created_at, v.id))
    trend = charts.pass_rates([(v.id, v.summary.pass_rate, f"{v.name} #{v.id}") for v in by_time])
    here = f"/projects/{key}"
    return render(
        request,
        "launches.html",
        title=data.project.name,
        crumbs=[(data.project.name, None)],
        project=data.project,
        tab="launches",
        trend=trend,
        launches=data.items,
        filters=filters,
        statuses=present.LAUNCH_STATUSES,
        sources=present.LAUNCH_SOURCES,
        sorts=present.LAUNCH_SORTS,
        notice=present.notice(done),
        next_url=present.link(here, **filters, cursor=data.next) if data.next else None,
        first_url=present.link(here, **filters) if cursor else None,
        filtered=any((status, environment, branch, since, until, source, low is not None, high is not None, archived)),
        api_url=present.link(f"/api/v1/projects/{key}/launches", **filters),
    )


def percent(value: str | None, name: str) -> float | None:
    """A pass rate typed in a number input (blank: none), 0 to 100."""
    value = blank(value)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(f"{name} is not a number") from None
    if not 0 <= number <= 100:
        raise InvalidInput(f"{name} must be between 0 and 100")
    return number


def seconds_to_ms(value: str | None, name: str) -> int | None:
    """A duration in seconds typed in a number input (blank: none), as milliseconds."""
    value = blank(value)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(f"{name} is not a number of seconds") from None
    if not 0 <= number <= 10_000_000:
        raise InvalidInput(f"{name} must be between 0 and 10000000 seconds")
    return round(number * 1000)


def _day_start(value: date | None) -> datetime | None:
    return datetime.combine(value, time.min, tzinfo=UTC) if value else None


# -- a launch -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LaunchPage:
    launch: LaunchView
    project: Project
    runs: list[CaseRunRow]
    next: str | None
    patterns: list[LaunchPatternView]
    run_defects: dict[int, list[tuple[int, str, str]]]
    state: launches.LaunchState
    linkable: list[DefectView] = field(default_factory=list)


def _launch_page(ctx: Context, who: Principal, launch_id: int, flt: CaseRunFilter, cursor: str | None) -> LaunchPage:
    launch = launches.get(ctx.db, who, launch_id, ctx.settings.base_url)
    state = launches.state(ctx.db, who, launch_id)
    runs, nxt = case_runs.list_page(ctx.db, who, launch_id, flt, cursor=cursor, limit=CASE_RUNS_PER_PAGE)
    found, _ = patterns.for_launch(ctx.db, who, launch_id, cursor=None, limit=LAUNCH_PATTERNS)
    run_defects = test_page.launch_run_defects(ctx.db, who, launch_id, [r.id for r in runs])
    linkable = test_page.linkable_defects(ctx.db, who, launch.project_key)
    project = projects.get(ctx.db, launch.project_key)
    return LaunchPage(launch, project, runs, nxt, found, run_defects, state, linkable)


@router.get("/launches/{launch_id}")
async def launch_page(
    request: Request,
    launch_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    status: Text = None,
    q: Text = None,
    suite: Annotated[str | None, Query(max_length=2000)] = None,
    min_duration: Annotated[str | None, Query(max_length=20)] = None,
    sort: Annotated[str, Query(max_length=40)] = "started",
    failed_first: bool = False,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    status, q, suite = blank(status), blank(q), blank(suite)
    min_ms = seconds_to_ms(min_duration, "slower than")
    statuses = [launches.parse_status(status).value] if status else None
    flt = CaseRunFilter(
        status=statuses, text=q, suite=suite, min_duration_ms=min_ms, sort=sort, failed_first=failed_first
    )
    data = await run_in_threadpool(_launch_page, ctx, who, launch_id, flt, blank(cursor))
    launch = data.launch
    min_duration = f"{min_ms / 1000:g}" if min_ms is not None else None
    filters = {
        "status": status,
        "q": q,
        "suite": suite,
        "min_duration": min_duration,
        "sort": sort,
        "failed_first": failed_first,
    }
    here = f"/launches/{launch_id}"
    comparison = launch.comparison
    buckets = (
        [
            ("New failures", "failed", comparison.new_failures),
            ("Still failing", "failed", comparison.still_failing),
            ("Fixed", "passed", comparison.fixed),
            ("Flaky this time", "flaky", comparison.flaky),
            ("New tests", "new", comparison.new_tests),
            ("Missing tests", "skipped", comparison.missing_tests),
            ("Slower", "blocked", comparison.slower),
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
        state=data.state,
        build_url=present.http_link(launch.build_url),
        cards=present.stat_cards(launch.summary),
        bar=present.status_bar(launch.summary),
        trend=present.rate_change(launch.summary, launch.baseline.summary if launch.baseline else None),
        progress=present.progress_ring(launch.summary),
        buckets=buckets,
        patterns=data.patterns,
        runs=data.runs,
        run_defects=data.run_defects,
        linkable=data.linkable,
        settable=present.SETTABLE_STATUSES,
        notice=present.notice(done),
        filters=filters,
        statuses=present.CASE_STATUSES,
        sorts=present.CASE_RUN_SORTS,
        next_url=present.link(here, **filters, cursor=data.next) if data.next else None,
        first_url=present.link(here, **filters) if cursor else None,
        filtered=any((status, q, suite, min_ms is not None)),
        api_url=f"/api/v1/launches/{launch_id}",
    )


# -- a case run ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseRunPage:
    detail: CaseRunDetail
    project: Project
    context: CaseRunContext
    draft: DefectFields | None


def _case_run(ctx: Context, who: Principal, case_run_id: int) -> CaseRunPage:
    detail = case_runs.detail(ctx.db, who, case_run_id, ctx.settings.base_url)
    context = test_page.case_run_context(ctx.db, who, case_run_id, detail.project_key)
    draft = test_page.defect_draft(ctx.db, who, case_run_id) if detail.run.status == "failed" else None
    return CaseRunPage(detail, projects.get(ctx.db, detail.project_key), context, draft)


@router.get("/case-runs/{case_run_id}")
async def case_run_page(
    request: Request,
    case_run_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    log_page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    data = await run_in_threadpool(_case_run, ctx, who, case_run_id)
    detail, project, context = data.detail, data.project, data.context
    run = detail.run
    images: list[AttachmentView] = [a for a in detail.attachments if present.is_inline_image(a.content_type)]
    files = [a for a in detail.attachments if not present.is_inline_image(a.content_type)]
    streams = sorted(detail.logs.items(), key=lambda kv: ({"stdout": 0, "stderr": 1}.get(kv[0], 2), kv[0]))
    logs = [textview.log_page(name, content, log_page) for name, content in streams]
    here = f"/case-runs/{case_run_id}"
    linked = {d.id for d in detail.defects}
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
        here=here,
        logs=logs,
        log_pages=max((log.pages for log in logs), default=1),
        log_page=min(log_page, max((log.pages for log in logs), default=1)),
        trace=textview.trace_lines(detail.stack_trace) if detail.stack_trace else [],
        metadata=sorted(detail.metadata.items()),
        images=images,
        files=files,
        context=context,
        stats=context.statistics,
        verdict=present.verdict(context.verdict) if run.status == "failed" else None,
        mini=charts.timeline([(r.id, r.status, r.started_at, r.launch_name) for r in context.recent]),
        draft=data.draft,
        linkable=[d for d in context.linkable_defects if d.id not in linked],
        severities=present.SEVERITIES,
        notice=present.notice(done),
        api_url=f"/api/v1/case-runs/{case_run_id}",
    )


@router.get("/case-runs/{case_run_id}/attachments.zip")
async def case_run_attachments_zip(case_run_id: int, ctx: ContextDep, who: SignedInDep) -> Response:
    """Every attachment of the case run as one ZIP file."""
    name, archive = await run_in_threadpool(test_page.attachments_zip, ctx.db, ctx.blobs, who, case_run_id)

    def chunks() -> Iterator[bytes]:
        with archive:
            while chunk := archive.read(256 * 1024):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type="application/zip",
        headers={"Content-Disposition": hardening.content_disposition(name), "Cache-Control": "private, no-store"},
    )
