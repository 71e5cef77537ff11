"""Dependencies shared by the routers, defined once as ``Annotated`` aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from caserun.service import auth
from caserun.service.auth import Principal
from caserun.settings import Settings
from caserun.store.blobs import BlobStore
from caserun.store.engine import Database

SESSION_COOKIE = "caserun_session"


@dataclass
class Context:
    settings: Settings
    db: Database
    blobs: BlobStore


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]


async def get_principal(request: Request, ctx: ContextDep) -> Principal:
    """A Bearer token; for safe (read-only) requests a signed-in browser session also works."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return await run_in_threadpool(auth.authenticate, ctx.db, secret.strip())
    session = request.cookies.get(SESSION_COOKIE)
    if session and request.method in ("GET", "HEAD"):
        return await run_in_threadpool(auth.session_principal, ctx.db, session)
    return await run_in_threadpool(auth.authenticate, ctx.db, None)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
