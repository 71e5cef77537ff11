"""Templates and the page route: render HTML, map errors to pages, add security headers.

Every web route uses :class:`PageRoute`, so the translation of caserun's exceptions into
pages happens once: not signed in → redirect to the sign-in form, unknown id → 404 page,
too little rights or a bad CSRF token → 403 page, anything else the caller did → its status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from caserun import __version__
from caserun.errors import CaserunError, NotFound, PermissionDenied, Unauthenticated
from caserun.web import present, security

log = logging.getLogger("caserun.web")

TEMPLATES = Path(__file__).parent / "templates"

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every string from a report is escaped, always
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    duration=present.duration,
    when=present.when,
    iso=present.iso,
    percent=present.percent,
    rate_class=present.rate_class,
    size=present.size,
    metadata_value=present.metadata_value,
    label=present.label,
)
env.globals.update(link=present.link, version=__version__)


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    api_url: str | None = None,
    signed_in: bool = True,
    **context: Any,
) -> HTMLResponse:
    """A page. ``api_url`` is the JSON twin linked in the footer."""
    token, fresh_cookie = security.csrf_token(request)
    html = env.get_template(template).render(
        csrf=token,
        csrf_field=security.CSRF_FIELD,
        api_url=api_url,
        signed_in=signed_in,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if fresh_cookie is not None:
        security.set_pre_session_cookie(request, response, fresh_cookie)
    return response


def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        status_code=status_code,
        signed_in=False,
        title=title,
        message=message,
    )


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET":
        target = "/"
    return RedirectResponse(present.link("/login", next=target), status_code=303)


def _path_problem(exc: RequestValidationError) -> bool:
    return any(err.get("loc", ("",))[0] == "path" for err in exc.errors())


def handle(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Unauthenticated):
        return _login_redirect(request)
    if isinstance(exc, NotFound):
        return error_page(request, 404, "Not found", exc.message)
    if isinstance(exc, PermissionDenied):
        return error_page(request, 403, "Not allowed", exc.message)
    if isinstance(exc, CaserunError):
        return error_page(request, exc.status, "That did not work", exc.message)
    if isinstance(exc, RequestValidationError):
        if _path_problem(exc):
            return error_page(request, 404, "Not found", "There is no such page.")
        return error_page(request, 422, "That did not work", "Some of the filters are not valid.")
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(request, 500, "Something broke", "An internal error happened (this is a bug in caserun).")


class PageRoute(APIRoute):
    """An HTML route: errors become pages and every response carries the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except Exception as exc:  # noqa: BLE001 - translated into a page, logged if a bug
                response = handle(request, exc)
            response.headers.update(security.HTML_HEADERS)
            return response

        return handler
