"""pytest's machine-readable reports: pytest-json-report and pytest-reportlog.

* **pytest-json-report** (https://github.com/numirias/pytest-json-report, format in its
  README and ``pytest_jsonreport/serialize.py``): one JSON object; ``tests[]`` with
  ``nodeid``, ``lineno``, ``outcome`` and a ``setup``/``call``/``teardown`` stage each
  (``duration`` in seconds, ``outcome``, ``crash{path,lineno,message}``, ``traceback``,
  ``longrepr`` text, ``stdout``/``stderr``, ``log`` records); ``collectors[]``;
  ``environment`` (pytest-metadata); ``summary``.
* **pytest-reportlog** (https://github.com/pytest-dev/pytest-reportlog): JSON Lines, one
  serialised pytest report per line (``$report_type`` ``SessionStart``, ``TestReport``,
  ``CollectReport``, ``WarningMessage``, ``SessionFinish``), in the shape of pytest's own
  ``_report_to_json`` (``longrepr`` as ``reprcrash``/``reprtraceback``/``chain``, or a
  ``[path, line, reason]`` list for a skip, or text).

Both follow the rules of caserun's own pytest plugin, so a test has the same identity
and outcome whichever way it arrives: suite = the node id up to the last ``::``
(``tests/test_a.py::TestA``), name = the rest with its ``[parameters]``; the phases are
combined as junitxml does — a setup error fails the test with type ``error`` (message
``error at setup: …``), a teardown error after a pass fails it and is kept as
``teardown_error``, xfail is ``skipped`` with ``xfail=true``, a non-strict XPASS is
``passed`` with ``xpass=true``, xdist's ``???`` phase (a crashed worker) is a ``crash``;
a failed collection is a failed test (``collection failure: …``, ``phase=collect``).
pytest's ``lineno`` counts from 0. Quirks of the writers:

* **Reruns** (pytest-rerunfailures): reportlog writes every phase of every attempt, the
  failed ones with ``outcome: "rerun"``; they become earlier attempts of one test.
  pytest-json-report keeps only the *last* attempt's phases and marks the test
  ``outcome: "rerun"``: the earlier attempt becomes a failed attempt without details. A
  ``reruns`` list of earlier stages (a common pytest-json-report extension) is used when
  present.
* **Captured output in reportlog** repeats: every phase report carries the sections of
  the phases before it, and a rerun's reports those of the earlier attempts; only the
  sections an attempt added are its output.
* ``log`` records (pytest-json-report) become ``LEVEL logger: message`` lines in the
  attempt's log; ``Captured log …`` sections (reportlog) likewise.
* ``metadata`` (the ``json_metadata`` fixture) is the test's metadata; ``user_properties``
  (``record_property``) are the attempt's properties.

pytest-json-report is streamed test by test with ijson; reportlog is read line by line and
holds only the tests still running (several under xdist).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from caserun.domain.model import Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.text import MAX_SECONDS, exception_type, failure_type
from caserun.ingest.jsonstream import JsonWalk, decode_head, open_utf8, text, unreported_attempts
from caserun.ingest.jsonstream import loads as loads_json
from caserun.ingest.protocol import ReportSource

_PHASES = ("setup", "call", "teardown")
_SKIP_TUPLE = re.compile(r"^\(\s*'(?P<path>[^']*)',\s*(?P<line>\d+),\s*['\"](?P<reason>.*)['\"]\s*\)$", re.DOTALL)
_REPORTLOG_HEAD = re.compile(
    rb'"\$report_type"\s*:\s*"(?:SessionStart|TestReport|CollectReport|WarningMessage|SessionFinish)"'
)


def split_nodeid(nodeid: str) -> tuple[str, str]:
    """``tests/test_a.py::TestA::test_b[1-x]`` → (``tests/test_a.py::TestA``, ``test_b[1-x]``)."""
    base, bracket, params = nodeid.partition("[")
    suite, _, name = base.rpartition("::")
    return suite, name + bracket + params


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_SECONDS:
        return 0.0  # NaN, negative or absurd: no duration
    return float(value)


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        scalar = text(item)
        out[str(key)] = scalar if scalar is not None else json.dumps(item, default=str)
    return out


@dataclass
class _Phase:
    """One phase of one attempt, as either writer describes it."""

    when: str
    outcome: str
    duration: float = 0.0
    message: str | None = None
    trace: str | None = None
    skip_reason: str | None = None
    wasxfail: str | None = None
    started_at: datetime | None = None


@dataclass
class _Logs:
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


def _failure(phase: _Phase, kind: str, prefix: str = "") -> Failure:
    """pytest's failure rules (the plugin's ``failure_of``): a setup/teardown problem is an
    error, ``pytest.fail()`` an assertion, else the exception decides."""
    message = phase.message or (phase.trace.strip().splitlines()[0] if phase.trace and phase.trace.strip() else kind)
    exc = exception_type(None, message, phase.trace)
    # an assertion that mentions a timeout ("timed out on attempt 1") is still an assertion
    ftype = FailureType.ASSERTION if exc == "AssertionError" else failure_type(kind, exc, message)
    if kind == "error" and ftype is FailureType.ASSERTION:
        ftype = FailureType.ERROR
    elif exc == "Failed":
        ftype = FailureType.ASSERTION
    return Failure(prefix + message, ftype, exception=exc, trace=phase.trace)


def _attempt(phases: list[_Phase], logs: _Logs) -> Attempt:
    """The phases of one attempt combined into its outcome, as caserun's pytest plugin does."""
    attempt = Attempt(status=Status.PASSED)
    attempt.duration_ms = round(sum(p.duration for p in phases) * 1000)
    attempt.started_at = next((p.started_at for p in phases if p.started_at), None)
    props = attempt.properties
    for phase in phases:
        failed = phase.outcome in ("failed", "rerun", "error")
        if phase.when == "setup":
            if failed:
                attempt.status, attempt.failure = Status.FAILED, _failure(phase, "error", "error at setup: ")
            elif phase.outcome == "skipped":
                _skipped(attempt, phase)
        elif phase.when == "call":
            if phase.outcome == "passed":
                attempt.status = Status.PASSED
                if phase.wasxfail is not None:
                    props.update(xpass="true", xfail_reason=phase.wasxfail)
            elif failed:
                attempt.status, attempt.failure = Status.FAILED, _failure(phase, "failure")
                if (phase.trace or "").startswith("[XPASS(strict)]"):
                    props["xpass"] = "strict"
            else:
                _skipped(attempt, phase)
        elif phase.when == "teardown":
            if failed:
                failure = _failure(phase, "error", "error at teardown: ")
                props["teardown_error"] = failure.message[:2000]
                if attempt.status is not Status.FAILED:
                    attempt.status, attempt.failure = Status.FAILED, failure
        elif failed:  # xdist: the worker running this test crashed
            failure = _failure(phase, "error")
            failure.type = FailureType.CRASH
            attempt.status, attempt.failure = Status.FAILED, failure
    attempt.stdout = "".join(logs.stdout) or None
    attempt.stderr = "".join(logs.stderr) or None
    attempt.log = "".join(logs.log) or None
    return attempt


def _skipped(attempt: Attempt, phase: _Phase) -> None:
    attempt.status = Status.SKIPPED
    if phase.wasxfail is not None:
        attempt.properties.update(xfail="true", skip_reason=f"xfail: {phase.wasxfail}" if phase.wasxfail else "xfail")
    elif phase.skip_reason:
        attempt.properties["skip_reason"] = phase.skip_reason.removeprefix("Skipped: ")


def _identity(nodeid: str, lineno: Any) -> TestResult:
    suite, name = split_nodeid(nodeid)
    file = nodeid.split("::", 1)[0] or None
    line = lineno + 1 if isinstance(lineno, int) and not isinstance(lineno, bool) else None
    return TestResult(suite=suite, name=name or nodeid, attempts=[], file=file, line=line, metadata={"nodeid": nodeid})


def _collection_failure(nodeid: str, phase: _Phase) -> TestResult:
    suite, name = split_nodeid(nodeid or "<session>")
    failure = _failure(phase, "error", "collection failure: ")
    attempt = Attempt(Status.FAILED, failure=failure)
    return TestResult(
        suite=suite,
        name=name or "<collection>",
        attempts=[attempt],
        file=nodeid.split("::", 1)[0] or None,
        metadata={"phase": "collect"},
    )


# --- pytest-json-report --------------------------------------------------------------------


def _record_line(record: Any) -> str | None:
    if isinstance(record, dict):
        message = text(record.get("msg"))
        if message is None:
            return None
        return f"{text(record.get('levelname')) or 'LOG'} {text(record.get('name')) or ''}: {message}\n"
    return None


def _stage(when: str, stage: dict[str, Any], logs: _Logs, warnings: list[str]) -> _Phase:
    phase = _Phase(when=when, outcome=text(stage.get("outcome")) or "passed", duration=_seconds(stage.get("duration")))
    crash = stage.get("crash")
    if isinstance(crash, dict):
        phase.message = text(crash.get("message"))
    longrepr = stage.get("longrepr")
    if isinstance(longrepr, str):
        skip = _SKIP_TUPLE.match(longrepr.strip())
        if skip and phase.outcome == "skipped":
            phase.skip_reason = skip.group("reason")
        else:
            phase.trace = longrepr
    elif longrepr is not None:
        warnings.append(f"{when}: longrepr is not text; ignored")
    for key in ("stdout", "stderr"):
        value = stage.get(key)
        if isinstance(value, str) and value:
            getattr(logs, key).append(value)
    records = stage.get("log")
    if isinstance(records, list):
        logs.log += [line for line in map(_record_line, records) if line]
    return phase


def _json_test(item: Any, source: ReportSource, fmt: str) -> TestResult:
    if not isinstance(item, dict) or not isinstance(item.get("nodeid"), str):
        raise ParseError(
            "a test without a nodeid (not a pytest-json-report test)", file=source.display_name, format=fmt
        )
    nodeid = item["nodeid"]
    result = _identity(nodeid, item.get("lineno"))
    outcome = text(item.get("outcome")) or ""
    # an earlier attempt recorded by a "reruns" extension: a list of {setup, call, teardown}
    for earlier in item.get("reruns") or []:
        if isinstance(earlier, dict):
            result.attempts.append(_json_attempt(earlier, result.warnings))
    final = _json_attempt(item, result.warnings)
    if outcome == "xfailed" and final.status is Status.SKIPPED:
        final.properties.setdefault("xfail", "true")
        final.properties.setdefault("skip_reason", "xfail")
        final.failure = None
    elif outcome == "xpassed" and final.status is Status.PASSED:
        final.properties.setdefault("xpass", "true")
    if outcome == "rerun" and not result.attempts:
        result.attempts += unreported_attempts(1)
        result.warnings.append("pytest-json-report keeps only the last attempt of a rerun test")
    result.attempts.append(final)
    result.metadata.update(_str_dict(item.get("metadata")))
    for prop in item.get("user_properties") or []:
        final.properties.update(_str_dict(prop))
    return result


def _json_attempt(item: dict[str, Any], warnings: list[str]) -> Attempt:
    logs = _Logs()
    phases = [_stage(when, item[when], logs, warnings) for when in _PHASES if isinstance(item.get(when), dict)]
    attempt = _attempt(phases, logs)
    call = item.get("call")
    if isinstance(call, dict) and call.get("outcome") == "skipped" and "xfail" in (item.get("keywords") or []):
        # xfailed: pytest-json-report does not keep the reason, only the failure text
        attempt.properties.setdefault("xfail", "true")
    return attempt


class JsonReportParser:
    name = "pytest-json-report"
    title = "pytest-json-report JSON"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        start = decode_head(head).lstrip()
        if not start.startswith("{"):
            return 0.0
        keys = ('"created"', '"exitcode"', '"root"')
        return 0.9 if all(k in start for k in keys) and ('"tests"' in start or '"summary"' in start) else 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        top = {"created", "duration", "exitcode", "root", "environment"}
        walk = JsonWalk(
            source,
            format=self.name,
            wanted=lambda p: p in top or p in ("tests.item", "collectors.item"),
            landmarks=("tests", "summary"),
        )
        facts: dict[str, Any] = {}
        count = 0
        for prefix, value in walk:
            if prefix == "tests.item":
                count += 1
                yield _json_test(value, source, self.name)
            elif prefix == "collectors.item":
                failed = self._collector(value)
                if failed is not None:
                    count += 1
                    yield failed
            else:
                facts[prefix] = value
        if "tests" not in walk.seen and "summary" not in walk.seen:
            raise ParseError(
                "not a pytest-json-report document (no tests or summary)", file=source.display_name, format=self.name
            )
        if count == 0:
            raise ParseError("no tests in the report", file=source.display_name, format=self.name)
        self._info(source, facts)

    @staticmethod
    def _collector(value: Any) -> TestResult | None:
        if not isinstance(value, dict) or value.get("outcome") != "failed":
            return None
        longrepr = text(value.get("longrepr"))
        phase = _Phase(when="collect", outcome="failed", trace=longrepr)
        return _collection_failure(text(value.get("nodeid")) or "", phase)

    @staticmethod
    def _info(source: ReportSource, facts: dict[str, Any]) -> None:
        info = source.info
        info["tool"] = "pytest"
        duration = _seconds(facts.get("duration"))
        created = _epoch(facts.get("created"))
        if duration:
            info["duration_ms"] = str(round(duration * 1000))
        if created is not None:
            info["started_at"] = (created - timedelta(seconds=duration)).isoformat()
        if isinstance(facts.get("exitcode"), int):
            info["exitcode"] = str(facts["exitcode"])
        environment = facts.get("environment")
        if isinstance(environment, dict):
            packages = environment.get("Packages")
            if isinstance(packages, dict) and text(packages.get("pytest")):
                info["tool_version"] = str(text(packages.get("pytest")))
            for key, value in environment.items():
                scalar = text(value)
                if scalar is not None:
                    info[f"env.{key}"] = scalar


# --- pytest-reportlog ----------------------------------------------------------------------


def _render_traceback(tb: Any) -> list[str]:
    lines: list[str] = []
    if not isinstance(tb, dict):
        return lines
    for entry in tb.get("reprentries") or []:
        data = entry.get("data") if isinstance(entry, dict) else None
        if not isinstance(data, dict):
            continue
        lines += [line for line in data.get("lines") or [] if isinstance(line, str)]
        loc = data.get("reprfileloc")
        if isinstance(loc, dict):
            lines += ["", f"{loc.get('path')}:{loc.get('lineno')}: {loc.get('message')}"]
    extra = tb.get("extraline")
    if isinstance(extra, str):
        lines.append(extra)
    return lines


def _longrepr(value: Any, phase: _Phase) -> None:
    """pytest's serialised ``longrepr``: a skip's ``[path, line, reason]``, text, or the
    structured ``reprcrash``/``reprtraceback``/``chain``."""
    if value is None:
        return
    if isinstance(value, list) and len(value) == 3 and isinstance(value[2], str):
        phase.skip_reason = value[2]
        return
    if isinstance(value, str):
        phase.trace = value
        return
    if not isinstance(value, dict):
        return
    crash = value.get("reprcrash")
    if isinstance(crash, dict):
        phase.message = text(crash.get("message"))
    chain = value.get("chain")
    lines: list[str] = []
    if isinstance(chain, list) and chain:
        for link in chain:
            if not isinstance(link, list) or len(link) != 3:
                continue
            tb, _crash, description = link
            lines += _render_traceback(tb)
            if isinstance(description, str) and description:
                lines += ["", description, ""]
    else:
        lines = _render_traceback(value.get("reprtraceback"))
    phase.trace = "\n".join(lines).strip("\n") or None


@dataclass
class _Running:
    """A test whose reports are still arriving."""

    result: TestResult
    phases: list[_Phase] = field(default_factory=list)
    sections: list[Any] = field(default_factory=list)
    #: sections the previous attempt had already reported (repeated by the next one)
    seen_sections: int = 0
    rerun: bool = False
    properties: dict[str, str] = field(default_factory=dict)


class ReportLogParser:
    name = "reportlog"
    title = "pytest-reportlog JSON Lines"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        first = head.lstrip(b"\xef\xbb\xbf").lstrip().split(b"\n", 1)[0]
        return 0.95 if first.startswith(b"{") and _REPORTLOG_HEAD.search(first) else 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        running: dict[str, _Running] = {}
        count = 0
        span: list[float] = []  # the earliest start and latest stop seen
        with open_utf8(source) as stream:
            for number, raw in enumerate(stream, start=1):
                if not raw.strip():
                    continue
                try:
                    report = loads_json(raw)
                except ValueError as exc:
                    raise ParseError(
                        f"broken JSON line: {exc}", file=source.display_name, line=number, format=self.name
                    ) from None
                if not isinstance(report, dict) or not isinstance(report.get("$report_type"), str):
                    raise ParseError(
                        "not a pytest-reportlog line (no $report_type)",
                        file=source.display_name,
                        line=number,
                        format=self.name,
                    )
                for result in self._report(report, running, source, number, span):
                    count += 1
                    yield result
        for test in running.values():
            if test.phases:
                self._close_attempt(test)
            test.result.warnings.append("the log ended before this test's teardown")
            count += 1
            yield test.result
        if count == 0:
            raise ParseError("no tests in the report log", file=source.display_name, format=self.name)
        source.info["tool"] = "pytest"
        start = _epoch(span[0]) if span else None
        if start is not None:
            source.info["started_at"] = start.isoformat()
            source.info["duration_ms"] = str(round((span[1] - span[0]) * 1000))

    def _report(
        self,
        report: dict[str, Any],
        running: dict[str, _Running],
        source: ReportSource,
        number: int,
        span: list[float],
    ) -> Iterator[TestResult]:
        kind = report["$report_type"]
        if kind == "SessionStart":
            version = text(report.get("pytest_version"))
            if version:
                source.info["tool_version"] = version
        elif kind == "SessionFinish":
            status = text(report.get("exitstatus"))
            if status is not None:
                source.info["exitstatus"] = status
        elif kind == "CollectReport" and report.get("outcome") == "failed":
            phase = _Phase(when="collect", outcome="failed")
            _longrepr(report.get("longrepr"), phase)
            yield _collection_failure(text(report.get("nodeid")) or "", phase)
        elif kind == "TestReport":
            times = [stamp.timestamp() for stamp in map(_epoch, (report.get("start"), report.get("stop"))) if stamp]
            if times:
                span[:] = [min([*span[:1], *times]), max([*span[1:], *times])]
            yield from self._test_report(report, running, source, number)

    def _test_report(
        self, report: dict[str, Any], running: dict[str, _Running], source: ReportSource, number: int
    ) -> Iterator[TestResult]:
        nodeid = report.get("nodeid")
        when = report.get("when")
        if not isinstance(nodeid, str) or not isinstance(when, str):
            raise ParseError(
                "TestReport without a nodeid or when", file=source.display_name, line=number, format=self.name
            )
        location = report.get("location")
        lineno = location[1] if isinstance(location, list) and len(location) == 3 else None
        test = running.get(nodeid)
        if test is None:
            test = running[nodeid] = _Running(_identity(nodeid, lineno))
        elif when == "setup" and test.phases:
            self._close_attempt(test)  # a setup without the teardown before it
        phase = _Phase(
            when=when,
            outcome=text(report.get("outcome")) or "passed",
            duration=_seconds(report.get("duration")),
            wasxfail=text(report.get("wasxfail")) if "wasxfail" in report else None,
            started_at=_epoch(report.get("start")),
        )
        _longrepr(report.get("longrepr"), phase)
        test.phases.append(phase)
        test.rerun = test.rerun or phase.outcome == "rerun"
        sections = report.get("sections")
        if isinstance(sections, list):
            test.sections = sections
        for prop in report.get("user_properties") or []:
            if isinstance(prop, list) and len(prop) == 2:
                test.properties.update(_str_dict({prop[0]: prop[1]}))
        if when in ("teardown", "???"):
            rerun = test.rerun
            self._close_attempt(test)
            if not rerun:
                del running[nodeid]
                yield test.result

    @staticmethod
    def _close_attempt(test: _Running) -> None:
        logs = _Logs()
        new = test.sections[test.seen_sections :] if len(test.sections) >= test.seen_sections else test.sections
        for section in new:
            if not (isinstance(section, list) and len(section) == 2 and isinstance(section[1], str)):
                continue
            title = str(section[0])
            if title.startswith("Captured stdout"):
                logs.stdout.append(section[1])
            elif title.startswith("Captured stderr"):
                logs.stderr.append(section[1])
            elif title.startswith("Captured log"):
                logs.log.append(section[1])
        test.seen_sections = len(test.sections)
        attempt = _attempt(test.phases, logs)
        attempt.properties.update(test.properties)
        test.result.attempts.append(attempt)
        test.phases, test.properties = [], {}
        test.rerun = False


json_report_parser = JsonReportParser()
reportlog_parser = ReportLogParser()
