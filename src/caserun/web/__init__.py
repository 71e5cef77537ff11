"""The web UI: server-rendered pages over the same services as the API.

``install(app)`` adds the pages, the sign-in routes and ``/static``. Templates are Jinja2
with autoescape on; the only script-free, style-only assets are in ``static/``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from caserun.web import actions, analysis_pages, defect_pages, pages, security, share_pages, signin, token_pages
from caserun.web import manual_pages as manual

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, secret_key: bytes | None = None) -> None:
    """``secret_key`` signs CSRF tokens; every server process sharing a database must use the
    same one (``caserun serve`` keeps it in the data directory)."""
    app.state.csrf_key = secret_key or security.new_server_key()
    app.include_router(signin.router)
    app.include_router(pages.router)
    app.include_router(analysis_pages.router)
    app.include_router(defect_pages.router)
    app.include_router(actions.router)
    app.include_router(share_pages.router)
    app.include_router(token_pages.router)
    app.include_router(manual.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
