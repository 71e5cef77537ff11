"""TAP, the Test Anything Protocol: versions 13 and 14, as node's test runner and node-tap write it.

Specs: https://testanything.org/tap-version-13-specification.html and
https://testanything.org/tap-version-14-specification.html; writers: node's
``lib/internal/test_runner/reporter/tap.js`` and tapjs/tapjs (``tap-parser``). Quirks
handled here:

* **Tests are the leaves**: every ``ok``/``not ok`` point without subtests is a test; a
  point with subtests (an indented block, 4 spaces a level, usually opened by
  ``# Subtest: name``) is a suite, and the names of the enclosing points make the suite
  path (``Cart > discounts``). A suite that is ``not ok`` while none of its tests failed
  (a failing hook, a crashed child process) is reported itself, so no failure is lost.
* **Directives**: ``# SKIP reason`` is skipped; ``# TODO reason`` is skipped with a
  ``todo`` property when ``not ok`` (an expected failure is not a failure) and passed with
  it when ``ok``; node-tap's ``# time=22.8ms`` is the duration. ``\\#`` is a literal ``#``.
* **YAML diagnostics** between ``---`` and ``...`` (indented under the point) are read with
  a small YAML reader (mappings, sequences, quoted and plain scalars, ``|``/``>`` block
  scalars with chomping and indentation indicators); a block it cannot read is kept as
  text with a warning. Used: ``message`` (TAP 13), ``error``/``name``/``code``/
  ``failureType``/``location``/``stack``/``duration_ms`` (node), ``diff``/``at``/
  ``stack`` (node-tap), ``severity``, ``data``/``expected``/``actual``. node's
  ``failureType: testTimeoutFailure`` is a timeout, ``cancelledByParent`` blocked,
  ``hookFailed`` an error; the ``subtestsFailed`` of a suite is its tests' doing.
* **Plans**: ``1..N`` at any level, before or after the points. Planned points that never
  came are failed entries (``test 5``, "planned but never reported"); after
  ``Bail out!`` they are blocked instead, and nothing after it is read.
* Output: ``#`` comments that are not summaries (``# tests 8``, ``# pass 3``…) and raw
  non-TAP lines (``console.log``) belong to the test they follow at the same level (node
  writes a test's diagnostics after its point) or else to the next test.
* Repeated names at one level (flat TAP 13 streams repeat ``should be equivalent``) are
  told apart by ``#2``, ``#3`` in the parameters.

The stream is read line by line; memory is bounded by the largest YAML block, except for
indented subtests without a ``# Subtest:`` line, whose tests wait for their parent's name.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from caserun.domain.model import Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.text import decode_head, exception_type, failure_type
from caserun.ingest.jsonstream import loads as loads_json
from caserun.ingest.protocol import ReportSource

_VERSION = re.compile(r"^TAP version (\d+)\s*$", re.IGNORECASE)
_PLAN = re.compile(r"^1\.\.(\d+)\s*(?:#\s*(.*))?$")
_POINT = re.compile(r"^(not )?ok\b(?:\s+(\d+))?(?:\s*-)?\s*(.*)$")
_SUBTEST = re.compile(r"^# Subtest:\s*(.*)$")
_BAIL = re.compile(r"^Bail out!\s*(.*)$")
_DIRECTIVE = re.compile(r"(?<!\\)#\s*(SKIP\S*|TODO\S*|time=)\s*(.*)$", re.IGNORECASE)
_TIME = re.compile(r"^([\d.]+)(ms|s)$")
_SUMMARY = re.compile(
    r"^#\s*(?:tests|suites|pass|fail|cancelled|skipped|skip|todo|duration_ms|ok$|time=|TAP version"
    r"|No coverage|\{ total)",
    re.IGNORECASE,
)
_SEPARATOR = " > "


class _YamlError(ValueError):
    pass


class _Yaml:
    """A careful reader for the YAML subset TAP producers write (no anchors, tags, flows)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = [line.rstrip() for line in lines]
        self.i = 0

    def read(self) -> Any:
        self._skip_blank()
        if self.i >= len(self.lines):
            return None
        value = self._block(self._indent(self.lines[self.i]))
        self._skip_blank()
        if self.i < len(self.lines):
            raise _YamlError(f"unexpected line {self.lines[self.i].strip()!r}")
        return value

    @staticmethod
    def _indent(line: str) -> int:
        return len(line) - len(line.lstrip(" "))

    def _skip_blank(self) -> None:
        while self.i < len(self.lines) and not self.lines[self.i].strip():
            self.i += 1

    def _block(self, indent: int) -> Any:
        line = self.lines[self.i]
        if line.strip().startswith("- ") or line.strip() == "-":
            return self._sequence(indent)
        return self._mapping(indent)

    def _mapping(self, indent: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while True:
            self._skip_blank()
            if self.i >= len(self.lines):
                return result
            line = self.lines[self.i]
            current = self._indent(line)
            if current < indent or line.strip().startswith("- ") and current == indent:
                return result
            if current > indent:
                raise _YamlError(f"unexpected indentation at {line.strip()!r}")
            key, rest = self._key(line.strip())
            self.i += 1
            result[key] = self._value(rest, indent)

    @staticmethod
    def _key(text: str) -> tuple[str, str]:
        if text[:1] in "'\"":
            end = text.find(text[0], 1)
            if end > 0 and text[end + 1 : end + 2] == ":":
                return text[1:end], text[end + 2 :].strip()
        match = re.match(r"^([^:]+?):(?:\s+(.*))?$", text)
        if not match:
            raise _YamlError(f"not a mapping entry: {text!r}")
        return match.group(1).strip(), (match.group(2) or "").strip()

    def _value(self, rest: str, indent: int) -> Any:
        if rest[:1] in ("|", ">"):
            return self._scalar_block(rest, indent)
        if rest:
            return _scalar(rest)
        self._skip_blank()
        if self.i >= len(self.lines):
            return None
        below = self._indent(self.lines[self.i])
        if below > indent or (below == indent and self.lines[self.i].strip().startswith("-")):
            return self._block(below)
        return None

    def _sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while True:
            self._skip_blank()
            if self.i >= len(self.lines):
                return items
            line = self.lines[self.i]
            stripped = line.strip()
            if self._indent(line) != indent or not (stripped.startswith("- ") or stripped == "-"):
                return items
            rest = stripped[1:].strip()
            if rest and not rest.startswith(("|", ">", "'", '"')) and re.match(r"^[^:]+:(\s|$)", rest):
                # "- key: value" opens a mapping indented past the dash
                self.lines[self.i] = " " * (indent + 2) + rest
                items.append(self._mapping(indent + 2))
                continue
            self.i += 1
            items.append(self._value(rest, indent))

    def _scalar_block(self, header: str, indent: int) -> str:
        match = re.match(r"^([|>])([+-]?)(\d?)([+-]?)\s*(?:#.*)?$", header)
        if not match:
            raise _YamlError(f"bad block scalar header {header!r}")
        style, chomp, explicit = match.group(1), match.group(2) or match.group(4), match.group(3)
        body: list[str] = []
        content = indent + int(explicit) if explicit else None
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if line.strip():
                if content is None:
                    content = self._indent(line)
                if self._indent(line) < (content or 0) or self._indent(line) <= indent:
                    break
            body.append(line[content or 0 :] if line.strip() else "")
            self.i += 1
        while body and not body[-1]:
            body.pop()
        text = "\n".join(body) if style == "|" else _fold(body)
        if chomp == "-":
            return text
        return text + "\n" if text else text


def _fold(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if out and line and not line.startswith(" ") and out[-1] and not out[-1].startswith(" "):
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n".join(line for line in out)


def _scalar(text: str) -> Any:
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        try:
            return loads_json(text)
        except ValueError:
            return text[1:-1]
    if text in ("~", "null"):
        return None
    return text


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return "\n".join(str(v).rstrip("\n") for v in value if v is not None) or None
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    text = str(value).rstrip("\n")
    return text or None


@dataclass
class _Point:
    ok: bool
    number: int
    description: str
    directive: str | None
    reason: str
    duration_ms: int | None
    yaml_lines: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    has_children: bool = False
    children_failed: bool = False


@dataclass
class _Frame:
    """One level of nesting: its name (None until known), plan and points."""

    name: str | None
    plan: int | None = None
    count: int = 0
    numbers: set[int] = field(default_factory=set)
    open: _Point | None = None
    held: list[TestResult] = field(default_factory=list)
    pending_output: list[str] = field(default_factory=list)
    failed: bool = False
    names: dict[str, int] = field(default_factory=dict)


def _parse_point(text: str) -> _Point:
    match = _POINT.match(text)
    assert match is not None
    ok = not match.group(1)
    description = match.group(3) or ""
    directive, reason, duration = None, "", None
    found = _DIRECTIVE.search(description)
    if found:
        word = found.group(1).lower()
        if word == "time=":
            timed = _TIME.match(found.group(2).strip())
            if timed:
                factor = 1 if timed.group(2) == "ms" else 1000
                duration = round(float(timed.group(1)) * factor)
        elif word.startswith(("skip", "todo")):
            directive, reason = word[:4], found.group(2).strip()
        description = description[: found.start()].rstrip()
    description = description.replace("\\#", "#").replace("\\\\", "\\")
    return _Point(ok, int(match.group(2)) if match.group(2) else 0, description, directive, reason, duration)


class _Stream:
    """The state of one TAP stream, fed a line at a time."""

    def __init__(self, source: ReportSource) -> None:
        self.source = source
        self.frames: list[_Frame] = [_Frame(name="")]
        self.subtest_name: str | None = None
        self.yaml_for: _Point | None = None
        self.yaml_indent = 0
        self.bailed: str | None = None
        self.count = 0
        self.any_line = False

    # -- results -------------------------------------------------------------------------
    def _suite(self) -> str | None:
        names = [f.name for f in self.frames[1:]]
        if any(n is None for n in names):
            return None
        return _SEPARATOR.join(n for n in names if n is not None)

    def _emit(self, result: TestResult) -> Iterator[TestResult]:
        frame = self.frames[-1]
        seen = frame.names.get(result.name, 0) + 1
        frame.names[result.name] = seen
        if seen > 1:
            result.parameters = f"#{seen}"
        if result.final.status is Status.FAILED:
            for f in self.frames:
                f.failed = True
        suite = self._suite()
        if suite is None:
            frame.held.append(result)
            return
        result.suite = suite
        self.count += 1
        yield result

    def _close_point(self) -> Iterator[TestResult]:
        """The open leaf of the innermost frame is complete (YAML and output read)."""
        frame = self.frames[-1]
        point, frame.open = frame.open, None
        if point is None:
            return
        result = self._result(point)
        if point.has_children:
            # a suite: reported only for a failure of its own (a hook, a crashed child process)
            own = result.final.status is Status.FAILED and not point.children_failed
            if not own or result.final.properties.get("failure_kind") == "subtestsFailed":
                return
        yield from self._emit(result)

    def _result(self, point: _Point) -> TestResult:
        warnings: list[str] = []
        yaml = self._yaml(point, warnings)
        attempt = _attempt(point, yaml, warnings)
        name = point.description or f"test {point.number}"
        return TestResult(suite="", name=name, attempts=[attempt], warnings=warnings)

    @staticmethod
    def _yaml(point: _Point, warnings: list[str]) -> dict[str, Any]:
        if not point.yaml_lines:
            return {}
        try:
            value = _Yaml(point.yaml_lines).read()
        except (_YamlError, IndexError) as exc:
            warnings.append(f"unreadable YAML diagnostics ({exc}); kept as text")
            return {"raw": "\n".join(point.yaml_lines)}
        return value if isinstance(value, dict) else {"raw": "\n".join(point.yaml_lines)}

    def _missing(self, frame: _Frame) -> Iterator[TestResult]:
        if frame.plan is None:
            return
        for number in range(1, frame.plan + 1):
            if number in frame.numbers:
                continue
            if self.bailed is not None:
                status, failure = (
                    Status.BLOCKED,
                    Failure(f"not run: Bail out! {self.bailed}".strip(), FailureType.ERROR),
                )
            else:
                message = f"planned (1..{frame.plan}) but never reported: the run may have crashed"
                status, failure = Status.FAILED, Failure(message, FailureType.CRASH)
            result = TestResult(suite="", name=f"test {number}", attempts=[Attempt(status=status, failure=failure)])
            yield from self._emit(result)

    def _pop(self, point: _Point | None) -> Iterator[TestResult]:
        """The innermost frame ended; ``point`` is its parent's point (None at end of stream)."""
        yield from self._close_point()
        yield from self._missing(self.frames[-1])
        frame = self.frames.pop()
        if frame.name is None:
            frame.name = point.description if point is not None else "(unnamed subtest)"
        parent = self.frames[-1]
        if frame.failed:
            parent.failed = True
        if point is not None:
            point.children_failed = frame.failed
        held, frame.held = frame.held, []
        if held:
            self.frames.append(frame)  # their suite path includes the frame's own name
            for result in held:
                suite = self._suite()
                if suite is None:
                    parent.held.append(result)
                else:
                    result.suite = suite
                    self.count += 1
                    yield result
            self.frames.pop()

    # -- lines ---------------------------------------------------------------------------
    def feed(self, raw: str) -> Iterator[TestResult]:
        line = raw.rstrip("\r\n")
        if self.yaml_for is not None:
            if line.strip() == "..." and _indent(line) <= self.yaml_indent:
                self.yaml_for = None
            else:
                self.yaml_for.yaml_lines.append(line[self.yaml_indent :] if line.strip() else "")
            return
        if not line.strip():
            return
        indent, text = _indent(line), line.strip()
        depth = indent // 4
        frame = self.frames[-1]
        if text == "---" and frame.open is not None and indent >= 4 * (len(self.frames) - 1) + 2:
            self.yaml_for, self.yaml_indent = frame.open, indent
            return
        kind = _kind(text)
        if kind != "raw":
            while depth > len(self.frames) - 1:
                # a deeper block: a subtest whose point comes after it
                yield from self._close_point()
                self.frames.append(_Frame(name=self.subtest_name))
                self.subtest_name = None
            while kind != "comment" and depth < len(self.frames) - 1:
                if kind == "point" and depth == len(self.frames) - 2:
                    break  # the parent's point: _point closes the block with its name
                yield from self._pop(None)
        yield from self._line(kind, text, depth)

    def _line(self, kind: str, text: str, depth: int) -> Iterator[TestResult]:
        frame = self.frames[-1]
        if kind == "version":
            version = _VERSION.match(text)
            if version:
                self.source.info.setdefault("tap_version", version.group(1))
        elif kind == "bail":
            bail = _BAIL.match(text)
            self.bailed = bail.group(1).strip() if bail else ""
        elif kind == "plan":
            plan = _PLAN.match(text)
            if plan:
                frame.plan = int(plan.group(1))
        elif kind == "subtest":
            yield from self._close_point()
            subtest = _SUBTEST.match(text)
            self.subtest_name = subtest.group(1).strip() if subtest else None
        elif kind == "point":
            yield from self._point(_parse_point(text), depth)
        elif kind in ("comment", "raw") and not _SUMMARY.match(text) and not text.lower().startswith("pragma "):
            output = text[1:].strip() if kind == "comment" else text
            if frame.open is not None:
                frame.open.output.append(output)
            else:
                frame.pending_output.append(output)

    def _point(self, point: _Point, depth: int) -> Iterator[TestResult]:
        if depth < len(self.frames) - 1:
            # this point closes the subtest block above it: it is a suite, not a test
            yield from self._pop(point)
            point.has_children = True
        frame = self.frames[-1]
        yield from self._close_point()
        frame.count += 1
        point.number = point.number or frame.count
        frame.numbers.add(point.number)
        point.output, frame.pending_output = frame.pending_output, []
        frame.open = point
        self.subtest_name = None

    def finish(self) -> Iterator[TestResult]:
        while len(self.frames) > 1:
            yield from self._pop(None)
        yield from self._close_point()
        yield from self._missing(self.frames[0])
        for result in self.frames[0].held:
            self.count += 1
            yield result


def _kind(text: str) -> str:
    if _POINT.match(text):
        return "point"
    if _PLAN.match(text):
        return "plan"
    if _SUBTEST.match(text):
        return "subtest"
    if _VERSION.match(text):
        return "version"
    if _BAIL.match(text):
        return "bail"
    return "comment" if text.startswith("#") else "raw"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _attempt(point: _Point, yaml: dict[str, Any], warnings: list[str]) -> Attempt:
    properties: dict[str, str] = {}
    duration = point.duration_ms
    if duration is None and "duration_ms" in yaml:
        try:
            duration = round(float(str(yaml["duration_ms"])))
        except ValueError:
            warnings.append(f"unreadable duration_ms {yaml['duration_ms']!r}")
    stdout = "\n".join(point.output) or None
    failure = None
    kind = _as_text(yaml.get("failureType"))
    if point.directive == "skip":
        status = Status.SKIPPED
        if point.reason:
            properties["skip_reason"] = point.reason
    elif point.directive == "todo":
        properties["todo"] = point.reason or "todo"
        status = Status.PASSED if point.ok else Status.SKIPPED
    elif point.ok:
        status = Status.PASSED
    elif kind == "cancelledByParent":
        status = Status.BLOCKED
        failure = Failure(_as_text(yaml.get("error")) or "cancelled by its parent", FailureType.ERROR)
    else:
        status = Status.FAILED
        failure = _failure(point, yaml, kind)
    if "raw" in yaml and failure is not None and failure.trace is None:
        failure.trace = yaml["raw"]
    location = _as_text(yaml.get("location"))
    at = yaml.get("at")
    if isinstance(at, dict) and at.get("fileName"):
        location = f"{at.get('fileName')}:{at.get('lineNumber', '')}:{at.get('columnNumber', '')}".rstrip(":")
    elif isinstance(at, str):
        location = at
    elif location is None and isinstance(yaml.get("file"), str):
        location = ":".join(str(yaml[k]) for k in ("file", "line", "column") if yaml.get(k) is not None)
    if location:
        properties["location"] = location
    if kind:
        properties["failure_kind"] = kind
    return Attempt(status=status, duration_ms=duration, failure=failure, stdout=stdout, properties=properties)


def _failure(point: _Point, yaml: dict[str, Any], kind: str | None) -> Failure:
    message = _as_text(yaml.get("message")) or _as_text(yaml.get("error"))
    if message is None or (point.description and message == point.description):
        message = point.description or f"test {point.number} failed"
    elif point.description and kind != "testCodeFailure":
        message = f"{point.description}: {message}"
    diff = _as_text(yaml.get("diff"))
    if diff:
        message = f"{message}\n{diff}"
    elif "\n" not in message and ("expected" in yaml or "actual" in yaml or "data" in yaml):
        data = {k: yaml[k] for k in ("expected", "actual", "data", "found", "wanted") if k in yaml}
        message = f"{message}\n{json.dumps(data, ensure_ascii=False)}"
    trace = _as_text(yaml.get("stack"))
    exc = _as_text(yaml.get("name")) or _as_text(yaml.get("type"))
    if exc == "suite":
        exc = None
    exc = exception_type(exc, message, trace)
    if kind == "testTimeoutFailure":
        ftype = FailureType.TIMEOUT
    elif kind == "hookFailed":
        ftype = FailureType.ERROR
    elif yaml.get("code") == "ERR_ASSERTION" or "diff" in yaml or "compare" in yaml:
        ftype = FailureType.ASSERTION
    else:
        ftype = failure_type("failure", exc, message)
    return Failure(message=message, type=ftype, exception=exc, trace=trace)


class TapParser:
    name = "tap"
    title = "TAP 13/14 (node --test, node-tap, any TAP producer)"

    def sniff(self, head: bytes, source: ReportSource) -> float:
        text = decode_head(head).lstrip()
        first = text.split("\n", 1)[0].strip()
        if _VERSION.match(first):
            return 1.0
        if _PLAN.match(first) or re.match(r"^(not )?ok\b(\s+\d+)?(\s|$)", first):
            return 0.8
        return 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        stream = _Stream(source)
        source.info["tool"] = "TAP"
        with source.open() as raw:
            encoding = "utf-16" if raw.read(2) in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
            raw.seek(0)
            reader = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
            started = False
            for number, line in enumerate(reader, start=1):
                if not started and line.strip():
                    started = True
                    if _kind(line.strip()) not in ("version", "plan", "point", "comment", "subtest"):
                        raise ParseError(
                            "not TAP: no version line, plan or test point at the start",
                            file=source.display_name,
                            line=number,
                            format=self.name,
                        )
                yield from stream.feed(line)
                if stream.bailed is not None:
                    break
        yield from stream.finish()
        if stream.count == 0:
            raise ParseError("no test points in the TAP stream", file=source.display_name, format=self.name)


parser = TapParser()
