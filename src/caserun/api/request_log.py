"""One log line per HTTP request, with a request id, and the JSON log format.

``RequestLog`` wraps the ASGI app (``caserun serve`` puts it outermost): it takes the
caller's ``X-Request-ID`` (when it looks sane) or makes one, returns it in the response's
``X-Request-ID`` header, and logs ``method``, ``path``, ``status``, ``duration_ms`` and
``request_id`` to the ``caserun.access`` logger when the response is done. The query
string is not logged: it may carry a share-link secret.

``JsonFormatter`` writes each record as one JSON object a line: ``time``, ``level``,
``logger``, ``message`` and those request fields when present.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access = logging.getLogger("caserun.access")
FIELDS = ("request_id", "method", "path", "status", "duration_ms", "client")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex
        started = time.perf_counter()
        status = 500  # an exception before the response started is a server error

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            client = scope.get("client")
            fields = {
                "request_id": request_id,
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "client": client[0] if client else None,
            }
            access.info("%s %s %s %sms", fields["method"], fields["path"], status, fields["duration_ms"], extra=fields)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({name: getattr(record, name) for name in FIELDS if hasattr(record, name)})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def log_config(fmt: str, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and caserun: ``text`` or ``json`` lines on stderr."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            "uvicorn": {"handlers": ["main"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "caserun": {"handlers": ["main"], "level": level, "propagate": False},
        },
    }
