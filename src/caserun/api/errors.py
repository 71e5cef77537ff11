"""Every error leaves the API as ``{"error": {"code", "message"}}``; 5xx only for bugs."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException

from caserun.api.schemas import ErrorResponse
from caserun.errors import CaserunError

log = logging.getLogger("caserun")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


#: the error statuses any API operation may answer, documented on each of them
DOCUMENTED_ERRORS = {
    400: "Bad request",
    401: "No or wrong credentials",
    403: "The token's role is too low",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    422: "Invalid input",
}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
_VALIDATION_REF = "#/components/schemas/HTTPValidationError"


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Every ``/api/`` operation documents the error statuses with the shape they really have
    (FastAPI's default 422 body, ``{"detail": [...]}``, is never sent: the handler below
    answers ``{"error": ...}``)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorResponse" not in components:
        shape = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(shape.pop("$defs", {}))
        components["ErrorResponse"] = shape
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for status, description in DOCUMENTED_ERRORS.items():
                current = responses.get(str(status))
                content = (current or {}).get("content", {}).get("application/json", {}).get("schema", {})
                if current is None or content.get("$ref") == _VALIDATION_REF:
                    responses[str(status)] = {
                        "description": description,
                        "content": {"application/json": {"schema": _ERROR_REF}},
                    }
    return schema


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return document_errors(generate())  # idempotent, on FastAPI's cached schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(CaserunError)
    async def _caserun(request: Request, exc: CaserunError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        response = error_response(exc.status, exc.code, exc.message)
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_input", _validation_message(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # two requests raced to write one unique thing (on PostgreSQL, two retries with one
        # Idempotency-Key): the loser's transaction was rolled back whole; resending it is safe
        log.info("unique conflict on %s %s: %s", request.method, request.url.path, exc.orig)
        return error_response(
            409, "conflict", "a concurrent request wrote the same data (same key or idempotency key); resend to read it"
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # a number past what the database stores (an id of 2**63, say) is the caller's mistake;
        # other overflows are bugs and stay 500s
        if isinstance(exc, DataError) or "too large to convert" in str(exc):
            return error_response(
                422, "invalid_input", "a value in the request is out of the range the database stores"
            )
        return await _bug(request, exc)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal server error (this is a bug in caserun)")
