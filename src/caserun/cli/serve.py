"""``caserun serve``: start the server (migrating the schema first)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from caserun.cli.options import DatabaseOpt, DataDirOpt, open_database, settings
from caserun.cli.output import console, fail
from caserun.settings import Settings

if TYPE_CHECKING:
    from caserun.api.request_log import RequestLog

# The server's modules (FastAPI, uvicorn, the app) are imported when ``serve`` runs, not
# when any ``caserun`` command starts: ``caserun upload`` in CI must not pay for them.

LOG_FORMATS = ("text", "json")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8321,
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
    demo_data: Annotated[bool, typer.Option("--demo", help="Create the 'demo' project with history.")] = False,
    workers: Annotated[int, typer.Option(help="Server processes (PostgreSQL only for more than 1).")] = 1,
    log_format: Annotated[
        str, typer.Option("--log-format", envvar="CASERUN_LOG_FORMAT", help="text or json (one object a line).")
    ] = "text",
) -> None:
    """Start caserun and print the URL to open.

    Every request is logged with a request id (also sent back as X-Request-ID), method,
    path, status and duration. On SIGTERM or Ctrl-C the server stops accepting connections
    and lets requests in flight finish (up to CASERUN_SHUTDOWN_GRACE, default 30s)."""
    if log_format not in LOG_FORMATS:
        fail(f"--log-format must be text or json, not {log_format!r}", 2)
    import uvicorn

    from caserun.api.request_log import RequestLog, log_config
    from caserun.app import create_app
    from caserun.service import auth, demo

    cfg = settings(database, data_dir)
    cfg = replace(cfg, host=host, port=port)
    with open_database(cfg) as db:
        if demo_data and demo.seed(db, cfg.blob_dir):
            console.print("created the demo project with its history")
        code = auth.bootstrap(db)
    console.print(f"caserun is running at [bold]{cfg.base_url}[/]", highlight=False)
    if code:
        console.print(
            "No token existed, so an admin token was created. Sign in once with:\n"
            f"  [bold]{cfg.base_url}/login/{code}[/]",
            highlight=False,
        )
    options = {
        "host": host,
        "port": port,
        "log_config": log_config(log_format),
        "access_log": False,  # RequestLog writes one richer line per request
        "timeout_graceful_shutdown": cfg.shutdown_grace_s,
    }
    if workers == 1:
        uvicorn.run(RequestLog(create_app(cfg)), **options)  # type: ignore[arg-type]
        return
    # several processes import the app by name; they read the settings from the environment
    os.environ.update(_environment(cfg))
    uvicorn.run("caserun.cli.serve:app_from_env", factory=True, workers=workers, **options)  # type: ignore[arg-type]


def _environment(cfg: Settings) -> dict[str, str]:
    env = {"CASERUN_DATA_DIR": str(cfg.data_dir), "CASERUN_PUBLIC_URL": cfg.base_url}
    if cfg.database_url:
        env["CASERUN_DATABASE_URL"] = cfg.database_url
    return env


def app_from_env() -> RequestLog:
    """The app for one of several worker processes (``caserun serve --workers N``)."""
    from caserun.api.request_log import RequestLog
    from caserun.app import create_app

    return RequestLog(create_app(Settings.from_env()))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
