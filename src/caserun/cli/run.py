"""``caserun run -- COMMAND``: a live launch around any test command.

The launch is created ``running`` before the command starts and finished when it ends
(``completed``; ``stopped`` after Ctrl-C or SIGTERM, which are passed on to the command;
``failed`` when the command could not start).
The command's output passes through untouched and its exit code is ``caserun run``'s.
Result files matching ``--results`` are imported into the launch as they appear (once
their size has stopped changing) and again at the end if they changed; the ids of their
case runs are derived from the file and the test, so a file seen twice is not recorded
twice. The command gets ``CASERUN_LAUNCH`` (the launch id), ``CASERUN_PROJECT``,
``CASERUN_URL`` and ``CASERUN_TOKEN``, so ``caserun run -- pytest --caserun`` streams
into the same launch. With ``--allow-quarantined``, a failing command exits 0 when every
failed test of the launch is quarantined. If the server cannot be reached the command
still runs and its exit code is kept: reporting never fails the build on its own.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from caserun.cli import replay
from caserun.cli.options import TokenOpt, UrlOpt
from caserun.cli.output import errors, fail
from caserun.client import Client
from caserun.domain.model import TestResult
from caserun.errors import CaserunError, ParseError
from caserun.ingest import events, registry
from caserun.ingest.protocol import ReportSource

MAX_ATTACHMENT_BYTES = 16 * 1024**2
#: seconds a command has to stop after Ctrl-C or SIGTERM before it is killed
GRACE_S = 10.0


def _say(message: str) -> None:
    errors.print(f"[bold cyan]caserun:[/] {message}", highlight=False, soft_wrap=True)


class Importer:
    """Imports result files into the running launch as events."""

    def __init__(self, client: Client, project: str, launch_id: int, patterns: list[str], fmt: str | None) -> None:
        self.client = client
        self.project = project
        self.launch_id = launch_id
        self.patterns = patterns
        self.format = fmt
        self.seen: dict[Path, tuple[int, int]] = {}
        self.imported: dict[Path, tuple[int, int]] = {}
        self.problems: set[str] = set()

    def warn(self, message: str) -> None:
        if message not in self.problems:
            self.problems.add(message)
            _say(f"[yellow]{message}[/]")

    def scan(self, *, final: bool) -> None:
        for pattern in self.patterns:
            for name in sorted(glob.glob(pattern, recursive=True)):
                path = Path(name)
                try:
                    stat = path.stat()
                except OSError:
                    continue
                if not path.is_file():
                    continue
                signature = (stat.st_mtime_ns, stat.st_size)
                if self.imported.get(path) == signature:
                    continue
                if not final and self.seen.get(path) != signature:
                    self.seen[path] = signature  # still being written, perhaps: look again next time
                    continue
                if self.load(path, final=final):
                    self.imported[path] = signature

    def load(self, path: Path, *, final: bool) -> bool:
        source = ReportSource(path, str(path))
        try:
            parser = registry.get(self.format) if self.format else registry.detect(source)
            lines = [line for result in parser.parse(source) for line in self._events(path, result)]
        except ParseError as exc:
            if final:
                self.warn(f"{exc.message}; not imported")
            return False  # half-written? try again on the next look
        try:
            refused = 0
            for batch in replay.batches(iter(lines)):
                results = self.client.send_event_lines(self.project, batch)
                refused += sum(1 for r in results if int(r["status"]) >= 400)
        except CaserunError as exc:
            self.warn(f"could not send {path}: {exc.message}")
            return False
        if refused:
            self.warn(f"the server refused {refused} results of {path}")
        return True

    def _events(self, path: Path, result: TestResult) -> list[str]:
        from caserun.cli.upload import _resolve

        data_of: dict[str, bytes] = {}
        for attempt in result.attempts:
            for ref in attempt.attachments:
                if ref.path and ref.data is None:
                    found = _resolve(path, ref.path)
                    if isinstance(found, str):
                        continue
                    if found.stat().st_size > MAX_ATTACHMENT_BYTES:
                        self.warn(f"attachment {ref.path} is over {MAX_ATTACHMENT_BYTES // 1024**2} MiB; left out")
                        continue
                    data_of[ref.path] = found.read_bytes()
        seed = str(path.resolve())
        found_events = events.result_events(result, launch_id=self.launch_id, id_seed=seed, data_of=data_of)
        return [json.dumps(e) for e in found_events]


def _quarantine_covers(client: Client, project: str, launch_id: int) -> list[str] | None:
    """The failed tests of the launch if every one is quarantined, else None."""
    entries = client.quarantine(project)
    quarantined = {str(v) for item in entries for v in (item.get("test_key"), item.get("full_name")) if v}
    failed: list[str] = []
    cursor = None
    while True:
        page = client.get(f"/api/v1/launches/{launch_id}/case-runs", status="failed", limit=500, cursor=cursor)
        failed += [item["full_name"] for item in page["items"]]
        cursor = page.get("next")
        if not cursor:
            break
    if failed and all(name in quarantined for name in failed):
        return failed
    return None


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _run_command(
    command: list[str], env: dict[str, str], importer: Importer | None, interval: float
) -> tuple[str, int]:
    """Run the command to its end; the launch status and the exit code to use.

    Ctrl-C and SIGTERM (how CI cancels a job) are passed on to the command, which gets
    ``GRACE_S`` seconds to stop (``pytest --caserun`` records its own stop meanwhile);
    the launch is then ``stopped``, and the exit code 130 or 143 as a shell would give."""
    try:
        proc = subprocess.Popen(command, env=env)  # noqa: S603 - running the user's command is the point
    except OSError as exc:
        _say(f"[red]cannot run {command[0]}: {exc.strerror or exc}[/]")
        return "failed", 127
    stop: list[int] = []

    def on_sigterm(signum: int, frame: object) -> None:
        if not stop:
            stop.append(signal.SIGTERM)
            proc.send_signal(signal.SIGTERM)

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        while proc.poll() is None and not stop:
            try:
                time.sleep(interval)
                if importer is not None:
                    importer.scan(final=False)
            except KeyboardInterrupt:
                stop.append(signal.SIGINT)
                proc.send_signal(signal.SIGINT)
        if stop:
            try:
                proc.wait(GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            _say(f"[yellow]{signal.Signals(stop[0]).name}: the command was stopped; so is the launch[/]")
            return "stopped", 128 + stop[0]
        return "completed", _exit_code(proc.returncode)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def run(
    command: Annotated[list[str], typer.Argument(help="The command to run, after --.", show_default=False)],
    project: Annotated[str, typer.Option("--project", "-p", envvar="CASERUN_PROJECT", help="Project key.")],
    launch: Annotated[str | None, typer.Option("--launch", help="Launch name, e.g. 'CI #12'.")] = None,
    environment: Annotated[str | None, typer.Option(help="Environment, e.g. staging.")] = None,
    branch: Annotated[str | None, typer.Option(help="Branch under test.")] = None,
    commit: Annotated[str | None, typer.Option(help="Commit under test.")] = None,
    build_url: Annotated[str | None, typer.Option(help="Link to the CI build.")] = None,
    attr: Annotated[list[str] | None, typer.Option("--attr", help="K=V launch attribute (repeatable).")] = None,
    results: Annotated[
        list[str] | None, typer.Option("--results", help="Glob of result files to import (repeatable).")
    ] = None,
    format: Annotated[str | None, typer.Option("--format", help="The result files' format; default: detect.")] = None,
    allow_quarantined: Annotated[
        bool, typer.Option("--allow-quarantined", help="Exit 0 when every failed test is quarantined.")
    ] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between looks for result files.")] = 2.0,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Run a test command inside a live launch: caserun run -p KEY --results 'out/*.xml' -- make test"""
    if not command:
        fail("name the command to run after --", 2)
    attributes = {}
    for item in attr or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--attr {item!r} is not K=V", 2)
        attributes[key.strip()] = value.strip()
    client = Client(url, token)
    launch_key = f"run-{uuid.uuid4().hex}"
    started: dict[str, Any] = {
        "type": "launch.started",
        "launch": launch_key,
        "source": "cli",
        "name": launch,
        "environment": environment,
        "branch": branch,
        "commit": commit,
        "build_url": build_url,
        "attributes": attributes,
    }
    launch_id: int | None = None
    try:
        [answer] = client.send_events(project, [{k: v for k, v in started.items() if v is not None}])
        if int(answer["status"]) >= 400:
            raise CaserunError(str(answer.get("message")))
        launch_id = int(answer["launch_id"])
        _say(f"launch {launch_id}: {answer.get('url')}")
    except CaserunError as exc:
        _say(f"[yellow]no launch ({exc.message}); running the command anyway[/]")

    env = dict(os.environ, CASERUN_PROJECT=project)
    if launch_id is not None:
        env["CASERUN_LAUNCH"] = str(launch_id)
    env.update({k: v for k, v in (("CASERUN_URL", client.base), ("CASERUN_TOKEN", token)) if v})
    importer = Importer(client, project, launch_id, results or [], format) if launch_id and results else None

    status, code = _run_command(command, env, importer, interval)

    if launch_id is not None:
        if importer is not None:
            importer.scan(final=True)
        try:
            client.send_events(project, [{"type": "launch.finished", "launch": launch_key, "status": status}])
            if code != 0 and status == "completed" and allow_quarantined:
                covered = _quarantine_covers(client, project, launch_id)
                if covered:
                    _say(f"every failure is of a quarantined test ({len(covered)}); exiting 0 instead of {code}")
                    code = 0
        except CaserunError as exc:
            _say(f"[yellow]could not finish launch {launch_id}: {exc.message}[/]")
    client.close()
    sys.exit(code)


def register(app: typer.Typer) -> None:
    app.command("run", context_settings={"allow_interspersed_args": False})(run)
