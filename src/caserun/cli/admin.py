"""``project create``, ``token create|list|revoke``, ``db upgrade|check``: work on the database
directly (whoever can open the database is trusted as its operator)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from caserun.cli.options import DatabaseOpt, DataDirOpt, OutputOpt, open_database, settings
from caserun.cli.output import console, emit_json, fail

if TYPE_CHECKING:
    from caserun.service import auth

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
    from caserun.service import projects

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
    from caserun.service import auth

    with open_database(settings(database, data_dir)) as db:
        issued = auth.create_token(
            db, project_key=project, role=auth.parse_role(role), name=name, expires_days=expires_days
        )
    scope = f"project {project}" if project else "every project"
    typer.echo(f"{issued.role.value} token for {scope} (shown once): {issued.token}")


@token_app.command("list")
def token_list(
    project: Annotated[str | None, typer.Option("--project", help="Only this project's tokens.")] = None,
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
    output: OutputOpt = "text",
) -> None:
    """List tokens: id, name, role, project, state, created, expires, last used. Never the secret."""
    from caserun.service import auth

    with open_database(settings(database, data_dir)) as db:
        views = auth.list_tokens(db, None, project)
    if output == "json":
        emit_json({"items": [_token_json(v) for v in views]})
        return
    if not views:
        console.print("no tokens")
        return
    table = Table("id", "name", "role", "project", "prefix", "state", "created", "expires", "last used")
    for v in views:
        table.add_row(
            str(v.id),
            v.name,
            v.role.value,
            v.project_key or "(instance)",
            v.prefix + "…",
            v.state,
            _when(v.created_at),
            _when(v.expires_at),
            _when(v.last_used_at),
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `caserun token list`).")],
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a token at once; its web sessions end too. Revoking twice is harmless."""
    from caserun.service import auth

    with open_database(settings(database, data_dir)) as db:
        view = auth.revoke_token(db, None, token_id)
    console.print(f"revoked token {view.id} ({view.name})", highlight=False, markup=False)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _token_json(v: auth.TokenView) -> dict[str, object]:
    return {
        "id": v.id,
        "name": v.name,
        "role": v.role.value,
        "project_key": v.project_key,
        "prefix": v.prefix,
        "state": v.state,
        "created_at": v.created_at.isoformat(),
        "expires_at": v.expires_at.isoformat() if v.expires_at else None,
        "last_used_at": v.last_used_at.isoformat() if v.last_used_at else None,
        "revoked_at": v.revoked_at.isoformat() if v.revoked_at else None,
    }


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """Apply pending schema migrations."""
    from caserun.store import migrate

    with open_database(settings(database, data_dir)):
        pass
    console.print(f"schema at {migrate.head()}")


@db_app.command("check")
def db_check(database: DatabaseOpt = None, data_dir: DataDirOpt = None) -> None:
    """Exit 1 unless the database schema is current and matches the code."""
    from caserun.store import migrate
    from caserun.store.engine import Database

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
