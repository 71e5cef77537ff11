"""The ``caserun`` command. Each sub-command lives in a module named after it.

Exit codes: 0 ok, 1 error (file, parse, network, auth), 2 usage.
"""

from __future__ import annotations

import sys

import typer

from caserun.cli import admin, analysis, export_cmd, launches, ops, run, serve, upload
from caserun.cli import patterns as patterns_cli
from caserun.cli import quarantine as quarantine_cli
from caserun.cli import retry as retry_cli
from caserun.cli import webhooks as webhooks_cli
from caserun.cli.output import fail
from caserun.errors import CaserunError

app = typer.Typer(
    name="caserun",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="caserun: every test execution kept as a case run, its history explained.",
)
serve.register(app)
admin.register(app)
upload.register(app)
run.register(app)
launches.register(app)
analysis.register(app)
quarantine_cli.register(app)
retry_cli.register(app)
patterns_cli.register(app)
ops.register(app)
export_cmd.register(app)
webhooks_cli.register(app)


def main() -> None:
    try:
        app()
    except CaserunError as exc:
        fail(exc.message)
    except KeyboardInterrupt:
        sys.exit(130)
