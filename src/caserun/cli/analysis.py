"""``history``, ``flaky``, ``broken``, ``slow``, ``compare``: what the history says."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from caserun.cli.options import OutputOpt, TokenOpt, UrlOpt
from caserun.cli.output import console, emit_json, fail
from caserun.client import Client
from caserun.domain.rules import format_duration

ProjectOpt = Annotated[str, typer.Option("--project", "-p", help="Project key.")]


def _resolve_test(client: Client, project: str, test: str) -> int:
    if test.isdigit():
        return int(test)
    found = client.get(f"/api/v1/projects/{project}/tests", q=test)
    exact = [t for t in found if t["full_name"] == test]
    if len(exact) == 1 or len(found) == 1:
        return int((exact or found)[0]["id"])
    if not found:
        fail(f"no test matches {test!r}")
    names = ", ".join(t["full_name"] for t in found[:5])
    fail(f"{len(found)} tests match {test!r} ({names}…); give the test id or the full name")


def history(
    test: Annotated[str, typer.Argument(help="Test id, full name, or part of it.")],
    project: ProjectOpt,
    environment: str | None = None,
    branch: str | None = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 30,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "text",
) -> None:
    """A test's runs across launches and its statistics."""
    with Client(url, token) as client:
        test_id = _resolve_test(client, project, test)
        body = client.get(f"/api/v1/tests/{test_id}/history", environment=environment, branch=branch, limit=limit)
    if output == "json":
        emit_json(body)
        return
    s = body["statistics"]
    console.print(f"[bold]{body['test']['full_name']}[/] (test {body['test']['id']})", highlight=False)
    rate = "–" if s["pass_rate"] is None else f"{s['pass_rate']}%"
    flaky = s["flakiness"]["score"] if s["flakiness"] else 0
    console.print(
        f"{s['runs']} runs, pass rate {rate}, flakiness {flaky}, p50 {format_duration(s['duration_p50_ms'])}, "
        f"p95 {format_duration(s['duration_p95_ms'])}, pattern {s['pattern'] or '–'}",
        highlight=False,
    )
    if s["failing_since"]:
        since = s["failing_since"]
        console.print(
            f"[red]failing since[/] {since['launch_name']} (commit {since['commit'] or '?'}), "
            f"{since['failures']} failures in a row",
            highlight=False,
        )
    table = Table("run", "launch", "env", "branch", "commit", "status", "attempt", "duration", "when")
    for r in body["items"]:
        table.add_row(
            str(r["id"]),
            r["launch_name"],
            r["environment"] or "",
            r["branch"] or "",
            (r["commit"] or "")[:10],
            r["status"] + (" (retry)" if r["passed_on_retry"] else ""),
            str(r["attempt"]),
            format_duration(r["duration_ms"]),
            r["started_at"][:16],
        )
    console.print(table)


def flaky(
    project: ProjectOpt,
    min_score: Annotated[int, typer.Option(min=0, max=100)] = 20,
    environment: str | None = None,
    branch: str | None = None,
    window: Annotated[int, typer.Option(min=2, max=50)] = 30,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "text",
) -> None:
    """Tests ranked by flakiness, with their evidence."""
    with Client(url, token) as client:
        body = client.get(
            f"/api/v1/projects/{project}/flaky",
            min_score=min_score,
            environment=environment,
            branch=branch,
            window=window,
        )
    if output == "json":
        emit_json(body)
        return
    table = Table("score", "test", "pattern (old → new)", "retry passes", "conflicting commits", "flip rate")
    for item in body["items"]:
        e = item["evidence"]
        table.add_row(
            str(item["score"]),
            item["full_name"],
            item["pattern"],
            str(e["passed_on_retry"]),
            str(len(e["conflicting_commits"])),
            f"{e['flip_rate']:.2f}",
        )
    console.print(table)


def _simple_list(path: str, columns: list[str], row: Any, url: str | None, token: str | None, output: str) -> None:
    with Client(url, token) as client:
        body = client.get(path)
    if output == "json":
        emit_json(body)
        return
    table = Table(*columns)
    for item in body["items"]:
        table.add_row(*row(item))
    console.print(table)


def broken(project: ProjectOpt, url: UrlOpt = None, token: TokenOpt = None, output: OutputOpt = "text") -> None:
    """Tests failing steadily since a commit (not flaky: broken)."""
    _simple_list(
        f"/api/v1/projects/{project}/broken",
        ["test", "failures", "since", "commit"],
        lambda i: [i["full_name"], str(i["failures"]), (i["since"] or "")[:16], i["commit"] or ""],
        url,
        token,
        output,
    )


def slow(project: ProjectOpt, url: UrlOpt = None, token: TokenOpt = None, output: OutputOpt = "text") -> None:
    """Tests that got slower, and the launch where it began."""
    _simple_list(
        f"/api/v1/projects/{project}/slow",
        ["test", "before", "now", "×", "since launch"],
        lambda i: [
            i["full_name"],
            format_duration(int(i["slowdown"]["baseline_ms"])),
            format_duration(int(i["slowdown"]["recent_ms"])),
            str(i["slowdown"]["ratio"]),
            f"{i['launch_name']} (#{i['launch_id']})",
        ],
        url,
        token,
        output,
    )


def compare(
    launch: Annotated[int, typer.Argument(help="The launch to look at.")],
    baseline: Annotated[
        int | None, typer.Argument(help="Compare with this launch (default: the previous one).")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "text",
) -> None:
    """What changed between a launch and its baseline."""
    with Client(url, token) as client:
        body = client.get(f"/api/v1/launches/{launch}", baseline=baseline)
    comparison = body.get("comparison")
    if output == "json":
        emit_json(
            {"launch": body["id"], "baseline": comparison and comparison["baseline_id"], "comparison": comparison}
        )
        return
    if not comparison:
        fail(f"launch {launch} has no earlier launch of the same branch and environment; name one")
    console.print(f"launch {body['id']} vs {comparison['baseline_id']}", highlight=False)
    for key, title in (
        ("new_failures", "new failures"),
        ("fixed", "fixed"),
        ("still_failing", "still failing"),
        ("flaky", "flaky this time"),
        ("new_tests", "new tests"),
        ("missing_tests", "missing tests"),
        ("slower", "notably slower"),
    ):
        bucket = comparison[key]
        console.print(f"[bold]{title}[/]: {bucket['count']}", highlight=False)
        for item in bucket["items"][:20]:
            console.print(f"  {item['full_name']}", highlight=False)


def register(app: typer.Typer) -> None:
    for command in (history, flaky, broken, slow, compare):
        app.command(command.__name__)(command)
