"""Jest's ``--json`` output and Vitest's ``--reporter=json`` (which copies its layout).

Jest: the writer is ``formatTestResults`` in
https://github.com/jestjs/jest/blob/main/packages/jest-test-result/src/formatTestResults.ts
(types ``FormattedTestResults`` in ``packages/jest-test-result/src/types.ts``). Vitest:
https://github.com/vitest-dev/vitest/blob/main/packages/vitest/src/node/reporters/json.ts.
``{numTotalTests, …, startTime, testResults: [{name (the file), status, message,
assertionResults: [{ancestorTitles, title, status, duration, failureMessages, …}]}]}``.

The two are told apart by content: Jest writes ``numRuntimeErrorTestSuites``,
``openHandles`` and ``wasInterrupted`` at the top and ``invocations``/``numPassingAsserts``
per test; Vitest writes none of them (and ``meta`` per test).

Quirks handled here:

* **Identity**: suite = the test file and the ``ancestorTitles`` (describe blocks) joined
  with ``" > "``; name = ``title``. The file is an absolute path in both tools: its base
  name is used, because the checkout directory differs between machines (the full path
  is kept as the test's file).
* Statuses: ``pending``, ``skipped``, ``todo`` and ``disabled`` are skipped (``todo`` is
  kept as a property); ``focused`` is passed.
* **Jest retries** (``jest.retryTimes``): ``invocations`` counts the runs; the earlier
  runs' errors are in ``retryReasons`` (Jest 29.6+), oldest first; runs counted but not
  described become failed attempts without details.
* **Vitest retries** (``retry``): the JSON keeps no count, but ``failureMessages`` holds
  one error per failed run (errors accumulate over retries): a passed test with
  failure messages passed on a retry; a failed test with several messages is taken as
  retried once per extra message. ``retryCount``, where a Vitest version writes it, wins.
  An attempt that threw two errors (``expect.soft``) cannot be told from two attempts.
* ``failureMessages`` are ``"Error: message\\n    at …"`` strings: the message is the text
  before the first stack frame; terminal colour codes (``--colors``) are removed. Jest's
  ``failureDetails`` with a ``matcherResult`` mark an assertion.
* A test file that does not load (syntax error, missing module) has ``status: failed``,
  a ``message`` and no tests: it becomes one failed test named "Test suite failed to run".
* ``numPassingAsserts`` (Jest), ``location`` (``--testLocationInResults``), ``startAt``
  (Jest 30), Vitest's ``meta`` (metadata).
* Launch info: ``startTime``, and the duration up to the last file's ``endTime``.

Streaming: one test file (``testResults`` item) at a time is built, as Jest writes its
tests before its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from caserun.domain.model import Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.jsonstream import (
    UNREPORTED,
    JsonWalk,
    epoch,
    failure_of,
    file_label,
    flatten,
    head_shape,
    millis,
    strip_ansi,
    text,
)
from caserun.ingest.protocol import ReportSource

_STATUSES = {
    "passed": Status.PASSED,
    "failed": Status.FAILED,
    "pending": Status.SKIPPED,
    "skipped": Status.SKIPPED,
    "todo": Status.SKIPPED,
    "disabled": Status.SKIPPED,
    "focused": Status.PASSED,
}
_JEST_ONLY = ("numRuntimeErrorTestSuites", "openHandles", "wasInterrupted")
_JEST_TEST_ONLY = ("invocations", "numPassingAsserts", "failureDetails", "retryReasons")
_FRAME = re.compile(r"\n\s+at \S")
_FILE = "testResults.item"
_TOP = ("startTime", "success", "numTotalTests")


def _is_jest_like(shape: dict[str, Any]) -> bool:
    return shape.get("testResults") == "start_array" and isinstance(shape.get("numTotalTests"), int | float)


def _is_jest(shape: dict[str, Any]) -> bool:
    if any(key in shape for key in _JEST_ONLY):
        return True
    return any(f"testResults.item.assertionResults.item.{key}" in shape for key in _JEST_TEST_ONLY)


def _split(message: str) -> tuple[str, str]:
    """``Error: msg\\n    at f (file:1:2)`` → (``Error: msg``, the whole text)."""
    cleaned = strip_ansi(message) or ""
    frame = _FRAME.search(cleaned)
    head = cleaned[: frame.start()] if frame else cleaned
    return head.strip("\n"), cleaned


def _failure(message: Any, assertion: bool = False) -> Failure:
    raw = text(message)
    if not raw:
        return Failure(message=UNREPORTED, type=FailureType.UNKNOWN)
    head, trace = _split(raw)
    return failure_of(head, trace, assertion=assertion)


class _JestFamilyParser:
    name = ""
    title = ""
    tool = ""
    vitest = False

    def sniff(self, head: bytes, source: ReportSource) -> float:
        shape = head_shape(head, max_depth=4)
        if not _is_jest_like(shape):
            return 0.0
        return 1.0 if _is_jest(shape) != self.vitest else 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        walk = JsonWalk(
            source,
            format=self.name,
            wanted=lambda p: p == _FILE or p in _TOP,
            landmarks=("", "testResults"),
        )
        source.info["tool"] = self.tool
        count = 0
        started: float | None = None
        ended: float | None = None
        for prefix, value in walk:
            if prefix == "startTime":
                moment = epoch(value)
                if moment:
                    source.info["started_at"] = moment.isoformat()
                    started = moment.timestamp() * 1000
            elif prefix == _FILE:
                if not isinstance(value, dict):
                    raise ParseError(
                        'an item of "testResults" is not an object', file=source.display_name, format=self.name
                    )
                end = millis(value.get("endTime"))
                if end is not None:
                    ended = max(ended or 0, end)
                for result in self._file(value):
                    count += 1
                    yield result
        if walk.seen.get("") != "start_map" or walk.seen.get("testResults") != "start_array":
            raise ParseError(
                f'not a {self.tool} JSON report: no top-level "testResults" list',
                file=source.display_name,
                format=self.name,
            )
        if started is not None and ended is not None and ended >= started:
            source.info["duration_ms"] = str(round(ended - started))
        if count == 0:
            raise ParseError("the report has no tests", file=source.display_name, format=self.name)

    def _file(self, data: dict[str, Any]) -> Iterator[TestResult]:
        path = text(data.get("name")) or ""
        label = file_label(path)
        tests = data.get("assertionResults")
        tests = tests if isinstance(tests, list) else []
        message = text(data.get("message"))
        if not tests and message and data.get("status") == "failed":
            head, trace = _split(message)
            first = next((line.strip() for line in head.splitlines() if line.strip() and "●" not in line), head)
            failure = failure_of(first, trace)
            if failure.type is FailureType.ASSERTION:
                failure.type = FailureType.ERROR
            yield TestResult(
                suite=label,
                name="Test suite failed to run",
                attempts=[Attempt(status=Status.FAILED, failure=failure)],
                file=path or None,
            )
            return
        for index, test in enumerate(tests):
            if not isinstance(test, dict):
                continue
            yield self._test(test, label, path, index)

    def _test(self, data: dict[str, Any], label: str, path: str, index: int) -> TestResult:
        warnings: list[str] = []
        ancestors = data.get("ancestorTitles")
        titles = [t for t in (text(a) for a in ancestors) if t] if isinstance(ancestors, list) else []
        name = text(data.get("title"))
        if not name:
            warnings.append(f"test #{index + 1} of {label} has no title")
            name = text(data.get("fullName")) or f"<untitled #{index + 1}>"
        raw = text(data.get("status")) or ""
        status = _STATUSES.get(raw)
        if status is None:
            warnings.append(f"unknown status {raw!r}; taken as skipped")
            status = Status.SKIPPED
        properties: dict[str, str] = {}
        if raw in ("todo", "disabled", "focused"):
            properties["raw_status"] = raw
        passing = data.get("numPassingAsserts")
        if isinstance(passing, int) and passing > 0:
            properties["passing_asserts"] = str(passing)
        messages = [m for m in data.get("failureMessages") or [] if isinstance(m, str)]
        assertion = any(
            isinstance(d, dict) and isinstance(d.get("matcherResult"), dict) for d in data.get("failureDetails") or []
        )
        earlier, final_failure = self._retries(data, status, messages, assertion)
        final = Attempt(
            status=status,
            duration_ms=millis(data.get("duration")),
            started_at=epoch(data.get("startAt")),
            failure=final_failure if status is Status.FAILED else None,
            properties=properties,
        )
        metadata: dict[str, str] = {}
        meta = data.get("meta")
        if isinstance(meta, dict):
            flatten(meta, "", metadata)
        location = data.get("location")
        line = location.get("line") if isinstance(location, dict) else None
        return TestResult(
            suite=" > ".join([label, *titles] if label else titles),
            name=name,
            attempts=[*earlier, final],
            file=path or None,
            line=line if isinstance(line, int) and line > 0 else None,
            metadata=metadata,
            warnings=warnings,
        )

    def _retries(
        self, data: dict[str, Any], status: Status, messages: list[str], assertion: bool
    ) -> tuple[list[Attempt], Failure]:
        """The earlier (failed) attempts, and the final attempt's failure."""
        final_failure = _failure(messages[-1] if messages else None, assertion)
        if self.vitest:
            count = data.get("retryCount")
            if not isinstance(count, int) or count < 0:
                count = len(messages) if status is Status.PASSED else max(len(messages) - 1, 0)
            reasons: list[Any] = messages if status is Status.PASSED else messages[:-1]
        else:
            invocations = data.get("invocations")
            count = invocations - 1 if isinstance(invocations, int) and invocations > 1 else 0
            reasons = [r for r in data.get("retryReasons") or [] if isinstance(r, str)]
        described = reasons[-count:] if count else []
        padding: list[Any] = [None] * (count - len(described))
        earlier = [Attempt(status=Status.FAILED, failure=_failure(m)) for m in [*padding, *described]]
        return earlier, final_failure


class JestParser(_JestFamilyParser):
    name = "jest"
    title = "Jest JSON (jest --json)"
    tool = "Jest"
    vitest = False


class VitestParser(_JestFamilyParser):
    name = "vitest"
    title = "Vitest JSON (vitest --reporter=json)"
    tool = "Vitest"
    vitest = True


jest_parser = JestParser()
vitest_parser = VitestParser()
