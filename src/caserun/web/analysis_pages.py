"""The pages that explain history: a test, flaky / broken / slow tests, failure patterns.

Each page parses its query, calls the service its API twin calls, and renders; the
charts' geometry comes from ``charts``, formatting from ``present``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from caserun.analysis.flakiness import DEFAULT_WINDOW
from caserun.analysis.history import HistoryFilter
from caserun.api.deps import ContextDep
from caserun.service import definitions, history, patterns, test_page
from caserun.store.patterns import PatternFilter
from caserun.web import charts, present
from caserun.web.pages import Text, blank, day
from caserun.web.rendering import PageRoute, render
from caserun.web.signin import SignedInDep

router = APIRouter(route_class=PageRoute, include_in_schema=False)

HISTORY_PER_PAGE = 50
PATTERNS_PER_PAGE = 25
PATTERN_RUNS_PER_PAGE = 50
MERGE_CANDIDATES = 20

Cursor = Annotated[str | None, Query(max_length=2000)]
Notice = Annotated[str | None, Query(max_length=40)]
Window = Annotated[int, Query(ge=2, le=50)]


def _day(value: date | None, *, end: bool = False) -> datetime | None:
    """A calendar day as the start of it (``end``: the start of the next day), UTC."""
    if value is None:
        return None
    if end:
        value += timedelta(days=1)
    return datetime.combine(value, time.min, tzinfo=UTC)


# -- a test -------------------------------------------------------------------------------


@router.get("/tests/{test_id}")
async def test_history_page(
    request: Request,
    test_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    environment: Text = None,
    branch: Text = None,
    cursor: Cursor = None,
    merge_q: Text = None,
    done: Notice = None,
) -> Response:
    environment, branch, merge_q = blank(environment), blank(branch), blank(merge_q)
    flt = HistoryFilter(environment=environment, branch=branch)
    data = await run_in_threadpool(
        lambda: test_page.test_page(
            ctx.db, who, test_id, flt, cursor=blank(cursor), limit=HISTORY_PER_PAGE, window=DEFAULT_WINDOW
        )
    )
    test = data.test
    project = await run_in_threadpool(test_page.visible_project, ctx.db, who, test.project_key)
    candidates = []
    if merge_q:
        found = await run_in_threadpool(history.find_tests, ctx.db, who, test.project_key, merge_q, MERGE_CANDIDATES)
        candidates = [t for t in found if t.id != test.id]
    oldest_first = list(reversed(data.runs))
    timeline = charts.timeline([(r.id, r.status, r.started_at, r.launch_name) for r in oldest_first])
    durations = charts.durations(
        [(r.id, r.status, r.duration_ms, r.launch_name) for r in oldest_first], data.statistics.duration_p50_ms
    )
    filters = {"environment": environment, "branch": branch}
    definition = await run_in_threadpool(definitions.get, ctx.db, who, test.id)
    here = f"/tests/{test.id}"
    return render(
        request,
        "test.html",
        title=test.full_name,
        crumbs=[(project.name, f"/projects/{project.key}"), (test.name, None)],
        project=project,
        page=data,
        test=test,
        stats=data.statistics,
        flakiness=data.statistics.flakiness,
        timeline=timeline,
        durations=durations,
        filters=filters,
        filtered=any(filters.values()),
        merge_q=merge_q or "",
        candidates=candidates,
        moved=test.id != test_id,
        definition=definition,
        steps_text=definitions.steps_text(definition.steps),
        notice=present.notice(done),
        next_url=present.link(here, **filters, cursor=data.next) if data.next else None,
        first_url=present.link(here, **filters) if cursor else None,
        api_url=present.link(f"/api/v1/tests/{test.id}/history", **filters),
    )


# -- flaky, broken, slow -----------------------------------------------------------------


@router.get("/projects/{key}/flaky")
async def flaky_page(
    request: Request,
    key: str,
    ctx: ContextDep,
    who: SignedInDep,
    min_score: Annotated[int, Query(ge=0, le=100)] = 20,
    environment: Text = None,
    branch: Text = None,
    window: Window = DEFAULT_WINDOW,
) -> Response:
    environment, branch = blank(environment), blank(branch)
    flt = HistoryFilter(environment=environment, branch=branch)
    ranked = await run_in_threadpool(lambda: history.flaky(ctx.db, who, key, flt, min_score=min_score, window=window))
    project = await run_in_threadpool(test_page.visible_project, ctx.db, who, key)
    filters = {"min_score": min_score, "environment": environment, "branch": branch, "window": window}
    return render(
        request,
        "flaky.html",
        title=f"Flaky tests · {project.name}",
        crumbs=_crumbs(project.name, key, "Flaky tests"),
        project=project,
        tab="flaky",
        tests=ranked,
        filters=filters,
        filtered=bool(environment or branch or min_score != 20 or window != DEFAULT_WINDOW),
        api_url=present.link(f"/api/v1/projects/{key}/flaky", **filters),
    )


def _crumbs(name: str, key: str, here: str) -> list[tuple[str, str | None]]:
    return [(name, f"/projects/{key}"), (here, None)]


@router.get("/projects/{key}/broken")
async def broken_page(request: Request, key: str, ctx: ContextDep, who: SignedInDep) -> Response:
    found = await run_in_threadpool(history.broken, ctx.db, who, key)
    project = await run_in_threadpool(test_page.visible_project, ctx.db, who, key)
    return render(
        request,
        "broken.html",
        title=f"Broken tests · {project.name}",
        crumbs=_crumbs(project.name, key, "Broken tests"),
        project=project,
        tab="broken",
        tests=found,
        api_url=f"/api/v1/projects/{key}/broken",
    )


@router.get("/projects/{key}/slow")
async def slow_page(request: Request, key: str, ctx: ContextDep, who: SignedInDep) -> Response:
    found = await run_in_threadpool(history.slow, ctx.db, who, key)
    project = await run_in_threadpool(test_page.visible_project, ctx.db, who, key)
    return render(
        request,
        "slow.html",
        title=f"Slow tests · {project.name}",
        crumbs=_crumbs(project.name, key, "Slow tests"),
        project=project,
        tab="slow",
        tests=found,
        api_url=f"/api/v1/projects/{key}/slow",
    )


# -- failure patterns --------------------------------------------------------------------


@router.get("/projects/{key}/patterns")
async def patterns_page(
    request: Request,
    key: str,
    ctx: ContextDep,
    who: SignedInDep,
    q: Text = None,
    min_count: Annotated[int, Query(ge=1)] = 1,
    since_day: Annotated[str | None, Query(alias="since", max_length=40)] = None,
    until_day: Annotated[str | None, Query(alias="until", max_length=40)] = None,
    sort: Annotated[str, Query(max_length=40)] = "-last_seen",
    cursor: Cursor = None,
) -> Response:
    q = blank(q)
    since, until = day(since_day, "seen since"), day(until_day, "first seen until")
    flt = PatternFilter(since=_day(since), until=_day(until, end=True), text=q, min_count=min_count, sort=sort)
    items, nxt = await run_in_threadpool(
        lambda: patterns.list_page(ctx.db, who, key, flt, cursor=blank(cursor), limit=PATTERNS_PER_PAGE)
    )
    project = await run_in_threadpool(test_page.visible_project, ctx.db, who, key)
    filters: dict[str, str | int | None] = {
        "q": q,
        "min_count": min_count if min_count > 1 else None,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "sort": sort,
    }
    here = f"/projects/{key}/patterns"
    return render(
        request,
        "patterns.html",
        title=f"Failure patterns · {project.name}",
        crumbs=_crumbs(project.name, key, "Failure patterns"),
        project=project,
        tab="patterns",
        patterns=[(p, charts.daily_bars([(d.day, d.count) for d in p.daily])) for p in items],
        filters=filters,
        sorts=present.PATTERN_SORTS,
        filtered=bool(q or min_count > 1 or since or until),
        next_url=present.link(here, **filters, cursor=nxt) if nxt else None,
        first_url=present.link(here, **filters) if cursor else None,
        api_url=present.link(f"/api/v1/projects/{key}/failure-patterns", **filters),
    )


@router.get("/patterns/{pattern_id}")
async def pattern_page(
    request: Request, pattern_id: int, ctx: ContextDep, who: SignedInDep, cursor: Cursor = None, done: Notice = None
) -> Response:
    view, runs, nxt = await run_in_threadpool(
        lambda: patterns.get(ctx.db, who, pattern_id, cursor=blank(cursor), limit=PATTERN_RUNS_PER_PAGE)
    )
    project = await run_in_threadpool(test_page.visible_project, ctx.db, who, view.project_key)
    defects = await run_in_threadpool(test_page.linkable_defects, ctx.db, who, project.key)
    here = f"/patterns/{pattern_id}"
    return render(
        request,
        "pattern.html",
        title=f"Failure pattern #{pattern_id}",
        crumbs=[
            (project.name, f"/projects/{project.key}"),
            ("Failure patterns", f"/projects/{project.key}/patterns"),
            (f"#{pattern_id}", None),
        ],
        project=project,
        pattern=view,
        bars=charts.daily_bars([(d.day, d.count) for d in view.daily], width=300, height=40),
        runs=runs,
        defects=defects,
        notice=present.notice(done),
        next_url=present.link(here, cursor=nxt) if nxt else None,
        first_url=here if cursor else None,
        api_url=f"/api/v1/failure-patterns/{pattern_id}",
    )
