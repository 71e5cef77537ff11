"""CTRF: the Common Test Report Format, a JSON report many tools' reporters write.

Spec: https://ctrf.io/docs/specification/overview (JSON schema in
https://github.com/ctrf-io/ctrf). A report is ``{"results": {"tool", "summary", "tests",
"environment", "extra"}}``, with ``reportFormat: "CTRF"`` and ``specVersion`` at the top
since 0.0.x reporters of late 2024; older and third-party reporters leave them out.

Quirks handled here, by the reporters that write them:

* **Retries**: ``retries`` counts the attempts before the final one; ``retryAttempts``
  (spec 0.0.x/1.0) describes them, oldest first (``attempt`` numbers, when given, order
  them; an entry numbered as the final attempt is the test itself and is dropped). The
  test object is the final attempt. Retries counted but not described
  (jest-ctrf-json-reporter) become failed attempts without details; ``flaky: true`` on a
  passed test with no retry count gives one such attempt.
* **Names and suites**: ``suite`` is a list (spec 1.0, pytest-json-ctrf) or a string joined
  with ``" > "`` (jest, Playwright, vitest reporters). pytest-json-ctrf's ``name`` is the
  node id (``file::Class::test``) and jest-ctrf-json-reporter's the full name (describe
  titles + title): the suite part is cut off, leaving the test title.
  @d2t/vitest-ctrf-json-reporter writes the full ``" > "`` path as both ``name`` and
  ``suite``: the last part is the name, the rest the suite. mocha-ctrf-json-reporter has no
  suite (the full title is the name) and reports a failed hook as a test of its own.
* **Statuses**: ``pending`` and ``other`` (jest's ``todo``) are skipped; ``rawStatus`` is
  kept when it says more (``xfailed``, ``setup_failed``, ``todo``).
* **Times**: ``duration`` in (fractional) milliseconds; ``start``/``stop`` are epoch
  milliseconds, but playwright-ctrf-json-reporter writes per-test times in seconds.
* **Failures**: ``message``, ``trace`` and ``snippet`` (appended to the trace); Playwright's
  reporter keeps terminal colour codes in all three, which are removed.
* **Attachments**: ``attachments[{name, contentType, path}]`` with the path as written
  (usually absolute: it is resolved by the uploader, and refused outside the report's
  folder); ``screenshot`` (base64) is an inline attachment.
* ``stdout``/``stderr`` arrays of chunks, ``tags``, ``type``, ``browser``, ``device``,
  ``threadId``, ``parameters`` (the test's parameters), ``extra`` (Playwright's
  ``annotations`` become metadata by type) and ``line``/``filePath``.
* ``environment`` (app, build, branch, commit, OS…) and the tool go to the launch info.
* vitest-ctrf-json-reporter 0.0.x (recognised by vitest's internal ``rawStatus`` values
  ``pass``/``fail``) writes the *configured* retry count on every test: it is ignored for
  passed tests, which would otherwise all look passed-on-retry.

The document is streamed: one test object at a time is built.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from caserun.domain.model import AttachmentRef, Attempt, Failure, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.jsonstream import (
    JsonWalk,
    annotation_metadata,
    base64_bytes,
    epoch,
    failure_of,
    flatten,
    head_shape,
    iso,
    joined,
    millis,
    strip_ansi,
    text,
    unreported_attempts,
)
from caserun.ingest.protocol import ReportSource

_STATUSES = {
    "passed": Status.PASSED,
    "failed": Status.FAILED,
    "skipped": Status.SKIPPED,
    "pending": Status.SKIPPED,
    "other": Status.SKIPPED,
}
_TOP = {"reportFormat", "specVersion", "generatedBy", "timestamp", "reportId", "extra"}
_RESULTS = {"results.tool", "results.summary", "results.environment", "results.extra"}
_TEST = "results.tests.item"
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_ENV_KEYS = {"testEnvironment": "environment", "branchName": "branch"}
_METADATA_FIELDS = ("type", "browser", "device", "threadId", "ai")


def _snake(key: str) -> str:
    return _ENV_KEYS.get(key) or _CAMEL.sub(r"_\1", key).lower()


class CtrfParser:
    name = "ctrf"
    title = "CTRF JSON (Common Test Report Format)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        shape = head_shape(head, max_depth=2)
        if shape.get("results") != "start_map" or shape.get("results.tool") != "start_map":
            return 0.0
        if shape.get("reportFormat") == "CTRF":
            return 1.0
        if shape.get("results.tests") == "start_array" or shape.get("results.summary") == "start_map":
            return 0.9
        return 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        walk = JsonWalk(
            source,
            format=self.name,
            wanted=lambda p: p == _TEST or p in _TOP or p in _RESULTS,
            landmarks=("", "results", "results.tests"),
        )
        tool = ""
        count = 0
        for prefix, value in walk:
            if prefix == _TEST:
                count += 1
                yield _test(value, count, tool, source)
            elif prefix == "results.tool":
                tool = _tool(value, source)
            else:
                _launch_fact(prefix, value, source)
        if walk.seen.get("") != "start_map" or walk.seen.get("results") != "start_map":
            raise ParseError(
                'not a CTRF report: no top-level "results" object', file=source.display_name, format=self.name
            )
        if walk.seen.get("results.tests") != "start_array":
            raise ParseError(
                'not a CTRF report: "results.tests" is not a list', file=source.display_name, format=self.name
            )
        if count == 0:
            raise ParseError("the report has no tests", file=source.display_name, format=self.name)


def _tool(value: Any, source: ReportSource) -> str:
    if not isinstance(value, dict):
        return ""
    name = text(value.get("name")) or ""
    if name:
        source.info["tool"] = name
    version = text(value.get("version"))
    if version:
        source.info["tool_version"] = version
    return name.lower()


def _launch_fact(prefix: str, value: Any, source: ReportSource) -> None:
    info = source.info
    if prefix == "results.summary" and isinstance(value, dict):
        start, stop = epoch(value.get("start")), epoch(value.get("stop"))
        if start:
            info["started_at"] = start.isoformat()
        duration = millis(value.get("duration"))
        if duration is None and start and stop and stop >= start:
            duration = round((stop - start).total_seconds() * 1000)
        if duration is not None:
            info["duration_ms"] = str(duration)
    elif prefix == "results.environment" and isinstance(value, dict):
        for key, item in flatten(value).items():
            info[_snake(key)] = item
    elif prefix in ("results.extra", "extra"):
        for key, item in flatten(value, "extra").items():
            info.setdefault(key, item)
    elif prefix == "timestamp":
        moment = iso(value)
        if moment:
            info.setdefault("started_at", moment.isoformat())
    elif prefix in ("generatedBy", "specVersion", "reportId"):
        scalar = text(value)
        if scalar:
            info[_snake(prefix)] = scalar


def _identity(name: str, suite: Any, tool: str) -> tuple[str, str]:
    """(suite, name) with the suite path cut off names that repeat it."""
    if isinstance(suite, list):
        parts = [t for t in (text(s) for s in suite) if t]
    elif isinstance(suite, str) and suite:
        if suite == name and " > " in name:  # @d2t/vitest-ctrf-json-reporter: the full path twice
            *parts, title = name.split(" > ")
            return " > ".join(parts), title
        if suite == name:
            return "", name
        parts = suite.split(" > ")
    else:
        return "", name
    joined_suite = " > ".join(parts)
    candidates = ["::".join(parts) + "::"]  # pytest node ids
    if tool == "jest":  # jest's full name: describe titles (not the file) and the title
        candidates += [" ".join(parts[i:]) + " " for i in range(1, len(parts))]
    for prefix in candidates:
        if len(prefix) > 1 and name.startswith(prefix) and len(name) > len(prefix):
            return joined_suite, name[len(prefix) :]
    return joined_suite, name


def _parameters(value: Any) -> str | None:
    if isinstance(value, dict) and value:
        parts = []
        for key, item in value.items():
            scalar = text(item)
            shown = scalar if scalar is not None else json.dumps(item, ensure_ascii=False, separators=(",", ":"))
            parts.append(f"{key}={shown}")
        return ", ".join(parts)
    if isinstance(value, list) and value:
        return ", ".join(text(v) or json.dumps(v, ensure_ascii=False) for v in value)
    return text(value) or None


def _failure(data: dict[str, Any]) -> Failure:
    message = strip_ansi(text(data.get("message")))
    trace = strip_ansi(text(data.get("trace")))
    snippet = strip_ansi(text(data.get("snippet")))
    if snippet:
        trace = f"{trace}\n\n{snippet}" if trace else snippet
    return failure_of(message, trace, timed_out=data.get("rawStatus") in ("timedOut", "timedout", "timeout"))


def _attachments(data: dict[str, Any], warnings: list[str]) -> list[AttachmentRef]:
    refs: list[AttachmentRef] = []
    raw = data.get("attachments")
    if isinstance(raw, list):
        for item in raw:
            if not isinstance(item, dict):
                warnings.append("an attachment that is not an object was ignored")
                continue
            path = text(item.get("path"))
            name = text(item.get("name")) or (path.replace("\\", "/").rsplit("/", 1)[-1] if path else "attachment")
            if not path:
                warnings.append(f"attachment {name!r} has no path; ignored")
                continue
            refs.append(AttachmentRef(name=name, path=path, content_type=text(item.get("contentType"))))
    elif raw is not None:
        warnings.append('"attachments" is not a list; ignored')
    screenshot = data.get("screenshot")
    if screenshot:
        content = base64_bytes(screenshot)
        if content is None:
            warnings.append('"screenshot" is not base64; ignored')
        else:
            refs.append(AttachmentRef(name="screenshot", content_type="image/png", data=content))
    return refs


def _attempt(data: dict[str, Any], warnings: list[str], *, final: bool) -> Attempt:
    raw_status = text(data.get("status")) or ""
    status = _STATUSES.get(raw_status)
    if status is None:
        where = "" if final else " of an earlier attempt"
        warnings.append(f"unknown status {raw_status!r}{where}; taken as skipped")
        status = Status.SKIPPED
    properties: dict[str, str] = {}
    raw = text(data.get("rawStatus"))
    if raw and raw != raw_status:
        properties["raw_status"] = raw
    elif raw_status in ("pending", "other"):
        properties["raw_status"] = raw_status
    failure = None
    if status is Status.FAILED:
        failure = _failure(data)
    elif status is Status.SKIPPED and text(data.get("message")):
        properties["skip_reason"] = strip_ansi(text(data.get("message"))) or ""
    duration = millis(data.get("duration"))
    if data.get("duration") is not None and duration is None:
        warnings.append(f"unreadable duration {data.get('duration')!r}")
    return Attempt(
        status=status,
        duration_ms=duration,
        started_at=epoch(data.get("start")),
        failure=failure,
        stdout=joined(data.get("stdout")),
        stderr=joined(data.get("stderr")),
        attachments=_attachments(data, warnings),
        properties=properties,
    )


def _earlier(data: dict[str, Any], final: Attempt, warnings: list[str]) -> list[Attempt]:
    """The attempts before the final one: described ones, then any counted but missing."""
    retries = data.get("retries")
    count = retries if isinstance(retries, int) and not isinstance(retries, bool) and retries > 0 else 0
    if retries is not None and not isinstance(retries, int):
        warnings.append(f"unreadable retries {retries!r}; ignored")
    if data.get("rawStatus") == "pass" and final.status is Status.PASSED:
        count = 0  # vitest-ctrf-json-reporter 0.0.x writes the configured retries, not the ones made
    described = data.get("retryAttempts")
    entries: list[dict[str, Any]] = []
    if isinstance(described, list):
        entries = [e for e in described if isinstance(e, dict)]
        if len(entries) != len(described):
            warnings.append("a retry attempt that is not an object was ignored")
        if all(isinstance(e.get("attempt"), int) for e in entries):
            entries.sort(key=lambda e: e["attempt"])
            if count and entries and entries[-1]["attempt"] == count + 1:
                entries.pop()  # the final attempt, repeated
    elif described is not None:
        warnings.append('"retryAttempts" is not a list; ignored')
    attempts = [_attempt(e, warnings, final=False) for e in entries]
    missing = count - len(attempts)
    if missing <= 0 and not attempts and data.get("flaky") is True and final.status is Status.PASSED:
        missing = 1
    return unreported_attempts(max(missing, 0)) + attempts


def _test(data: Any, index: int, tool: str, source: ReportSource) -> TestResult:
    if not isinstance(data, dict):
        raise ParseError(f"test #{index} in results.tests is not an object", file=source.display_name, format="ctrf")
    warnings: list[str] = []
    name = text(data.get("name"))
    if not name:
        warnings.append(f"test #{index} has no name")
        name = f"<unnamed #{index}>"
    suite, title = _identity(name, data.get("suite"), tool)
    final = _attempt(data, warnings, final=True)
    attempts = [*_earlier(data, final, warnings), final]
    metadata: dict[str, str] = {}
    tags = data.get("tags")
    if isinstance(tags, list) and tags:
        metadata["tags"] = ", ".join(t for t in (text(x) for x in tags) if t)
    for field in _METADATA_FIELDS:
        value = text(data.get(field))
        if value:
            metadata["thread" if field == "threadId" else field] = value
    extra = data.get("extra")
    if isinstance(extra, dict):
        for key, value in annotation_metadata(extra.get("annotations")).items():
            if key == "skip" and final.status is Status.SKIPPED and value:
                final.properties.setdefault("skip_reason", value)
            else:
                metadata.setdefault(key, value)
        flatten({k: v for k, v in extra.items() if k != "annotations"}, "extra", metadata)
    if data.get("flaky") is True:
        metadata["flaky"] = "true"
    line = data.get("line")
    file = text(data.get("filePath"))
    return TestResult(
        suite=suite,
        name=title,
        attempts=attempts,
        parameters=_parameters(data.get("parameters")),
        file=file,
        line=line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else None,
        metadata={k: v for k, v in metadata.items() if v},
        warnings=warnings,
    )


parser = CtrfParser()
