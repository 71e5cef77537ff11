"""``caserun quarantine list|add|remove``: set flaky tests aside, over the API (maintainer to change)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from caserun.cli.options import OutputOpt, TokenOpt, UrlOpt
from caserun.cli.output import console, emit_json, fail
from caserun.client import Client

quarantine_app = typer.Typer(help="Quarantine tests: failures shown, left out of pass rates.", no_args_is_help=True)

ProjectOpt = Annotated[str, typer.Option("--project", "-p", help="Project key.")]
TestArg = Annotated[str, typer.Argument(help="Test id, test key, or full name.")]
_KEY = re.compile(r"^[0-9a-f]{64}$")


def _test_ref(client: Client, project: str, test: str) -> dict[str, int | str]:
    """The API's way to name a test: its id, its key, or the one test with this full name."""
    if test.isdigit():
        return {"test_case_id": int(test)}
    if _KEY.match(test):
        return {"test_key": test}
    found = client.get(f"/api/v1/projects/{project}/tests", q=test)
    exact = [t for t in found if t["full_name"] == test]
    chosen = exact if exact else found
    if len(chosen) != 1:
        if not chosen:
            fail(f"no test matches {test!r}")
        names = ", ".join(t["full_name"] for t in chosen[:5])
        fail(f"{len(chosen)} tests match {test!r} ({names}…); give the test id or the full name")
    return {"test_case_id": int(chosen[0]["id"])}


@quarantine_app.command("list")
def list_entries(project: ProjectOpt, url: UrlOpt = None, token: TokenOpt = None, output: OutputOpt = "text") -> None:
    """The project's active quarantine entries."""
    items = []
    with Client(url, token) as client:
        cursor = None
        while True:
            page = client.get(f"/api/v1/projects/{project}/quarantine", cursor=cursor)
            items += page["items"]
            cursor = page["next"]
            if cursor is None:
                break
    if output == "json":
        emit_json({"items": items, "next": None})
        return
    table = Table("test", "name", "reason", "by", "since", "expires")
    for item in items:
        table.add_row(
            str(item["test_case_id"]),
            item["full_name"],
            item["reason"],
            item["created_by"],
            item["created_at"][:16],
            (item["expires_at"] or "never")[:16],
        )
    console.print(table)


@quarantine_app.command("add")
def add(
    test: TestArg,
    project: ProjectOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why (shown with the test's failures).")],
    expires_days: Annotated[int | None, typer.Option("--expires-days", min=1, help="Lift it after N days.")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "text",
) -> None:
    """Quarantine a test."""
    with Client(url, token) as client:
        body: dict[str, object] = {**_test_ref(client, project, test), "reason": reason}
        if expires_days is not None:
            body["expires_at"] = (datetime.now(UTC) + timedelta(days=expires_days)).isoformat()
        entry = client.post(f"/api/v1/projects/{project}/quarantine", body)
    if output == "json":
        emit_json(entry)
        return
    until = f" until {entry['expires_at'][:16]}" if entry["expires_at"] else ""
    console.print(f"quarantined {entry['full_name']} (test {entry['test_case_id']}){until}", highlight=False)


@quarantine_app.command("remove")
def remove(test: TestArg, project: ProjectOpt, url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Lift a test's quarantine."""
    with Client(url, token) as client:
        ref = _test_ref(client, project, test)
        test_id = ref.get("test_case_id")
        if test_id is None:
            active = client.get(f"/api/v1/projects/{project}/quarantine", limit=5000)["items"]
            matches = [i["test_case_id"] for i in active if i["test_key"] == ref["test_key"]]
            if not matches:
                fail(f"test {test} is not quarantined")
            test_id = matches[0]
        client.request("DELETE", f"/api/v1/projects/{project}/quarantine/{test_id}")
    console.print(f"lifted the quarantine of test {test_id}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(quarantine_app, name="quarantine")
