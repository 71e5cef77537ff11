"""Mocha's built-in ``json`` reporter, and mochawesome (which Cypress projects use).

Mocha: https://github.com/mochajs/mocha/blob/main/lib/reporters/json.js writes
``{stats, tests, pending, failures, passes}``, each test as ``{title, fullTitle, file,
duration, currentRetry, speed, err}``. mochawesome:
https://github.com/adamgruber/mochawesome/blob/master/src/mochawesome.js writes
``{stats, results: [suite], meta}`` with suites nested (``suites``) holding ``tests``,
``beforeHooks`` and ``afterHooks``, every object with a ``uuid``.

Quirks handled here:

* **Mocha JSON has no status field**: a test with a non-empty ``err`` failed, one listed
  in ``pending`` (``it.skip``, ``it()`` without a body) is skipped, any other passed.
* **Mocha JSON names**: no describe path, only ``fullTitle`` (the describe titles and
  the title joined by spaces): suite = the file and ``fullTitle`` without the title.
* **Hooks**: a failed ``"before each" hook for "X"`` appears only in ``failures`` (mocha
  JSON) or the suite's ``beforeHooks`` (mochawesome, where the tests it prevented are
  ``skipped: true`` with ``state: null``). The tests it prevented become **blocked** with
  the hook's failure; mocha JSON lists no such test, so the test the hook names is
  made blocked. Any other failed hook (``after each``, ``after all``, a hook whose test
  did run) is yielded as a failed result named after the hook.
* **Retries** (``this.retries(n)``): mocha JSON's ``currentRetry`` counts the failed runs
  before the reported one (no details are kept); mochawesome keeps only the final run.
* ``err``: mocha keeps ``message``, ``stack``, ``actual``/``expected`` (kept as
  properties); mochawesome keeps ``message`` (with the error class in front), ``estack``
  and ``diff``. ``timedOut`` (mochawesome) and mocha's "Timeout of 2000ms exceeded" are
  timeouts.
* **mochawesome ``context``** (``addContext``) is a JSON-encoded *string* (an object or a
  list in older versions) of strings and ``{title, value}`` items: a value that is a
  file path or URL with a file extension is an attachment (path relative to the report),
  other values become metadata; ``code`` is kept as metadata.
* mochawesome's ``file`` is relative to the working directory with a leading ``/``;
  mocha JSON's ``file`` is absolute (its base name is used in the suite).
* Text a test run printed before mocha's JSON (``--reporter json`` on stdout) is skipped.
* Launch info: ``stats.start`` and ``stats.duration``; mochawesome's ``meta`` versions.

Streaming: one test (mocha) or one test/hook (mochawesome) at a time; mocha JSON is read
twice (the ``pending`` list comes after the tests) keeping only test names in memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from caserun.domain.model import AttachmentRef, Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.jsonstream import (
    JsonWalk,
    decode_head,
    failure_of,
    file_label,
    head_shape,
    iso,
    millis,
    open_utf8,
    strip_ansi,
    text,
    unreported_attempts,
)
from caserun.ingest.jsonstream import loads as loads_json
from caserun.ingest.protocol import HEAD_BYTES, ReportSource

_HOOK = re.compile(
    r'^"(?P<kind>(?:before|after) (?:each|all))" hook(?::\s*(?P<hook>.*?))?(?: for "(?P<test>.*)")?$', re.S
)
_MOCHA_START = re.compile(rb'(?m)^\{\s*"stats"\s*:')
_FILE_LIKE = re.compile(r"^[^\s<>\"|*?]+\.[A-Za-z0-9]{2,5}$")


def _err_failure(err: Any, *, timed_out: bool = False) -> Failure | None:
    if not isinstance(err, dict) or not err:
        return None
    message = strip_ansi(text(err.get("message")))
    trace = strip_ansi(text(err.get("stack")) or text(err.get("estack")))
    failure = failure_of(message, trace, exception=text(err.get("name")), timed_out=timed_out)
    if failure.type is FailureType.ERROR and message and message.startswith("Timeout of "):
        failure.type = FailureType.TIMEOUT
    diff = (strip_ansi(text(err.get("diff"))) or "").rstrip()
    if diff and failure.trace and diff not in failure.trace:
        failure.trace = f"{failure.trace}\n\n{diff}"
    return failure


def _hook_result(suite: str, title: str, failure: Failure, file: str | None) -> TestResult:
    if failure.type is FailureType.ASSERTION and failure.exception in (None, "Error"):
        failure.type = FailureType.ERROR
    return TestResult(suite=suite, name=title, attempts=[Attempt(status=Status.FAILED, failure=failure)], file=file)


def _blocked(failure: Failure, hook_title: str) -> Attempt:
    blocked = Failure(
        message=f"{hook_title} failed: {failure.message}",
        type=FailureType.ERROR if failure.type is FailureType.ASSERTION else failure.type,
        exception=failure.exception,
        trace=failure.trace,
    )
    return Attempt(status=Status.BLOCKED, failure=blocked, properties={"blocked_by": hook_title})


def _json_start(source: ReportSource) -> int:
    """Where mocha's JSON starts when console output from the tests came first."""
    with open_utf8(source) as stream:
        head = stream.read(HEAD_BYTES)
    if head.lstrip().startswith(b"{"):
        return 0
    found = _MOCHA_START.search(head)
    return found.start() if found else 0


class MochaParser:
    name = "mocha"
    title = "Mocha JSON (mocha --reporter json)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        text_head = decode_head(head)
        if not text_head.lstrip().startswith("{"):
            found = _MOCHA_START.search(text_head.encode("utf-8"))
            if not found:
                return 0.0
            head = text_head.encode("utf-8")[found.start() :]
        shape = head_shape(head, max_depth=2)
        if shape.get("stats") != "start_map" or shape.get("tests") != "start_array" or "results" in shape:
            return 0.0
        return 1.0 if "stats.passes" in shape else 0.6

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        start = _json_start(source)
        listed: set[tuple[str, str]] = set()
        pending: set[tuple[str, str]] = set()
        first = JsonWalk(
            source,
            format=self.name,
            wanted=lambda p: p in ("tests.item", "pending.item"),
            landmarks=("", "stats", "tests"),
            start=start,
        )
        for prefix, value in first:
            if isinstance(value, dict):
                key = (text(value.get("file")) or "", text(value.get("fullTitle")) or "")
                (listed if prefix == "tests.item" else pending).add(key)
        if first.seen.get("") != "start_map" or first.seen.get("tests") != "start_array":
            raise ParseError(
                'not a mocha JSON report: no top-level "tests" list', file=source.display_name, format=self.name
            )
        source.info["tool"] = "mocha"
        count = 0
        walk = JsonWalk(
            source, format=self.name, wanted=lambda p: p in ("stats", "tests.item", "failures.item"), start=start
        )
        for prefix, value in walk:
            if prefix == "stats":
                _stats(value, source)
                continue
            if not isinstance(value, dict):
                raise ParseError(
                    f'an item of "{prefix[:-5]}" is not an object', file=source.display_name, format=self.name
                )
            key = (text(value.get("file")) or "", text(value.get("fullTitle")) or "")
            if prefix == "tests.item":
                count += 1
                yield _mocha_test(value, key in pending)
            elif key not in listed:
                result = _mocha_hook(value, listed)
                if result is not None:
                    count += 1
                    yield result
        if count == 0:
            raise ParseError("the report has no tests", file=source.display_name, format=self.name)


def _stats(value: Any, source: ReportSource) -> None:
    if not isinstance(value, dict):
        return
    started = iso(value.get("start"))
    if started:
        source.info["started_at"] = started.isoformat()
    duration = millis(value.get("duration"))
    if duration is not None:
        source.info["duration_ms"] = str(duration)


def _mocha_names(data: dict[str, Any]) -> tuple[str, str, str | None]:
    """(suite, title, file) of a mocha JSON test."""
    title = text(data.get("title")) or ""
    full = text(data.get("fullTitle")) or title
    describe = full[: -len(title)].strip() if title and full.endswith(title) else ""
    file = text(data.get("file"))
    label = file_label(file)
    suite = " > ".join(p for p in (label, describe) if p)
    return suite, title or full or "<untitled>", file


def _mocha_test(data: dict[str, Any], is_pending: bool) -> TestResult:
    suite, title, file = _mocha_names(data)
    warnings: list[str] = []
    failure = _err_failure(data.get("err"))
    if failure is not None:
        status = Status.FAILED
    elif is_pending:
        status = Status.SKIPPED
    else:
        status = Status.PASSED
    properties: dict[str, str] = {}
    err = data.get("err")
    if failure is not None and isinstance(err, dict):
        for side in ("expected", "actual"):
            value = text(err.get(side))
            if value is not None:
                properties[side] = value
    final = Attempt(status=status, duration_ms=millis(data.get("duration")), failure=failure, properties=properties)
    retries = data.get("currentRetry")
    earlier = unreported_attempts(retries) if isinstance(retries, int) and retries > 0 else []
    if retries is not None and not isinstance(retries, int):
        warnings.append(f"unreadable currentRetry {retries!r}; ignored")
    return TestResult(suite=suite, name=title, attempts=[*earlier, final], file=file, warnings=warnings)


def _mocha_hook(data: dict[str, Any], listed: set[tuple[str, str]]) -> TestResult | None:
    """A failure that is not a listed test: a hook. A failed "before" hook blocks the test
    it names (mocha lists no such test); anything else is a failed result of its own."""
    suite, title, file = _mocha_names(data)
    failure = _err_failure(data.get("err")) or Failure(message="hook failed", type=FailureType.ERROR)
    hook = _HOOK.match(title)
    if hook and hook.group("kind").startswith("before") and hook.group("test"):
        describe_full = (text(data.get("fullTitle")) or "")[: -len(title)].strip()
        test_full = f"{describe_full} {hook.group('test')}".strip()
        if (text(data.get("file")) or "", test_full) not in listed:
            hook_title = title.split(" for ", 1)[0]
            return TestResult(suite=suite, name=hook.group("test"), attempts=[_blocked(failure, hook_title)], file=file)
    return _hook_result(suite, title, failure, file)


# --- mochawesome -------------------------------------------------------------------------

_SUITE = r"^results\.item(?:\.suites\.item)*"
_AWESOME_ITEM = re.compile(_SUITE + r"\.(?P<list>tests|beforeHooks|afterHooks)\.item$")
_AWESOME_FIELD = re.compile(_SUITE + r"\.(?P<field>title|file|fullFile)$")


def _awesome_wanted(prefix: str) -> bool:
    return prefix in ("stats", "meta") or bool(_AWESOME_ITEM.match(prefix) or _AWESOME_FIELD.match(prefix))


@dataclass
class _Frame:
    title: str = ""
    file: str = ""
    full_file: str = ""
    failed_before: list[tuple[str, Failure]] = field(default_factory=list)


def _context(value: Any, warnings: list[str]) -> tuple[list[AttachmentRef], dict[str, str]]:
    """mochawesome's ``addContext`` values: attachments and metadata."""
    if isinstance(value, str):
        try:
            value = loads_json(value)
        except ValueError:
            value = [value]
    items = value if isinstance(value, list) else [value] if value is not None else []
    refs: list[AttachmentRef] = []
    metadata: dict[str, str] = {}
    notes: list[str] = []
    for item in items:
        if isinstance(item, dict):
            title = text(item.get("title")) or "context"
            content = item.get("value")
            shown = text(content)
            if shown and _FILE_LIKE.match(shown) and not shown.startswith(("http://", "https://")):
                refs.append(AttachmentRef(name=title, path=shown))
            elif shown is not None:
                metadata[title] = shown
            elif content is not None:
                metadata[title] = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        elif text(item):
            notes.append(text(item) or "")
        elif item is not None:
            warnings.append("a context entry of an unexpected type was ignored")
    if notes:
        metadata["context"] = "\n".join(notes)
    return refs, metadata


class MochawesomeParser:
    name = "mochawesome"
    title = "mochawesome JSON (mocha, Cypress)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        shape = head_shape(head, max_depth=3)
        if shape.get("stats") != "start_map" or shape.get("results") != "start_array":
            return 0.0
        return 1.0 if "results.item.uuid" in shape or "results.item.suites" in shape else 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        walk = JsonWalk(source, format=self.name, wanted=_awesome_wanted, landmarks=("", "stats", "results"))
        frames: list[_Frame] = []
        source.info["tool"] = "mocha (mochawesome)"
        count = 0
        for prefix, value in walk:
            if prefix == "stats":
                _stats(value, source)
                continue
            if prefix == "meta":
                _meta(value, source)
                continue
            depth = prefix.count(".item") - (1 if _AWESOME_ITEM.match(prefix) else 0)
            field_match = _AWESOME_FIELD.match(prefix)
            if field_match:
                if field_match.group("field") == "title":
                    del frames[depth - 1 :]
                    while len(frames) < depth:
                        frames.append(_Frame())
                    frames[-1].title = text(value) or ""
                elif frames:
                    setattr(
                        frames[-1], "file" if field_match.group("field") == "file" else "full_file", text(value) or ""
                    )
                continue
            match = _AWESOME_ITEM.match(prefix)
            assert match is not None
            if not isinstance(value, dict):
                raise ParseError(f"a test in {prefix} is not an object", file=source.display_name, format=self.name)
            scope = frames[:depth]
            result = _awesome_item(value, match.group("list"), scope)
            if result is not None:
                count += 1
                yield result
        if walk.seen.get("") != "start_map" or walk.seen.get("results") != "start_array":
            raise ParseError(
                'not a mochawesome report: no top-level "results" list', file=source.display_name, format=self.name
            )
        if count == 0:
            raise ParseError("the report has no tests", file=source.display_name, format=self.name)


def _meta(value: Any, source: ReportSource) -> None:
    if not isinstance(value, dict):
        return
    for tool in ("mocha", "mochawesome"):
        entry = value.get(tool)
        version = text(entry.get("version")) if isinstance(entry, dict) else None
        if version:
            source.info["tool_version" if tool == "mocha" else "mochawesome_version"] = version


def _awesome_suite(scope: list[_Frame]) -> tuple[str, str | None]:
    file = next((f.file for f in reversed(scope) if f.file), "")
    full = next((f.full_file for f in reversed(scope) if f.full_file), "")
    label = file.lstrip("/") if file else file_label(full)
    parts = [label] + [f.title for f in scope if f.title]
    return " > ".join(p for p in parts if p), full or file or None


def _awesome_item(data: dict[str, Any], kind: str, scope: list[_Frame]) -> TestResult | None:
    suite, file = _awesome_suite(scope)
    title = text(data.get("title")) or "<untitled>"
    timed_out = data.get("timedOut") is True
    failure = _err_failure(data.get("err"), timed_out=timed_out)
    state = text(data.get("state"))
    if kind != "tests":
        if state != "failed" and failure is None:
            return None
        failure = failure or Failure(message="hook failed", type=FailureType.ERROR)
        if kind == "beforeHooks" and scope:
            scope[-1].failed_before.append((title.split(" for ", 1)[0], failure))
            return None
        return _hook_result(suite, title, failure, file)
    warnings: list[str] = []
    refs, metadata = _context(data.get("context"), warnings)
    code = text(data.get("code"))
    if code:
        metadata["code"] = code
    properties: dict[str, str] = {}
    if state == "failed" or data.get("fail") is True:
        attempt = Attempt(status=Status.FAILED, failure=failure or Failure(message="failed", type=FailureType.UNKNOWN))
    elif state == "pending" or data.get("pending") is True:
        attempt = Attempt(status=Status.SKIPPED)
    elif data.get("skipped") is True:
        blocker = next((hook for frame in reversed(scope) for hook in frame.failed_before), None)
        attempt = _blocked(blocker[1], blocker[0]) if blocker else Attempt(status=Status.SKIPPED)
    elif state == "passed" or data.get("pass") is True:
        attempt = Attempt(status=Status.PASSED)
    else:
        warnings.append(f"unknown state {state!r}; taken as skipped")
        attempt = Attempt(status=Status.SKIPPED)
    attempt.duration_ms = millis(data.get("duration"))
    attempt.attachments = refs
    attempt.properties.update(properties)
    return TestResult(suite=suite, name=title, attempts=[attempt], file=file, metadata=metadata, warnings=warnings)


mocha_parser = MochaParser()
mochawesome_parser = MochawesomeParser()
