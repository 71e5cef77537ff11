"""``launches list``, ``launch show|archive|unarchive|delete``, ``formats``: read and
manage launches on a server."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from caserun.cli.options import OutputOpt, TokenOpt, UrlOpt
from caserun.cli.output import console, emit_json
from caserun.client import Client
from caserun.domain.rules import format_duration
from caserun.ingest import registry

launches_app = typer.Typer(help="List launches.", no_args_is_help=True)
launch_app = typer.Typer(help="Show, archive or delete one launch.", no_args_is_help=True)


def _rate(summary: dict[str, Any]) -> str:
    return "–" if summary["pass_rate"] is None else f"{summary['pass_rate']}%"


@launches_app.command("list")
def list_launches(
    project: Annotated[str, typer.Option("--project", "-p")],
    status: Annotated[list[str] | None, typer.Option(help="running, completed, failed or stopped.")] = None,
    environment: str | None = None,
    branch: str | None = None,
    source: Annotated[str | None, typer.Option(help="cli, api, pytest, manual or demo.")] = None,
    min_pass_rate: Annotated[float | None, typer.Option(min=0, max=100, help="Pass rate at least (%).")] = None,
    max_pass_rate: Annotated[float | None, typer.Option(min=0, max=100, help="Pass rate at most (%).")] = None,
    archived: Annotated[bool, typer.Option("--archived", help="Only the archived launches.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "text",
) -> None:
    """A project's launches, newest first (archived ones only with --archived)."""
    with Client(url, token) as client:
        page = client.get(
            f"/api/v1/projects/{project}/launches",
            status=status,
            environment=environment,
            branch=branch,
            source=source,
            min_pass_rate=min_pass_rate,
            max_pass_rate=max_pass_rate,
            archived="true" if archived else None,
            limit=limit,
        )
    if output == "json":
        emit_json(page)
        return
    table = Table("id", "name", "status", "env", "branch", "passed/total", "pass rate", "duration", "created")
    for item in page["items"]:
        s = item["summary"]
        table.add_row(
            str(item["id"]),
            item["name"],
            item["status"],
            item["environment"] or "",
            item["branch"] or "",
            f"{s['passed']}/{s['total']}",
            _rate(s),
            format_duration(s["duration_ms"]),
            item["created_at"][:16],
        )
    console.print(table)


@launch_app.command("show")
def show(
    launch_id: Annotated[int, typer.Argument(help="Launch id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "text",
) -> None:
    """A launch: summary, comparison with its baseline, and its failures."""
    with Client(url, token) as client:
        launch = client.get(f"/api/v1/launches/{launch_id}")
        failed = client.get(f"/api/v1/launches/{launch_id}/case-runs", status="failed", limit=50)
    if output == "json":
        emit_json({"launch": launch, "failed": failed["items"]})
        return
    s = launch["summary"]
    console.print(f"[bold]{launch['name']}[/] (#{launch['id']}, {launch['status']})", highlight=False)
    console.print(
        f"{s['total']} tests: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped, "
        f"{s['blocked']} blocked, {s['running']} running; pass rate {_rate(s)}; {format_duration(s['duration_ms'])}",
        highlight=False,
    )
    comparison = launch.get("comparison")
    if comparison:
        console.print(
            f"vs launch {comparison['baseline_id']}: {comparison['new_failures']['count']} new failures, "
            f"{comparison['fixed']['count']} fixed, {comparison['still_failing']['count']} still failing, "
            f"{comparison['new_tests']['count']} new tests, {comparison['missing_tests']['count']} missing",
            highlight=False,
        )
    for run in failed["items"]:
        console.print(
            f"[red]FAILED[/] {run['full_name']}: {(run['failure_message'] or '').splitlines()[0][:150]}",
            highlight=False,
            markup=True,
        )
    console.print(launch["url"], highlight=False)


@launch_app.command("archive")
def archive(
    launch_id: Annotated[int, typer.Argument(help="Launch id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "text",
) -> None:
    """Archive a finished launch (maintainer): it leaves the launch list and is never used
    as a comparison baseline; nothing is deleted."""
    with Client(url, token) as client:
        state = client.post(f"/api/v1/launches/{launch_id}/archive", None)
    if output == "json":
        emit_json(state)
        return
    console.print(f"launch {state['id']} ({state['name']}) is archived", highlight=False, markup=False)


@launch_app.command("unarchive")
def unarchive(
    launch_id: Annotated[int, typer.Argument(help="Launch id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "text",
) -> None:
    """Bring an archived launch back to the launch list (maintainer)."""
    with Client(url, token) as client:
        state = client.post(f"/api/v1/launches/{launch_id}/unarchive", None)
    if output == "json":
        emit_json(state)
        return
    console.print(f"launch {state['id']} ({state['name']}) is no longer archived", highlight=False, markup=False)


@launch_app.command("delete")
def delete(
    launch_id: Annotated[int, typer.Argument(help="Launch id.")],
    confirm: Annotated[str, typer.Option("--confirm", help="The launch's exact name, as a safety check.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "text",
) -> None:
    """Delete a launch for good (maintainer): its case runs, logs and attachments go too,
    and its tests' statistics are rebuilt. --confirm must be the launch's name."""
    with Client(url, token) as client:
        gone = client.request("DELETE", f"/api/v1/launches/{launch_id}", params={"confirm": confirm})
    if output == "json":
        emit_json(gone)
        return
    console.print(
        f"deleted launch {gone['id']} ({gone['name']}); statistics of {gone['tests']} tests rebuilt",
        highlight=False,
        markup=False,
    )


def formats(output: OutputOpt = "text") -> None:
    """The report formats caserun reads (built-in and plugins)."""
    found = registry.describe()
    if output == "json":
        emit_json([{"name": f.name, "title": f.title, "module": f.module} for f in found])
        return
    table = Table("name", "reads", "module")
    for f in found:
        table.add_row(f.name, f.title, f.module)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(launches_app, name="launches")
    app.add_typer(launch_app, name="launch")
    app.command("formats")(formats)
