"""Playwright Test's JSON reporter (``--reporter=json``).

There is no published schema; the writer is the spec:
https://github.com/microsoft/playwright/blob/main/packages/playwright/src/reporters/json.ts
with its types in ``packages/playwright/types/testReporter.d.ts`` (``JSONReport``).
``{config, suites, errors, stats}``: suites nest (a file, then ``describe`` blocks), each
with ``specs`` (one per ``test()``), each spec has ``tests`` (one per project, and per
``repeatEach`` run), each test has ``results`` (one per attempt, ``retry`` 0, 1, …).

Quirks handled here:

* **Identity**: suite = the file (relative to the test dir, as Playwright writes it) and
  the describe titles, joined with ``" > "``; name = the spec title; the project name is
  the parameters (the same test in ``chromium`` and ``firefox`` is two tests) and the
  ``project`` metadata. ``repeatEach`` repeats a test with the same project: the repeats
  are told apart by ``#2``, ``#3``… in the parameters, never merged as attempts.
* **Retries**: every attempt is in ``results``, ordered by ``retry``; a test whose last
  attempt passed after failures is passed (Playwright's ``flaky``).
* **Expected failures** (``test.fail()``): ``expectedStatus: "failed"``; a failed attempt
  is then passed (``expected_status`` property), a passing one is failed.
* Statuses: ``timedOut`` is failed with a timeout failure, ``interrupted`` is failed
  with an error, ``skipped`` is skipped (the ``skip``/``fixme`` annotation is the reason);
  a test that never ran has no results and is skipped.
* **Failures**: ``error`` (else the first of ``errors``) gives message and stack;
  Playwright writes terminal colour codes into messages, stacks and snippets even into
  a file: they are removed. Further ``errors`` (soft assertions) are appended to the trace.
* **Attachments**: ``{name, contentType, path}`` keep the path as written (absolute,
  under the project's ``outputDir``: the uploader resolves it next to the report and
  refuses anything outside the report's folder); ``{name, contentType, body}`` are
  inline base64.
* ``stdout``/``stderr`` are arrays of ``{text}`` or ``{buffer}`` (base64) chunks.
* Tags (``@slow``), annotations (``issue`` → ``SHOP-42``) become metadata.
* Top-level ``errors`` (a test file that does not load, a failing global setup) become
  failed tests named after the error's file, so the launch shows them.
* ``stats.startTime``/``duration`` and ``config.version`` go to the launch info.

The document is streamed: one spec (all its projects and attempts) at a time is built.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from caserun.domain.model import AttachmentRef, Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.jsonstream import (
    JsonWalk,
    annotation_metadata,
    base64_bytes,
    failure_of,
    flatten,
    head_shape,
    iso,
    millis,
    strip_ansi,
    text,
)
from caserun.ingest.protocol import ReportSource

_SPEC = re.compile(r"^suites\.item(?:\.suites\.item)*\.specs\.item$")
_SUITE_TITLE = re.compile(r"^suites\.item(?:\.suites\.item)*\.title$")
_STATUSES = {
    "passed": Status.PASSED,
    "failed": Status.FAILED,
    "timedOut": Status.FAILED,
    "interrupted": Status.FAILED,
    "skipped": Status.SKIPPED,
}


def _wanted(prefix: str) -> bool:
    return prefix in ("config", "errors.item", "stats") or bool(_SPEC.match(prefix) or _SUITE_TITLE.match(prefix))


class PlaywrightParser:
    name = "playwright"
    title = "Playwright Test JSON reporter"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        shape = head_shape(head, max_depth=2)
        if shape.get("config") != "start_map":
            return 0.0
        if shape.get("config.projects") == "start_array" or "config.rootDir" in shape or "config.configFile" in shape:
            return 1.0 if shape.get("suites", "start_array") == "start_array" else 0.0
        return 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        walk = JsonWalk(source, format=self.name, wanted=_wanted, landmarks=("", "config", "suites"))
        titles: list[str] = []
        root_dir = ""
        count = 0
        source.info["tool"] = "Playwright"
        for prefix, value in walk:
            if prefix == "config":
                root_dir = _config(value, source)
            elif prefix == "stats":
                _stats(value, source)
            elif prefix == "errors.item":
                count += 1
                yield _global_error(value, root_dir)
            elif prefix.endswith(".title"):
                depth = prefix.count("suites.item")
                del titles[depth - 1 :]
                titles.extend([""] * (depth - 1 - len(titles)))
                titles.append(text(value) or "")
            else:
                depth = prefix.count("suites.item")
                for result in _spec(value, titles[:depth], source):
                    count += 1
                    yield result
        if walk.seen.get("") != "start_map" or walk.seen.get("suites") != "start_array":
            raise ParseError(
                'not a Playwright JSON report: no top-level "suites" list',
                file=source.display_name,
                format=self.name,
            )
        if count == 0:
            raise ParseError("the report has no tests", file=source.display_name, format=self.name)


def _config(value: Any, source: ReportSource) -> str:
    if not isinstance(value, dict):
        return ""
    version = text(value.get("version"))
    if version:
        source.info["tool_version"] = version
    metadata = value.get("metadata")
    if isinstance(metadata, dict):
        for key, item in flatten(metadata, "metadata").items():
            source.info.setdefault(key, item)
    return text(value.get("rootDir")) or ""


def _stats(value: Any, source: ReportSource) -> None:
    if not isinstance(value, dict):
        return
    started = iso(value.get("startTime"))
    if started:
        source.info["started_at"] = started.isoformat()
    duration = millis(value.get("duration"))
    if duration is not None:
        source.info["duration_ms"] = str(duration)


def _relative(path: str, root: str) -> str:
    if root and path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) + 1 :]
    return path


def _global_error(value: Any, root_dir: str) -> TestResult:
    data: dict[str, Any] = value if isinstance(value, dict) else {"message": text(value)}
    location: dict[str, Any] = data["location"] if isinstance(data.get("location"), dict) else {}
    file = text(location.get("file"))
    failure = _error_failure(data) or Failure(message="error outside any test", type=FailureType.ERROR)
    if failure.type is FailureType.ASSERTION and failure.exception in (None, "Error"):
        failure.type = FailureType.ERROR
    line = location.get("line")
    return TestResult(
        suite=_relative(file, root_dir) if file else "",
        name="error outside any test (file failed to load, or global setup)",
        attempts=[Attempt(status=Status.FAILED, failure=failure)],
        file=file,
        line=line if isinstance(line, int) and line > 0 else None,
    )


def _error_failure(error: Any, more: list[Any] | None = None, *, timed_out: bool = False) -> Failure | None:
    if not isinstance(error, dict):
        return None
    message = strip_ansi(text(error.get("message")))
    trace = strip_ansi(text(error.get("stack")))
    snippet = strip_ansi(text(error.get("snippet")))
    if snippet:
        trace = f"{trace}\n\n{snippet}" if trace else snippet
    for extra in more or []:
        if isinstance(extra, dict) and extra.get("message"):
            trace = (
                f"{trace}\n\n{strip_ansi(text(extra.get('message')))}" if trace else strip_ansi(text(extra["message"]))
            )
    return failure_of(message, trace, timed_out=timed_out)


def _output(chunks: Any) -> str | None:
    if not isinstance(chunks, list):
        return None
    parts: list[str] = []
    for chunk in chunks:
        if isinstance(chunk, str):
            parts.append(chunk)
        elif isinstance(chunk, dict):
            if isinstance(chunk.get("text"), str):
                parts.append(chunk["text"])
            else:
                data = base64_bytes(chunk.get("buffer"))
                if data is not None:
                    parts.append(data.decode("utf-8", errors="replace"))
    return "".join(parts) or None


def _attachments(value: Any, warnings: list[str]) -> list[AttachmentRef]:
    refs: list[AttachmentRef] = []
    if not isinstance(value, list):
        return refs
    for item in value:
        if not isinstance(item, dict):
            continue
        name = text(item.get("name")) or "attachment"
        content_type = text(item.get("contentType"))
        path = text(item.get("path"))
        if path:
            refs.append(AttachmentRef(name=name, path=path, content_type=content_type))
        elif item.get("body") is not None:
            data = base64_bytes(item.get("body"))
            if data is None:
                warnings.append(f"attachment {name!r} has a body that is not base64; ignored")
            else:
                refs.append(AttachmentRef(name=name, content_type=content_type, data=data))
    return refs


def _attempt(result: dict[str, Any], expected: str, warnings: list[str]) -> Attempt:
    raw = text(result.get("status")) or ""
    status = _STATUSES.get(raw)
    properties: dict[str, str] = {}
    if status is None:
        warnings.append(f"unknown result status {raw!r}; taken as failed")
        status = Status.FAILED
    errors: list[Any] = result["errors"] if isinstance(result.get("errors"), list) else []
    error = result.get("error") if isinstance(result.get("error"), dict) else (errors[0] if errors else None)
    more = errors[1:] if len(errors) > 1 else []
    failure = None
    if expected == "failed" and status is not Status.SKIPPED:
        properties["expected_status"] = "failed"
        if status is Status.FAILED and raw == "failed":
            status = Status.PASSED  # test.fail(): it failed, as declared
        else:
            status = Status.FAILED
            failure = Failure(message="expected to fail (test.fail()), but passed", type=FailureType.ASSERTION)
    elif status is Status.FAILED:
        failure = _error_failure(error, more, timed_out=raw == "timedOut")
        if failure is None:
            failure = Failure(
                message="timed out" if raw == "timedOut" else raw or "failed",
                type=FailureType.TIMEOUT if raw == "timedOut" else FailureType.ERROR,
            )
        if raw == "interrupted":
            failure.type = FailureType.ERROR
            properties["interrupted"] = "true"
    notes = annotation_metadata(result.get("annotations"))
    if status is Status.SKIPPED:
        reason = notes.get("skip") or notes.get("fixme")
        if reason:
            properties["skip_reason"] = reason
    return Attempt(
        status=status,
        duration_ms=millis(result.get("duration")),
        started_at=iso(result.get("startTime")),
        failure=failure,
        stdout=_output(result.get("stdout")),
        stderr=_output(result.get("stderr")),
        attachments=_attachments(result.get("attachments"), warnings),
        properties=properties,
    )


def _retry_index(result: dict[str, Any]) -> int:
    retry = result.get("retry")
    return retry if isinstance(retry, int) else 0


def _spec(spec: Any, titles: list[str], source: ReportSource) -> Iterator[TestResult]:
    if not isinstance(spec, dict):
        raise ParseError('a spec in "suites" is not an object', file=source.display_name, format="playwright")
    suite = " > ".join(t for t in titles if t)
    name = text(spec.get("title")) or "<untitled>"
    tags = spec.get("tags")
    seen: dict[str, int] = {}
    tests: list[Any] = spec["tests"] if isinstance(spec.get("tests"), list) else []
    for test in tests:
        if not isinstance(test, dict):
            continue
        warnings: list[str] = []
        project = text(test.get("projectName")) or ""
        seen[project] = seen.get(project, 0) + 1
        expected = text(test.get("expectedStatus")) or "passed"
        results = [r for r in test.get("results") or [] if isinstance(r, dict)]
        results.sort(key=_retry_index)
        attempts = [_attempt(r, expected, warnings) for r in results]
        notes = annotation_metadata(test.get("annotations"))
        if not attempts:
            reason = notes.get("skip") or notes.get("fixme")
            attempts = [Attempt(status=Status.SKIPPED, properties={"skip_reason": reason} if reason else {})]
            if test.get("status") not in (None, "skipped"):
                warnings.append(f"no results, but the test status is {test.get('status')!r}")
        metadata = {k: v for k, v in notes.items() if k not in ("skip", "fixme") and v}
        if project:
            metadata["project"] = project
        if isinstance(tags, list) and tags:
            metadata["tags"] = ", ".join(t for t in (text(x) for x in tags) if t)
        parts = [project] if project else []
        if seen[project] > 1:
            parts.append(f"#{seen[project]}")
        line = spec.get("line")
        yield TestResult(
            suite=suite,
            name=name,
            attempts=attempts,
            parameters=", ".join(parts) or None,
            file=text(spec.get("file")),
            line=line if isinstance(line, int) and line > 0 else None,
            metadata=metadata,
            warnings=warnings,
        )


parser = PlaywrightParser()
