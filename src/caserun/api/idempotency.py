"""The ``Idempotency-Key`` middleware for create requests without a key of their own
(``service.idempotency`` holds the rules).

Only ``POST`` and ``PUT`` under ``/api/v1`` with the header are touched; imports,
``POST /projects/{key}/launches`` and events keep their own keys and client ids. The
body is read once (at most :data:`MAX_BODY` bytes; a larger one with a key is refused
with 413), hashed with the method, path and query, and handed on unchanged; a 2xx answer
of at most :data:`MAX_ANSWER` bytes is stored and replayed with
``Idempotent-Replayed: true``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caserun.api.errors import error_response
from caserun.errors import CaserunError
from caserun.service import idempotency
from caserun.store.engine import Database

MAX_BODY = 16 * 1024**2
MAX_ANSWER = 1024**2
MAX_KEY = 128
#: routes that keep their own keys (the launch row) or client ids (events)
OWN_KEYS = re.compile(r"^/api/v1/projects/[^/]+/(?:imports|launches|events)/?$")


class Idempotency:
    def __init__(self, app: ASGIApp, database: Callable[[], Database]) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        credentials = headers.get("authorization")
        if not key or not credentials or not path.startswith("/api/v1/") or OWN_KEYS.match(path):
            await self.app(scope, receive, send)
            return
        if len(key) > MAX_KEY or not key.isprintable():
            await error_response(422, "invalid_input", f"Idempotency-Key: 1–{MAX_KEY} printable characters")(
                scope, receive, send
            )
            return
        body = await _read_body(receive)
        if body is None:
            message = f"a request with an Idempotency-Key may carry at most {MAX_BODY // 1024**2} MiB"
            await error_response(413, "payload_too_large", message)(scope, receive, send)
            return
        caller = hashlib.sha256(credentials.encode()).hexdigest()
        digest = hashlib.sha256(b"\0".join([scope.get("query_string", b""), body])).hexdigest()
        db = self.database()
        try:
            stored = await run_in_threadpool(idempotency.claim, db, caller, key, scope["method"], path, digest)
        except CaserunError as exc:
            await error_response(exc.status, exc.code, exc.message)(scope, receive, send)
            return
        if stored is not None:
            await _replay(stored, send)
            return
        await self._answer(scope, body, send, db, caller, key)

    async def _answer(self, scope: Scope, body: bytes, send: Send, db: Database, caller: str, key: str) -> None:
        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        content_type = "application/json"
        chunks: list[bytes] = []
        size = 0

        async def capture(message: Message) -> None:
            nonlocal status, content_type, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
                content_type = Headers(raw=message.get("headers", [])).get("content-type", content_type)
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
                if size <= MAX_ANSWER:
                    chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            if 200 <= status < 300 and size <= MAX_ANSWER:
                answer = idempotency.Answer(status, content_type, b"".join(chunks).decode("utf-8", "replace"))
                await run_in_threadpool(idempotency.complete, db, caller, key, answer)
            else:
                await run_in_threadpool(idempotency.release, db, caller, key)


async def _read_body(receive: Receive) -> bytes | None:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _replay(answer: idempotency.Answer, send: Send) -> None:
    body = answer.body.encode("utf-8")
    headers = [
        (b"content-type", answer.content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    await send({"type": "http.response.start", "status": answer.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI) -> None:
    app.add_middleware(Idempotency, database=lambda: app.state.ctx.db)
