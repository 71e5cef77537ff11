"""The application factory. Nothing connects at import time: ``create_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from caserun import __version__, web
from caserun.api import case_runs, errors, launches, meta, projects
from caserun.api import history as history_api
from caserun.api.deps import Context
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
    for module in (meta, projects, launches, case_runs, history_api):
        app.include_router(module.router)
    web.install(app)
    return app
