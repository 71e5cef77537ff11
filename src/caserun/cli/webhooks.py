"""``caserun webhooks deliver``: send the webhook deliveries that are due, once."""

from __future__ import annotations

from typing import Annotated

import typer

from caserun.cli.options import DatabaseOpt, DataDirOpt, open_database, settings
from caserun.cli.output import console

#: the server's own wait (``webhook_sender.TIMEOUT_S``; a test keeps the two equal): the
#: service is imported only when the command runs, so other commands start faster
DEFAULT_TIMEOUT_S = 5.0

webhooks_app = typer.Typer(no_args_is_help=True, help="Webhooks: send the deliveries that are due.")


@webhooks_app.command("deliver")
def deliver(
    database: DatabaseOpt = None,
    data_dir: DataDirOpt = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each receiver.", min=0.1)] = DEFAULT_TIMEOUT_S,
) -> None:
    """Send every pending webhook delivery whose time has come (the server does this in the
    background); a failed one is retried later with backoff, as ``caserun serve`` would."""
    from caserun.service import webhook_sender

    with open_database(settings(database, data_dir)) as db:
        total = webhook_sender.Pass()
        while True:  # a pass sends at most BATCH deliveries; go on while it found that many
            done = webhook_sender.deliver_due(db, timeout_s=timeout)
            total.delivered += done.delivered
            total.retrying += done.retrying
            total.failed += done.failed
            if done.delivered + done.retrying + done.failed < webhook_sender.BATCH:
                break
    console.print(
        f"{total.delivered} delivered, {total.retrying} to retry later, {total.failed} failed for good",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(webhooks_app, name="webhooks")
