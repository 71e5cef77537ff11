"""``project create``, ``token create``, ``db upgrade|check``: work on the database directly."""

from __future__ import annotations

from typing import Annotated

import typer

from caserun.cli.options import DatabaseOpt, DataDirOpt, OutputOpt, open_database, settings
from caserun.cli.output import console, emit_json, fail
from caserun.service import auth, projects
from caserun.store import migrate
from caserun.store.engine import Database

project_app = typer.Typer(help="Manage projects.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@project_app.command("create")
def project_create(
    key: Annotated[str, typer.Argument(help="Short key, e.g. web.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
    output: OutputOpt = "text",
) -> None:
    """Create a project."""
    with open_database(settings(database, data_dir)) as db:
        project = projects.create(db, key, name)
    if output == "json":
        emit_json({"project": {"id": project.id, "key": project.key, "name": project.name}})
    else:
        console.print(f"created project {project.key}")


@token_app.command("create")
def token_create(
    project: Annotated[str | None, typer.Option("--project", help="Project key; omit for an instance token.")] = None,
    role: Annotated[str, typer.Option(help="viewer, reporter, maintainer or admin.")] = "reporter",
    name: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    expires_days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create a token. It is printed once, as the last word; only its hash is stored."""
    if project is None and role != "admin":
        fail("a token without --project must be an admin token (instance admin)", 2)
    with open_database(settings(database, data_dir)) as db:
        issued = auth.create_token(
            db, project_key=project, role=auth.parse_role(role), name=name, expires_days=expires_days
        )
    scope = f"project {project}" if project else "every project"
    typer.echo(f"{issued.role.value} token for {scope} (shown once): {issued.token}")


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """Apply pending schema migrations."""
    with open_database(settings(database, data_dir)):
        pass
    console.print(f"schema at {migrate.head()}")


@db_app.command("check")
def db_check(database: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """Exit 1 unless the database schema is current and matches the code."""
    db = Database.from_url(settings(database, data_dir).db_url)
    try:
        current, head = migrate.current(db.engine), migrate.head()
        diff = migrate.pending_differences(db.engine) if current == head else []
    finally:
        db.dispose()
    if current != head:
        fail(f"schema is at {current}, code expects {head}: run `caserun db upgrade`")
    if diff:
        fail(f"schema differs from the code: {diff}")
    console.print(f"schema is current ({head})")


def register(app: typer.Typer) -> None:
    app.add_typer(project_app, name="project")
    app.add_typer(token_app, name="token")
    app.add_typer(db_app, name="db")
