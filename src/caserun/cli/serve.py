"""``caserun serve``: start the server (migrating the schema first)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer
import uvicorn

from caserun.app import create_app
from caserun.cli.options import DatabaseOpt, DataDirOpt, open_database, settings
from caserun.cli.output import console
from caserun.service import auth, demo


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8321,
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
    demo_data: Annotated[bool, typer.Option("--demo", help="Create the 'demo' project with history.")] = False,
    workers: Annotated[int, typer.Option(help="Server processes (PostgreSQL only for more than 1).")] = 1,
) -> None:
    """Start caserun and print the URL to open."""
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
    uvicorn.run(create_app(cfg), host=host, port=port, log_level="info", workers=None if workers == 1 else workers)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
