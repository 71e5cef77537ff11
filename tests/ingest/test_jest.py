"""Jest and Vitest JSON: told apart by content, retries, suites that fail to load, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest import registry
from caserun.ingest.formats.jest import jest_parser, vitest_parser
from caserun.ingest.jsonstream import UNREPORTED
from caserun.ingest.protocol import ReportParser, ReportSource

STACK = "\n    at Object.<anonymous> (/repo/a.test.js:3:9)"


def _jest(tests: list[dict[str, Any]], **file: Any) -> dict[str, Any]:
    item = {"assertionResults": tests, "name": "/repo/src/a.test.js", "status": "passed", "message": "", **file}
    return {"numRuntimeErrorTestSuites": 0, "numTotalTests": len(tests), "openHandles": [], "startTime": 1767322800000,
            "success": True, "testResults": [item], "wasInterrupted": False}  # fmt: skip


def _vitest(tests: list[dict[str, Any]]) -> dict[str, Any]:
    item = {"assertionResults": tests, "name": "/repo/src/a.test.js", "status": "passed", "message": ""}
    return {"numTotalTests": len(tests), "startTime": 1767322800000, "success": True, "testResults": [item]}


def _case(title: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"ancestorTitles": ["Cart", "totals"], "title": title, "status": status, "duration": 2.4, **extra}


def _parse(tmp_path: Path, parser: ReportParser, document: Any) -> list[TestResult]:
    path = tmp_path / "report.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return list(parser.parse(ReportSource(path, "report.json")))


def test_jest_and_vitest_are_told_apart_by_content(tmp_path: Path) -> None:
    for document, name in (
        (_jest([_case("a", "passed")]), "jest"),
        (_vitest([_case("a", "passed", meta={})]), "vitest"),
    ):
        path = tmp_path / "r.dat"
        path.write_text(json.dumps(document))
        assert registry.detect(ReportSource(path, "r.dat")).name == name


def test_identity_is_file_name_and_describe_titles(tmp_path: Path) -> None:
    [result] = _parse(tmp_path, jest_parser, _jest([_case("adds", "passed", location={"line": 7, "column": 3})]))
    assert (result.suite, result.name, result.file, result.line) == (
        "a.test.js > Cart > totals",
        "adds",
        "/repo/src/a.test.js",
        7,
    )
    assert result.final.duration_ms == 2


def test_jest_invocations_and_retry_reasons_are_attempts(tmp_path: Path) -> None:
    test = _case("pays", "passed", invocations=3, retryReasons=["Error: gateway down" + STACK])
    [result] = _parse(tmp_path, jest_parser, _jest([test]))
    assert [a.status for a in result.attempts] == [Status.FAILED, Status.FAILED, Status.PASSED]
    assert [a.failure.message for a in result.attempts[:2] if a.failure] == [UNREPORTED, "Error: gateway down"]


def test_jest_failure_message_trace_and_kind(tmp_path: Path) -> None:
    message = "Error: \u001b[2mexpect(\u001b[22mreceived).toBe(expected)\n\nExpected: 1" + STACK
    test = _case("adds", "failed", failureMessages=[message], failureDetails=[{"matcherResult": {"pass": False}}])
    timeout = _case("waits", "failed", failureMessages=["Error: Exceeded timeout of 5000 ms for a test." + STACK])
    added, waited = _parse(tmp_path, jest_parser, _jest([test, timeout]))
    assert added.final.failure is not None
    assert added.final.failure.message == "Error: expect(received).toBe(expected)\n\nExpected: 1"
    assert added.final.failure.type is FailureType.ASSERTION
    assert added.final.failure.trace is not None and "a.test.js:3:9" in added.final.failure.trace
    assert waited.final.failure is not None and waited.final.failure.type is FailureType.TIMEOUT


def test_vitest_failure_messages_of_a_passed_test_are_earlier_attempts(tmp_path: Path) -> None:
    passed = _case("pays", "passed", failureMessages=["AssertionError: expected 1 to be 2" + STACK])
    failed = _case("adds", "failed", failureMessages=["AssertionError: one" + STACK, "AssertionError: two" + STACK])
    counted = _case("counts", "passed", retryCount=2, failureMessages=["AssertionError: x" + STACK])
    todo = _case("later", "todo")
    results = _parse(tmp_path, vitest_parser, _vitest([passed, failed, counted, todo]))
    assert [[a.status for a in r.attempts] for r in results[:3]] == [
        [Status.FAILED, Status.PASSED],
        [Status.FAILED, Status.FAILED],
        [Status.FAILED, Status.FAILED, Status.PASSED],
    ]
    assert results[1].final.failure is not None and results[1].final.failure.message == "AssertionError: two"
    assert results[3].final.status is Status.SKIPPED and results[3].final.properties["raw_status"] == "todo"


def test_a_suite_that_fails_to_load_is_one_failed_test(tmp_path: Path) -> None:
    message = "  ● Test suite failed to run\n\n    Cannot find module './x' from 'a.test.js'\n"
    [result] = _parse(tmp_path, jest_parser, _jest([], status="failed", message=message))
    assert (result.suite, result.name) == ("a.test.js", "Test suite failed to run")
    assert result.final.failure is not None
    assert result.final.failure.message == "Cannot find module './x' from 'a.test.js'"
    assert result.final.failure.type is FailureType.ERROR


def test_unknown_status_is_a_warning(tmp_path: Path) -> None:
    [result] = _parse(tmp_path, jest_parser, _jest([_case("a", "exploded")]))
    assert result.final.status is Status.SKIPPED
    assert "unknown status" in result.warnings[0]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ('{"numTotalTests": 1, "testResults": [{"assertionResults": [', "ends early"),
        ({"numTotalTests": 0, "testResults": []}, "no tests"),
        ({"numTotalTests": 0, "testResults": {"a": 1}}, "no top-level"),
        ({"numTotalTests": 0, "testResults": ["x"]}, "not an object"),
        ({"stats": {}}, "no top-level"),
    ],
)
def test_bad_input_is_a_parse_error_naming_the_file(tmp_path: Path, document: Any, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        _parse(tmp_path, jest_parser, document)
    assert "report.json" in str(caught.value)
    assert reason in str(caught.value)
