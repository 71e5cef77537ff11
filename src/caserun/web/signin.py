"""Signing in and out of the web UI, and who is signed in.

A browser signs in with a one-time link (``/login/{code}``, printed by ``caserun serve``)
or by pasting a token into ``/login``; either way it gets a session cookie (HttpOnly,
SameSite=Lax, Secure over https). The API accepts that cookie for reads, so pages can
show attachments with plain ``<img src>``.

Failed sign-ins (a wrong token, a used or unknown link) are counted per client address in
the database: after ``auth.SIGNIN_FAILURES`` within ``auth.SIGNIN_WINDOW`` the client gets
429 with ``Retry-After`` until the window has passed, in every server process. Behind a
reverse proxy run uvicorn with ``--proxy-headers`` so the address is the real client's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import SESSION_COOKIE, ContextDep
from caserun.errors import Unauthenticated
from caserun.service import auth
from caserun.service.auth import Principal, SignInThrottled
from caserun.web import security
from caserun.web.rendering import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


async def session_principal(request: Request, ctx: ContextDep) -> Principal:
    """The signed-in principal; :class:`Unauthenticated` (→ sign-in redirect) otherwise."""
    return await run_in_threadpool(auth.session_principal, ctx.db, request.cookies.get(SESSION_COOKIE))


SignedInDep = Annotated[Principal, Depends(session_principal)]


def _login_form(request: Request, next_path: str, *, error: str | None = None, status_code: int = 200) -> Response:
    return render(
        request,
        "login.html",
        status_code=status_code,
        signed_in=False,
        title="Sign in",
        next_path=next_path,
        error=error,
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _throttled(request: Request, next_path: str, exc: SignInThrottled) -> Response:
    response = _login_form(request, next_path, error=f"{exc.message.capitalize()}.", status_code=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _signed_in(request: Request, session: str, days: int, next_path: str) -> Response:
    response = RedirectResponse(next_path, status_code=303)
    security.set_session_cookie(request, response, session, days)
    response.delete_cookie(security.CSRF_COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    """The form to sign in with a token."""
    return _login_form(request, security.local_path(next))


@router.post("/login")
async def login_with_token(
    request: Request,
    ctx: ContextDep,
    token: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    security.check_csrf(request, csrf)
    target = security.local_path(next)
    if not token.strip():
        return _login_form(request, target, error="Paste a token to sign in.", status_code=422)
    client = client_address(request)
    try:
        await run_in_threadpool(auth.check_signin, ctx.db, client)
        session = await run_in_threadpool(auth.sign_in_with_token, ctx.db, token.strip(), ctx.settings.session_days)
    except SignInThrottled as exc:
        return _throttled(request, target, exc)
    except Unauthenticated:
        await run_in_threadpool(auth.record_signin_failure, ctx.db, client)
        error = "That token is not valid (or was revoked, or has expired)."
        return _login_form(request, target, error=error, status_code=401)
    return _signed_in(request, session, ctx.settings.session_days, target)


@router.get("/login/{code}")
async def login_with_code(request: Request, code: str, ctx: ContextDep, next: str | None = None) -> Response:
    """Redeem a one-time sign-in link."""
    target = security.local_path(next)
    client = client_address(request)
    try:
        await run_in_threadpool(auth.check_signin, ctx.db, client)
        session = await run_in_threadpool(auth.redeem_login_code, ctx.db, code, ctx.settings.session_days)
    except SignInThrottled as exc:
        return _throttled(request, target, exc)
    except Unauthenticated as exc:
        await run_in_threadpool(auth.record_signin_failure, ctx.db, client)
        return _login_form(request, target, error=f"{exc.message.capitalize()}. Sign in with a token.", status_code=401)
    return _signed_in(request, session, ctx.settings.session_days, target)


@router.post("/logout")
async def logout(request: Request, ctx: ContextDep, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    security.check_csrf(request, csrf)
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        await run_in_threadpool(auth.sign_out, ctx.db, session)
    response = RedirectResponse("/login", status_code=303)
    security.clear_session_cookie(request, response)
    return response
