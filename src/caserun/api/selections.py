"""Saved selections of tests for manual launches (``service.selections``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.service import selections
from caserun.store.definitions import Selection

router = APIRouter(tags=["manual"])

NameParam = Annotated[str, Path(max_length=80, description="the selection's name")]


class SelectionBody(BaseModel):
    """Criteria combine with AND, as for a manual launch."""

    model_config = ConfigDict(extra="forbid")

    tag: str | None = Field(default=None, max_length=50)
    suite: str | None = Field(default=None, max_length=2000)
    q: str | None = Field(default=None, max_length=2000, description="text in the test's full name")
    test_ids: list[int] | None = Field(default=None, max_length=2000)


class SelectionPublic(SelectionBody):
    name: str


def _public(saved: selections.SavedSelection) -> SelectionPublic:
    chosen = saved.selection
    return SelectionPublic(
        name=saved.name, tag=chosen.tag, suite=chosen.suite, q=chosen.text, test_ids=list(chosen.ids) or None
    )


def selection_of(body: SelectionBody) -> Selection:
    return Selection(tag=body.tag, suite=body.suite, text=body.q, ids=tuple(body.test_ids or ()))


@router.get("/api/v1/projects/{key}/selections", response_model=list[SelectionPublic], responses=ERRORS)
async def list_selections(key: str, ctx: ContextDep, who: PrincipalDep) -> list[SelectionPublic]:
    """The project's saved selections, by name (viewer)."""
    found = await run_in_threadpool(selections.list_saved, ctx.db, who, key)
    return [_public(s) for s in found]


@router.put("/api/v1/projects/{key}/selections/{name}", response_model=SelectionPublic, responses=ERRORS)
async def save_selection(
    key: str, name: NameParam, body: SelectionBody, ctx: ContextDep, who: PrincipalDep
) -> SelectionPublic:
    """Save (or replace) a named selection (maintainer)."""
    saved = await run_in_threadpool(selections.save, ctx.db, who, key, name, selection_of(body))
    return _public(saved)


@router.delete("/api/v1/projects/{key}/selections/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def delete_selection(key: str, name: NameParam, ctx: ContextDep, who: PrincipalDep) -> None:
    """Forget a saved selection (maintainer)."""
    await run_in_threadpool(selections.delete, ctx.db, who, key, name)
