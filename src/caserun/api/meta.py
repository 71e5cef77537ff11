"""Introspection: health, version and the list of report formats."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from caserun import __version__
from caserun.api import schemas
from caserun.api.deps import ContextDep
from caserun.api.errors import error_response
from caserun.ingest import registry

router = APIRouter()


@router.get(
    "/healthz",
    response_model=schemas.Health,
    tags=["meta"],
    responses={503: {"model": schemas.ErrorResponse}},
)
async def healthz(ctx: ContextDep) -> schemas.Health | JSONResponse:
    """Liveness and database reachability; needs no token."""

    def ping() -> None:
        with ctx.db.read() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except Exception:  # the database is down: say so, as 503
        return error_response(503, "unavailable", "database unreachable")
    return schemas.Health(status="ok", version=__version__, database=ctx.db.engine.dialect.name)


@router.get("/api/v1/version", tags=["meta"])
async def version() -> dict[str, str]:
    return {"version": __version__}


@router.get("/api/v1/formats", response_model=list[schemas.FormatPublic], tags=["meta"])
async def formats() -> list[schemas.FormatPublic]:
    """Every report format this server can import (built-in and plugins)."""
    return [schemas.FormatPublic.model_validate(f) for f in registry.describe()]
