"""The application factory. Nothing connects at import time: ``create_app(settings)``."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from caserun import __version__, web
from caserun.api import case_runs, errors, events, hardening, launches, meta, projects, stream
from caserun.api import defects as defects_api
from caserun.api import exports as exports_api
from caserun.api import history as history_api
from caserun.api import idempotency as idempotency_keys
from caserun.api import manual as manual_api
from caserun.api import patterns as patterns_api
from caserun.api import quarantine as quarantine_api
from caserun.api import retention as retention_api
from caserun.api import share_links as share_links_api
from caserun.api import tokens as tokens_api
from caserun.api import triage as triage_api
from caserun.api import webhooks as webhooks_api
from caserun.api.deps import Context
from caserun.service import sweeper, webhook_sender
from caserun.settings import Settings
from caserun.store import migrate
from caserun.store.blobs import FileBlobStore
from caserun.store.engine import Database

DESCRIPTION = """caserun keeps every test execution as a **case run** inside a **launch** and
explains its history. Authenticate with `Authorization: Bearer <token>`. Errors are
`{"error": {"code", "message"}}`; lists are `{"items": [...], "next": cursor}`."""


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    db = database or Database.from_url(settings.db_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate.upgrade(db.engine)
        # the sweeper finishes launches left running; the sender delivers the webhook outbox
        async with sweeper.background(db, settings), webhook_sender.background(db, settings):
            yield
        db.dispose()

    app = FastAPI(
        title="caserun",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.ctx = Context(settings=settings, db=db, blobs=FileBlobStore(settings.blob_dir))
    errors.install(app)
    for module in (meta, projects, launches, case_runs, history_api, events, stream):
        app.include_router(module.router)
    app.include_router(defects_api.router)
    app.include_router(quarantine_api.router)
    app.include_router(triage_api.router)
    app.include_router(patterns_api.router)
    app.include_router(retention_api.router)
    app.include_router(exports_api.router)
    app.include_router(share_links_api.router)
    app.include_router(tokens_api.router)
    app.include_router(webhooks_api.router)
    app.include_router(manual_api.router)
    web.install(app, _secret_key(settings))
    idempotency_keys.install(app)  # inside hardening: body limits come first
    hardening.install(app)
    return app


def _secret_key(settings: Settings) -> bytes:
    """The key every process of this installation shares: from settings, else a file in the
    data directory written once (readable by its owner only)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".secret.key.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # atomic: the first process to start wins, the others read its key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()
