"""``caserun patterns``: the failure patterns of a project."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from caserun.cli.options import OutputOpt, TokenOpt, UrlOpt
from caserun.cli.output import console, emit_json
from caserun.client import Client


def patterns(
    project: Annotated[str, typer.Option("--project", "-p", help="Project key.")],
    since: Annotated[str | None, typer.Option(help="Only patterns seen since this ISO date or time.")] = None,
    until: Annotated[str | None, typer.Option(help="Only patterns first seen before this ISO date or time.")] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Text in the exception or message.")] = None,
    min_count: Annotated[int, typer.Option(min=1, help="Only patterns with at least this many failures.")] = 1,
    sort: Annotated[str, typer.Option(help="last_seen or count; prefix - for descending.")] = "-last_seen",
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "text",
) -> None:
    """Failures grouped by signature: count, tests and launches affected, last seen, linked defect."""
    with Client(url, token) as client:
        body = client.get(
            f"/api/v1/projects/{project}/failure-patterns",
            since=since,
            until=until,
            q=query,
            min_count=min_count,
            sort=sort,
            limit=limit,
        )
    if output == "json":
        emit_json(body)
        return
    table = Table("id", "count", "tests", "launches", "last seen", "exception", "message", "defect")
    for item in body["items"]:
        defect = item["defect"]
        table.add_row(
            str(item["id"]),
            str(item["count"]),
            str(item["tests_affected"]),
            str(item["launches_affected"]),
            item["last_seen"][:16],
            item["exception"] or "",
            (item["example_message"] or item["message"] or "").strip().split("\n", 1)[0][:100],
            f"#{defect['id']} {defect['status']}" if defect else "",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("patterns")(patterns)
