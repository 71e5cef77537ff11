"""Share links in the browser: the maintainers' section of a launch (create, list,
revoke) and the public read-only view ``/s/{token}``.

The public view stands alone: its own page frame with no navigation and no link into
the rest of caserun, ``noindex``, no caching. An unknown, expired or revoked link and a
wrong password all get the same "not available" page (404), byte for byte. A correct
password sets a cookie scoped to ``/s/{token}`` holding an HMAC of the link and its
password hash under the installation's key, so paging through the case runs does not ask
again, and revoking the link ends it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import ContextDep
from caserun.errors import CaserunError
from caserun.service import launches, share_links
from caserun.service.share_links import ShareAccess, ShareUnavailable, TooManyAttempts
from caserun.web import present, security
from caserun.web.rendering import PageRoute, render
from caserun.web.signin import SignedInDep

router = APIRouter(route_class=PageRoute, include_in_schema=False)

UNLOCK_COOKIE = "caserun_share"
UNLOCK_HOURS = 12
PUBLIC_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


# -- the maintainers' section of a launch --------------------------------------------------


async def _manage_page(
    request: Request,
    ctx: ContextDep,
    who: SignedInDep,
    launch_id: int,
    *,
    created: object = None,
    status_code: int = 200,
) -> Response:
    view = await run_in_threadpool(launches.get, ctx.db, who, launch_id, ctx.settings.base_url)
    links = await run_in_threadpool(share_links.list_links, ctx.db, who, launch_id)
    return render(
        request,
        "share_manage.html",
        status_code=status_code,
        title=f"Share {view.name}",
        crumbs=[
            (view.project_key, f"/projects/{view.project_key}"),
            (view.name, f"/launches/{view.id}"),
            ("Share", None),
        ],
        launch=view,
        links=links,
        created=created,
        max_days=share_links.MAX_DAYS,
        default_days=share_links.DEFAULT_DAYS,
    )


@router.get("/launches/{launch_id}/share")
async def manage(request: Request, launch_id: int, ctx: ContextDep, who: SignedInDep) -> Response:
    """The launch's share links with their state and views, and a form for a new one."""
    return await _manage_page(request, ctx, who, launch_id)


@router.post("/launches/{launch_id}/share")
async def create(
    request: Request,
    launch_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    expires_in_days: Annotated[int, Form(ge=1, le=share_links.MAX_DAYS)] = share_links.DEFAULT_DAYS,
    password: Annotated[str, Form(max_length=share_links.PASSWORD_MAX)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    security.check_csrf(request, csrf)
    created = await run_in_threadpool(
        share_links.create,
        ctx.db,
        who,
        launch_id,
        expires_in_days=expires_in_days,
        password=password or None,
        base_url=ctx.settings.base_url,
    )
    response = await _manage_page(request, ctx, who, launch_id, created=created, status_code=201)
    response.headers["Cache-Control"] = "no-store"  # the page shows the link's secret once
    return response


@router.post("/share-links/{link_id}/revoke")
async def revoke(
    request: Request,
    link_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    security.check_csrf(request, csrf)
    link = await run_in_threadpool(share_links.revoke, ctx.db, who, link_id)
    return RedirectResponse(f"/launches/{link.launch_id}/share", status_code=303)


# -- the public view ---------------------------------------------------------------------


def _unlock_value(request: Request, access: ShareAccess) -> str:
    key: bytes = request.app.state.csrf_key
    return hmac.new(key, access.unlock_secret.encode(), hashlib.sha256).hexdigest()


def _unlocked(request: Request, access: ShareAccess) -> bool:
    given = request.cookies.get(UNLOCK_COOKIE, "")
    return bool(given) and hmac.compare_digest(given, _unlock_value(request, access))


def _public(response: Response) -> Response:
    response.headers.update(PUBLIC_HEADERS)
    return response


def unavailable(request: Request) -> Response:
    """One page for every way a link does not work: nothing tells them apart."""
    return _public(render(request, "share_unavailable.html", status_code=404, signed_in=False, title="Not available"))


def _password_form(request: Request, token: str, *, status_code: int = 200, message: str | None = None) -> Response:
    return _public(
        render(
            request,
            "share_password.html",
            status_code=status_code,
            signed_in=False,
            title="Password needed",
            action=f"/s/{token}",
            message=message,
        )
    )


@router.get("/s/{token}")
async def shared_launch(
    request: Request,
    token: str,
    ctx: ContextDep,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """The shared launch: summary, case runs (paged) and failures; nothing else of caserun."""
    try:
        access = await run_in_threadpool(share_links.resolve, ctx.db, token)
        if access.needs_password and not _unlocked(request, access):
            return _password_form(request, token)
        shared = await run_in_threadpool(share_links.view, ctx.db, access, cursor=cursor)
    except ShareUnavailable:
        return unavailable(request)
    except CaserunError:  # a bad cursor: show the first page
        return RedirectResponse(f"/s/{token}", status_code=303)
    s = shared.launch.summary
    return _public(
        render(
            request,
            "share_launch.html",
            signed_in=False,
            title=shared.launch.name,
            shared=shared,
            s=s,
            next_url=present.link(f"/s/{token}", cursor=shared.next) if shared.next else None,
            first_url=f"/s/{token}" if cursor else None,
        )
    )


@router.post("/s/{token}")
async def unlock(
    request: Request,
    token: str,
    ctx: ContextDep,
    password: Annotated[str, Form(max_length=share_links.PASSWORD_MAX)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the link's password; a wrong one gets the same page as a dead link."""
    security.check_csrf(request, csrf)
    visitor = request.client.host if request.client else "unknown"
    try:
        access = await run_in_threadpool(share_links.unlock, ctx.db, token, password, visitor)
    except ShareUnavailable:
        return unavailable(request)
    except TooManyAttempts as exc:
        return _password_form(request, token, status_code=429, message=exc.message)
    response = RedirectResponse(f"/s/{token}", status_code=303)
    response.set_cookie(
        UNLOCK_COOKIE,
        _unlock_value(request, access),
        max_age=UNLOCK_HOURS * 3600,
        path=f"/s/{token}",
        httponly=True,
        samesite="strict",
        secure=security.is_secure(request),
    )
    return _public(response)
