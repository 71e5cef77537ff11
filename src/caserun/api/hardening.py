"""HTTP hardening for every response and request, API and pages alike (one ASGI middleware).

- **Headers.** Every response carries ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options: DENY`` and ``Referrer-Policy: same-origin``. HTML gets the pages'
  Content-Security-Policy (no inline script, no framing) unless its route set one; the
  Swagger UI at ``/api/docs`` gets a policy of its own (it needs its CDN and one inline
  script); everything else gets ``default-src 'none'; sandbox``, so a response a browser is
  tricked into rendering can run nothing.
- **Downloads.** A response with ``Content-Disposition`` (attachments, ZIP files) may only
  be shown inline when its type is in :data:`INLINE_TYPES` (raster images and video);
  anything else becomes an ``attachment``, and a type that can carry script (HTML, SVG and
  any XML, JavaScript, PDF) always goes out as ``application/octet-stream``. :func:`content_disposition`
  builds the header with an ASCII fallback name and the RFC 5987 ``filename*``.
- **Body size.** Bodies past a limit get ``413`` with the JSON error body, before the
  route runs when ``Content-Length`` says so, or as soon as the streamed body passes it:
  multipart uploads up to ``Settings.max_upload_bytes``, HTML forms up to
  :data:`MAX_FORM_BYTES`, every other body up to :data:`MAX_BODY_BYTES`.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caserun.api.errors import error_response
from caserun.errors import PayloadTooLarge

#: the largest body that is not a multipart upload or a form (matches the events batch limit)
MAX_BODY_BYTES = 64 * 1024**2
#: the largest URL-encoded form a page may post
MAX_FORM_BYTES = 1024**2

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data: https://fastapi.tiangolo.com; "
    "style-src 'self' https://cdn.jsdelivr.net; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
)
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
DOCS_PATHS = ("/api/docs", "/docs/oauth2-redirect")

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

#: types that can carry script: a download never keeps them, inline or not
ACTIVE_TYPES = ("text/html", "text/xml", "application/xml", "text/xsl", "application/pdf", "multipart/x-mixed-replace")
#: the only types a download may be shown inline as: they cannot carry script
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "video/mp4", "video/webm")


class BodyTooLarge(PayloadTooLarge, HTTPException):
    """A request body over its limit. An :class:`HTTPException` too, so FastAPI's body
    parsing lets it through instead of calling it a malformed body."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        size = f"of {declared} bytes " if declared is not None else ""
        message = f"request body {size}is over the limit of {limit} bytes"
        PayloadTooLarge.__init__(self, message)
        self.status_code = 413
        self.detail = message
        self.headers = None


def content_disposition(name: str, *, inline: bool = False) -> str:
    """``attachment; filename="..."; filename*=UTF-8''...`` for any name: the quoted name
    keeps only safe ASCII, the RFC 5987 form carries the rest percent-encoded."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._- ") else "_" for c in base)[:200]
    fallback = fallback.strip(" .") or "attachment"
    kind = "inline" if inline else "attachment"
    encoded = quote(base[:200], safe="")
    if not encoded or encoded == quote(fallback, safe=""):
        return f'{kind}; filename="{fallback}"'
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _active(media: str) -> bool:
    """A type a browser would run script in, were it ever shown."""
    return media in ACTIVE_TYPES or media.endswith("+xml") or "javascript" in media


def _media_type(headers: MutableHeaders) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def secure_headers(path: str, headers: MutableHeaders) -> None:
    """Add the security headers to one response's headers (in place)."""
    for name, value in COMMON_HEADERS.items():
        headers[name] = value
    media = _media_type(headers)
    disposition = headers.get("content-disposition")
    if disposition is not None:
        inline = disposition.strip().lower().startswith("inline")
        if inline and media not in INLINE_TYPES:
            headers["content-disposition"] = "attachment" + disposition.strip()[len("inline") :]
        if (inline and media not in INLINE_TYPES) or _active(media):
            headers["content-type"] = "application/octet-stream"
        headers["Content-Security-Policy"] = OTHER_CSP
        return
    if "content-security-policy" in headers:
        return
    if media == "text/html":
        headers["Content-Security-Policy"] = DOCS_CSP if path in DOCS_PATHS else PAGE_CSP
    else:
        headers["Content-Security-Policy"] = OTHER_CSP


class Hardening:
    """The middleware; ``upload_limit`` is read per request (settings may change in tests)."""

    def __init__(
        self,
        app: ASGIApp,
        upload_limit: Callable[[], int],
        *,
        body_limit: int = MAX_BODY_BYTES,
        form_limit: int = MAX_FORM_BYTES,
    ) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.body_limit = body_limit
        self.form_limit = form_limit

    def limit_for(self, headers: Headers) -> int:
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media == "multipart/form-data":
            return self.upload_limit()
        if media == "application/x-www-form-urlencoded":
            return self.form_limit
        return self.body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        started = False

        async def send_secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                secure_headers(path, MutableHeaders(scope=message))
            await send(message)

        headers = Headers(scope=scope)
        limit = self.limit_for(headers)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(BodyTooLarge(limit, int(declared)), scope, receive, send_secured)
            return
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, receive_limited, send_secured)
        except BodyTooLarge as exc:
            if started:
                raise
            await self._too_large(exc, scope, receive, send_secured)

    @staticmethod
    async def _too_large(exc: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, exc.code, exc.message)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Wrap ``app`` in the middleware; the upload limit comes from its settings."""

    def upload_limit() -> int:
        return int(app.state.ctx.settings.max_upload_bytes)

    app.add_middleware(Hardening, upload_limit=upload_limit)
