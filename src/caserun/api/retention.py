"""Retention: a project's retention settings, running retention, keeping launches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from caserun.api import schemas
from caserun.api.deps import ContextDep, PrincipalDep
from caserun.service import retention

router = APIRouter(tags=["retention"])
ERRORS: dict[int | str, dict[str, object]] = {code: {"model": schemas.ErrorResponse} for code in (401, 403, 404, 422)}

Days = Annotated[int | None, Field(ge=1, le=retention.MAX_DAYS)]


class RetentionSettings(BaseModel):
    """Days to keep, each optional (null or absent: for ever)."""

    model_config = ConfigDict(extra="forbid")

    retention_days: Days = Field(default=None, description="delete launches recorded longer ago")
    logs_days: Days = Field(default=None, description="delete captured logs of older launches")
    attachments_days: Days = Field(default=None, description="delete attachments of older launches")


class ProjectRetention(BaseModel):
    project: str
    launches: int
    logs: int
    attachments: int
    attachment_bytes: int
    settings: RetentionSettings


class RetentionRun(BaseModel):
    dry_run: bool
    projects: list[ProjectRetention]
    blobs: int
    blob_bytes: int


class LaunchKept(BaseModel):
    id: int
    name: str
    kept: bool


def _settings(policy: retention.Policy) -> RetentionSettings:
    return RetentionSettings.model_validate(policy.as_dict())


@router.get("/api/v1/projects/{key}/settings", response_model=RetentionSettings, responses=ERRORS)
async def get_settings(key: str, ctx: ContextDep, who: PrincipalDep) -> RetentionSettings:
    """The project's retention settings (viewer)."""
    return _settings(await run_in_threadpool(retention.get_policy, ctx.db, who, key))


@router.put("/api/v1/projects/{key}/settings", response_model=RetentionSettings, responses=ERRORS)
async def put_settings(key: str, body: RetentionSettings, ctx: ContextDep, who: PrincipalDep) -> RetentionSettings:
    """Replace the project's retention settings (maintainer). A field left out or null means
    keep for ever; the project's other settings are not touched."""
    policy = retention.Policy(**body.model_dump())
    return _settings(await run_in_threadpool(retention.set_policy, ctx.db, who, key, policy))


@router.post("/api/v1/projects/{key}/retention/run", response_model=RetentionRun, responses=ERRORS)
async def run_retention(
    key: str,
    ctx: ContextDep,
    who: PrincipalDep,
    dry_run: Annotated[bool, Query(description="count what would be deleted, delete nothing")] = False,
) -> RetentionRun:
    """Apply the project's retention settings now (maintainer), then delete blobs that no
    attachment references any more. Kept and running launches are never deleted."""
    result = await run_in_threadpool(
        lambda: retention.run(
            ctx.db, ctx.blobs, who, project_key=key, dry_run=dry_run, blob_grace_s=ctx.settings.blob_grace_s
        )
    )
    return RetentionRun(
        dry_run=result.dry_run,
        projects=[
            ProjectRetention(
                project=p.project,
                launches=p.launches,
                logs=p.logs,
                attachments=p.attachments,
                attachment_bytes=p.attachment_bytes,
                settings=_settings(p.policy),
            )
            for p in result.projects
        ],
        blobs=result.blobs,
        blob_bytes=result.blob_bytes,
    )


@router.post("/api/v1/launches/{launch_id}/keep", response_model=LaunchKept, responses=ERRORS)
async def keep_launch(launch_id: int, ctx: ContextDep, who: PrincipalDep) -> LaunchKept:
    """Keep a launch (maintainer): retention never deletes it, nor its logs or attachments."""
    state = await run_in_threadpool(retention.set_kept, ctx.db, who, launch_id, True)
    return LaunchKept(id=state.id, name=state.name, kept=state.kept)


@router.post("/api/v1/launches/{launch_id}/unkeep", response_model=LaunchKept, responses=ERRORS)
async def unkeep_launch(launch_id: int, ctx: ContextDep, who: PrincipalDep) -> LaunchKept:
    """Let retention treat the launch like any other again (maintainer)."""
    state = await run_in_threadpool(retention.set_kept, ctx.db, who, launch_id, False)
    return LaunchKept(id=state.id, name=state.name, kept=state.kept)
