"""``caserun export …`` and ``caserun summary``: files from a server, streamed to disk or stdout.

* ``caserun export launches --project KEY`` — the launch list (its filters) as CSV, JSON or JSON Lines;
* ``caserun export case-runs LAUNCH`` — a launch's case runs (status, text, attempts filters);
* ``caserun export history TEST`` — a test's history across launches;
* ``caserun export launch LAUNCH --format junit|ctrf|html|pdf`` — the whole launch as a file;
* ``caserun summary LAUNCH --format markdown`` — counts, new failures, flaky and slowest
  tests and a link back, for ``$GITHUB_STEP_SUMMARY`` or a pull-request comment.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from caserun.cli.options import TokenOpt, UrlOpt
from caserun.cli.output import errors
from caserun.client import Client, Unreachable
from caserun.errors import InvalidInput

export_app = typer.Typer(help="Export launches, case runs, a test's history or a whole launch.", no_args_is_help=True)

RowFormat = Annotated[str, typer.Option("--format", "-f", help="csv, json or jsonl (JSON Lines, for big exports).")]
OutputFile = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.", dir_okay=False)
]
LAUNCH_FORMATS = {"junit": "junit.xml", "ctrf": "ctrf.json", "html": "html", "pdf": "pdf", "markdown": "md"}


def _check_format(value: str, allowed: tuple[str, ...] | list[str]) -> None:
    if value not in allowed:
        raise InvalidInput(f"unknown format {value!r}; use one of {', '.join(allowed)}")


def _download(url: str | None, token: str | None, path: str, params: dict[str, Any], output: Path | None) -> None:
    """Stream the response body to ``output`` (written whole or not at all) or stdout."""
    clean = {k: v for k, v in params.items() if v is not None and v != []}
    with Client(url, token) as client:
        try:
            with client.http.stream("GET", path, params=clean) as response:
                if response.status_code >= 400:
                    response.read()
                    client._check(response)  # raises the server's error with its message
                if output is None:
                    for chunk in response.iter_bytes():
                        sys.stdout.buffer.write(chunk)
                    sys.stdout.buffer.flush()
                    return
                partial = output.with_name(f".{output.name}.part")
                try:
                    with partial.open("wb") as out:
                        for chunk in response.iter_bytes():
                            out.write(chunk)
                    partial.replace(output)
                finally:
                    partial.unlink(missing_ok=True)
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach {client.base}: {exc or type(exc).__name__}") from None
    errors.print(f"wrote {output}", highlight=False)


@export_app.command("launches")
def export_launches(
    project: Annotated[str, typer.Option("--project", "-p")],
    format: RowFormat = "csv",
    status: Annotated[list[str] | None, typer.Option(help="running, completed, failed or stopped.")] = None,
    environment: str | None = None,
    branch: str | None = None,
    since: Annotated[datetime | None, typer.Option(help="Created at or after (ISO date or time).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Created before (ISO date or time).")] = None,
    archived: Annotated[bool, typer.Option(help="Only archived launches.")] = False,
    output: OutputFile = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """A project's launches as CSV, JSON or JSON Lines."""
    _check_format(format, ("csv", "json", "jsonl"))
    params = {
        "format": format,
        "status": status or [],
        "environment": environment,
        "branch": branch,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "archived": "true" if archived else None,
    }
    _download(url, token, f"/api/v1/projects/{project}/launches/export", params, output)


@export_app.command("case-runs")
def export_case_runs(
    launch_id: Annotated[int, typer.Argument(help="Launch id.")],
    format: RowFormat = "csv",
    status: Annotated[list[str] | None, typer.Option(help="passed, failed, skipped, blocked or running.")] = None,
    q: Annotated[str | None, typer.Option("--text", help="Text in the test name or failure message.")] = None,
    all_attempts: Annotated[bool, typer.Option("--all-attempts", help="Every attempt, not one row per test.")] = False,
    output: OutputFile = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """A launch's case runs as CSV, JSON or JSON Lines."""
    _check_format(format, ("csv", "json", "jsonl"))
    params = {"format": format, "status": status or [], "q": q, "attempts": "all" if all_attempts else None}
    _download(url, token, f"/api/v1/launches/{launch_id}/case-runs/export", params, output)


@export_app.command("history")
def export_history(
    test_id: Annotated[int, typer.Argument(help="Test id.")],
    format: RowFormat = "csv",
    environment: str | None = None,
    branch: str | None = None,
    output: OutputFile = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """A test's history (its result in each launch, newest first) as CSV, JSON or JSON Lines."""
    _check_format(format, ("csv", "json", "jsonl"))
    params = {"format": format, "environment": environment, "branch": branch}
    _download(url, token, f"/api/v1/tests/{test_id}/history/export", params, output)


@export_app.command("launch")
def export_launch(
    launch_id: Annotated[int, typer.Argument(help="Launch id.")],
    format: Annotated[str, typer.Option("--format", "-f", help="junit, ctrf, html, pdf or markdown.")] = "junit",
    output: OutputFile = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """A whole launch as JUnit XML, CTRF JSON, a single-file HTML report, its PDF, or Markdown."""
    _check_format(format, list(LAUNCH_FORMATS))
    if format == "pdf" and output is None and sys.stdout.isatty():
        raise InvalidInput(f"a PDF is not for a terminal: add --output launch-{launch_id}.pdf")
    _download(url, token, f"/api/v1/launches/{launch_id}/export", {"format": format}, output)


def summary(
    launch_id: Annotated[int, typer.Argument(help="Launch id.")],
    format: Annotated[str, typer.Option("--format", "-f", help="markdown.")] = "markdown",
    output: OutputFile = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """A launch's summary in Markdown for a CI job summary or a pull-request comment:
    counts, pass rate, new failures, flaky and slowest tests, and a link back.

    In GitHub Actions: ``caserun summary $ID >> "$GITHUB_STEP_SUMMARY"``."""
    _check_format(format, ("markdown",))
    _download(url, token, f"/api/v1/launches/{launch_id}/export", {"format": "markdown"}, output)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.command("summary")(summary)
