"""Cucumber reports: the classic JSON report and the Cucumber Messages NDJSON stream.

* **Cucumber JSON** has no formal spec; the writers are the reference: cucumber-js
  (https://github.com/cucumber/cucumber-js/blob/main/src/formatter/json_formatter.ts),
  cucumber-jvm's ``JsonFormatter`` and cucumber-ruby. An array of features → ``elements``
  (scenarios and backgrounds) → ``steps`` with ``result.status``/``duration``/
  ``error_message`` and ``embeddings``.
* **Cucumber Messages** (https://github.com/cucumber/messages, JSON schema in
  ``messages/jsonschema``): one envelope per line (``meta``, ``source``,
  ``gherkinDocument``, ``pickle``, ``testCase``, ``testCaseStarted``, ``testStepFinished``,
  ``attachment``, ``testCaseFinished``, ``testRunFinished``…), written by every current
  Cucumber (``--format message`` in cucumber-js).

Quirks handled here:

* **Durations in nanoseconds** in the JSON report (``result.duration``; cucumber-jvm 1–4
  wrote them the same way); ``{seconds, nanos}`` objects in messages. A scenario's
  duration is the sum of its steps (JSON) or ``testCaseStarted`` → ``testCaseFinished``.
* **Backgrounds**: cucumber-jvm and cucumber-ruby write a ``type: background`` element
  before each scenario; its steps are merged into the scenario that follows. cucumber-js
  inlines background steps into the scenario itself.
* **Scenario Outlines**: each example row is a scenario of its own with the outline's name.
  Messages give the row, so the parameters are its cells (``qty=1, total=250``); the JSON
  report does not, so the rows of one outline are told apart as ``example 1``, ``example 2``…
* **Retries** (``--retry``): messages carry every attempt (``testCaseStarted.attempt``,
  ``testCaseFinished.willBeRetried``), which become attempts of one test; the JSON report
  keeps only the final attempt.
* **Step outcomes → the scenario's**: a failed step (or hook) fails the scenario with its
  error (message up to the stack trace, exception type, whole text as trace); an
  ``undefined`` or ``ambiguous`` step fails it with type ``error``; a ``pending`` step skips
  it (``skip_reason`` names the step); all steps skipped (a ``Before`` hook returning
  ``'skipped'``, cucumber-js' hidden hook steps) is skipped. The failing step is kept as
  ``failed_step``.
* **Attachments**: ``embeddings`` (base64 ``data`` + ``mime_type``) and ``attachment``
  messages (``BASE64`` or ``IDENTITY`` body, ``fileName``) become inline attachments;
  ``this.log()`` text (``text/x.cucumber.log+plain``) and cucumber-jvm/ruby step
  ``output`` become the attempt's log instead.
* Tags (feature and scenario) are the ``tags`` metadata; the feature's name is the suite,
  its ``uri`` the file, the scenario's (or example row's) line the line.

The JSON report is streamed twice with ijson (feature headers first, since writers put
``name``/``uri`` after ``elements``; then scenario by scenario), so memory is bounded by
one scenario. The NDJSON stream is read line by line; it keeps the Gherkin documents and
pickles (what a test *is*) and the attempts of scenarios still running.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import ijson  # type: ignore[import-untyped]  # ijson ships no type information

from caserun.domain.model import AttachmentRef, Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.text import failure_type
from caserun.ingest.jsonstream import JsonWalk, decode_head, open_utf8, text
from caserun.ingest.jsonstream import loads as loads_json
from caserun.ingest.protocol import ReportSource

LOG_MEDIA_TYPE = "text/x.cucumber.log+plain"
_STACK_LINE = re.compile(r"^\s+at |^\s*\tat |^\s*# ")
_EXCEPTION = re.compile(r"^\s*(?P<type>[A-Za-z_$][\w$.]*(?:Error|Exception|Failure|Failed))\b")
_ASSERTION = re.compile(r"Assert|Expectation|Comparison")
_MESSAGE_KEYS = (
    "meta",
    "source",
    "gherkinDocument",
    "pickle",
    "stepDefinition",
    "hook",
    "parameterType",
    "testRunStarted",
    "testCase",
    "testCaseStarted",
)
_MESSAGES_HEAD = re.compile(r'^\s*\{\s*"(?:' + "|".join(_MESSAGE_KEYS) + r')"\s*:')


# --- shared: steps to an attempt -----------------------------------------------------------


@dataclass
class _Step:
    label: str
    status: str
    duration_ns: int | None = None
    message: str | None = None
    exception: str | None = None
    hook: bool = False


@dataclass
class _Outcome:
    """What one attempt of a scenario produced, step by step."""

    steps: list[_Step] = field(default_factory=list)
    attachments: list[AttachmentRef] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def attach(self, data: bytes, media_type: str | None, name: str | None) -> None:
        if media_type == LOG_MEDIA_TYPE:
            self.log.append(data.decode("utf-8", errors="replace"))
            return
        if not name:
            extension = mimetypes.guess_extension(media_type or "") or ""
            name = f"attachment-{len(self.attachments) + 1}{extension}"
        self.attachments.append(AttachmentRef(name=name, content_type=media_type, data=data))

    def attempt(self, started_at: datetime | None = None, duration_ms: int | None = None) -> Attempt:
        status, failure, properties = _combine(self.steps)
        if duration_ms is None:
            known = [s.duration_ns for s in self.steps if s.duration_ns is not None]
            duration_ms = round(sum(known) / 1_000_000) if known else None
        return Attempt(
            status=status,
            duration_ms=duration_ms,
            started_at=started_at,
            failure=failure,
            log="".join(line if line.endswith("\n") else line + "\n" for line in self.log) or None,
            attachments=self.attachments,
            properties=properties,
        )


def _split_error(text_: str) -> tuple[str, str | None]:
    """An error text as (message, exception type): the lines before the stack trace."""
    lines = text_.rstrip().splitlines()
    head: list[str] = []
    for line in lines:
        if _STACK_LINE.match(line):
            break
        head.append(line)
    message = "\n".join(head).strip() or (lines[0].strip() if lines else text_)
    match = _EXCEPTION.match(lines[0]) if lines else None
    return message, match.group("type") if match else None


def _combine(steps: list[_Step]) -> tuple[Status, Failure | None, dict[str, str]]:
    """The scenario's status from its steps' (see the module docstring)."""
    properties: dict[str, str] = {}
    for step in steps:
        if step.status == "failed":
            properties["failed_step"] = step.label
            raw = step.message or "step failed"
            message, exception = _split_error(raw)
            exception = step.exception or exception
            if exception and _ASSERTION.search(exception):
                kind = FailureType.ASSERTION
            else:
                kind = failure_type("failure", exception, message)
            return Status.FAILED, Failure(message, kind, exception=exception, trace=step.message), properties
    for step in steps:
        if step.status in ("undefined", "ambiguous"):
            properties["failed_step"] = step.label
            detail = f"\n{step.message}" if step.message else ""
            return Status.FAILED, Failure(f"{step.status} step: {step.label}{detail}", FailureType.ERROR), properties
    for step in steps:
        if step.status == "pending":
            properties["skip_reason"] = f"pending step: {step.label}"
            return Status.SKIPPED, None, properties
    quiet = all(s.status in ("skipped", "unknown") or (s.hook and s.status == "passed") for s in steps)
    if steps and quiet and any(s.status == "skipped" for s in steps):
        hook = next((s for s in steps if s.hook and s.status == "skipped"), None)
        properties["skip_reason"] = f"skipped by {hook.label}" if hook else "all steps skipped"
        return Status.SKIPPED, None, properties
    return Status.PASSED, None, properties


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    names = [t.get("name") for t in value if isinstance(t, dict)]
    return [n for n in names if isinstance(n, str) and n]


def _b64(data: Any) -> bytes | None:
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None


def _joined_tags(*groups: list[str]) -> str | None:
    seen: list[str] = []
    for group in groups:
        seen += [t for t in group if t not in seen]
    return " ".join(seen) or None


# --- Cucumber JSON -------------------------------------------------------------------------


@dataclass
class _Feature:
    name: str = ""
    uri: str | None = None
    tags: list[str] = field(default_factory=list)


_FEATURE_FIELDS = {"item.name", "item.uri", "item.tags"}


def _feature_events(source: ReportSource, fmt: str, elements: bool) -> Iterator[tuple[int, str, Any]]:
    """``(feature index, field, value)`` for the features' header fields and, when
    ``elements``, each element; ijson events are read here because the feature an element
    belongs to is known only by position. A broken document is re-read by ``JsonWalk``,
    which says where it breaks."""
    index = -1
    builder: Any = None
    target = ""
    depth = 0
    stream: IO[bytes] = open_utf8(source)
    try:
        with stream:
            events = ijson.parse(stream, use_float=True)
            first = True
            for prefix, event, value in events:
                if first:
                    first = False
                    if event != "start_array":
                        raise ParseError(
                            "not a Cucumber JSON report: the document is not an array of features",
                            file=source.display_name,
                            line=1,
                            format=fmt,
                        )
                if builder is not None:
                    builder.event(event, value)
                    if event in ("start_map", "start_array"):
                        depth += 1
                    elif event in ("end_map", "end_array"):
                        depth -= 1
                        if depth == 0:
                            yield index, target, builder.value
                            builder = None
                    continue
                if prefix == "item" and event == "start_map":
                    index += 1
                elif prefix == "item" and event not in ("start_map", "end_map", "map_key"):
                    raise ParseError(
                        "not a Cucumber JSON report: a feature is not an object",
                        file=source.display_name,
                        format=fmt,
                    )
                elif (prefix in _FEATURE_FIELDS or (elements and prefix == "item.elements.item")) and event in (
                    "start_map",
                    "start_array",
                ):
                    builder = ijson.ObjectBuilder()
                    builder.event(event, value)
                    target, depth = prefix, 1
                elif prefix in _FEATURE_FIELDS and event not in ("map_key", "end_map", "end_array"):
                    yield index, prefix, value
                if prefix == "" and event == "end_array":
                    return
    except (ijson.JSONError, UnicodeDecodeError):
        for _ in JsonWalk(source, format=fmt, wanted=lambda prefix: False):
            pass
        raise ParseError("not valid JSON", file=source.display_name, format=fmt) from None


class CucumberJsonParser:
    name = "cucumber"
    title = "Cucumber JSON (cucumber-js, cucumber-jvm, cucumber-ruby)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        start = decode_head(head).lstrip()
        if not start.startswith("["):
            return 0.0
        if '"elements"' in start and '"keyword"' in start and ('"steps"' in start or '"uri"' in start):
            return 0.9
        return 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        features: list[_Feature] = []
        for index, key, value in _feature_events(source, self.name, elements=False):
            while len(features) <= index:
                features.append(_Feature())
            feature = features[index]
            if key == "item.name" and isinstance(value, str):
                feature.name = value
            elif key == "item.uri" and isinstance(value, str):
                feature.uri = value
            elif key == "item.tags":
                feature.tags = _tags(value)
        count = 0
        background: list[_Step] = []
        background_outcome: _Outcome | None = None
        outline_rows: dict[tuple[int, str], int] = {}
        current = -1
        for index, key, element in _feature_events(source, self.name, elements=True):
            if key != "item.elements.item":
                continue
            if index != current:
                current, background, background_outcome = index, [], None
            if not isinstance(element, dict):
                raise ParseError("a feature element is not an object", file=source.display_name, format=self.name)
            feature = features[index] if index < len(features) else _Feature()
            if element.get("type") == "background" or element.get("keyword") == "Background":
                background_outcome = _Outcome()
                self._steps(element, background_outcome)
                background = background_outcome.steps
                continue
            outcome = _Outcome()
            if background_outcome is not None:
                outcome.steps += background
                outcome.attachments += background_outcome.attachments
                outcome.log += background_outcome.log
                background_outcome = None
            self._steps(element, outcome)
            count += 1
            yield self._result(element, feature, outcome, outline_rows, index)
        if count == 0:
            raise ParseError("no scenarios in the Cucumber JSON report", file=source.display_name, format=self.name)
        source.info["tool"] = "cucumber"

    @staticmethod
    def _result(
        element: dict[str, Any], feature: _Feature, outcome: _Outcome, rows: dict[tuple[int, str], int], index: int
    ) -> TestResult:
        name = text(element.get("name")) or ""
        keyword = text(element.get("keyword")) or ""
        parameters = None
        element_id = text(element.get("id")) or ""
        if "Outline" in keyword or "Template" in keyword or ";;" in element_id:
            number = rows.get((index, name), 0) + 1
            rows[(index, name)] = number
            parameters = f"example {number}"
        started = element.get("start_timestamp")
        started_at = None
        if isinstance(started, str):
            try:
                started_at = datetime.fromisoformat(started.replace("Z", "+00:00"))
            except ValueError:
                outcome.warnings.append(f"unreadable start_timestamp {started!r}")
        line = element.get("line")
        result = TestResult(
            suite=feature.name,
            name=name or f"<unnamed {keyword or 'scenario'}>",
            attempts=[outcome.attempt(started_at=started_at)],
            parameters=parameters,
            file=feature.uri,
            line=line if isinstance(line, int) and not isinstance(line, bool) else None,
            warnings=outcome.warnings,
        )
        tags = _joined_tags(feature.tags, _tags(element.get("tags")))
        if tags:
            result.metadata["tags"] = tags
        if not name:
            result.warnings.append("scenario without a name")
        return result

    def _steps(self, element: dict[str, Any], outcome: _Outcome) -> None:
        for raw, hook_label in [
            *((h, "Before hook") for h in _list(element.get("before"))),
            *((s, None) for s in _list(element.get("steps"))),
            *((h, "After hook") for h in _list(element.get("after"))),
        ]:
            if not isinstance(raw, dict):
                outcome.warnings.append("a step that is not an object was ignored")
                continue
            self._step(raw, hook_label, outcome)

    @staticmethod
    def _step(raw: dict[str, Any], hook_label: str | None, outcome: _Outcome) -> None:
        keyword = text(raw.get("keyword")) or ""
        is_hook = hook_label is not None or (keyword.strip() in ("Before", "After") and not raw.get("name"))
        label = hook_label or (f"{keyword.strip()} hook" if is_hook else f"{keyword}{text(raw.get('name')) or ''}")
        result = _dict(raw.get("result"))
        status = (text(result.get("status")) or "unknown").lower()
        duration = result.get("duration")
        duration_ns = (
            int(duration)
            if isinstance(duration, int | float) and not isinstance(duration, bool) and duration >= 0
            else None
        )
        outcome.steps.append(_Step(label, status, duration_ns, message=text(result.get("error_message")), hook=is_hook))
        for embedding in raw.get("embeddings") or []:
            if not isinstance(embedding, dict):
                continue
            data = _b64(embedding.get("data"))
            if data is None:
                outcome.warnings.append(f"an embedding of step {label!r} is not base64 data; ignored")
                continue
            media = text(embedding.get("mime_type")) or text(embedding.get("media", {}).get("type"))
            outcome.attach(data, media, text(embedding.get("name")))
        for line in raw.get("output") or []:
            if isinstance(line, str):
                outcome.log.append(line)


# --- Cucumber Messages ---------------------------------------------------------------------


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, dict):
        return None
    seconds, nanos = value.get("seconds"), value.get("nanos", 0)
    if not isinstance(seconds, int | float) or not isinstance(nanos, int | float):
        return None
    try:
        return datetime.fromtimestamp(seconds + nanos / 1e9, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _duration_ns(value: Any) -> int | None:
    if not isinstance(value, dict):
        return None
    seconds, nanos = value.get("seconds", 0), value.get("nanos", 0)
    if not isinstance(seconds, int | float) or not isinstance(nanos, int | float):
        return None
    return int(seconds * 1_000_000_000 + nanos)


@dataclass
class _Pickle:
    name: str
    uri: str | None
    line: int | None
    tags: list[str]
    steps: dict[str, str]  # pickle step id -> "Given text"
    row: str | None  # example row id


@dataclass
class _Started:
    test_case: str
    started_at: datetime | None
    outcome: _Outcome = field(default_factory=_Outcome)


class _Messages:
    """The state of one NDJSON stream while it is read."""

    def __init__(self, source: ReportSource, fmt: str) -> None:
        self.source = source
        self.format = fmt
        self.features: dict[str, str] = {}  # uri -> feature name
        self.feature_tags: dict[str, list[str]] = {}
        self.step_keywords: dict[str, str] = {}  # gherkin step id -> keyword
        self.rows: dict[str, str] = {}  # example row id -> "qty=1, total=250"
        self.pickles: dict[str, _Pickle] = {}
        self.cases: dict[str, tuple[str, dict[str, str]]] = {}  # test case -> (pickle, step id -> label)
        self.hooks: dict[str, str] = {}
        self.started: dict[str, _Started] = {}
        self.attempts: dict[str, list[Attempt]] = {}  # test case -> finished attempts
        self.finished: set[str] = set()
        self.warnings: dict[str, list[str]] = {}  # test case -> warnings of its attempts
        self.run_started: datetime | None = None

    def fail(self, message: str, line: int) -> ParseError:
        return ParseError(message, file=self.source.display_name, line=line, format=self.format)

    def envelope(self, message: dict[str, Any], line: int) -> Iterator[TestResult]:
        for key, body in message.items():
            if not isinstance(body, dict):
                raise self.fail(f"message {key!r} is not an object", line)
            handler = getattr(self, f"on_{key}", None)
            if handler is not None:
                result = handler(body, line)
                if result is not None:
                    yield result

    def on_meta(self, body: dict[str, Any], line: int) -> None:
        info = self.source.info
        implementation = body.get("implementation") or {}
        info["tool"] = text(implementation.get("name")) or "cucumber"
        version = text(implementation.get("version"))
        if version:
            info["tool_version"] = version
        runtime = body.get("runtime") or {}
        if isinstance(runtime, dict) and runtime.get("name"):
            info["runtime"] = f"{runtime.get('name')} {runtime.get('version') or ''}".strip()
        os_ = body.get("os") or {}
        if isinstance(os_, dict) and os_.get("name"):
            info["os"] = str(os_.get("name"))

    def on_gherkinDocument(self, body: dict[str, Any], line: int) -> None:  # noqa: N802 - message name
        uri = text(body.get("uri")) or ""
        feature = body.get("feature")
        if not isinstance(feature, dict):
            return
        self.features[uri] = text(feature.get("name")) or ""
        self.feature_tags[uri] = _tags(feature.get("tags"))
        self._children(feature.get("children"))

    def _children(self, children: Any) -> None:
        for child in children if isinstance(children, list) else []:
            if not isinstance(child, dict):
                continue
            if isinstance(child.get("rule"), dict):
                self._children(child["rule"].get("children"))
            node = child.get("scenario") or child.get("background")
            if not isinstance(node, dict):
                continue
            for step in node.get("steps") or []:
                if isinstance(step, dict) and isinstance(step.get("id"), str):
                    self.step_keywords[step["id"]] = text(step.get("keyword")) or ""
            for examples in node.get("examples") or []:
                if not isinstance(examples, dict):
                    continue
                header = [text(c.get("value")) or "" for c in (examples.get("tableHeader") or {}).get("cells") or []]
                for row in examples.get("tableBody") or []:
                    cells = [text(c.get("value")) or "" for c in row.get("cells") or []]
                    if isinstance(row.get("id"), str):
                        self.rows[row["id"]] = ", ".join(f"{h}={v}" for h, v in zip(header, cells, strict=False))

    def on_pickle(self, body: dict[str, Any], line: int) -> None:
        pickle_id = text(body.get("id"))
        if not pickle_id:
            raise self.fail("pickle without an id", line)
        steps: dict[str, str] = {}
        for step in body.get("steps") or []:
            if not isinstance(step, dict) or not isinstance(step.get("id"), str):
                continue
            ast = step.get("astNodeIds") or []
            keyword = self.step_keywords.get(ast[0], "") if ast else ""
            steps[step["id"]] = f"{keyword}{text(step.get('text')) or ''}"
        ast_ids = [a for a in body.get("astNodeIds") or [] if isinstance(a, str)]
        row = next((a for a in ast_ids[1:] if a in self.rows), None)
        location = body.get("location") or {}
        line_no = location.get("line") if isinstance(location, dict) else None
        self.pickles[pickle_id] = _Pickle(
            name=text(body.get("name")) or "",
            uri=text(body.get("uri")),
            line=line_no if isinstance(line_no, int) else None,
            tags=_tags(body.get("tags")),
            steps=steps,
            row=row,
        )

    def on_hook(self, body: dict[str, Any], line: int) -> None:
        kind = text(body.get("type")) or ""
        label = "After hook" if kind.startswith("AFTER") else "Before hook"
        if body.get("name"):
            label = f"{label} {body['name']}"
        if isinstance(body.get("id"), str):
            self.hooks[body["id"]] = label

    def on_testCase(self, body: dict[str, Any], line: int) -> None:  # noqa: N802
        case_id, pickle_id = text(body.get("id")), text(body.get("pickleId"))
        if not case_id or not pickle_id:
            raise self.fail("testCase without an id or pickleId", line)
        pickle = self.pickles.get(pickle_id)
        labels: dict[str, str] = {}
        for step in body.get("testSteps") or []:
            if not isinstance(step, dict) or not isinstance(step.get("id"), str):
                continue
            if step.get("hookId"):
                labels[step["id"]] = "\x00" + self.hooks.get(str(step["hookId"]), "hook")
            else:
                labels[step["id"]] = pickle.steps.get(str(step.get("pickleStepId")), "step") if pickle else "step"
        self.cases[case_id] = (pickle_id, labels)

    def on_testRunStarted(self, body: dict[str, Any], line: int) -> None:  # noqa: N802
        self.run_started = _timestamp(body.get("timestamp"))
        if self.run_started is not None:
            self.source.info["started_at"] = self.run_started.isoformat()

    def on_testRunFinished(self, body: dict[str, Any], line: int) -> None:  # noqa: N802
        finished = _timestamp(body.get("timestamp"))
        if finished is not None and self.run_started is not None:
            self.source.info["duration_ms"] = str(round((finished - self.run_started).total_seconds() * 1000))
        if isinstance(body.get("success"), bool):
            self.source.info["success"] = "true" if body["success"] else "false"

    def on_testCaseStarted(self, body: dict[str, Any], line: int) -> None:  # noqa: N802
        started_id, case_id = text(body.get("id")), text(body.get("testCaseId"))
        if not started_id or not case_id:
            raise self.fail("testCaseStarted without an id or testCaseId", line)
        if case_id not in self.cases:
            raise self.fail(f"testCaseStarted for an unknown testCase {case_id!r}", line)
        self.started[started_id] = _Started(case_id, _timestamp(body.get("timestamp")))

    def on_testStepFinished(self, body: dict[str, Any], line: int) -> None:  # noqa: N802
        started = self.started.get(str(body.get("testCaseStartedId")))
        if started is None:
            return
        labels = self.cases[started.test_case][1]
        label = labels.get(str(body.get("testStepId")), "step")
        hook = label.startswith("\x00")
        result = _dict(body.get("testStepResult"))
        exception = _dict(result.get("exception"))
        started.outcome.steps.append(
            _Step(
                label=label.lstrip("\x00"),
                status=(text(result.get("status")) or "unknown").lower(),
                duration_ns=_duration_ns(result.get("duration")),
                message=text(result.get("message"))
                or text(exception.get("stackTrace"))
                or text(exception.get("message")),
                exception=text(exception.get("type")),
                hook=hook,
            )
        )

    def on_attachment(self, body: dict[str, Any], line: int) -> None:
        started = self.started.get(str(body.get("testCaseStartedId")))
        if started is None:
            return
        raw = body.get("body")
        encoding = text(body.get("contentEncoding")) or "IDENTITY"
        media = text(body.get("mediaType"))
        if not isinstance(raw, str):
            started.outcome.warnings.append(f"an attachment without a body was ignored (line {line})")
            return
        data = _b64(raw) if encoding == "BASE64" else raw.encode("utf-8")
        if data is None:
            started.outcome.warnings.append(f"an attachment's base64 body is broken (line {line}); ignored")
            return
        started.outcome.attach(data, media, text(body.get("fileName")))

    def on_testCaseFinished(self, body: dict[str, Any], line: int) -> TestResult | None:  # noqa: N802
        started = self.started.pop(str(body.get("testCaseStartedId")), None)
        if started is None:
            raise self.fail("testCaseFinished for a testCaseStarted that is not open", line)
        finished = _timestamp(body.get("timestamp"))
        duration = None
        if finished is not None and started.started_at is not None:
            duration = max(0, round((finished - started.started_at).total_seconds() * 1000))
        attempts = self.attempts.setdefault(started.test_case, [])
        attempts.append(started.outcome.attempt(started.started_at, duration))
        self.warnings.setdefault(started.test_case, []).extend(started.outcome.warnings)
        if body.get("willBeRetried") is True:
            return None
        return self.result(started.test_case)

    def result(self, case_id: str, warning: str | None = None) -> TestResult:
        pickle_id = self.cases[case_id][0]
        pickle = self.pickles.get(pickle_id) or _Pickle("", None, None, [], {}, None)
        attempts = self.attempts.pop(case_id, [])
        warnings = self.warnings.pop(case_id, [])
        if warning:
            warnings.append(warning)
        if not attempts:
            attempts = [Attempt(Status.SKIPPED, properties={"skip_reason": "never started"})]
        self.finished.add(case_id)
        result = TestResult(
            suite=self.features.get(pickle.uri or "", ""),
            name=pickle.name or "<unnamed scenario>",
            attempts=attempts,
            parameters=self.rows.get(pickle.row) if pickle.row else None,
            file=pickle.uri,
            line=pickle.line,
            warnings=warnings,
        )
        tags = _joined_tags(pickle.tags)
        if tags:
            result.metadata["tags"] = tags
        return result

    def leftovers(self) -> Iterator[TestResult]:
        """Scenarios the stream did not finish: cut short, or still to be retried."""
        for started in list(self.started.values()):
            attempt = started.outcome.attempt(started.started_at)
            if attempt.status is Status.PASSED:
                attempt.status = Status.SKIPPED
                attempt.properties["skip_reason"] = "the stream ended before this scenario finished"
            self.attempts.setdefault(started.test_case, []).append(attempt)
        self.started.clear()
        for case_id in list(self.attempts):
            yield self.result(case_id, "the stream ended before this scenario's final attempt")
        for case_id in self.cases:
            if case_id not in self.finished:
                yield self.result(case_id, "this scenario was never started (a dry run, or the run stopped early)")


class CucumberMessagesParser:
    name = "cucumber-messages"
    title = "Cucumber Messages NDJSON (--format message)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        return 0.95 if _MESSAGES_HEAD.match(decode_head(head)) else 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        state = _Messages(source, self.name)
        count = 0
        with open_utf8(source) as stream:
            for number, raw in enumerate(stream, start=1):
                if not raw.strip():
                    continue
                try:
                    message = loads_json(raw)
                except ValueError as exc:
                    raise state.fail(f"broken JSON line: {exc}", number) from None
                if not isinstance(message, dict) or len(message) != 1:
                    raise state.fail("not a Cucumber message (one key per envelope)", number)
                for result in state.envelope(message, number):
                    count += 1
                    yield result
        for result in state.leftovers():
            count += 1
            yield result
        if count == 0:
            raise ParseError("no test cases in the Cucumber messages", file=source.display_name, format=self.name)


json_parser = CucumberJsonParser()
messages_parser = CucumberMessagesParser()
