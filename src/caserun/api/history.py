"""Tests and their history: timeline, statistics, flaky/broken/slow lists, merge."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from caserun.analysis.flakiness import DEFAULT_WINDOW
from caserun.analysis.history import HistoryFilter
from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.service import history
from caserun.service.history import TestView

router = APIRouter(tags=["history"])

Window = Annotated[int, Query(ge=2, le=50, description="how many recent runs (or launches, with filters) to judge")]


class TestPublic(BaseModel):
    __test__ = False
    id: int
    project_key: str
    key: str
    suite: str
    name: str
    parameters: str
    full_name: str
    file: str | None
    line: int | None
    alias_of_id: int | None


class HistoryRun(BaseModel):
    id: int
    launch_id: int
    launch_name: str
    environment: str | None
    branch: str | None
    commit: str | None
    status: str
    attempt: int
    passed_on_retry: bool
    duration_ms: int | None
    started_at: datetime
    signature: str | None
    verdict: str | None
    failure_message: str | None


class HistoryPublic(BaseModel):
    test: TestPublic
    statistics: dict[str, Any]
    items: list[HistoryRun]
    next: str | None


class RankedPublic(BaseModel):
    test_case_id: int
    full_name: str
    score: int
    pattern: str = Field(description="recent results, oldest first: P pass, F fail, r passed on retry, S skip")
    evidence: dict[str, Any]
    last_failure_at: datetime | None


class Ranked(BaseModel):
    items: list[RankedPublic]
    next: str | None = None


class MergeBody(BaseModel):
    into: int = Field(description="the test that keeps the history")


def _test(view: TestView) -> TestPublic:
    return TestPublic(**asdict(view))


@router.get("/api/v1/projects/{key}/tests", response_model=list[TestPublic], responses=ERRORS)
async def find_tests(
    key: str, ctx: ContextDep, who: PrincipalDep, q: Annotated[str, Query(min_length=1, max_length=500)]
) -> list[TestPublic]:
    """Tests whose full name contains ``q``."""
    found = await run_in_threadpool(history.find_tests, ctx.db, who, key, q)
    return [_test(t) for t in found]


@router.get("/api/v1/tests/{test_id}/history", response_model=HistoryPublic, responses=ERRORS)
async def test_history(
    test_id: int,
    ctx: ContextDep,
    who: PrincipalDep,
    environment: str | None = None,
    branch: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    window: Window = DEFAULT_WINDOW,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> HistoryPublic:
    """A test's case runs across launches, newest first, and its statistics over the same filters."""
    flt = HistoryFilter(environment=environment, branch=branch, since=since, until=until)
    test, stats, page = await run_in_threadpool(
        history.history, ctx.db, who, test_id, flt, cursor=cursor, limit=limit, window=window
    )
    statistics = asdict(stats)
    statistics.pop("extra")
    items = [
        HistoryRun(commit=r["commit_sha"], **{k: r[k] for k in HistoryRun.model_fields if k != "commit"})
        for r in page.rows
    ]
    return HistoryPublic(test=_test(test), statistics=statistics, items=items, next=page.next)


@router.post("/api/v1/tests/{test_id}/merge", response_model=TestPublic, responses=ERRORS)
async def merge_test(test_id: int, body: MergeBody, ctx: ContextDep, who: PrincipalDep) -> TestPublic:
    """Merge this test's history into another (after a rename); its future results follow."""
    return _test(await run_in_threadpool(history.merge, ctx.db, who, test_id, body.into))


@router.get("/api/v1/projects/{key}/flaky", response_model=Ranked, responses=ERRORS)
async def flaky(
    key: str,
    ctx: ContextDep,
    who: PrincipalDep,
    min_score: Annotated[int, Query(ge=0, le=100)] = 20,
    environment: str | None = None,
    branch: str | None = None,
    window: Window = DEFAULT_WINDOW,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Ranked:
    """Tests ranked by flakiness score, with the evidence behind each score. Broken tests
    (failing steadily since a commit) are not here: see ``/broken``."""
    flt = HistoryFilter(environment=environment, branch=branch)
    ranked = await run_in_threadpool(history.flaky, ctx.db, who, key, flt, min_score=min_score, window=window)
    items = [
        RankedPublic(
            test_case_id=r.test_case_id,
            full_name=r.full_name,
            score=r.flakiness.score,
            pattern=r.flakiness.evidence.pattern,
            evidence=asdict(r.flakiness.evidence),
            last_failure_at=r.last_failure_at,
        )
        for r in ranked[:limit]
    ]
    return Ranked(items=items)


@router.get("/api/v1/projects/{key}/broken", responses=ERRORS)
async def broken(key: str, ctx: ContextDep, who: PrincipalDep) -> dict[str, Any]:
    """Tests failing steadily since a commit: the failures, when and where it began."""
    found = await run_in_threadpool(history.broken, ctx.db, who, key)
    return {"items": [asdict(b) for b in found], "next": None}


@router.get("/api/v1/projects/{key}/slow", responses=ERRORS)
async def slow(key: str, ctx: ContextDep, who: PrincipalDep) -> dict[str, Any]:
    """Tests whose duration shifted up (median after vs before a change point), with the launch where it began."""
    found = await run_in_threadpool(history.slow, ctx.db, who, key)
    return {"items": [asdict(s) for s in found], "next": None}
