"""The tokens page: list a project's tokens (every token for an instance admin), issue one
(its secret is shown on the answer page once, never put in a URL) and revoke one.

Rights are the service's: maintainers and admins of a project manage its tokens up to
their own role, an instance admin every token; anyone else gets the 403 page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import ContextDep
from caserun.domain.model import Role
from caserun.errors import InvalidInput
from caserun.service import auth, projects
from caserun.service.auth import IssuedToken, Principal
from caserun.web import present, security
from caserun.web.rendering import PageRoute, render
from caserun.web.signin import SignedInDep

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ProjectKey = Annotated[str | None, Query(max_length=64)]
NOTICES = {"revoked": "The token was revoked; its sessions have ended."}


async def _page(
    request: Request, ctx: ContextDep, who: Principal, project: str | None, issued: IssuedToken | None = None
) -> Response:
    project = project or None
    items = await run_in_threadpool(auth.list_tokens, ctx.db, who, project)
    visible = await run_in_threadpool(projects.visible, ctx.db, who.project_id)
    roles = [r.value for r in Role if who.role.allows(r)]
    response = render(
        request,
        "tokens.html",
        status_code=201 if issued else 200,
        title="Tokens",
        crumbs=[("Tokens", None)],
        tokens=items,
        project=project,
        projects=[p.key for p in visible],
        instance_admin=who.instance_admin,
        roles=roles,
        issued=issued,
        notice=NOTICES.get(request.query_params.get("done", "")),
        api_url=present.link("/api/v1/tokens", project=project),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/tokens")
async def tokens_page(request: Request, ctx: ContextDep, who: SignedInDep, project: ProjectKey = None) -> Response:
    """Tokens of ``project`` (default: the signed-in token's project)."""
    return await _page(request, ctx, who, project)


@router.post("/tokens")
async def issue_token(
    request: Request,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "reporter",
    project: Annotated[str, Form(max_length=64)] = "",
    expires_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    security.check_csrf(request, csrf)
    days: int | None = None
    if expires_days.strip():
        if not expires_days.strip().isdigit():
            raise InvalidInput("expires in days must be a whole number")
        days = int(expires_days.strip())
    issued = await run_in_threadpool(
        lambda: auth.create_token(
            ctx.db,
            project_key=project.strip() or None,
            role=auth.parse_role(role),
            name=name.strip() or None,
            expires_days=days,
            by=who,
        )
    )
    return await _page(request, ctx, who, issued.project_key, issued)


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request,
    token_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    security.check_csrf(request, csrf)
    view = await run_in_threadpool(auth.revoke_token, ctx.db, who, token_id)
    return RedirectResponse(present.link("/tokens", project=view.project_key, done="revoked"), status_code=303)
