"""``caserun retry-plan``: the arguments that make a test runner re-run a launch's failures."""

from __future__ import annotations

from typing import Annotated

import typer

from caserun.cli.options import OutputOpt, TokenOpt, UrlOpt
from caserun.cli.output import emit_json, errors
from caserun.client import Client
from caserun.domain.retries import Runner


def retry_plan(
    launch: Annotated[int, typer.Argument(help="The launch whose failed tests to re-run.")],
    runner: Annotated[Runner, typer.Option("--runner", help="The test runner the arguments are for.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "text",
) -> None:
    """Print the arguments that re-run exactly the failed tests of LAUNCH.

    They are quoted for a POSIX shell: eval "pytest $(caserun retry-plan 12 --runner pytest)".
    Nothing is printed (exit 0) when the launch has no failed tests."""
    with Client(url, token) as client:
        body = client.get(f"/api/v1/launches/{launch}/retry-plan", runner=runner.value)
    if output == "json":
        emit_json(body)
        return
    for note in body["notes"]:
        errors.print(f"[yellow]note:[/] {note}", highlight=False)
    if body["tests"] == 0:
        errors.print(f"launch {launch} has no failed tests", highlight=False)
        return
    typer.echo(body["command"])


def register(app: typer.Typer) -> None:
    app.command("retry-plan")(retry_plan)
