"""Retry plans: the command-line arguments that re-run exactly a launch's failed tests.

A test is known by its stored identity (dotted suite, name, parameters) and, when the
report said so, its file. Each runner selects tests its own way:

* **pytest** takes node ids: ``tests/test_x.py::TestA::test_b[1]``. The file is the
  test's file when known; otherwise the suite's leading segments are the module path
  and its trailing ``Capitalised`` segments are classes (pytest's ``Test*`` convention).
  A test with no suite gets ``-k name``.
* **jest** takes ``-t REGEX`` over the full name (describe blocks and title joined by
  spaces); the test files are passed too when every failed test's file is known.
* **playwright** takes ``--grep REGEX`` over "project file describe title @tags"; files as for jest.
* **go** takes ``-run`` with ``^(TestA|TestB)$`` for top-level tests and ``^TestA$/^sub$``
  per subtest, joined by ``|`` (go splits a ``-run`` pattern on top-level ``|`` and ``/``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath


class Runner(enum.StrEnum):
    PYTEST = "pytest"
    JEST = "jest"
    PLAYWRIGHT = "playwright"
    GO = "go"


@dataclass(frozen=True, slots=True)
class FailedTest:
    suite: str
    name: str
    parameters: str = ""
    file: str | None = None


@dataclass(slots=True)
class RetryPlan:
    runner: Runner
    args: list[str]
    tests: int
    notes: list[str] = field(default_factory=list)


_JS_SPECIAL = re.compile(r"[.*+?^${}()|[\]\\/]")
_GO_SPECIAL = re.compile(r"[\\.+*?()|\[\]{}^$]")
_TITLE_SEPARATOR = re.compile(r"\s+(?:›|>)\s+")


def js_escape(text: str) -> str:
    return _JS_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def go_escape(text: str) -> str:
    """Like Go's ``regexp.QuoteMeta``."""
    return _GO_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --- pytest ------------------------------------------------------------------------------


def _classes(segments: list[str]) -> list[str]:
    count = 0
    for segment in reversed(segments):
        if not segment[:1].isupper():
            break
        count += 1
    return segments[len(segments) - count :]


def pytest_node_id(test: FailedTest) -> str | None:
    """The pytest node id of a test, or None when the suite names no module."""
    segments = [s for s in test.suite.split(".") if s]
    leaf = f"{test.name}[{test.parameters}]" if test.parameters else test.name
    if test.file:
        path = test.file.replace("\\", "/").removeprefix("./")
        module = path.removesuffix(".py").replace("/", ".")
        stem = PurePosixPath(path).stem
        if path.endswith(".py") and test.suite.startswith(module + "."):
            classes = [s for s in test.suite[len(module) + 1 :].split(".") if s]
        elif stem in segments:
            last = len(segments) - 1 - segments[::-1].index(stem)
            classes = segments[last + 1 :]
        else:
            classes = _classes(segments)
        return "::".join([path, *classes, leaf])
    classes = _classes(segments)
    modules = segments[: len(segments) - len(classes)]
    if not modules:
        return None
    return "::".join(["/".join(modules) + ".py", *classes, leaf])


def _pytest(tests: list[FailedTest]) -> RetryPlan:
    ids: list[str] = []
    loose: list[str] = []
    for test in tests:
        node = pytest_node_id(test)
        if node is None:
            loose.append(test.name)
        else:
            ids.append(node)
    args = _unique(ids)
    notes = []
    if loose:
        args += ["-k", " or ".join(_unique(loose))]
        notes.append(f"{len(loose)} tests have no module; they are selected by name with -k")
    return RetryPlan(Runner.PYTEST, args, len(tests), notes)


# --- jest and playwright ------------------------------------------------------------------


def _title_regex(test: FailedTest) -> str:
    title = js_escape(_TITLE_SEPARATOR.sub(" ", test.name))
    if test.parameters:
        title += r"\s*" + js_escape(f"[{test.parameters}]")
    return title


def _files(tests: list[FailedTest]) -> tuple[list[str], list[str]]:
    if tests and all(t.file for t in tests):
        return _unique(t.file or "" for t in tests), []
    return [], ["some failed tests have no file; no file filter is passed"] if tests else []


def _jest(tests: list[FailedTest]) -> RetryPlan:
    files, notes = _files(tests)
    titles = "|".join(_unique(_title_regex(t) for t in tests))
    return RetryPlan(Runner.JEST, [*files, "-t", f"(?:^|\\s)(?:{titles})$"], len(tests), notes)


def _playwright(tests: list[FailedTest]) -> RetryPlan:
    files, notes = _files(tests)
    titles = "|".join(_unique(_title_regex(t) for t in tests))
    return RetryPlan(Runner.PLAYWRIGHT, [*files, "--grep", f"(?:^|\\s)(?:{titles})(?:\\s@\\S+)*$"], len(tests), notes)


# --- go ----------------------------------------------------------------------------------


def _go(tests: list[FailedTest]) -> RetryPlan:
    top: list[str] = []
    nested: list[str] = []
    for test in tests:
        parts = test.name.split("/")
        if len(parts) == 1:
            top.append(go_escape(test.name))
        else:
            nested.append("/".join(f"^{go_escape(p)}$" for p in parts))
    alternatives = []
    if top:
        alternatives.append(f"^({'|'.join(_unique(top))})$")
    alternatives += _unique(nested)
    notes = ["add the packages to run (e.g. ./...)"] if tests else []
    return RetryPlan(Runner.GO, ["-run", "|".join(alternatives)], len(tests), notes)


_BUILDERS = {Runner.PYTEST: _pytest, Runner.JEST: _jest, Runner.PLAYWRIGHT: _playwright, Runner.GO: _go}


def plan(runner: Runner, tests: Iterable[FailedTest]) -> RetryPlan:
    """The arguments that re-run exactly these tests with ``runner`` (none when there are none)."""
    found = list(tests)
    if not found:
        return RetryPlan(runner, [], 0)
    return _BUILDERS[runner](found)
