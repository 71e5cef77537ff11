"""TestNG XML: the ``testng-results.xml`` TestNG's ``XMLReporter`` writes.

There is no published schema; the writer is the spec:
https://github.com/testng-team/testng/blob/master/testng-core/src/main/java/org/testng/reporters/XMLSuiteResultWriter.java
(``<testng-results>`` → ``<suite>`` → ``<test>`` → ``<class>`` → ``<test-method>``).

Quirks handled here, as TestNG 6 and 7 write them:

* **Configuration methods** (``is-config="true"``: ``@BeforeMethod``, ``@AfterClass``…) are
  not tests and are never yielded. A *failed* one is made visible instead: every test of
  its class gets a warning naming it, and a test TestNG skipped because of it becomes
  **blocked** with the configuration's failure. TestNG does not say which configuration
  caused a skip, but it gives the skipped test the failed configuration's exception (or
  none): a skip with no exception, or the same exception as a configuration that failed in
  the same ``<test>``, is blocked; a skip with its own ``SkipException`` or a dependency
  ``Throwable`` stays skipped. Configurations are read in a first pass, because classes
  are written in hash order and a failing ``@BeforeSuite`` may come after the tests it
  skipped.
* **Retries**: a ``RetryAnalyzer``'s earlier attempts are ``status="SKIP"`` with
  ``retried="true"`` and carry the failure; they become failed attempts before the final
  one. TestNG writes a class's methods in start order, so attempts come before the final
  result inside one ``<class>``.
* **Data providers**: ``<params><param index><value>`` (CDATA, or ``is-null``) become the
  parameters, so each row is its own test. ``invocationCount`` and factories repeat a
  method with equal parameters and no ``retried`` flag: those are separate runs, told apart
  by ``#2``, ``#3``… in the parameters (never merged as attempts: a failed first
  invocation is not a retry). ``test-instance-name`` (``ITest``) is kept in front of them.
* ``<exception class>`` with ``<message>`` (often absent: ``AssertJUnit`` fails with an
  empty message) and ``<full-stacktrace>`` or ``<short-stacktrace>``; the message then
  falls back to the first line of the trace.
* ``<reporter-output><line>`` (``Reporter.log``) is the test's output.
* ``<groups>`` at the top of a suite lists the methods of each group; kept as the
  ``groups`` metadata (also the ``groups`` attribute when the reporter writes it).
* Timestamps are ``yyyy-MM-dd'T'HH:mm:ss`` plus a zone *name* (``CDT``), or a literal
  ``Z`` in TestNG 6 (which wrote local time behind it); common zone names are mapped and
  the time converted to UTC, unknown ones give a time without zone.
* ``status="SUCCESS_PERCENTAGE_FAILURE"`` (a failed invocation inside
  ``successPercentage``) is passed, with a warning.
* Elements are cleared as they end, so memory is bounded by the largest ``<class>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from lxml import etree

from caserun.domain.model import Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.text import exception_type, failure_type, root_element
from caserun.ingest.protocol import ReportSource
from caserun.ingest.xmlsafe import iterparse, line_of, local_name, text_of

_STATUSES = {"PASS": Status.PASSED, "FAIL": Status.FAILED, "SKIP": Status.SKIPPED}
_ZONES = {
    "Z": 0, "UTC": 0, "GMT": 0, "WET": 0, "BST": 1, "WEST": 1, "CET": 1, "CEST": 2,
    "EET": 2, "EEST": 3, "MSK": 3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
    "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11,
}  # fmt: skip
_STAMP = re.compile(r"^\s*(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)\s*([A-Za-z]+|[+-]\d\d:?\d\d)?\s*$")


def _timestamp(value: str | None) -> datetime | None:
    match = _STAMP.match(value or "")
    if not match:
        return None
    moment = datetime.fromisoformat(match.group(1))
    zone = match.group(2)
    if not zone:
        return moment
    if zone[0] in "+-":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return moment.replace(tzinfo=timezone(sign * offset)).astimezone(UTC)
    hours = _ZONES.get(zone.upper())
    if hours is None:
        return moment
    return moment.replace(tzinfo=timezone(timedelta(hours=hours))).astimezone(UTC)


@dataclass(slots=True)
class _Exception:
    cls: str | None
    message: str | None
    trace: str | None

    @classmethod
    def read(cls, element: etree._Element | None) -> _Exception | None:
        if element is None:
            return None
        message = _strip(text_of(element.find("message")))
        trace = _strip(text_of(element.find("full-stacktrace")) or text_of(element.find("short-stacktrace")))
        return cls(element.get("class"), message, trace)

    def failure(self) -> Failure:
        message = self.message
        if not message and self.trace:
            # "java.lang.AssertionError: " heads the trace of an assertion without a message
            first = self.trace.splitlines()[0].strip()
            if self.cls and first.startswith(self.cls):
                first = first[len(self.cls) :].lstrip(":").strip()
            message = first or None
        exc = exception_type(self.cls, message, self.trace)
        return Failure(
            message=message or self.cls or "failed",
            type=failure_type("failure", exc, message),
            exception=exc,
            trace=self.trace,
        )

    def same(self, other: _Exception) -> bool:
        return (self.cls, self.message) == (other.cls, other.message)


def _strip(text: str | None) -> str | None:
    """The writer puts CDATA between indentation; keep the text, not the layout around it."""
    stripped = text.strip() if text else None
    return stripped or None


@dataclass(slots=True)
class _Invocation:
    """One ``<test-method>`` element, read and released."""

    name: str
    status: str
    retried: bool
    is_config: bool
    params: str | None
    instance: str | None
    description: str | None
    groups: str | None
    data_provider: str | None
    duration_ms: int | None
    started_at: datetime | None
    exception: _Exception | None
    output: str | None
    line: int | None

    @classmethod
    def read(cls, el: etree._Element) -> _Invocation:
        values = []
        params = el.find("params")
        if params is not None:
            for param in params.iterfind("param"):
                value = param.find("value")
                if value is None or value.get("is-null") == "true":
                    values.append("null")
                else:
                    values.append(_strip(text_of(value)) or "")
        lines = el.find("reporter-output")
        output = None
        if lines is not None:
            output = "\n".join(_strip(text_of(line)) or "" for line in lines.iterfind("line")) or None
        duration = el.get("duration-ms")
        instance = el.get("test-instance-name")
        return cls(
            name=el.get("name") or "",
            status=(el.get("status") or "").upper(),
            retried=el.get("retried") == "true",
            is_config=el.get("is-config") == "true",
            params=", ".join(values) if params is not None else None,
            instance=instance if instance and instance != el.get("name") else None,
            description=el.get("description"),
            groups=el.get("groups"),
            data_provider=el.get("data-provider"),
            duration_ms=int(duration) if duration and duration.strip().isdigit() else None,
            started_at=_timestamp(el.get("started-at")),
            exception=_Exception.read(el.find("exception")),
            output=output,
            line=line_of(el),
        )

    def attempt(self, warnings: list[str]) -> Attempt:
        status = _STATUSES.get(self.status)
        failure = None
        properties: dict[str, str] = {}
        if self.retried:
            status = Status.FAILED
            failure = (
                self.exception.failure()
                if self.exception
                else Failure(message="failed, then retried (TestNG wrote no exception)", type=FailureType.UNKNOWN)
            )
        elif status is Status.FAILED:
            failure = self.exception.failure() if self.exception else Failure(message="failed")
        elif status is Status.SKIPPED and self.exception and self.exception.message:
            properties["skip_reason"] = self.exception.message
        elif status is None:
            if self.status == "SUCCESS_PERCENTAGE_FAILURE":
                warnings.append("failed, but within the method's successPercentage: counted as passed")
            else:
                warnings.append(f"unknown status {self.status!r} at line {self.line}; taken as passed")
            status = Status.PASSED
        return Attempt(
            status=status,
            duration_ms=self.duration_ms,
            started_at=self.started_at,
            failure=failure,
            stdout=self.output,
            properties=properties,
        )


@dataclass(slots=True)
class _ConfigFailure:
    cls: str
    name: str
    exception: _Exception | None

    @property
    def label(self) -> str:
        return f"{self.cls}.{self.name}"

    def failure(self) -> Failure:
        base = self.exception.failure() if self.exception else Failure(message="failed", type=FailureType.ERROR)
        base.message = f"configuration method {self.label} failed: {base.message}"
        return base


@dataclass
class _Scope:
    """Where a ``<test-method>`` is: suite and test ordinals, class, and known groups."""

    suite: int = -1
    test: int = -1
    cls: str = ""
    groups: dict[tuple[str, str], set[str]] = field(default_factory=dict)


def _class_name(el: etree._Element) -> str:
    name = el.get("name") or ""
    package = el.get("package")  # XMLReporter's splitClassAndPackageNames option
    return f"{package}.{name}" if package and package != "[default]" else name


class TestNGParser:
    name = "testng"
    title = "TestNG XML (testng-results.xml)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        return 1.0 if root_element(head) == "testng-results" else 0.0

    def _events(self, source: ReportSource) -> Iterator[tuple[str, etree._Element, _Scope]]:
        scope = _Scope()
        seen_root = False
        with source.open() as stream:
            for event, el in iterparse(stream, file=source.display_name, format=self.name):
                tag = local_name(el)
                if not seen_root:
                    seen_root = True
                    if tag != "testng-results":
                        raise ParseError(
                            f"root element is <{tag}>, not <testng-results>",
                            file=source.display_name,
                            line=line_of(el),
                            format=self.name,
                        )
                if event == "start":
                    if tag == "suite":
                        scope.suite += 1
                        scope.groups = {}
                    elif tag == "test":
                        scope.test += 1
                    elif tag == "class":
                        scope.cls = _class_name(el)
                    yield event, el, scope
                    continue
                yield event, el, scope
                if tag in ("test-method", "class", "group", "test", "suite"):
                    el.clear()
                    parent = el.getparent()
                    if parent is not None and tag in ("test-method", "class", "group"):
                        while el.getprevious() is not None:
                            del parent[0]

    def _config_failures(self, source: ReportSource) -> dict[tuple[int, int], list[_ConfigFailure]]:
        """First pass: the configuration methods that failed, by (suite, test)."""
        found: dict[tuple[int, int], list[_ConfigFailure]] = {}
        for event, el, scope in self._events(source):
            if (
                event == "end"
                and local_name(el) == "test-method"
                and el.get("is-config") == "true"
                and (el.get("status") or "").upper() == "FAIL"
            ):
                failure = _ConfigFailure(scope.cls, el.get("name") or "", _Exception.read(el.find("exception")))
                found.setdefault((scope.suite, scope.test), []).append(failure)
        return found

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        configs = self._config_failures(source)
        if configs:
            source.info["configuration_failures"] = str(sum(len(v) for v in configs.values()))
        source.info["tool"] = "TestNG"
        count = 0
        suite_ms = 0
        invocations: list[_Invocation] = []
        for event, el, scope in self._events(source):
            tag = local_name(el)
            if event == "start":
                if tag == "suite" and "started_at" not in source.info and el.get("started-at"):
                    moment = _timestamp(el.get("started-at"))
                    source.info["started_at"] = moment.isoformat() if moment else el.get("started-at") or ""
                continue
            if tag == "suite":
                duration = el.get("duration-ms") or ""
                suite_ms += int(duration) if duration.isdigit() else 0
            elif tag == "group":
                for method in el.iterfind("method"):
                    key = (method.get("class") or "", method.get("name") or "")
                    scope.groups.setdefault(key, set()).add(el.get("name") or "")
            elif tag == "test-method":
                invocations.append(_Invocation.read(el))
            elif tag == "class":
                failed = configs.get((scope.suite, scope.test), [])
                for result in _class_results(scope.cls, invocations, failed, scope.groups):
                    count += 1
                    yield result
                invocations = []
        if suite_ms:
            source.info["duration_ms"] = str(suite_ms)
        if count == 0:
            raise ParseError(
                "no test cases in report (only configuration methods, or none)",
                file=source.display_name,
                format=self.name,
            )


def _class_results(
    cls: str,
    invocations: list[_Invocation],
    configs: list[_ConfigFailure],
    groups: dict[tuple[str, str], set[str]],
) -> Iterator[TestResult]:
    retried: dict[tuple[str, str | None, str | None], list[_Invocation]] = {}
    seen: dict[tuple[str, str | None, str | None], int] = {}
    for inv in invocations:
        if inv.is_config:
            continue
        key = (inv.name, inv.instance, inv.params)
        if inv.retried:
            retried.setdefault(key, []).append(inv)
            continue
        seen[key] = seen.get(key, 0) + 1
        yield _result(cls, [*retried.pop(key, []), inv], seen[key], configs, groups)
    for key, attempts in retried.items():
        result = _result(cls, attempts, 1 + seen.get(key, 0), configs, groups)
        result.warnings.append("retried, but TestNG wrote no final result for it")
        yield result


def _result(
    cls: str,
    invocations: list[_Invocation],
    occurrence: int,
    configs: list[_ConfigFailure],
    groups: dict[tuple[str, str], set[str]],
) -> TestResult:
    final = invocations[-1]
    warnings: list[str] = []
    attempts = [inv.attempt(warnings) for inv in invocations]
    parts = [p for p in (final.instance, final.params) if p is not None]
    if occurrence > 1:
        parts.append(f"#{occurrence}")
    metadata: dict[str, str] = {}
    names = set(groups.get((cls, final.name), set()))
    if final.groups:
        names.update(g.strip() for g in final.groups.split(","))
    if names - {""}:
        metadata["groups"] = ", ".join(sorted(names - {""}))
    if final.description:
        metadata["description"] = final.description
    if final.data_provider:
        metadata["data_provider"] = final.data_provider
    for config in configs:
        if config.cls == cls:
            warnings.append(f"configuration method {config.label} failed")
    last = attempts[-1]
    blocker = _blocker(final, configs, cls)
    if blocker is not None and last.status is Status.SKIPPED:
        last.status = Status.BLOCKED
        last.failure = blocker.failure()
        last.properties.pop("skip_reason", None)
        last.properties["blocked_by"] = blocker.label
    return TestResult(
        suite=cls,
        name=final.name or f"<unnamed line {final.line}>",
        attempts=attempts,
        parameters=", ".join(parts) if parts else None,
        metadata=metadata,
        warnings=warnings,
    )


def _blocker(inv: _Invocation, configs: list[_ConfigFailure], cls: str) -> _ConfigFailure | None:
    """The failed configuration that made TestNG skip this test, if one did."""
    if inv.status != "SKIP" or inv.retried or not configs:
        return None
    own = inv.exception
    candidates = [c for c in configs if own is None or (c.exception is not None and c.exception.same(own))]
    same_class = [c for c in candidates if c.cls == cls]
    chosen = same_class or candidates
    return chosen[0] if chosen else None


parser = TestNGParser()
