"""Test case definitions: read (viewer) and replace (maintainer)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launches import ERRORS
from caserun.service import definitions
from caserun.service.definitions import Definition

router = APIRouter(tags=["tests"])


class StepBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1, max_length=definitions.MAX_STEP_TEXT)
    expected: str = Field(default="", max_length=definitions.MAX_STEP_TEXT)


class DefinitionBody(BaseModel):
    """The whole definition; a field left out is cleared."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=definitions.MAX_TEXT)
    preconditions: str | None = Field(default=None, max_length=definitions.MAX_TEXT)
    steps: list[StepBody] | None = Field(default=None, max_length=definitions.MAX_STEPS)
    priority: str | None = Field(default=None, description="critical, high, medium or low")
    tags: list[str] | None = Field(default=None, max_length=definitions.MAX_TAGS)
    lifecycle: str | None = Field(default=None, description="draft, active (the default) or archived")


class DefinitionPublic(BaseModel):
    test_id: int
    description: str | None
    preconditions: str | None
    steps: list[StepBody]
    priority: str | None
    tags: list[str]
    lifecycle: str
    updated_at: datetime | None = Field(description="when a person last saved it; null: never")


def _public(found: Definition) -> DefinitionPublic:
    return DefinitionPublic(
        test_id=found.test_id,
        description=found.description,
        preconditions=found.preconditions,
        steps=[StepBody(action=s.action, expected=s.expected) for s in found.steps],
        priority=found.priority,
        tags=found.tags,
        lifecycle=found.lifecycle,
        updated_at=found.updated_at,
    )


@router.get("/api/v1/tests/{test_id}/definition", response_model=DefinitionPublic, responses=ERRORS)
async def get_definition(test_id: int, ctx: ContextDep, who: PrincipalDep) -> DefinitionPublic:
    """What a person wrote about the test: description, preconditions, steps, priority, tags, lifecycle."""
    return _public(await run_in_threadpool(definitions.get, ctx.db, who, test_id))


@router.put("/api/v1/tests/{test_id}/definition", response_model=DefinitionPublic, responses=ERRORS)
async def put_definition(test_id: int, body: DefinitionBody, ctx: ContextDep, who: PrincipalDep) -> DefinitionPublic:
    """Replace the test's definition (maintainer). Imports never change it."""
    fields = body.model_dump(exclude_none=True)
    return _public(await run_in_threadpool(definitions.save, ctx.db, who, test_id, fields))
