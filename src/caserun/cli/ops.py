"""Operations on the database directly (no server needed): ``db sweep``, ``retention run``,
``retention keep|unkeep``, ``export-project`` and ``import-project``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from caserun.cli import admin
from caserun.cli.options import DatabaseOpt, DataDirOpt, OutputOpt, open_database, settings
from caserun.cli.output import console, emit_json
from caserun.settings import parse_duration

retention_app = typer.Typer(help="Delete old launches, logs and attachments per project.", no_args_is_help=True)
BlobsDirOpt = Annotated[
    Path | None, typer.Option("--blobs-dir", help="Attachments as files in this directory instead of inline base64.")
]


def db_sweep(
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
    stale_after: Annotated[
        str | None, typer.Option(help="Inactivity after which a running launch is stopped: 7200, 90m, 2h, 1d.")
    ] = None,
) -> None:
    """Finish as stopped every running launch with no activity for CASERUN_STALE_AFTER (2h)."""
    from caserun.service import sweeper

    cfg = settings(database, data_dir)
    limit = cfg.inactivity_timeout_s if stale_after is None else _duration(stale_after)
    with open_database(cfg) as db:
        stopped = sweeper.sweep(db, limit)
    for launch in stopped:
        console.print(
            f"stopped launch {launch.id} {launch.name!r} (last activity {launch.last_activity})",
            highlight=False,
            markup=False,
        )
    console.print(f"{len(stopped)} stale launch(es) stopped")


def _duration(text: str) -> int:
    return parse_duration(text, "--stale-after")


@retention_app.command("run")
def retention_run(
    project: Annotated[str | None, typer.Option("--project", "-p", help="One project; default every project.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")] = False,
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
    output: OutputOpt = "text",
) -> None:
    """Apply each project's retention settings, then delete unreferenced blobs."""
    from caserun.service import retention
    from caserun.store.blobs import FileBlobStore

    cfg = settings(database, data_dir)
    with open_database(cfg) as db:
        result = retention.run(
            db,
            FileBlobStore(cfg.blob_dir),
            None,
            project_key=project,
            dry_run=dry_run,
            blob_grace_s=cfg.blob_grace_s,
        )
    if output == "json":
        emit_json(
            {
                "dry_run": result.dry_run,
                "projects": [
                    {
                        "project": p.project,
                        "launches": p.launches,
                        "logs": p.logs,
                        "attachments": p.attachments,
                        "attachment_bytes": p.attachment_bytes,
                        "settings": p.policy.as_dict(),
                    }
                    for p in result.projects
                ],
                "blobs": result.blobs,
                "blob_bytes": result.blob_bytes,
            }
        )
        return
    verb = "would delete" if dry_run else "deleted"
    for p in result.projects:
        console.print(
            f"{p.project}: {verb} {p.launches} launches, {p.logs} logs, {p.attachments} attachments",
            highlight=False,
            markup=False,
        )
    console.print(f"blobs: {verb} {result.blobs} ({result.blob_bytes} bytes)", highlight=False)


def _set_kept(launch_id: int, kept: bool, database: str | None, data_dir: Path | None) -> None:
    from caserun.service import retention

    with open_database(settings(database, data_dir)) as db:
        state = retention.set_kept(db, None, launch_id, kept)
    word = "kept: retention will not delete it" if kept else "no longer kept"
    console.print(f"launch {state.id} {state.name!r} {word}", highlight=False, markup=False)


@retention_app.command("keep")
def retention_keep(
    launch_id: Annotated[int, typer.Argument(help="Launch id.")],
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Keep a launch: retention never deletes it, nor its logs or attachments."""
    _set_kept(launch_id, True, database, data_dir)


@retention_app.command("unkeep")
def retention_unkeep(
    launch_id: Annotated[int, typer.Argument(help="Launch id.")],
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Let retention treat a kept launch like any other again."""
    _set_kept(launch_id, False, database, data_dir)


def export_project(
    key: Annotated[str, typer.Argument(help="Project key.")],
    blobs_dir: BlobsDirOpt = None,
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Write a project as JSON Lines to stdout: caserun export-project KEY > project.jsonl"""
    from caserun.service import project_io
    from caserun.store.blobs import FileBlobStore

    cfg = settings(database, data_dir)
    with open_database(cfg) as db:
        out = sys.stdout
        for line in project_io.export(db, FileBlobStore(cfg.blob_dir), key, blobs_dir=blobs_dir):
            out.write(line)
        out.flush()


def import_project(
    file: Annotated[Path, typer.Argument(help="An export (JSON Lines); - reads stdin.", allow_dash=True)],
    as_key: Annotated[str | None, typer.Option("--as", help="Import under this project key.")] = None,
    blobs_dir: BlobsDirOpt = None,
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Import a project exported by export-project, as a new project (all or nothing)."""
    from caserun.service import project_io
    from caserun.store.blobs import FileBlobStore

    cfg = settings(database, data_dir)
    with open_database(cfg) as db:
        if str(file) == "-":
            done = project_io.import_lines(
                db, FileBlobStore(cfg.blob_dir), sys.stdin, new_key=as_key, blobs_dir=blobs_dir
            )
        else:
            with file.open(encoding="utf-8") as lines:
                done = project_io.import_lines(
                    db, FileBlobStore(cfg.blob_dir), lines, new_key=as_key, blobs_dir=blobs_dir
                )
    summary = ", ".join(f"{n} {name}" for name, n in done.counts.items())
    console.print(f"imported project {done.key}: {summary or 'no rows'}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    admin.db_app.command("sweep")(db_sweep)
    app.add_typer(retention_app, name="retention")
    app.command("export-project")(export_project)
    app.command("import-project")(import_project)
