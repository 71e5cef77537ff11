"""Projects."""

from __future__ import annotations

from fastapi import APIRouter, status
from starlette.concurrency import run_in_threadpool

from caserun.api import schemas
from caserun.api.deps import ContextDep, PrincipalDep
from caserun.domain.model import Role
from caserun.errors import PermissionDenied
from caserun.service import projects

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])


@router.get("", response_model=schemas.Page[schemas.ProjectPublic])
async def list_projects(ctx: ContextDep, who: PrincipalDep) -> schemas.Page[schemas.ProjectPublic]:
    """The projects this token can see."""
    items = await run_in_threadpool(projects.visible, ctx.db, who.project_id)
    return schemas.Page(items=[schemas.ProjectPublic.model_validate(p) for p in items], next=None)


@router.post("", response_model=schemas.ProjectPublic, status_code=status.HTTP_201_CREATED)
async def create_project(body: schemas.ProjectCreate, ctx: ContextDep, who: PrincipalDep) -> schemas.ProjectPublic:
    """Create a project (instance admins only)."""
    if not who.instance_admin:
        raise PermissionDenied("creating projects needs an instance admin token")
    project = await run_in_threadpool(projects.create, ctx.db, body.key, body.name)
    return schemas.ProjectPublic.model_validate(project)


@router.get("/{key}", response_model=schemas.ProjectPublic)
async def get_project(key: str, ctx: ContextDep, who: PrincipalDep) -> schemas.ProjectPublic:
    project = await run_in_threadpool(projects.get, ctx.db, key)
    who.require(Role.VIEWER, project.id)
    return schemas.ProjectPublic.model_validate(project)
