"""Browser-facing security: the session cookie, CSRF tokens, safe redirects and headers.

CSRF uses a per-session token: ``HMAC(server key, session cookie)``. Before sign-in there
is no session, so the login form binds to a random pre-session cookie instead
(``caserun_csrf``, HttpOnly). A forged cross-site form cannot read either cookie, so it
cannot produce the token. The server key is random per process (``app.state``); a form
rendered by one process and posted to another is refused and simply shown again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response

from caserun.api import hardening
from caserun.api.deps import SESSION_COOKIE
from caserun.errors import PermissionDenied

CSRF_COOKIE = "caserun_csrf"
CSRF_FIELD = "csrf"

#: what every page sends (``api.hardening`` adds the same to any other HTML response)
HTML_HEADERS = {
    "Content-Security-Policy": hardening.PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class CsrfRejected(PermissionDenied):
    """A form arrived without the token this browser was given."""


def new_server_key() -> bytes:
    return secrets.token_bytes(32)


def _key(request: Request) -> bytes:
    key: bytes = request.app.state.csrf_key
    return key


def _binding(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(CSRF_COOKIE)


def _sign(request: Request, binding: str) -> str:
    return hmac.new(_key(request), binding.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> tuple[str, str | None]:
    """The token for forms on this page, and a fresh pre-session cookie value to set when
    the browser has neither a session nor one yet."""
    binding = _binding(request)
    fresh = None
    if binding is None:
        fresh = binding = secrets.token_urlsafe(32)
    return _sign(request, binding), fresh


def check_csrf(request: Request, submitted: str | None) -> None:
    binding = _binding(request)
    if not binding or not submitted or not hmac.compare_digest(_sign(request, binding), submitted):
        raise CsrfRejected("this form has expired or did not come from caserun; reload the page and try again")


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_pre_session_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        CSRF_COOKIE, value, httponly=True, samesite="strict", secure=is_secure(request), path="/", max_age=86400
    )


def set_session_cookie(request: Request, response: Response, session: str, days: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=days * 86400,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request))


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
