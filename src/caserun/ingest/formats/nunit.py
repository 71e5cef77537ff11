"""NUnit 3 result XML: the ``TestResult.xml`` of ``nunit3-console`` and NUnit.Xml.TestLogger.

Spec: https://docs.nunit.org/articles/nunit/technical-notes/usage/Test-Result-XML-Format.html
(``<test-run>`` → ``<test-suite type="Assembly|TestSuite|TestFixture|ParameterizedFixture|
ParameterizedMethod|Theory|GenericFixture|SetUpFixture">`` → ``<test-case>``); the writer is
``TestResult.AddToXml`` in nunit/nunit. Quirks handled here:

* **Outcome** is ``result`` plus ``label`` and ``site``: ``Failed`` + ``label="Error"`` is an
  unexpected exception, ``label="Invalid"`` a test that could not run (bad arguments),
  ``label="Cancelled"`` a stopped run (blocked), a label starting ``Test exceeded Timeout``
  a timeout whose ``<failure/>`` is empty (the label is the message); ``site="SetUp"`` /
  ``"TearDown"`` a failing ``[SetUp]``/``[TearDown]`` (an error); ``site="Parent"`` a test
  that never ran because its fixture's ``[OneTimeSetUp]`` failed (blocked).
  ``Skipped`` (``label="Ignored"``, ``"Explicit"``) and ``Inconclusive`` are skipped
  (``skip_reason`` from ``<reason><message>``, else the ``_SKIPREASON`` property);
  ``Warning`` (``Assert.Warn``) is passed, with the warning kept.
* **Retries**: ``[Retry(n)]`` reruns a test while it fails an assertion and NUnit writes
  only the last run, with a ``Retry`` property. A test that failed an assertion with
  ``Retry=n`` therefore failed n times: the n-1 earlier attempts are added without details.
  A test that passed says nothing about how often it ran (``retry`` metadata only).
* **Identity**: suite is the enclosing ``TestFixture``'s ``fullname`` (so each instance of a
  parameterized fixture, ``Fixture(1)``, is its own suite), else ``classname``; a case named
  ``Method(args)`` (``[TestCase]``, ``[TestCaseSource]``, ``Theory``) becomes name ``Method``
  with parameters ``args``; a custom ``TestName`` stays as written.
* ``<failure><message>`` is indented by NUnit (``  Expected: 3``), so it is dedented;
  exceptions are written ``System.DivideByZeroException : text`` (the type is read from it).
* **Attachments** (``TestContext.AddTestAttachment``): ``<attachments><attachment><filePath>``
  holds an absolute path on the machine that ran the tests. A path inside the report's
  folder becomes relative to it; any other absolute path (``C:\\...``, ``/home/...``) is looked
  up by its file name next to the report, with a warning.
* ``<output>`` is the test's console output; ``<properties>`` become metadata (several
  ``Category`` values are joined; fixture categories are inherited); properties starting
  with ``_`` are NUnit's own and are left out.
* A ``[OneTimeTearDown]`` failure (``site="TearDown"`` on a fixture) belongs to no test: it
  is reported as a failed entry named ``(OneTimeTearDown)`` in that fixture's suite.
* Times are UTC (``2021-06-28 20:23:41Z``, seven fractional digits); ``duration`` in seconds.
* **pytest-nunit** (https://github.com/pytest-dev/pytest-nunit, an imitation): every file
  is a ``type="Assembly"`` suite and names are pytest node ids (``file.py::Class::test``,
  split at the last ``::``); ``test-run result`` says ``Passed`` whatever happened; passed
  tests carry an empty ``<failure>`` with the text ``None``; the long report is in
  ``<message>`` and the one-line summary in ``<stack-trace>`` (swapped back), both
  XML-escaped a second time inside CDATA (``&gt;``, unescaped); a skip reason
  is in ``<failure><message>`` as ``Skipped: reason``; an xfail is ``Passed`` (kept, with a
  warning); a setup error is ``Failed`` with an empty ``<failure>``.

The file is streamed with ``iterparse``: each ``<test-case>`` is released when read, so
memory is bounded by the largest single test.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from lxml import etree

from caserun.domain.model import AttachmentRef, Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.text import exception_type, failure_type, parse_seconds, parse_timestamp, root_element
from caserun.ingest.jsonstream import unreported_attempts
from caserun.ingest.protocol import ReportSource
from caserun.ingest.xmlsafe import iterparse, line_of, local_name, text_of

_DOTNET_EXCEPTION = re.compile(r"^\s*(?P<type>[A-Za-z_][\w`+]*(?:\.[A-Za-z_][\w`+]*)*) : ")
# MSTest: "Test method X threw exception: \nSystem.InvalidOperationException: text"
_DOTNET_THROWN = re.compile(r"^\s*(?P<type>(?:[A-Za-z_]\w*\.)+\w*Exception): ", re.MULTILINE)
_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")
_CALL = re.compile(r"^(?P<method>[^(]+)\((?P<args>.*)\)$", re.DOTALL)
_PYTEST_LOCATION = re.compile(r"^\S+?:\d+: ")


def dotnet_exception(message: str | None) -> str | None:
    """The exception type .NET runners put in a message: ``System.Exception : Test`` (NUnit,
    xUnit), or a line ``System.Exception: Test`` after MSTest's ``threw exception:``."""
    if not message:
        return None
    message = re.sub(r"^\s*(?:OneTime)?(?:SetUp|TearDown)\s*:\s*", "", message)
    match = _DOTNET_EXCEPTION.match(message) or _DOTNET_THROWN.search(message)
    return match.group("type") if match else None


def to_utc(moment: datetime | None) -> datetime | None:
    """.NET runners write UTC; a time without a zone is taken as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def attachment_path(raw: str, report: Path) -> tuple[str, str | None]:
    """A path as a report wrote it → (path relative to the report, warning or None).

    Absolute paths come from the machine that ran the tests: inside the report's folder
    they become relative; anywhere else only the file name is kept, to be found next to
    the report."""
    text = raw.strip()
    windows = bool(_WINDOWS_ABSOLUTE.match(text))
    if not windows and not text.startswith("/"):
        return text, None
    if not windows:
        try:
            return PurePosixPath(text).relative_to(report.resolve().parent).as_posix(), None
        except ValueError:
            pass
    name = re.split(r"[\\/]", text)[-1] or text
    machine = "an absolute path on the machine that ran the tests"
    return name, f"attachment {text!r} is {machine}; looked for {name!r} next to the report"


def _clean(text: str | None) -> str | None:
    """NUnit indents messages and wraps them in whitespace; pytest-nunit writes ``None``."""
    if not text or not text.strip() or text.strip() == "None":
        return None
    return textwrap.dedent(text.strip("\r\n")).strip()


@dataclass
class _Suite:
    type: str
    name: str
    fullname: str
    classname: str | None
    categories: list[str] = field(default_factory=list)
    failure: str | None = None


def _suite_of(el: etree._Element, suites: list[_Suite]) -> str:
    for suite in reversed(suites):
        if suite.type in ("TestFixture", "GenericFixture"):
            return suite.fullname
    return el.get("classname") or (suites[-1].fullname if suites else "")


def _name_and_parameters(el: etree._Element) -> tuple[str, str | None]:
    name = el.get("name") or ""
    method = el.get("methodname")
    match = _CALL.match(name)
    if match and method and match.group("method") == method:
        return method, match.group("args")
    return name, None


def _properties(el: etree._Element) -> list[tuple[str, str]]:
    block = el.find("properties")
    if block is None:
        return []
    return [(p.get("name") or "", p.get("value") or "") for p in block.iterfind("property") if p.get("name")]


class _Case:
    """Reads one finished ``<test-case>`` element into a TestResult."""

    def __init__(self, el: etree._Element, suites: list[_Suite], source: ReportSource, pytest: bool) -> None:
        self.el = el
        self.suites = suites
        self.source = source
        self.pytest = pytest
        self.warnings: list[str] = []
        self.properties: dict[str, str] = {}

    def identity(self) -> tuple[str, str, str | None]:
        fullname = self.el.get("fullname") or ""
        if self.pytest and "::" in fullname:
            suite, _, name = fullname.rpartition("::")
            return suite, name, None
        name, parameters = _name_and_parameters(self.el)
        return _suite_of(self.el, self.suites), name, parameters

    def result(self) -> TestResult:
        el = self.el
        suite, name, parameters = self.identity()
        if not name:
            self.warnings.append(f"test-case without a name at line {line_of(el)}")
            name = f"<unnamed line {line_of(el)}>"
        metadata, retry = self._metadata()
        status, failure = self._outcome()
        duration = parse_seconds(el.get("duration"))
        if el.get("duration") and duration is None:
            self.warnings.append(f"unreadable duration {el.get('duration')!r}")
        main = Attempt(
            status=status,
            duration_ms=duration,
            started_at=to_utc(parse_timestamp(el.get("start-time"))),
            failure=failure,
            stdout=_clean_output(text_of(el.find("output"))),
            attachments=self._attachments(),
            properties=self.properties,
        )
        attempts = [main]
        if retry > 1 and status is Status.FAILED and failure is not None and failure.type is FailureType.ASSERTION:
            attempts = [*unreported_attempts(retry - 1), main]
        return TestResult(
            suite=suite,
            name=name,
            attempts=attempts,
            parameters=parameters,
            metadata=metadata,
            warnings=self.warnings,
        )

    def _metadata(self) -> tuple[dict[str, str], int]:
        metadata: dict[str, str] = {}
        categories = [c for s in self.suites for c in s.categories]
        retry = 0
        for key, value in _properties(self.el):
            if key == "_SKIPREASON":
                self.properties.setdefault("skip_reason", value)
            elif key == "Category":
                categories.append(value)
            elif key == "Retry":
                metadata["retry"] = value
                retry = int(value) if value.strip().isdigit() else 0
            elif not key.startswith("_"):
                metadata[key] = f"{metadata[key]}, {value}" if key in metadata else value
        if categories:
            metadata["categories"] = ", ".join(dict.fromkeys(categories))
        return metadata, retry

    def _failure_text(self) -> tuple[str | None, str | None]:
        block = self.el.find("failure")
        if block is None:
            return None, None
        message = _clean(text_of(block.find("message")))
        trace = _clean(text_of(block.find("stack-trace")))
        if self.pytest:
            # pytest-nunit escapes the text for XML and then wraps it in CDATA as well
            message = html.unescape(message) if message else message
            trace = html.unescape(trace) if trace else trace
            if message and trace and "\n" in message and "\n" not in trace:
                # the long report is the message, the summary line the "stack trace"
                message, trace = _PYTEST_LOCATION.sub("", trace, count=1), message
        return message, trace

    def _outcome(self) -> tuple[Status, Failure | None]:
        el = self.el
        result = el.get("result") or ""
        label = el.get("label") or ""
        site = el.get("site") or ""
        message, trace = self._failure_text()
        reason = _clean(text_of(el.find("reason/message")))
        if result == "Passed":
            if message and self.pytest:
                first = message.splitlines()[0]
                self.warnings.append(f"passed with a failure message (pytest-nunit writes an xfail this way): {first}")
            elif message:
                self.warnings.append(f"passed, but the report carries a failure message: {message.splitlines()[0]}")
            return Status.PASSED, None
        if result == "Warning":
            self.warnings.append(f"passed with a warning: {reason or message or label}")
            return Status.PASSED, None
        if result in ("Skipped", "Inconclusive"):
            why = reason or message
            if why:
                self.properties["skip_reason"] = why.removeprefix("Skipped: ") if self.pytest else why
            if result == "Inconclusive" or label:
                self.properties["outcome"] = result if result == "Inconclusive" else label
            return Status.SKIPPED, None
        if result != "Failed":
            self.warnings.append(f"unknown result {result!r} at line {line_of(el)}; taken as failed")
        exc = exception_type(dotnet_exception(message), message, trace)
        if label.startswith("Test exceeded Timeout") or "timeout" in label.lower():
            return Status.FAILED, Failure(message or label, FailureType.TIMEOUT, exc, trace)
        if not message and not trace:
            text = label or reason or "failed (the report gives no details)"
            kind = FailureType.UNKNOWN if not label else FailureType.ERROR
            if label == "Cancelled":
                return Status.BLOCKED, Failure(f"cancelled: {text}" if text != label else "cancelled", kind)
            return Status.FAILED, Failure(text, kind)
        text = message or (trace or "").splitlines()[0]
        if site in ("SetUp", "TearDown"):
            self.properties["failure_site"] = site
        if site == "Parent" or label == "Cancelled":
            blocked = Failure(text, FailureType.ERROR, exc, trace)
            if site == "Parent":
                self.properties["failure_site"] = "Parent"
            return Status.BLOCKED, blocked
        if label in ("Error", "Invalid") or site in ("SetUp", "TearDown"):
            kind = FailureType.TIMEOUT if failure_type("error", exc, text) is FailureType.TIMEOUT else FailureType.ERROR
            return Status.FAILED, Failure(text, kind, exc, trace)
        return Status.FAILED, Failure(text, failure_type("failure", exc, text), exc, trace)

    def _attachments(self) -> list[AttachmentRef]:
        refs = []
        for item in self.el.iterfind("attachments/attachment"):
            raw = text_of(item.find("filePath"))
            if not raw or not raw.strip():
                self.warnings.append(f"attachment without a filePath at line {line_of(item)}")
                continue
            path, warning = attachment_path(raw, self.source.path)
            if warning:
                self.warnings.append(warning)
            description = (text_of(item.find("description")) or "").strip()
            refs.append(AttachmentRef(name=description or path.rsplit("/", 1)[-1], path=path))
        return refs


def _clean_output(text: str | None) -> str | None:
    return text if text and text.strip() else None


def _teardown_failure(suite: _Suite, el: etree._Element) -> TestResult | None:
    """A fixture's ``[OneTimeTearDown]`` failed after its tests ran: nobody else reports it."""
    if el.get("site") != "TearDown" or el.get("result") != "Failed":
        return None
    message = suite.failure or el.get("label") or "OneTimeTearDown failed"
    return TestResult(
        suite=suite.fullname,
        name="(OneTimeTearDown)",
        attempts=[
            Attempt(
                status=Status.FAILED,
                failure=Failure(message, FailureType.ERROR, dotnet_exception(message)),
                properties={"failure_site": "TearDown"},
            )
        ],
    )


def _release(element: etree._Element) -> None:
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


class NUnitParser:
    name = "nunit3"
    title = "NUnit 3 XML (nunit3-console, NUnit.Xml.TestLogger, pytest-nunit)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        # NUnit 2 wrote <test-results>; JUnit writes <testsuites>: only NUnit 3 has <test-run>
        return 1.0 if root_element(head) == "test-run" else 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        suites: list[_Suite] = []
        seen_root = False
        pytest = False
        count = 0
        with source.open() as stream:
            for event, el in iterparse(stream, file=source.display_name, format=self.name):
                tag = local_name(el)
                if not seen_root:
                    seen_root = True
                    if tag != "test-run":
                        raise ParseError(
                            f"root element is <{tag}>, not <test-run> (NUnit 3)",
                            file=source.display_name,
                            line=line_of(el),
                            format=self.name,
                        )
                    self._run(el, source)
                    continue
                if tag == "test-suite":
                    if event == "start":
                        suites.append(_suite(el))
                        continue
                    suite = suites.pop()
                    extra = _teardown_failure(suite, el)
                    el.clear()
                    if extra is not None:
                        count += 1
                        yield extra
                elif event == "start":
                    continue
                elif tag == "command-line":
                    pytest = "--nunit-xml" in (el.text or "")
                    if pytest:
                        source.info["tool"] = "pytest-nunit"
                elif tag == "test-case":
                    result = _Case(el, suites, source, pytest).result()
                    _release(el)
                    count += 1
                    yield result
                elif suites and (parent := el.getparent()) is not None and local_name(parent) == "test-suite":
                    if tag == "failure":
                        suites[-1].failure = _clean(text_of(el.find("message")))
                    elif tag == "properties":
                        suites[-1].categories = [v for k, v in _properties(parent) if k == "Category"]
        if not seen_root:
            raise ParseError("empty document", file=source.display_name, format=self.name)
        if count == 0:
            raise ParseError("no test cases in report", file=source.display_name, format=self.name)

    @staticmethod
    def _run(el: etree._Element, source: ReportSource) -> None:
        source.info.setdefault("tool", "NUnit")
        if el.get("engine-version"):
            source.info["tool_version"] = el.get("engine-version") or ""
        started = to_utc(parse_timestamp(el.get("start-time")))
        if started is not None:
            source.info["started_at"] = started.isoformat()
        duration = parse_seconds(el.get("duration"))
        if duration:
            source.info["duration_ms"] = str(duration)


def _suite(el: etree._Element) -> _Suite:
    return _Suite(
        type=el.get("type") or "",
        name=el.get("name") or "",
        fullname=el.get("fullname") or el.get("name") or "",
        classname=el.get("classname"),
    )


parser = NUnitParser()
