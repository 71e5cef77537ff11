"""caserun events, JSON Lines: the pytest plugin's ``--caserun-jsonl`` files and spools.

One event per line, in the schema of ``caserun.ingest.events`` (documented in
``docs/live.md``, machine-readable at ``GET /api/v1/events/schema``): ``launch.started``,
``case_run.started``, ``case_run.finished``, ``launch.finished``. A case run is the
``case_run.finished`` with the same ``id`` as its ``case_run.started`` (or one that names
its ``test`` itself). Quirks of the writers:

* **A spool cut short** (the process was killed): the last line may be incomplete JSON; it is
  dropped. Tests that started and never finished become ``skipped`` with a warning, as
  when a launch completes.
* **Spools retried** after an outage may hold an event twice; the first ``case_run.finished``
  of an id wins.
* **Shards** write one file each; events name the launch by client id, or by server id
  (``launch_id``) when the shard joined a launch that already existed.
* Attachments are inline (``data``, base64) or a ``path`` relative to the file, which
  ``caserun upload`` sends along.

Blank lines are ignored; any other line that is not a valid event is a parse error naming
the line. The file is read line by line; memory holds only the tests still running.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from caserun.domain.model import Attempt, Status, TestResult
from caserun.errors import InvalidInput, ParseError
from caserun.ingest import events
from caserun.ingest.jsonstream import loads as loads_json
from caserun.ingest.protocol import ReportSource

_HEAD = re.compile(rb'^\s*\{\s*"type"\s*:\s*"(?:launch|case_run)\.(?:started|finished)"')
_UNFINISHED = "the file ended before this test finished"


class CaserunEventsParser:
    name = "caserun-events"
    title = "caserun events, JSON Lines (pytest plugin spools and --caserun-jsonl)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        text = head.lstrip(b"\xef\xbb\xbf")
        if _HEAD.match(text):
            return 0.95
        first = text.split(b"\n", 1)[0]
        try:
            data = loads_json(first)
        except ValueError:
            return 0.0
        return 0.9 if isinstance(data, dict) and data.get("type") in events.EVENT_TYPES else 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        started: dict[str, events.CaseRunStarted] = {}
        finished: set[str] = set()
        launch_started = launch_finished = None
        with source.open() as stream:
            line_no = 0
            pending: bytes | None = None
            for raw in stream:
                if pending is not None:
                    yield from self._line(pending, line_no, source, started, finished)
                line_no += 1
                pending = raw
                event = self._peek(raw)
                if isinstance(event, events.LaunchStarted):
                    launch_started = event
                elif isinstance(event, events.LaunchFinished):
                    launch_finished = event
            if pending is not None and not (pending.strip() and not pending.endswith(b"\n") and _cut_short(pending)):
                yield from self._line(pending, line_no, source, started, finished)
        for event in started.values():
            attempt = Attempt(status=Status.SKIPPED, started_at=event.started_at, client_id=event.id)
            result = events.to_result(event.test, event.metadata, attempt)
            result.warnings.append(_UNFINISHED)
            yield result
        self._launch_info(source, launch_started, launch_finished)

    @staticmethod
    def _peek(raw: bytes) -> events.Event | None:
        """Launch events are remembered for the launch's facts; cheap to recognise."""
        if b'"launch.' not in raw[:200]:
            return None
        try:
            return events.parse_event(loads_json(raw))
        except (ValueError, InvalidInput):
            return None

    def _line(
        self,
        raw: bytes,
        line_no: int,
        source: ReportSource,
        started: dict[str, events.CaseRunStarted],
        finished: set[str],
    ) -> Iterator[TestResult]:
        if not raw.strip():
            return
        try:
            event = events.parse_event(loads_json(raw))
        except ValueError as exc:
            raise ParseError(f"not JSON: {exc}", file=source.display_name, line=line_no, format=self.name) from None
        except InvalidInput as exc:
            raise ParseError(exc.message, file=source.display_name, line=line_no, format=self.name) from None
        if isinstance(event, events.CaseRunStarted):
            if event.id not in finished:
                started.setdefault(event.id, event)
        elif isinstance(event, events.CaseRunFinished):
            if event.id in finished:
                return
            start = started.pop(event.id, None)
            test = event.test or (start.test if start else None)
            if test is None:
                raise ParseError(
                    f"case run {event.id!r} finished without a case_run.started before it and without a test",
                    file=source.display_name,
                    line=line_no,
                    format=self.name,
                )
            finished.add(event.id)
            metadata = {**(start.metadata if start else {}), **event.metadata}
            yield events.to_result(
                test, metadata, events.finished_attempt(event, started_at=start.started_at if start else None)
            )

    @staticmethod
    def _launch_info(
        source: ReportSource,
        launch: events.LaunchStarted | None,
        end: events.LaunchFinished | None,
    ) -> None:
        if launch is not None:
            source.info["launch"] = launch.launch
            for key in ("name", "environment", "branch", "commit", "build_url"):
                value = getattr(launch, key)
                if value:
                    source.info[key] = value
        if end is not None:
            source.info["status"] = end.status
        if launch and end and launch.started_at and end.finished_at:
            ms = int((end.finished_at - launch.started_at).total_seconds() * 1000)
            source.info["duration_ms"] = str(max(ms, 0))


def _cut_short(raw: bytes) -> bool:
    try:
        loads_json(raw)
    except ValueError:
        return True
    return False


parser = CaserunEventsParser()
