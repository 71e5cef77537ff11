"""Allure 2 results: the ``allure-results`` *directory* every Allure adapter writes.

The model is the adapters' writer code (allure-python's ``allure_commons/model2.py``,
allure-java's ``io.qameta.allure.model``) and https://allurereport.org/docs/how-it-works/ :
one ``<uuid>-result.json`` per test execution, ``<uuid>-container.json`` for fixtures
(``befores``/``afters``) around the results and containers named in ``children``,
``<uuid>-attachment.<ext>`` files named by ``attachments[].source``, and optional
``executor.json``, ``environment.properties`` and ``categories.json``.

This parser reads a directory, never a file: ``sniff`` claims a directory holding at least
one ``*-result.json`` file (the head is empty for a directory). Only the directory's own
entries are read, no subdirectory (``history/`` is the report's, not the run's), and never
a symlink.

Quirks handled here:

* **Retries**: allure-pytest with pytest-rerunfailures, Playwright, TestNG retry analysers
  and others write one result per execution, all with one ``historyId``: they become the
  attempts of ONE test, ordered by ``start`` (oldest first). ``historyId`` is also the
  test's key: allure-pytest gives every row of a parametrised test the same
  ``testCaseId``, and only ``historyId`` tells the rows apart. Without a ``historyId``,
  ``testCaseId`` plus the parameters, else ``fullName`` plus the parameters, group.
* **Statuses**: ``failed`` is an assertion failure, ``broken`` any other error (a timeout
  when the exception, or a broken test's message, says so), ``skipped`` (pytest's xfail too, message kept as
  ``skip_reason``); ``unknown`` or no status (a run that was interrupted, a ``stage``
  other than ``finished``) is failed with failure type ``unknown`` and a warning.
  ``statusDetails.flaky``/``known``/``muted`` are kept on the attempt.
* **Fixtures**: a failed ``before`` in a container around the test reaches it: a test
  that was not run because of it (skipped or no outcome) is **blocked** with the
  fixture's failure; a failed ``after`` makes a passed test failed. A test that failed on
  its own keeps its failure, with a warning naming a different fixture failure.
  Containers nest (``children`` may name containers); allure-pytest lists one fixture
  once per rerun, which is counted once.
* **Steps** nest; the path of the failing steps (``open cart › pay``) heads the failure
  message, and attachments made inside steps are kept with the test's own.
* **Attachments**: ``source`` must be a plain file name in the results directory;
  anything else (``../../etc/passwd``, an absolute path, a symlink) is a warning and is
  never read. allure-pytest attaches captured output as ``stdout``, ``stderr`` and
  ``log`` text attachments: those become the attempt's logs.
* **Names**: ``suite`` is ``parentSuite > suite > subSuite`` from the labels (else
  ``testClass``, else ``fullName`` without the test's own name); ``name`` keeps
  allure-pytest's ``[1-250]`` suffix, ``parameters`` are ``name=value`` pairs:
  ``excluded`` ones (left out of ``historyId`` by Allure) go to the metadata instead, a
  ``masked`` value is written as ``******`` and a ``hidden`` one is dropped.
* Labels (``tag``, ``severity``, ``owner``, ``feature``, ``host``…; repeated ones joined
  with ``, ``), links (by type: ``issue``, ``tms``, ``link``) and ``description`` become
  metadata. ``executor.json`` and ``environment.properties`` go to the launch info, with
  the earliest ``start`` and the run's span; ``categories.json`` only gives its names
  (its regular expressions are not run on the server: a report must not choose what the
  server's CPU does).

Every JSON file is streamed with ``jsonstream``; results are read twice (an index to group
retries, then each test's attempts), so memory is bounded by the largest test.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caserun.domain.model import AttachmentRef, Attempt, Failure, FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.text import exception_type, failure_type
from caserun.ingest.jsonstream import JsonWalk, epoch, millis, text
from caserun.ingest.protocol import ReportSource

FORMAT = "allure"
RESULT_SUFFIX = "-result.json"
CONTAINER_SUFFIX = "-container.json"
#: captured output read into an attempt's logs, at most this much of each stream
MAX_LOG_BYTES = 4 * 1024 * 1024
_LOG_STREAMS = {"stdout": "stdout", "stderr": "stderr", "log": "log"}
_INDEX_KEYS = frozenset({"uuid", "historyId", "testCaseId", "fullName", "name", "start", "parameters"})
_FAILING = {"failed", "broken"}
_SUITE_LABELS = ("parentSuite", "suite", "subSuite")
_MASK = "******"


def _top_level(prefix: str) -> bool:
    return bool(prefix) and "." not in prefix


def _index_key(prefix: str) -> bool:
    return prefix in _INDEX_KEYS


def _display(source: ReportSource, name: str) -> str:
    return f"{source.display_name.rstrip('/')}/{name}"


def _read_object(source: ReportSource, name: str, *, index_only: bool = False) -> dict[str, Any]:
    """One JSON file of the directory as a dict of its top-level keys (streamed, so a
    broken file is an error naming it and its line)."""
    display = _display(source, name)
    walk = JsonWalk(
        ReportSource(source.path / name, display),
        format=FORMAT,
        wanted=_index_key if index_only else _top_level,
        landmarks=("",),
    )
    data = dict(walk)
    if walk.seen.get("") != "start_map":
        raise ParseError("not an Allure result: the file does not hold a JSON object", file=display, format=FORMAT)
    return data


def _member(directory: Path, name: str) -> Path | None:
    """The regular file ``name`` directly inside ``directory``; None for anything else
    (a path, ``..``, a symlink, a missing file)."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        return None
    path = directory / name
    try:
        mode = os.lstat(path).st_mode
    except (OSError, ValueError):
        return None
    return path if stat.S_ISREG(mode) else None


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\x00") and ":" not in name[:2]


def _list(value: Any, what: str, warnings: list[str]) -> list[dict[str, Any]]:
    """A list of objects; anything else is ignored with a warning."""
    if value is None:
        return []
    if not isinstance(value, list):
        warnings.append(f"{what} is not a list; ignored")
        return []
    return [item for item in value if isinstance(item, dict)]


# --- the directory ------------------------------------------------------------------------


@dataclass(slots=True)
class _Fixture:
    phase: str  # "before" or "after"
    name: str
    status: str
    message: str | None
    trace: str | None

    def failure(self) -> Failure:
        word = "setup" if self.phase == "before" else "teardown"
        message = f"{word} fixture {self.name!r} {self.status}: {self.message or 'no message'}"
        exc = exception_type(None, self.message, self.trace)
        return Failure(
            message=message, type=_failure_type(self.status, exc, self.message), exception=exc, trace=self.trace
        )


@dataclass(slots=True)
class _Entry:
    """What the first pass keeps of one result file."""

    file: str
    uuid: str | None
    group: str
    start: int


@dataclass
class _Directory:
    source: ReportSource
    results: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    extras: set[str] = field(default_factory=set)
    fixtures: dict[str, list[_Fixture]] = field(default_factory=dict)  # by container uuid
    parents: dict[str, list[str]] = field(default_factory=dict)  # child uuid -> container uuids

    @classmethod
    def scan(cls, source: ReportSource) -> _Directory:
        found = cls(source)
        try:
            entries = sorted(os.scandir(source.path), key=lambda e: e.name)
        except OSError as exc:
            raise ParseError(f"cannot read the results directory: {exc.strerror}", file=source.display_name) from None
        for entry in entries:
            if not entry.is_file(follow_symlinks=False):
                continue
            if entry.name.endswith(RESULT_SUFFIX):
                found.results.append(entry.name)
            elif entry.name.endswith(CONTAINER_SUFFIX):
                found.containers.append(entry.name)
            elif entry.name in ("executor.json", "environment.properties", "categories.json"):
                found.extras.add(entry.name)
        return found

    def read_containers(self) -> None:
        for name in self.containers:
            data = _read_object(self.source, name)
            uuid = text(data.get("uuid")) or name
            ignored: list[str] = []
            children = data.get("children")
            for child in children if isinstance(children, list) else []:
                if isinstance(child, str):
                    self.parents.setdefault(child, []).append(uuid)
            fixtures = self.fixtures.setdefault(uuid, [])
            for phase in ("before", "after"):
                for item in _list(data.get(f"{phase}s"), f"{phase}s", ignored):
                    status = text(item.get("status")) or ""
                    if status not in _FAILING:
                        continue
                    details = _object(item.get("statusDetails"))
                    fixture = _Fixture(
                        phase=phase,
                        name=text(item.get("name")) or "?",
                        status=status,
                        message=_strip(text(details.get("message"))),
                        trace=_strip(text(details.get("trace"))),
                    )
                    if all((f.phase, f.name, f.message) != (phase, fixture.name, fixture.message) for f in fixtures):
                        fixtures.append(fixture)

    def fixtures_around(self, uuid: str | None) -> list[_Fixture]:
        """Failed fixtures of every container that holds ``uuid``, nearest first."""
        if uuid is None:
            return []
        found: list[_Fixture] = []
        seen: set[str] = set()
        queue = list(self.parents.get(uuid, []))
        while queue:
            container = queue.pop(0)
            if container in seen:
                continue
            seen.add(container)
            for fixture in self.fixtures.get(container, []):
                if all((f.phase, f.name, f.message) != (fixture.phase, fixture.name, fixture.message) for f in found):
                    found.append(fixture)
            queue += self.parents.get(container, [])
        return found


def _strip(value: str | None) -> str | None:
    stripped = value.strip() if value else None
    return stripped or None


# --- one result ---------------------------------------------------------------------------


def _failure_type(status: str, exception: str | None, message: str | None) -> FailureType:
    """Allure has already decided assertion (``failed``) or error (``broken``); a timeout
    is told by the exception (``TimeoutError``), or by the message of a broken test (an
    assertion that mentions a timeout is still an assertion)."""
    if failure_type("error", exception, None) is FailureType.TIMEOUT:
        return FailureType.TIMEOUT
    if status == "failed":
        return FailureType.ASSERTION
    return FailureType.TIMEOUT if failure_type("error", None, message) is FailureType.TIMEOUT else FailureType.ERROR


def _failing_steps(steps: Any) -> tuple[list[str], dict[str, Any] | None]:
    """The names of the failing steps, outermost first, and the innermost one's details."""
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict) and text(step.get("status")) in _FAILING:
            names, details = _failing_steps(step.get("steps"))
            own = _object(step.get("statusDetails"))
            return [text(step.get("name")) or "?", *names], details or own or None
    return [], None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _walk_steps(steps: Any) -> Iterator[dict[str, Any]]:
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            yield step
            yield from _walk_steps(step.get("steps"))


def _parameters(value: Any, metadata: dict[str, str], warnings: list[str]) -> str | None:
    parts = []
    for param in _list(value, "parameters", warnings):
        name = text(param.get("name")) or "?"
        mode = text(param.get("mode")) or "default"
        if mode == "hidden":
            continue
        shown = _MASK if mode == "masked" else (text(param.get("value")) or "")
        if param.get("excluded") is True:
            metadata[f"parameter.{name}"] = shown
        else:
            parts.append(f"{name}={shown}")
    return ", ".join(parts) if parts else None


def _labels(value: Any, warnings: list[str]) -> dict[str, list[str]]:
    labels: dict[str, list[str]] = {}
    for label in _list(value, "labels", warnings):
        name, val = text(label.get("name")), text(label.get("value"))
        if name and val is not None and val not in labels.get(name, []):
            labels.setdefault(name, []).append(val)
    return labels


def _suite(labels: dict[str, list[str]], full_name: str | None, name: str) -> str:
    parts = [labels[k][0] for k in _SUITE_LABELS if labels.get(k)]
    if parts:
        return " > ".join(parts)
    if labels.get("testClass"):
        return labels["testClass"][0]
    if full_name:
        if "#" in full_name:
            return full_name.rsplit("#", 1)[0]
        for own in (*labels.get("testMethod", [])[:1], name):
            if own and full_name.endswith(own) and len(full_name) > len(own):
                return full_name[: -len(own)].rstrip(".:# ")
    return labels.get("package", [""])[0]


def _metadata(data: dict[str, Any], labels: dict[str, list[str]], warnings: list[str]) -> dict[str, str]:
    metadata = {("tags" if k == "tag" else k): ", ".join(v) for k, v in labels.items() if k not in _SUITE_LABELS}
    links: dict[str, list[str]] = {}
    for link in _list(data.get("links"), "links", warnings):
        target = text(link.get("url")) or text(link.get("name"))
        if target:
            links.setdefault(text(link.get("type")) or "link", []).append(target)
    for kind, targets in links.items():
        metadata[f"link.{kind}"] = ", ".join(targets)
    description = text(data.get("description"))
    if description and description.strip():
        metadata["description"] = description.strip()
    if text(data.get("testCaseId")):
        metadata["allure.testCaseId"] = str(data["testCaseId"])
    return metadata


@dataclass
class _Reader:
    directory: _Directory
    warnings: list[str] = field(default_factory=list)

    @property
    def source(self) -> ReportSource:
        return self.directory.source

    def attempt(self, data: dict[str, Any], file: str) -> Attempt:
        status_word = (text(data.get("status")) or "unknown").lower()
        details = data.get("statusDetails")
        if details is not None and not isinstance(details, dict):
            self.warnings.append(f"{file}: statusDetails is not an object; ignored")
        details = details if isinstance(details, dict) else {}
        message, trace = _strip(text(details.get("message"))), _strip(text(details.get("trace")))
        start, stop = millis(data.get("start")), millis(data.get("stop"))
        attempt = Attempt(
            status=Status.PASSED,
            started_at=epoch(start),
            duration_ms=stop - start if start is not None and stop is not None and stop >= start else None,
        )
        for flag in ("flaky", "known", "muted"):
            if details.get(flag) is True:
                attempt.properties[flag] = "true"
        stage = text(data.get("stage"))
        if stage and stage != "finished":
            attempt.properties["stage"] = stage
        if status_word == "passed":
            attempt.status = Status.PASSED
        elif status_word == "skipped":
            attempt.status = Status.SKIPPED
            if message:
                attempt.properties["skip_reason"] = message
        elif status_word in _FAILING:
            attempt.status = Status.FAILED
            attempt.failure = self._failure(status_word, message, trace, data.get("steps"))
        else:
            attempt.status = Status.FAILED
            attempt.failure = Failure(
                message=message or f"the test has no outcome (Allure status {status_word!r}, stage {stage or '?'})",
                type=FailureType.UNKNOWN,
                trace=trace,
            )
            self.warnings.append(f"{file}: Allure status {status_word!r}: counted as failed")
        self._attachments(data, attempt, file)
        self._fixtures(text(data.get("uuid")), attempt)
        return attempt

    def _failure(self, status: str, message: str | None, trace: str | None, steps: Any) -> Failure:
        names, step_details = _failing_steps(steps)
        if not message and step_details:
            message = _strip(text(step_details.get("message")))
            trace = trace or _strip(text(step_details.get("trace")))
        if not message and trace:
            message = trace.splitlines()[0]
        exc = exception_type(None, message, trace)
        text_ = message or ("broken" if status == "broken" else "failed")
        if names:
            text_ = f"step {' › '.join(names)!r} failed: {text_}"
        return Failure(message=text_, type=_failure_type(status, exc, message), exception=exc, trace=trace)

    def _attachments(self, data: dict[str, Any], attempt: Attempt, file: str) -> None:
        items = _list(data.get("attachments"), f"{file}: attachments", self.warnings)
        for step in _walk_steps(data.get("steps")):
            items += _list(step.get("attachments"), f"{file}: step attachments", self.warnings)
        for item in items:
            ref = text(item.get("source"))
            name = text(item.get("name")) or ref or "attachment"
            declared = text(item.get("type"))
            if not ref or not _plain_name(ref):
                self.warnings.append(
                    f"attachment {name!r} names {ref!r}, which is not a file in the results directory; not read"
                )
                continue
            stream = _LOG_STREAMS.get(name)
            if stream and (declared or "text/plain").startswith("text/") and getattr(attempt, stream) is None:
                local = _member(self.source.path, ref)
                if local is None:
                    self.warnings.append(f"captured {name} ({ref!r}) was not found in the results directory")
                    continue
                with local.open("rb") as handle:
                    raw = handle.read(MAX_LOG_BYTES + 1)
                content = raw[:MAX_LOG_BYTES].decode("utf-8", errors="replace")
                if len(raw) > MAX_LOG_BYTES:
                    content += f"\n… [cut at {MAX_LOG_BYTES} bytes]"
                setattr(attempt, stream, content)
                continue
            attempt.attachments.append(AttachmentRef(name=name, path=ref, content_type=declared))

    def _fixtures(self, uuid: str | None, attempt: Attempt) -> None:
        for fixture in self.directory.fixtures_around(uuid):
            failure = fixture.failure()
            own = attempt.failure
            not_run = attempt.status is Status.SKIPPED or (own is not None and own.type is FailureType.UNKNOWN)
            if fixture.phase == "before" and not_run:
                attempt.status = Status.BLOCKED
                attempt.failure = failure
                attempt.properties.pop("skip_reason", None)
                attempt.properties["blocked_by"] = fixture.name
            elif fixture.phase == "after" and attempt.status is Status.PASSED:
                attempt.status = Status.FAILED
                attempt.failure = failure
            elif own is None or (fixture.message or "") not in own.message:
                self.warnings.append(failure.message.splitlines()[0])


# --- the parser ---------------------------------------------------------------------------


class AllureParser:
    name = FORMAT
    title = "Allure 2 results directory (allure-results)"
    #: a directory is one report of this format (``caserun upload DIR --format allure``)
    reads_directories = True

    def sniff(self, head: bytes, source: ReportSource) -> float:
        if head or not source.path.is_dir():
            return 0.0
        try:
            with os.scandir(source.path) as entries:
                for entry in entries:
                    if entry.name.endswith(RESULT_SUFFIX) and entry.is_file(follow_symlinks=False):
                        return 1.0
        except OSError:
            return 0.0
        return 0.0

    def parse(self, source: ReportSource) -> Iterator[TestResult]:
        if not source.path.is_dir():
            raise ParseError(
                "Allure results are a directory (allure-results/): upload the directory, not one file",
                file=source.display_name,
                format=self.name,
            )
        directory = _Directory.scan(source)
        if not directory.results:
            raise ParseError(
                "no *-result.json files: not an Allure results directory, or the run wrote no results",
                file=source.display_name,
                format=self.name,
            )
        directory.read_containers()
        groups: dict[str, list[_Entry]] = {}
        for name in directory.results:
            entry = _index_entry(_read_object(source, name, index_only=True), name)
            groups.setdefault(entry.group, []).append(entry)
        ordered = sorted(groups.values(), key=lambda g: min((e.start, e.file) for e in g))
        first: int | None = None
        last: int | None = None
        for entries in ordered:
            entries.sort(key=lambda e: (e.start, e.file))
            result, span = self._result(directory, entries)
            for moment in span:
                first = moment if first is None else min(first, moment)
                last = moment if last is None else max(last, moment)
            yield result
        self._launch_info(directory, first, last)

    def _result(self, directory: _Directory, entries: list[_Entry]) -> tuple[TestResult, list[int]]:
        reader = _Reader(directory)
        attempts: list[Attempt] = []
        data: dict[str, Any] = {}
        span: list[int] = []
        for entry in entries:
            data = _read_object(directory.source, entry.file)
            attempts.append(reader.attempt(data, entry.file))
            span += [t for t in (millis(data.get("start")), millis(data.get("stop"))) if t]
        warnings = reader.warnings
        labels = _labels(data.get("labels"), warnings)
        metadata = _metadata(data, labels, warnings)
        parameters = _parameters(data.get("parameters"), metadata, warnings)
        full_name = text(data.get("fullName"))
        name = text(data.get("name")) or next(iter(labels.get("testMethod", [])), None) or full_name or entries[-1].file
        history = text(data.get("historyId"))
        result = TestResult(
            suite=_suite(labels, full_name, name),
            name=name,
            attempts=attempts,
            parameters=parameters,
            key=history or entries[-1].group,
            metadata=metadata,
            warnings=list(dict.fromkeys(warnings)),
        )
        return result, span

    def _launch_info(self, directory: _Directory, first: int | None, last: int | None) -> None:
        info = directory.source.info
        info["tool"] = "Allure"
        if first is not None and (moment := epoch(first)) is not None:
            info["started_at"] = moment.isoformat()
            if last is not None:
                info["duration_ms"] = str(last - first)
        if "executor.json" in directory.extras:
            executor = _read_object(directory.source, "executor.json")
            for key, target in (
                ("name", "executor"),
                ("type", "executor_type"),
                ("buildName", "build_name"),
                ("buildOrder", "build_order"),
                ("buildUrl", "build_url"),
                ("reportUrl", "report_url"),
            ):
                value = text(executor.get(key))
                if value:
                    info[target] = value
        if "environment.properties" in directory.extras:
            local = _member(directory.source.path, "environment.properties")
            if local is not None:
                for key, value in _properties(local).items():
                    info.setdefault(key, value)
        if "categories.json" in directory.extras:
            names = _category_names(directory.source)
            if names:
                info["categories"] = ", ".join(names)


def _index_entry(data: dict[str, Any], file: str) -> _Entry:
    history, case, full = text(data.get("historyId")), text(data.get("testCaseId")), text(data.get("fullName"))
    params = data.get("parameters")
    values = (
        [f"{text(p.get('name'))}={text(p.get('value'))}" for p in params if isinstance(p, dict)]
        if isinstance(params, list)
        else []
    )
    if history:
        group = history
    elif case or full:
        group = "\x1f".join([case or full or "", *values])
    else:
        group = text(data.get("uuid")) or file
    return _Entry(file=file, uuid=text(data.get("uuid")), group=group, start=millis(data.get("start")) or 0)


def _category_names(source: ReportSource) -> list[str]:
    display = _display(source, "categories.json")
    walk = JsonWalk(
        ReportSource(source.path / "categories.json", display),
        format=FORMAT,
        wanted=lambda p: p == "item.name",
        landmarks=("",),
    )
    names = [value for _, value in walk if isinstance(value, str) and value]
    if walk.seen.get("") not in (None, "start_array"):
        raise ParseError("categories.json is not a list of categories", file=display, format=FORMAT)
    return names


def _properties(path: Path) -> dict[str, str]:
    """A Java ``.properties`` file, as Allure reads ``environment.properties``: ``key=value``,
    ``key: value`` or ``key value``, ``#``/``!`` comments, ``\\`` continuations, escapes."""
    with path.open("rb") as handle:
        raw = handle.read(1024 * 1024)
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        content = raw.decode("latin-1")
    found: dict[str, str] = {}
    logical = ""
    for line in content.splitlines():
        stripped = line.lstrip()
        if not logical and (not stripped or stripped[0] in "#!"):
            continue
        trailing = len(stripped) - len(stripped.rstrip("\\"))
        if trailing % 2:
            logical += stripped[:-1]
            continue
        logical += stripped
        key, value = _split_property(logical)
        logical = ""
        if key:
            found[key] = value
    if logical:
        key, value = _split_property(logical)
        if key:
            found[key] = value
    return found


def _split_property(line: str) -> tuple[str, str]:
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char in "=:" or char.isspace():
            key, rest = line[:index], line[index + 1 :].lstrip()
            if char.isspace() and rest[:1] in ("=", ":"):
                rest = rest[1:].lstrip()
            return _unescape(key), _unescape(rest)
        index += 1
    return _unescape(line), ""


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(value: str) -> str:
    out = []
    index = 0
    while index < len(value):
        char = value[index]
        if char != "\\" or index + 1 == len(value):
            out.append(char)
            index += 1
            continue
        escaped = value[index + 1]
        digits = value[index + 2 : index + 6]
        if escaped == "u" and len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
            out.append(chr(int(digits, 16)))
            index += 6
            continue
        out.append(_ESCAPES.get(escaped, escaped))
        index += 2
    return "".join(out)


parser = AllureParser()
