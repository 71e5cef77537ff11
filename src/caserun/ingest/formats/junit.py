"""JUnit XML, in the dialects real tools write.

There is no single JUnit XML spec: the de facto schema is Ant's (``junit-4.xsd``), with
Maven Surefire's extensions (https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report.xsd).
Quirks handled here, by the tools that write them:

* **pytest** (xunit1 and xunit2): control characters are written as the text ``#x1B``
  (restored); a teardown error after a test writes a *second* ``<testcase>`` with the
  same name whose ``<error>`` says ``failed on teardown with`` (merged into the test,
  which becomes failed); ``record_property`` gives ``<properties>`` inside a testcase;
  xunit1 adds ``file`` and ``line``; parametrised names end in ``[params]``; xfail is a
  ``<skipped type="pytest.xfail">``.
* **Maven Surefire**: ``flakyFailure``/``flakyError`` are earlier failed attempts of a
  test that then passed; ``rerunFailure``/``rerunError`` are further failed attempts after
  the ``failure``/``error``; each carries its own ``stackTrace``, ``system-out``,
  ``system-err``. Suite-level ``<properties>`` (all JVM system properties) are ignored.
* **Gradle**: one file per class, ``<testsuite>`` root; ``time`` may carry a thousands
  separator in some locales.
* **jest-junit, vitest, Playwright, mocha-junit-reporter**: failures carry the message in
  the element text only; ``classname`` may repeat the suite title; Playwright writes
  ``[[ATTACHMENT|path]]`` lines for attachments.
* **PHPUnit**: suites nest (``testsuite`` inside ``testsuite``), ``class``/``file``/``line``
  attributes; an incomplete or risky test is a ``<skipped/>``.
* **go-junit-report**: ``classname`` is the package path, the failure text is the test
  output.
* Anything: ``[[ATTACHMENT|path]]`` lines in ``system-out``/``system-err`` (the Jenkins
  convention) become attachments resolved relative to the report.

The file is streamed with ``iterparse``; each finished ``<testcase>`` is cleared, so
memory is bounded by the largest single test.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime

from lxml import etree

from caserun.domain.model import Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.text import (
    MAX_SECONDS,
    attachment_refs,
    exception_type,
    failure_type,
    parse_seconds,
    unescape_control,
)
from caserun.ingest.protocol import ReportSource
from caserun.ingest.xmlsafe import iterparse, line_of, local_name, text_of

_OUTCOMES = {"failure", "error", "skipped"}
_EARLIER_ATTEMPTS = {"flakyFailure": "failure", "flakyError": "error"}
_LATER_ATTEMPTS = {"rerunFailure": "failure", "rerunError": "error"}
_TEARDOWN_MARKERS = ("failed on teardown with", "error in teardown")


def _clean(text: str | None) -> str | None:
    return unescape_control(text) if text else text


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


_GENERIC_MESSAGES = {"", "failed", "failure", "error", "test failed"}
_NOISE_LINE = re.compile(r"^\s*(=== RUN|--- FAIL|=== CONT|=== PAUSE|● Test suite failed to run)")


def _meaningful_message(message: str | None, trace: str | None, test_name: str) -> str | None:
    """go-junit-report says "Failed" and PHPUnit starts its text with ``Class::test``: take
    the first line of the body that says something instead."""
    if message and message.strip().lower() not in _GENERIC_MESSAGES:
        return message
    for line in (trace or "").splitlines():
        stripped = line.strip()
        if stripped and not _NOISE_LINE.match(line) and f"::{test_name}" not in stripped and stripped != test_name:
            return stripped
    return message


def _failure(element: etree._Element, kind: str, test_name: str = "") -> Failure:
    message = _clean(element.get("message"))
    trace = None
    stack = element.find("stackTrace")
    body = text_of(stack) if stack is not None else text_of(element)
    if stack is None:
        # Surefire rerun elements hold children; plain failures hold the trace as text.
        body = _clean(element.text) if element.text and element.text.strip() else body
    trace = _clean(body)
    message = _meaningful_message(message.strip() if message else message, trace, test_name)
    exc = exception_type(element.get("type"), message, trace)
    return Failure(
        message=message or kind,
        type=failure_type(kind, exc, message),
        exception=exc,
        trace=trace,
    )


def _child_text(element: etree._Element, name: str) -> str | None:
    return _clean(text_of(element.find(name)))


def _millis(value: str | None) -> int | None:
    """``parse_seconds``, with its common case first: a plain, sane number of seconds."""
    if value:
        try:
            seconds = float(value)
        except ValueError:
            return parse_seconds(value)
        if 0 <= seconds <= MAX_SECONDS:  # false for NaN too
            return round(seconds * 1000)
    return parse_seconds(value)


def _testcase(el: etree._Element, enclosing: str) -> TestResult:
    """One finished ``<testcase>`` element as a TestResult; ``enclosing`` is the name of
    the innermost ``<testsuite>`` around it."""
    get = el.get
    name = get("name") or ""
    suite = get("classname") or get("class") or enclosing
    if suite == name and enclosing:
        # jest-junit's default templates write "{classname} {title}" as both
        suite = enclosing
    warnings: list[str] = []
    if not name:
        warnings.append(f"testcase without a name at line {el.sourceline}")
        name = f"<unnamed line {el.sourceline}>"
    time = get("time")
    duration = _millis(time)
    if time and duration is None:
        warnings.append(f"unreadable time {time!r}")
    if len(el):
        main, earlier, later = _attempts(el, name)
    else:  # most testcases: a pass with nothing inside
        main, earlier, later = Attempt(status=Status.PASSED), [], []
    main.duration_ms = duration
    main.started_at = _timestamp(get("timestamp"))
    line = get("line") or get("lineno")
    return TestResult(
        suite=suite,
        name=name,
        attempts=[*earlier, main, *later] if earlier or later else [main],
        file=get("file"),
        line=int(line) if line and line.isdigit() else None,
        warnings=warnings,
    )


def _attempts(el: etree._Element, name: str) -> tuple[Attempt, list[Attempt], list[Attempt]]:
    """What a testcase's children say: its own attempt, and Surefire's earlier and later
    attempts."""
    stdout = _child_text(el, "system-out")
    stderr = _child_text(el, "system-err")
    properties = _properties(el)
    status = Status.PASSED
    failure: Failure | None = None
    earlier: list[Attempt] = []
    later: list[Attempt] = []
    for child in el:
        tag = local_name(child)
        if tag in ("failure", "error") and failure is None:
            status, failure = Status.FAILED, _failure(child, tag, name)
        elif tag == "skipped" and failure is None:
            status = Status.SKIPPED
            message = _clean(child.get("message")) or _clean(text_of(child))
            if message:
                properties.setdefault("skip_reason", message.strip())
            if child.get("type") == "pytest.xfail":
                properties["xfail"] = "true"
        elif tag in _EARLIER_ATTEMPTS:
            earlier.append(_extra_attempt(child, _EARLIER_ATTEMPTS[tag], name))
        elif tag in _LATER_ATTEMPTS:
            later.append(_extra_attempt(child, _LATER_ATTEMPTS[tag], name))
    main = Attempt(
        status=status,
        failure=failure,
        stdout=stdout,
        stderr=stderr,
        attachments=attachment_refs(stdout) + attachment_refs(stderr),
        properties=properties,
    )
    return main, earlier, later


def _properties(el: etree._Element) -> dict[str, str]:
    props: dict[str, str] = {}
    block = el.find("properties")
    if block is not None:
        for prop in block.iterfind("property"):
            key = prop.get("name")
            if key:
                props[key] = _clean(prop.get("value") or text_of(prop) or "") or ""
    return props


def _extra_attempt(element: etree._Element, kind: str, name: str = "") -> Attempt:
    stdout = _child_text(element, "system-out")
    stderr = _child_text(element, "system-err")
    return Attempt(
        status=Status.FAILED,
        duration_ms=parse_seconds(element.get("time")),
        failure=_failure(element, kind, name),
        stdout=stdout,
        stderr=stderr,
        attachments=attachment_refs(stdout) + attachment_refs(stderr),
    )


def _is_teardown_error(result: TestResult) -> bool:
    failure = result.final.failure
    return (
        len(result.attempts) == 1
        and failure is not None
        and failure.type is not None
        and failure.message.lower().startswith(_TEARDOWN_MARKERS)
    )


def _merge_teardown(test: TestResult, teardown: TestResult) -> TestResult:
    """pytest's second ``<testcase>`` for a teardown error belongs to the same test."""
    final = test.final
    error = teardown.final
    if final.status in (Status.PASSED, Status.SKIPPED):
        final.status = Status.FAILED
        final.failure = error.failure
    final.stdout = final.stdout or error.stdout
    final.stderr = final.stderr or error.stderr
    final.attachments.extend(error.attachments)
    final.properties["teardown_error"] = error.failure.message if error.failure else "error"
    return test


class JUnitParser:
    name = "junit"
    title = "JUnit XML (pytest, Surefire, Gradle, jest-junit, vitest, Playwright, PHPUnit, go-junit-report)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        # TestNG, NUnit (<test-suite>), xUnit.net and TRX use other element names.
        text = _decode_head(head)
        return 0.9 if "<testsuite" in text else 0.0

    @staticmethod
    def _root(element: etree._Element, source: ReportSource) -> None:
        """Facts the root states for the whole report: its writer and its duration."""
        if element.get("name") in ("pytest tests", "pytest"):
            source.info["tool"] = "pytest"
        total = parse_seconds(element.get("time"))
        if total is not None:
            source.info["duration_ms"] = str(total)

    def referenced_paths(self, source: ReportSource) -> Iterator[str] | None:
        """The ``[[ATTACHMENT|path]]`` paths, found by scanning the bytes (a tenth of a
        parse), so ``caserun upload`` knows which files to send without parsing the report
        twice; ``None`` when the file is not UTF-8 or ASCII and only a parse can tell."""
        head = source.head(512)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _DECLARED.match(head) and not _UTF8.search(head):
            return None
        return _scan_markers(source)

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        suites: list[str] = []
        pending: TestResult | None = None
        seen_root = False
        count = 0
        with source.open() as stream:
            for event, element in iterparse(stream, file=source.display_name, format=self.name):
                tag = local_name(element)
                if not seen_root:
                    seen_root = True
                    if tag not in ("testsuites", "testsuite"):
                        raise ParseError(
                            f"root element is <{tag}>, not <testsuites> or <testsuite>",
                            file=source.display_name,
                            line=line_of(element),
                            format=self.name,
                        )
                    self._root(element, source)
                if tag == "testsuite":
                    if event == "start":
                        suites.append(element.get("name") or "")
                        if element.get("name") == "pytest":
                            source.info["tool"] = "pytest"
                        if "timestamp" in element.attrib and "started_at" not in source.info:
                            source.info["started_at"] = element.get("timestamp") or ""
                    else:
                        suites.pop()
                        element.clear()
                elif tag == "testcase" and event == "end":
                    result = _testcase(element, suites[-1] if suites else "")
                    _release(element)
                    count += 1
                    if pending is not None and _same_test(pending, result):
                        if _is_teardown_error(result):
                            pending = _merge_teardown(pending, result)
                        elif pending.suite == _JEST_SUITE_FAILURE:
                            pending.warnings.append("jest-junit wrote this suite failure twice; kept the first")
                        else:
                            pending = _merge_rerun(pending, result, source.info.get("tool") == "pytest")
                        continue
                    if pending is not None:
                        yield pending
                    pending = result
        if pending is not None:
            yield pending
        if count == 0:
            raise ParseError("no test cases in report", file=source.display_name, format=self.name)


_JEST_SUITE_FAILURE = "Test suite failed to run"
_LOST_RERUN = "failed, then rerun: pytest-rerunfailures writes no failure details for a rerun attempt to JUnit XML"


def _merge_rerun(test: TestResult, rerun: TestResult, pytest_dialect: bool) -> TestResult:
    """A test repeated right after itself is its next attempt. pytest-rerunfailures only
    reruns failures but writes the earlier attempts as bare ``<testcase/>`` elements, so in
    a pytest report those are failed attempts whose details were lost."""
    if pytest_dialect:
        for attempt in test.attempts:
            if attempt.status is Status.PASSED and attempt.failure is None:
                attempt.status = Status.FAILED
                attempt.failure = Failure(message=_LOST_RERUN, type=FailureType.UNKNOWN)
    test.attempts.extend(rerun.attempts)
    test.warnings.extend(rerun.warnings)
    return test


def _same_test(a: TestResult, b: TestResult) -> bool:
    return a.suite == b.suite and a.name == b.name


def _release(element: etree._Element) -> None:
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _decode_head(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    return head.decode("utf-8", errors="ignore")


_DECLARED = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*encoding=")
_UTF8 = re.compile(rb"encoding=[\"'](?:utf-?8|us-ascii|ascii)[\"']", re.IGNORECASE)
_MARKER = re.compile(rb"\[\[ATTACHMENT\|([^\]\r\n<]+)\]\]")


def _scan_markers(source: ReportSource) -> Iterator[str]:
    """Markers in 1 MiB chunks; each chunk is read with the last 4 KiB of the one before,
    so a marker cut by a chunk boundary is found whole (and a repeat is harmless)."""
    tail = b""
    with source.open() as stream:
        while chunk := stream.read(1 << 20):
            for match in _MARKER.finditer(tail + chunk):
                yield html.unescape(match.group(1).decode("utf-8", "replace")).strip()
            tail = chunk[-4096:]


parser = JUnitParser()
