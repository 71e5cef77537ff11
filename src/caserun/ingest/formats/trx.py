"""Visual Studio test results (TRX): ``dotnet test --logger trx``, vstest.console, MSTest.

Schema: ``vstst.xsd`` of Visual Studio (namespace
``http://microsoft.com/schemas/VisualStudio/TeamTest/2010``); the writer is
``Microsoft.TestPlatform.Extensions.TrxLogger`` in microsoft/vstest. ``<TestRun>`` holds
``<Results>`` (``<UnitTestResult>``) and ``<TestDefinitions>`` (``<UnitTest>`` with
``<TestMethod className name>``), joined on ``testId``. Quirks handled here:

* **Two passes**: vstest writes ``<Results>`` *before* ``<TestDefinitions>``, so the file
  is read twice: first the definitions (class, method, categories: a few strings per test)
  and how many results each test has, then the results, streamed.
* **Identity**: the suite is ``TestMethod@className`` (an assembly-qualified name is cut at
  the first comma); the name is ``testName`` without the class prefix. ``Method(x: 1)``
  (xUnit theories) and ``Method (1,2)`` (MSTest ``[DataRow]``) become name ``Method`` with
  the arguments as parameters; a custom display name stays as written.
* **Outcomes**: ``Passed``, ``PassedButRunAborted``, ``Completed`` → passed; ``Warning`` →
  passed with a warning; ``Failed`` → failed; ``Error`` and ``NotRunnable`` → failed (error);
  ``Timeout`` → failed (timeout); ``NotExecuted`` and ``Inconclusive`` → skipped;
  ``Aborted``, ``Disconnected``, ``InProgress``, ``Pending`` → blocked (the run stopped).
* **Retries**: several ``<UnitTestResult>`` with the same ``testId`` are attempts of one
  test, in file order (held back until the last one is read).
* **Data-driven tests** (MSTest ``[DataRow]``/``[DynamicData]`` in older adapters): a
  result with ``<InnerResults>`` is a container; each inner row is its own test, named by
  its ``testName``.
* **Failures**: ``<ErrorInfo><Message>`` and ``<StackTrace>``; .NET runners write
  ``System.Exception : text`` and ``Assert.AreEqual failed.`` messages (the exception type and
  assertion kind are read from them). ``&#xD;`` line ends are normalised.
* **Output**: ``<StdOut>``, ``<StdErr>``; ``<DebugTrace>`` and ``<TraceInfo>`` are the log.
* **Attachments**: ``<ResultFiles><ResultFile path>`` (``TestContext.AddResultFile``) are
  stored under ``<runDeploymentRoot>/In/<executionId>/`` next to the ``.trx``; that relative
  path is used.
* **Durations** are ``TimeSpan`` text: ``00:00:00.0032953``, ``1.02:03:04.5``.
* **jest-trx-results-processor** (an imitation, https://github.com/no23reason/jest-trx-results-processor):
  ``<TestDefinitions>`` before ``<Results>``; the stack trace is inside ``<Message>`` (split
  at the first ``    at`` line); ``className="No suite"`` for top-level tests (the test file
  is the suite then); a file that failed to load is a result named after the file with
  ``duration="0"``; names are ``describe / test``, the first part repeating ``className``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from caserun.domain.model import AttachmentRef, Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.nunit import dotnet_exception, to_utc
from caserun.ingest.formats.text import (
    MAX_SECONDS,
    decode_head,
    exception_type,
    failure_type,
    parse_seconds,
    parse_timestamp,
    root_element,
)
from caserun.ingest.protocol import ReportSource
from caserun.ingest.xmlsafe import iterparse, line_of, local_name, text_of

_NAMESPACES = (
    "http://microsoft.com/schemas/VisualStudio/TeamTest/2010",
    "http://microsoft.com/schemas/VisualStudio/TeamTest/2006",
)
_STATUSES = {
    "Passed": Status.PASSED,
    "PassedButRunAborted": Status.PASSED,
    "Completed": Status.PASSED,
    "Warning": Status.PASSED,
    "Failed": Status.FAILED,
    "Error": Status.FAILED,
    "NotRunnable": Status.FAILED,
    "Timeout": Status.FAILED,
    "NotExecuted": Status.SKIPPED,
    "Inconclusive": Status.SKIPPED,
    "Aborted": Status.BLOCKED,
    "Disconnected": Status.BLOCKED,
    "InProgress": Status.BLOCKED,
    "Pending": Status.BLOCKED,
}
_TIMESPAN = re.compile(r"^\s*(?:(\d+)\.)?(\d+):(\d\d):(\d\d(?:\.\d+)?)\s*$")
_CALL = re.compile(r"^(?P<method>[^(]+?) ?\((?P<args>.*)\)$", re.DOTALL)
_JS_FRAME = re.compile(r"\n\s+at ")
_MSTEST_ASSERT = re.compile(r"^\s*(?:Assert|CollectionAssert|StringAssert)\.\w+ failed")
_NO_SUITE = "No suite"


def _timespan(value: str | None) -> int | None:
    """``[d.]hh:mm:ss[.fffffff]`` → ms; a bare number is seconds (jest-trx writes ``0``)."""
    if not value:
        return None
    match = _TIMESPAN.match(value)
    if not match:
        return parse_seconds(value)
    days, hours, minutes, seconds = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return round(total * 1000) if total <= MAX_SECONDS else None


def _text(el: etree._Element | None) -> str | None:
    text = text_of(el)
    if not text:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")


def _find(el: etree._Element, path: str) -> etree._Element | None:
    return el.find("/".join(f"{{*}}{part}" for part in path.split("/")))


@dataclass(slots=True)
class _Definition:
    cls: str
    method: str
    storage: str | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class _Scan:
    """What the first pass learns: test definitions, result counts, the deployment folder."""

    definitions: dict[str, _Definition] = field(default_factory=dict)
    counts: dict[tuple[str, str | None], int] = field(default_factory=dict)
    deployment: str | None = None
    jest: bool = False


def _definition(el: etree._Element) -> _Definition:
    method_el = _find(el, "TestMethod")
    cls = (method_el.get("className") if method_el is not None else None) or ""
    cls = cls.split(",", 1)[0].strip()
    method = (method_el.get("name") if method_el is not None else None) or el.get("name") or ""
    metadata: dict[str, str] = {}
    categories = [c.get("TestCategory") or "" for c in el.iterfind("{*}TestCategory/{*}TestCategoryItem")]
    if any(categories):
        metadata["categories"] = ", ".join(c for c in categories if c)
    owners = [o.get("name") or "" for o in el.iterfind("{*}Owners/{*}Owner")]
    if any(owners):
        metadata["owner"] = ", ".join(o for o in owners if o)
    description = _text(_find(el, "Description"))
    if description:
        metadata["description"] = description
    for prop in el.iterfind("{*}Properties/{*}Property"):
        key, value = _text(_find(prop, "Key")), _text(_find(prop, "Value"))
        if key:
            metadata[key] = value or ""
    if method_el is not None and method_el.get("adapterTypeName"):
        metadata["adapter"] = method_el.get("adapterTypeName") or ""
    return _Definition(cls, method, el.get("storage"), metadata)


class _Reader:
    """Turns ``<UnitTestResult>`` elements into attempts and tests."""

    def __init__(self, scan: _Scan, source: ReportSource) -> None:
        self.scan = scan
        self.source = source

    def identity(self, el: etree._Element, inner: bool, warnings: list[str]) -> tuple[str, str, str | None]:
        definition = self.scan.definitions.get(el.get("testId") or "")
        test_name = el.get("testName") or ""
        cls = definition.cls if definition else ""
        method = definition.method if definition else ""
        if cls == _NO_SUITE or (not cls and definition and definition.storage):
            cls = (definition.storage if definition else None) or ""
        name = test_name
        for separator in (".", " / "):
            if cls and name.startswith(cls + separator):
                name = name[len(cls) + len(separator) :]
                break
        parameters = None
        match = _CALL.match(name)
        if match and match.group("method") in (method, method.rpartition(".")[2]):
            name, parameters = match.group("method"), match.group("args")
        elif inner and el.get("dataRowInfo"):
            parameters = f"row {el.get('dataRowInfo')}"
        if definition is None:
            warnings.append(f"no <UnitTest> definition for testId {el.get('testId')!r}")
        return cls, name or f"<unnamed line {line_of(el)}>", parameters

    def metadata(self, el: etree._Element) -> dict[str, str]:
        definition = self.scan.definitions.get(el.get("testId") or "")
        return dict(definition.metadata) if definition else {}

    def attempt(self, el: etree._Element, warnings: list[str]) -> Attempt:
        outcome = el.get("outcome") or ""
        status = _STATUSES.get(outcome)
        properties: dict[str, str] = {}
        if status is None:
            warnings.append(f"unknown outcome {outcome!r} at line {line_of(el)}; taken as failed")
            status = Status.FAILED
        if outcome not in ("Passed", "Failed", "NotExecuted", ""):
            properties["outcome"] = outcome
        output = _find(el, "Output")
        message = _text(_find(output, "ErrorInfo/Message")) if output is not None else None
        trace = _text(_find(output, "ErrorInfo/StackTrace")) if output is not None else None
        failure = None
        if status in (Status.FAILED, Status.BLOCKED):
            failure = self._failure(outcome, message, trace)
        elif status is Status.SKIPPED and message:
            properties["skip_reason"] = message.strip()
        elif outcome == "Warning":
            warnings.append(f"passed with a warning: {message or 'no message'}")
        stdout = _text(_find(output, "StdOut")) if output is not None else None
        stderr = _text(_find(output, "StdErr")) if output is not None else None
        logs = [_text(_find(output, tag)) for tag in ("DebugTrace", "TraceInfo")] if output is not None else []
        log = "\n".join(text for text in logs if text) or None
        duration = _timespan(el.get("duration"))
        if el.get("duration") and duration is None:
            warnings.append(f"unreadable duration {el.get('duration')!r}")
        return Attempt(
            status=status,
            duration_ms=duration,
            started_at=to_utc(parse_timestamp(el.get("startTime"))),
            failure=failure,
            stdout=stdout,
            stderr=stderr,
            log=log,
            attachments=self._attachments(el),
            properties=properties,
        )

    def _failure(self, outcome: str, message: str | None, trace: str | None) -> Failure:
        if message and not trace and self.scan.jest:
            found = _JS_FRAME.search(message)
            if found:
                message, trace = message[: found.start()].rstrip(), message
        exc = exception_type(dotnet_exception(message), message, trace)
        text = message.strip() if message and message.strip() else None
        if outcome == "Timeout":
            return Failure(text or "timed out", FailureType.TIMEOUT, exc, trace)
        if outcome in ("Aborted", "Disconnected", "InProgress", "Pending"):
            return Failure(text or f"not finished: the run ended with outcome {outcome}", FailureType.ERROR, exc, trace)
        if outcome in ("Error", "NotRunnable"):
            return Failure(text or outcome, FailureType.ERROR, exc, trace)
        if text and _MSTEST_ASSERT.match(text):
            return Failure(text, FailureType.ASSERTION, exc, trace)
        if text is None and trace is None:
            return Failure("failed (the report gives no details)", FailureType.UNKNOWN)
        first = text or (trace or "").strip().splitlines()[0]
        # vstest says Failed for assertions and exceptions alike: without an assertion sign, an error
        return Failure(first, failure_type("error", exc, text), exc, trace)

    def _attachments(self, el: etree._Element) -> list[AttachmentRef]:
        refs = []
        execution = el.get("executionId") or ""
        for item in el.iterfind("{*}ResultFiles/{*}ResultFile"):
            raw = (item.get("path") or "").replace("\\", "/").strip()
            if not raw:
                continue
            root = (self.scan.deployment or "").replace("\\", "/")
            path = f"{root}/In/{execution}/{raw}" if root and execution else raw
            refs.append(AttachmentRef(name=raw.rsplit("/", 1)[-1], path=path))
        return refs


_SECTIONS = {"Results", "TestDefinitions", "TestEntries", "TestLists", "RunInfos"}


def _release(el: etree._Element) -> None:
    """Drop a finished entry of a top-level section (and the entries before it)."""
    parent = el.getparent()
    if parent is None or local_name(parent) not in _SECTIONS:
        return
    el.clear()
    while el.getprevious() is not None:
        del parent[0]


class TrxParser:
    name = "trx"
    title = "Visual Studio TRX (dotnet test --logger trx, vstest, MSTest)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        if root_element(head) != "TestRun":
            return 0.0
        match = re.search(r"<(?:\w+:)?TestRun\b[^>]*>", decode_head(head))
        return 1.0 if match and any(ns in match.group(0) for ns in _NAMESPACES) else 0.0

    def _elements(self, source: ReportSource) -> Iterator[tuple[str, etree._Element]]:
        seen_root = False
        with source.open() as stream:
            for event, el in iterparse(stream, file=source.display_name, format=self.name):
                if not seen_root:
                    seen_root = True
                    namespace = el.tag.partition("}")[0].lstrip("{") if isinstance(el.tag, str) else ""
                    if local_name(el) != "TestRun" or namespace not in _NAMESPACES:
                        raise ParseError(
                            f"root element is <{el.tag}>, not <TestRun> in the TeamTest namespace",
                            file=source.display_name,
                            line=line_of(el),
                            format=self.name,
                        )
                yield event, el
                if event == "end":
                    _release(el)

    def _scan(self, source: ReportSource) -> _Scan:
        scan = _Scan()
        for event, el in self._elements(source):
            tag = local_name(el)
            if event == "start":
                if tag == "TestRun":
                    self._run(el, source)
                continue
            if tag == "UnitTest":
                scan.definitions[el.get("id") or ""] = _definition(el)
            elif tag == "UnitTestResult":
                parent = el.getparent()
                inner = parent is not None and local_name(parent) == "InnerResults"
                key = (el.get("testId") or "", el.get("testName") if inner else None)
                scan.counts[key] = scan.counts.get(key, 0) + 1
            elif tag == "Deployment":
                scan.deployment = el.get("runDeploymentRoot")
            elif tag == "TestSettings":
                scan.jest = el.get("name") == "Jest test run"
            elif tag == "Times":
                self._times(el, source)
        if scan.jest:
            source.info["tool"] = "jest-trx-results-processor"
        return scan

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        scan = self._scan(source)
        reader = _Reader(scan, source)
        pending: dict[tuple[str, str | None], TestResult] = {}
        seen: dict[tuple[str, str | None], int] = {}
        count = 0
        for event, el in self._elements(source):
            if event != "end" or local_name(el) != "UnitTestResult":
                continue
            parent = el.getparent()
            if parent is not None and local_name(parent) == "InnerResults":
                continue  # read with its container
            inner = list(el.iterfind("{*}InnerResults/{*}UnitTestResult"))
            rows = [(row, (row.get("testId") or "", row.get("testName"))) for row in inner]
            if not rows:
                rows = [(el, (el.get("testId") or "", None))]
            for row, key in rows:
                result = self._add(reader, row, key, pending, row is not el)
                seen[key] = seen.get(key, 0) + 1
                if seen[key] >= scan.counts.get(key, 1):
                    pending.pop(key, None)
                    count += 1
                    yield result
        for result in pending.values():
            count += 1
            yield result
        if count == 0:
            raise ParseError("no test results in report", file=source.display_name, format=self.name)

    @staticmethod
    def _add(
        reader: _Reader,
        el: etree._Element,
        key: tuple[str, str | None],
        pending: dict[tuple[str, str | None], TestResult],
        inner: bool,
    ) -> TestResult:
        result = pending.get(key)
        if result is None:
            warnings: list[str] = []
            suite, name, parameters = reader.identity(el, inner, warnings)
            result = TestResult(suite, name, [], parameters=parameters, metadata=reader.metadata(el), warnings=warnings)
            pending[key] = result
        result.attempts.append(reader.attempt(el, result.warnings))
        return result

    @staticmethod
    def _run(el: etree._Element, source: ReportSource) -> None:
        source.info.setdefault("tool", "vstest")
        if el.get("name"):
            source.info["run_name"] = el.get("name") or ""

    @staticmethod
    def _times(el: etree._Element, source: ReportSource) -> None:
        start = to_utc(parse_timestamp(el.get("start")))
        finish = to_utc(parse_timestamp(el.get("finish")))
        if start is not None:
            source.info["started_at"] = start.isoformat()
        if isinstance(start, datetime) and isinstance(finish, datetime) and finish >= start:
            source.info["duration_ms"] = str(round((finish - start).total_seconds() * 1000))


parser = TrxParser()
