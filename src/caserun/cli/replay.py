"""``caserun upload`` of ``caserun-events`` files: the events are replayed to the event API.

A spool written while the server was away may belong to a launch that already exists
(the server took the first half of the session): replaying the events, rather than
importing them as a new launch, fills that launch in. Client ids make events the server
already has come back as ``duplicate``; nothing is recorded twice, so uploading the same
file again is harmless. Options given to ``upload`` (``--launch``, ``--environment``…)
override what the file's ``launch.started`` says. A file whose session never finished
its launch (it was killed) finishes it as ``stopped``. Every file is read through once
before anything is sent, so a bad line refuses the upload and leaves no launch half
replayed.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from caserun.cli.output import console, emit_json, errors
from caserun.client import Client
from caserun.errors import CaserunError, InvalidInput, ParseError
from caserun.ingest import events

FORMAT = "caserun-events"
BATCH_EVENTS = 200
BATCH_BYTES = 8 * 1024**2


@dataclass
class Replay:
    launch_ids: list[int] = field(default_factory=list)
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                yield number, json.loads(raw)
            except ValueError as exc:
                if not raw.endswith(b"\n") and not stream.peek(1):
                    return  # the last line, cut short: the writer was killed mid-line
                raise ParseError(f"not JSON: {exc}", file=str(path), line=number, format=FORMAT) from None


def _inline(event: dict[str, Any], base: Path) -> None:
    """Attachments named by path are read (from inside the file's folder) and sent inline."""
    from caserun.cli.upload import _resolve

    kept = []
    for item in event.get("attachments") or []:
        if isinstance(item, dict) and item.get("path") and "data" not in item:
            found = _resolve(base, str(item.pop("path")))
            if isinstance(found, str):
                errors.print(f"[yellow]warning:[/] {found}", highlight=False)
                continue
            item["data"] = base64.b64encode(found.read_bytes()).decode("ascii")
        kept.append(item)
    if kept:
        event["attachments"] = kept
    else:
        event.pop("attachments", None)


@dataclass
class _Seen:
    started: dict[str, Any] | None = None
    finished: bool = False


def _prepared(path: Path, overrides: dict[str, Any], seen: _Seen) -> Iterator[str]:
    """The file's events, checked and with the options applied, as JSON lines."""
    for number, raw in _lines(path):
        try:
            event = events.parse_event(raw)
        except InvalidInput as exc:
            raise ParseError(exc.message, file=str(path), line=number, format=FORMAT) from None
        if isinstance(event, events.LaunchStarted):
            attributes = {**raw.get("attributes", {}), **overrides.get("attributes", {})}
            raw = {**raw, **{k: v for k, v in overrides.items() if k != "attributes"}, "attributes": attributes}
            seen.started = raw
        elif isinstance(event, events.LaunchFinished):
            seen.finished = True
        elif isinstance(event, events.CaseRunFinished):
            _inline(raw, path)
        yield json.dumps(raw)


def batches(lines: Iterator[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for line in lines:
        if batch and (len(batch) >= BATCH_EVENTS or size + len(line) > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(line)
        size += len(line)
    if batch:
        yield batch


def check(path: Path) -> None:
    """Read the whole file before anything is sent: a bad line in the middle refuses the
    file (naming the line) instead of leaving its launch half replayed."""
    for number, raw in _lines(path):
        try:
            events.parse_event(raw)
        except InvalidInput as exc:
            raise ParseError(exc.message, file=str(path), line=number, format=FORMAT) from None


def replay(client: Client, project: str, paths: list[Path], overrides: dict[str, Any]) -> Replay:
    done = Replay()
    for path in paths:
        check(path)
    for path in paths:
        seen = _Seen()
        for batch in batches(_prepared(path, overrides, seen)):
            for result in client.send_event_lines(project, batch):
                if result.get("launch_id") and result["launch_id"] not in done.launch_ids:
                    done.launch_ids.append(int(result["launch_id"]))
                if int(result["status"]) < 400:
                    done.accepted += 1
                else:
                    done.refused[f"{result['status']} {result['code']}: {result.get('message')}"] += 1
        if seen.started is not None and not seen.started.get("join") and not seen.finished:
            # the session was killed before it finished its launch; a 409 means someone else did
            end = {"type": "launch.finished", "launch": seen.started["launch"], "status": "stopped"}
            client.send_events(project, [end])
    return done


def upload(
    paths: list[Path], project: str, overrides: dict[str, Any], url: str | None, token: str | None, output: str
) -> None:
    with Client(url, token) as client:
        done = replay(client, project, paths, overrides)
        launches = [client.get(f"/api/v1/launches/{lid}") for lid in done.launch_ids]
    for reason, count in done.refused.most_common(10):
        errors.print(f"[yellow]refused:[/] {reason}" + (f" ({count}×)" if count > 1 else ""), highlight=False)
    errors.file.flush()
    if output == "json":
        body: dict[str, Any] = {"events": {"accepted": done.accepted, "refused": sum(done.refused.values())}}
        if launches:
            first = launches[0]
            body["launch"] = {"id": first["id"], "url": first["url"], "summary": first["summary"]}
            body["launches"] = [{"id": x["id"], "url": x["url"], "summary": x["summary"]} for x in launches]
        emit_json(body)
    else:
        for launch in launches:
            s = launch["summary"]
            rate = f"{s['pass_rate']}%" if s["pass_rate"] is not None else "–"
            console.print(
                f"launch {launch['id']} ({launch['status']}): {s['total']} tests, {s['passed']} passed, "
                f"{s['failed']} failed, {s['skipped']} skipped, pass rate {rate}",
                highlight=False,
            )
            typer.echo(launch["url"])
    if done.refused:
        raise CaserunError(f"the server refused {sum(done.refused.values())} of the events (see above)")
