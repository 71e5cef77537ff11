"""xUnit.net v2 XML: what ``xunit.console -xml`` and ``dotnet test --logger xunit`` write.

Spec: https://xunit.net/docs/format-xml-v2 (``<assemblies>`` → ``<assembly>`` →
``<collection>`` → ``<test>``); the v3 additions (``start-rtf``, ``source-file``,
``source-line``, ``<warnings>``, ``NotRun``) are read when present. Quirks handled here:

* **Identity**: ``type`` (the class) is the suite. The default display name is
  ``Namespace.Class.Method`` or, for a ``[Theory]`` row, ``Namespace.Class.Method(x: 1, y: 2)``:
  the class prefix is dropped and the arguments become the parameters. A custom
  ``DisplayName`` (``[Fact(DisplayName = "...")]``) stays the name as written, with the
  ``method`` kept in metadata. Without a
  ``type`` the collection's name is the suite.
* **Results** ``Pass``/``Fail``/``Skip``/``NotRun``: a skip's ``<reason>`` is the
  ``skip_reason``; ``NotRun`` (v3, an explicit test not asked for) is skipped too.
* **Failures**: ``<failure exception-type>`` with ``<message>`` and ``<stack-trace>``.
  xUnit's assertions throw ``Xunit.Sdk.*Exception`` (``EqualException``, ``TrueException``),
  so those are assertion failures; ``TestTimeoutException`` is a timeout; anything else is
  an error.
* ``<output>`` (``ITestOutputHelper``) is the test's output; ``<traits><trait name value>``
  become metadata (repeated names are joined).
* ``<errors><error type name>`` are failures outside any test: a fixture, collection or
  assembly cleanup (``test-class-cleanup``, ``test-collection-cleanup``,
  ``assembly-cleanup``…) or a ``fatal`` runner error. Each is reported as a failed entry named
  ``(type)`` in the suite the error names (else the assembly), so it is not lost.
* xUnit.net has no retries; a test written twice is two runs, told apart by ``#2`` in the
  parameters.
* Times: ``time`` in seconds; ``run-date``/``run-time`` are local time with no zone, so the
  launch start is kept without one; v3's ``start-rtf`` carries a zone.

The file is streamed with ``iterparse``: each ``<test>`` is released when read, so memory
is bounded by the largest single test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from caserun.domain.model import Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.nunit import to_utc
from caserun.ingest.formats.text import exception_type, failure_type, parse_seconds, parse_timestamp, root_element
from caserun.ingest.protocol import ReportSource
from caserun.ingest.xmlsafe import iterparse, line_of, local_name, text_of

_STATUSES = {"Pass": Status.PASSED, "Fail": Status.FAILED, "Skip": Status.SKIPPED, "NotRun": Status.SKIPPED}
_CALL = re.compile(r"^(?P<method>[^(]+)\((?P<args>.*)\)$", re.DOTALL)


def _text(element: etree._Element | None) -> str | None:
    text = text_of(element)
    return text.strip("\r\n") if text else None


def _failure(element: etree._Element) -> Failure:
    declared = element.get("exception-type")
    message = _text(element.find("message"))
    trace = _text(element.find("stack-trace"))
    exc = exception_type(declared, message, trace)
    kind = failure_type("error", exc, message)
    if exc and exc.startswith("Xunit.Sdk.") and kind is not FailureType.TIMEOUT:
        kind = FailureType.ASSERTION
    text = message.strip() if message and message.strip() else exc or "failed"
    return Failure(message=text, type=kind, exception=exc, trace=trace)


def _identity(el: etree._Element, collection: str) -> tuple[str, str, str | None]:
    cls = el.get("type") or ""
    name = el.get("name") or el.get("method") or ""
    method = el.get("method")
    if cls and name.startswith(cls + "."):
        name = name[len(cls) + 1 :]
    match = _CALL.match(name)
    if match and method and match.group("method") == method:
        return cls or collection, method, match.group("args")
    return cls or collection, name, None


def _test(el: etree._Element, collection: str) -> TestResult:
    suite, name, parameters = _identity(el, collection)
    warnings: list[str] = []
    if not name:
        warnings.append(f"test without a name at line {line_of(el)}")
        name = f"<unnamed line {line_of(el)}>"
    result = el.get("result") or ""
    status = _STATUSES.get(result)
    properties: dict[str, str] = {}
    failure = None
    block = el.find("failure")
    if status is None:
        warnings.append(f"unknown result {result!r} at line {line_of(el)}; taken as failed")
        status = Status.FAILED
    if status is Status.FAILED:
        failure = _failure(block) if block is not None else Failure("failed (the report gives no details)")
    elif status is Status.SKIPPED:
        reason = _text(el.find("reason"))
        if reason and reason.strip():
            properties["skip_reason"] = reason.strip()
        if result == "NotRun":
            properties["outcome"] = "NotRun"
    metadata: dict[str, str] = {}
    method = el.get("method")
    if method and method != name:
        metadata["method"] = method  # a custom display name hides the method
    for trait in el.iterfind("traits/trait"):
        key, value = trait.get("name"), trait.get("value") or ""
        if key:
            metadata[key] = f"{metadata[key]}, {value}" if key in metadata else value
    for warning in el.iterfind("warnings/warning"):
        text = _text(warning)
        if text:
            warnings.append(text.strip())
    duration = parse_seconds(el.get("time"))
    if el.get("time") and duration is None:
        warnings.append(f"unreadable time {el.get('time')!r}")
    output = _text(el.find("output"))
    line = el.get("source-line") or ""
    return TestResult(
        suite=suite,
        name=name,
        parameters=parameters,
        attempts=[
            Attempt(
                status=status,
                duration_ms=duration,
                started_at=to_utc(parse_timestamp(el.get("start-rtf"))),
                failure=failure,
                stdout=output if output and output.strip() else None,
                properties=properties,
            )
        ],
        file=el.get("source-file"),
        line=int(line) if line.isdigit() else None,
        metadata=metadata,
        warnings=warnings,
    )


def _error(el: etree._Element, assembly: str) -> TestResult:
    kind = el.get("type") or "error"
    block = el.find("failure")
    failure = _failure(block) if block is not None else Failure(f"{kind} failed", FailureType.ERROR)
    if failure.type is FailureType.ASSERTION:
        failure.type = FailureType.ERROR  # an assertion in a cleanup is still not a test's verdict
    return TestResult(
        suite=el.get("name") or assembly,
        name=f"({kind})",
        attempts=[Attempt(status=Status.FAILED, failure=failure, properties={"xunit_error": kind})],
        warnings=[f"xUnit.net reported a {kind} error outside any test"],
    )


def _release(element: etree._Element) -> None:
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


class XUnitParser:
    name = "xunit2"
    title = "xUnit.net v2 XML (xunit.console -xml, XunitXml.TestLogger)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        return 1.0 if root_element(head) == "assemblies" else 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        seen_root = False
        assembly = ""
        collection = ""
        seen: dict[tuple[str, str, str | None], int] = {}
        total_ms = 0
        count = 0
        with source.open() as stream:
            for event, el in iterparse(stream, file=source.display_name, format=self.name):
                tag = local_name(el)
                if not seen_root:
                    seen_root = True
                    if tag != "assemblies":
                        raise ParseError(
                            f"root element is <{tag}>, not <assemblies> (xUnit.net v2)",
                            file=source.display_name,
                            line=line_of(el),
                            format=self.name,
                        )
                    continue
                if event == "start":
                    if tag == "assembly":
                        assembly = el.get("name") or ""
                        self._assembly(el, source)
                    elif tag == "collection":
                        collection = el.get("name") or ""
                    continue
                if tag == "test":
                    result = _test(el, collection)
                    _release(el)
                    key = (result.suite, result.name, result.parameters)
                    seen[key] = seen.get(key, 0) + 1
                    if seen[key] > 1:
                        again = f"#{seen[key]}"
                        result.parameters = f"{result.parameters}, {again}" if result.parameters else again
                    count += 1
                    yield result
                elif tag == "error":
                    result = _error(el, assembly)
                    _release(el)
                    count += 1
                    yield result
                elif tag == "assembly":
                    total_ms += parse_seconds(el.get("time")) or 0
                    el.clear()
                elif tag == "collection":
                    el.clear()
        if total_ms:
            source.info["duration_ms"] = str(total_ms)
        if count == 0:
            raise ParseError("no tests in report", file=source.display_name, format=self.name)

    @staticmethod
    def _assembly(el: etree._Element, source: ReportSource) -> None:
        if "tool" in source.info:
            return
        source.info["tool"] = "xUnit.net"
        framework = el.get("test-framework") or ""
        if framework.startswith("xUnit.net "):
            source.info["tool_version"] = framework.removeprefix("xUnit.net ").strip()
        if el.get("environment"):
            source.info["runtime"] = el.get("environment") or ""
        started = to_utc(parse_timestamp(el.get("start-rtf")))
        if started is not None:
            source.info["started_at"] = started.isoformat()
        elif el.get("run-date") and el.get("run-time"):
            local = parse_timestamp(f"{el.get('run-date')}T{el.get('run-time')}")
            if local is not None:
                source.info["started_at"] = local.isoformat()


parser = XUnitParser()
