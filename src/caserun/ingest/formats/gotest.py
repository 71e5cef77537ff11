"""Go's ``go test -json`` event stream (test2json).

The format is documented by the writer: https://pkg.go.dev/cmd/test2json (one JSON object
per line: ``Time``, ``Action``, ``Package``, ``Test``, ``Elapsed``, ``Output``; actions
``start``, ``run``, ``pause``, ``cont``, ``pass``, ``fail``, ``skip``, ``output``,
``bench``; since Go 1.24 also ``build-output``/``build-fail`` with ``ImportPath`` and a
``FailedBuild`` field on the package's ``fail``). Quirks handled here:

* **Build failures as plain text.** Before Go 1.24 the compiler's messages go to stderr,
  so a CI log (``go test -json ./... 2>&1``) holds non-JSON lines between the events:
  ``# pkg [pkg.test]``, the compiler output, ``FAIL\tpkg [build failed]`` (or ``[setup
  failed]``). Such a package becomes one failed test named ``<package>`` with failure type
  ``error``, the first compiler message as its message and the whole block as its trace.
  Go 1.24's ``build-output`` events keyed by ``ImportPath`` are used the same way.
  Other text lines (``go: downloading …``) are ignored.
* **Panics.** A test whose output has a ``panic:`` line failed with type ``crash``, the
  panic as its message (``[recovered]`` dropped) and the goroutine dump as its trace; a
  ``panic: test timed out after …`` is a ``timeout``. The panic ends the test binary:
  later tests of the package never run and are absent from the stream.
* **Tests left open.** A test with ``run`` but no result when its package ends (the
  binary died: timeout, ``os.Exit``, a crash in another goroutine) is failed, with the
  package's panic when there is one (``crash``/``timeout``).
* **Package-level failures.** A package ``fail`` with no failed test (``TestMain``
  returned non-zero, a panic outside a test, a build failure reported as an event)
  becomes the failed test ``<package>`` of that package.
* **Repeated runs** (``-count=N``, or a rerun tool appending to the stream): each run of
  the same test in one package block is an attempt of one test, oldest first; the last
  run is the result. ``-count`` repeats rather than retries, so a test that failed and
  then passed is reported passed with an earlier failed attempt, exactly as a retry would
  be: that is the flakiness signal the repetition was asked for.
* **Subtests** (``TestX/sub_case``, with ``t.Run`` names' spaces as ``_``) are tests of
  their own, named by their full path; the parent is a test too, and when it failed only
  because a subtest did, its message names the failed subtests.
* **Failure messages**: ``t.Error``/``t.Fatal`` print ``file_test.go:NN: message`` lines
  (with continuation lines indented deeper). The last such line before the result is the
  message (``t.Fatal`` ends a test; ``t.Log`` lines look the same, so a log written after a
  ``t.Error`` would be taken instead), all of them are the trace, type ``assertion``. An
  ``Example`` whose output did not match says ``got:``/``want:``.
* **Output**: ``output`` events of a test become its stdout, without the framing lines
  test2json repeats (``=== RUN``, ``=== PAUSE``, ``=== CONT``, ``=== NAME``, ``--- PASS:``…).
  Before Go 1.20 (no ``=== NAME``), output of parallel tests may be attributed to the
  wrong test: the stream says so, not us.
* ``Elapsed`` is seconds (a float), ``Time`` RFC 3339 with nanoseconds.

The stream is read line by line; memory holds one package block (Go prints each package's
events together), since a ``-count`` repetition can come at any point of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caserun.domain.model import Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.jsonstream import decode_head, iso, open_utf8, seconds_to_millis
from caserun.ingest.jsonstream import loads as loads_json
from caserun.ingest.protocol import ReportSource

PACKAGE_TEST = "<package>"

_ACTIONS = {"start", "run", "pause", "cont", "pass", "fail", "skip", "output", "bench", "build-output", "build-fail"}
_RESULTS = {"pass": Status.PASSED, "fail": Status.FAILED, "skip": Status.SKIPPED}
_FRAMING = re.compile(r"^\s*(?:=== (?:RUN|PAUSE|CONT|NAME)\s|--- (?:PASS|FAIL|SKIP|BENCH): )")
_LOG_LINE = re.compile(r"^(?P<indent>\s*)(?P<file>[\w.\-/\\]+\.go):(?P<line>\d+): ?(?P<text>.*)$")
_BUILD_FAILED = re.compile(r"^FAIL\s+(?P<pkg>\S+) \[(?:build|setup) failed\]\s*$")
_BUILD_HEADER = re.compile(r"^# (?P<pkg>\S+)(?: \[[^\]]*\])?\s*$")
_PACKAGE_NOISE = re.compile(r"^(?:PASS|FAIL|ok\s|FAIL\s|\?\s|exit status \d+|coverage: |testing: warning: )")
_TIMEOUT = "test timed out after"


@dataclass
class _Run:
    """One run of one test while its events arrive."""

    started_at: datetime | None = None
    lines: list[str] = field(default_factory=list)


@dataclass
class _Package:
    name: str
    attempts: dict[str, list[Attempt]] = field(default_factory=dict)
    running: dict[str, _Run] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)


def _ms(seconds: Any) -> int | None:
    return seconds_to_millis(seconds)


def _panic(lines: list[str]) -> Failure | None:
    """The panic in a test's (or package's) output, with the goroutine dump as trace."""
    for index, line in enumerate(lines):
        if line.startswith("panic: "):
            message = line.rstrip("\n").removesuffix(" [recovered]")
            kind = FailureType.TIMEOUT if _TIMEOUT in message else FailureType.CRASH
            trace = "".join(lines[index:]).rstrip("\n")
            return Failure(message, kind, exception=None if kind is FailureType.TIMEOUT else "panic", trace=trace)
    return None


def _log_entries(lines: list[str]) -> list[str]:
    """``file_test.go:NN: message`` entries with their continuation lines."""
    entries: list[str] = []
    indent: int | None = None
    for line in lines:
        match = _LOG_LINE.match(line.rstrip("\n"))
        if match:
            indent = len(match.group("indent"))
            entries.append(line.strip())
        elif entries and indent is not None and line.strip() and len(line) - len(line.lstrip()) > indent:
            entries[-1] += "\n" + line.rstrip("\n").strip()
        else:
            indent = None
    return entries


def _message_of(entry: str) -> str:
    match = _LOG_LINE.match(entry.split("\n", 1)[0])
    first = match.group("text") if match else entry
    rest = entry.split("\n", 1)[1:] if "\n" in entry else []
    return "\n".join([first, *rest]).strip() or entry


class GoTestParser:
    name = "gotest"
    title = "Go test -json event stream (test2json)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        for line in decode_head(head).splitlines()[:200]:
            stripped = line.strip()
            if not stripped.startswith("{"):
                continue
            try:
                event = loads_json(stripped)
            except ValueError:
                continue
            if (
                isinstance(event, dict)
                and event.get("Action") in _ACTIONS
                and ("Package" in event or "ImportPath" in event)
            ):
                return 0.95
            return 0.0
        return 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        stream = _Stream(source, self.name)
        count = 0
        for result in stream.results():
            count += 1
            yield result
        if count == 0:
            raise ParseError("no tests in the go test -json stream", file=source.display_name, format=self.name)
        stream.launch_info()


class _Stream:
    def __init__(self, source: ReportSource, fmt: str) -> None:
        self.source = source
        self.format = fmt
        self.packages: dict[str, _Package] = {}
        #: compiler output by build header / ImportPath
        self.build_output: dict[str, list[str]] = {}
        self.current_block: str | None = None
        #: packages a plain-text ``FAIL pkg [build failed]`` line reported
        self.text_build_failures: list[str] = []
        self.first: datetime | None = None
        self.last: datetime | None = None

    def results(self) -> Iterator[TestResult]:
        with open_utf8(self.source) as raw:
            for number, line_bytes in enumerate(raw, start=1):
                line = line_bytes.decode("utf-8", errors="replace")
                stripped = line.strip()
                if not stripped:
                    continue
                if not stripped.startswith("{"):
                    self._text(line)
                    continue
                event = self._event(stripped, number)
                yield from self._handle(event, number)
        for package in list(self.packages.values()):
            yield from self._finish_package(package, None, ended_early=True)
        for pkg in self.text_build_failures:
            yield self._build_failure(pkg, None, [])

    def _event(self, text: str, number: int) -> dict[str, Any]:
        try:
            event = loads_json(text)
        except ValueError as exc:
            raise ParseError(
                f"broken JSON line: {exc}", file=self.source.display_name, line=number, format=self.format
            ) from None
        if not isinstance(event, dict) or not isinstance(event.get("Action"), str):
            raise ParseError(
                "not a go test -json event (no Action)", file=self.source.display_name, line=number, format=self.format
            )
        return event

    def _text(self, line: str) -> None:
        """A line the go command printed outside the JSON stream (build output on stderr)."""
        text = line.rstrip("\n")
        failed = _BUILD_FAILED.match(text)
        if failed:
            self.text_build_failures.append(failed.group("pkg"))
            self.current_block = None
            return
        header = _BUILD_HEADER.match(text)
        if header:
            self.current_block = header.group("pkg")
        if self.current_block is not None:
            self.build_output.setdefault(self.current_block, []).append(line if line.endswith("\n") else line + "\n")

    def _handle(self, event: dict[str, Any], number: int) -> Iterator[TestResult]:
        action = event["Action"]
        when = iso(event.get("Time"))
        if when is not None:
            self.first = self.first or when
            self.last = when
        if action == "build-output":
            key = str(event.get("ImportPath") or "")
            output = event.get("Output")
            if isinstance(output, str):
                self.build_output.setdefault(key, []).append(output)
            return
        if action == "build-fail":
            return
        name = event.get("Package")
        if not isinstance(name, str):
            raise ParseError(
                f"{action!r} event without a Package", file=self.source.display_name, line=number, format=self.format
            )
        package = self.packages.setdefault(name, _Package(name))
        test = event.get("Test")
        if test is not None and not isinstance(test, str):
            raise ParseError("Test is not a string", file=self.source.display_name, line=number, format=self.format)
        output = event.get("Output")
        if action in ("output", "bench"):
            if not isinstance(output, str):
                return
            if test:
                package.running.setdefault(test, _Run()).lines.append(output)
            else:
                package.output.append(output)
        elif action == "run" and test:
            package.running[test] = _Run(started_at=when)
            package.attempts.setdefault(test, [])  # results come in start order
        elif action in _RESULTS:
            if test:
                run = package.running.pop(test, None) or _Run()
                attempt = self._attempt(package, test, run, _RESULTS[action], event.get("Elapsed"))
                package.attempts.setdefault(test, []).append(attempt)
            else:
                yield from self._finish_package(package, event, ended_early=False)
                del self.packages[name]

    # --- one test ------------------------------------------------------------------------

    def _attempt(self, package: _Package, test: str, run: _Run, status: Status, elapsed: Any) -> Attempt:
        body = [line for line in run.lines if not _FRAMING.match(line)]
        attempt = Attempt(
            status=status,
            duration_ms=_ms(elapsed),
            started_at=run.started_at,
            stdout="".join(body) or None,
        )
        entries = _log_entries(body)
        if status is Status.SKIPPED and entries:
            attempt.properties["skip_reason"] = _message_of(entries[-1])
        if status is Status.FAILED:
            attempt.failure = self._failure(package, test, body, entries)
        return attempt

    @staticmethod
    def _failure(package: _Package, test: str, body: list[str], entries: list[str]) -> Failure:
        panic = _panic(body)
        if panic is not None:
            return panic
        if entries:
            message = _message_of(entries[-1])
            kind = FailureType.ERROR if "race detected" in message else FailureType.ASSERTION
            return Failure(message, kind, trace="\n".join(entries))
        if test.rpartition("/")[2].startswith("Example") and any(line.startswith("got:") for line in body):
            return Failure("example output does not match its // Output: comment", trace="".join(body).rstrip())
        failed_subtests = [
            name
            for name, attempts in package.attempts.items()
            if name.startswith(test + "/") and attempts and attempts[-1].status is Status.FAILED
        ]
        if failed_subtests:
            return Failure("subtest failed: " + ", ".join(failed_subtests))
        return Failure("test failed without a message (t.Fail)")

    # --- one package ---------------------------------------------------------------------

    def _finish_package(
        self, package: _Package, event: dict[str, Any] | None, *, ended_early: bool
    ) -> Iterator[TestResult]:
        panic = _panic(package.output)
        for test, run in package.running.items():
            body = [line for line in run.lines if not _FRAMING.match(line)]
            failure = _panic(body) or panic
            if failure is None:
                reason = "the stream ended" if ended_early else "the test binary exited"
                failure = Failure(f"no result: {reason} while this test was running", FailureType.CRASH)
            attempt = Attempt(Status.FAILED, started_at=run.started_at, stdout="".join(body) or None, failure=failure)
            package.attempts.setdefault(test, []).append(attempt)
        package.running.clear()
        for test, attempts in package.attempts.items():
            if not attempts:
                continue
            result = TestResult(suite=package.name, name=test, attempts=attempts)
            if ended_early:
                result.warnings.append("the stream ended before this package's result")
            yield result
        if event is None or event.get("Action") != "fail":
            return
        # a -count run that failed before passing also fails the package
        failed_tests = any(a.status is Status.FAILED for runs in package.attempts.values() for a in runs)
        failed_build = event.get("FailedBuild")
        build_failed = isinstance(failed_build, str) or any(
            _BUILD_FAILED.match(line.strip()) for line in package.output
        )
        if build_failed:
            if package.name in self.text_build_failures:
                self.text_build_failures.remove(package.name)
            yield self._build_failure(package.name, failed_build if isinstance(failed_build, str) else None, [])
        elif not failed_tests:
            yield self._package_failure(package, panic, event)

    def _package_failure(self, package: _Package, panic: Failure | None, event: dict[str, Any]) -> TestResult:
        output = "".join(package.output) or None
        failure = panic
        if failure is None:
            meaningful = [line.strip() for line in package.output if line.strip() and not _PACKAGE_NOISE.match(line)]
            message = meaningful[0] if meaningful else "the package failed without a failing test (TestMain, os.Exit?)"
            failure = Failure(message, FailureType.ERROR, trace=output.rstrip("\n") if output else None)
        attempt = Attempt(Status.FAILED, duration_ms=_ms(event.get("Elapsed")), failure=failure, stdout=output)
        return TestResult(suite=package.name, name=PACKAGE_TEST, attempts=[attempt])

    def _build_failure(self, pkg: str, import_path: str | None, extra: list[str]) -> TestResult:
        lines: list[str] = []
        if import_path is not None:
            lines += self.build_output.pop(import_path, [])
        lines += self.build_output.pop(pkg, [])
        lines += extra
        compiler = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        message = f"build failed: {compiler[0]}" if compiler else "build failed"
        trace = "".join(lines).rstrip("\n") or None
        failure = Failure(message, FailureType.ERROR, exception="build failed", trace=trace)
        return TestResult(suite=pkg, name=PACKAGE_TEST, attempts=[Attempt(Status.FAILED, failure=failure)])

    def launch_info(self) -> None:
        info = self.source.info
        info["tool"] = "go test"
        if self.first is not None:
            info["started_at"] = self.first.isoformat()
        if self.first is not None and self.last is not None:
            info["duration_ms"] = str(round((self.last - self.first).total_seconds() * 1000))


parser = GoTestParser()
