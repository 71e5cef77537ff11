"""Playwright JSON: attempts per retry, projects, expected failures, ANSI codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.playwright import parser
from caserun.ingest.protocol import ReportSource


def _result(status: str, retry: int = 0, **extra: Any) -> dict[str, Any]:
    return {"status": status, "retry": retry, "duration": 10, "startTime": "2026-01-02T03:04:05.000Z", **extra}


def _test(results: list[dict[str, Any]], project: str = "chromium", **extra: Any) -> dict[str, Any]:
    return {"projectName": project, "expectedStatus": "passed", "results": results, "annotations": [], **extra}


def _report(tests: list[dict[str, Any]], title: str = "works", **top: Any) -> dict[str, Any]:
    spec = {"title": title, "file": "a.spec.ts", "line": 3, "tags": ["@smoke"], "tests": tests}
    inner = {"title": "group", "file": "a.spec.ts", "specs": [spec], "suites": []}
    outer = {"title": "a.spec.ts", "file": "a.spec.ts", "specs": [], "suites": [inner]}
    return {"config": {"rootDir": "/repo/tests", "version": "1.50.0", "projects": []}, "suites": [outer], **top}


def _parse(tmp_path: Path, document: Any) -> tuple[list[TestResult], ReportSource]:
    path = tmp_path / "pw.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    source = ReportSource(path, "pw.json")
    return list(parser.parse(source)), source


def test_results_are_attempts_in_retry_order_and_projects_are_parameters(tmp_path: Path) -> None:
    error = {
        "message": "Error: \u001b[31mboom\u001b[39m",
        "stack": "Error: \u001b[31mboom\u001b[39m\n    at a.spec.ts:4:5",
    }
    flaky = _test([_result("passed", 1), _result("failed", 0, error=error, errors=[error])])
    other = _test([_result("passed")], project="firefox")
    results, source = _parse(
        tmp_path, _report([flaky, other], stats={"startTime": "2026-01-02T03:04:05Z", "duration": 12.6})
    )
    first, second = results
    assert (first.suite, first.name, first.parameters) == ("a.spec.ts > group", "works", "chromium")
    assert second.parameters == "firefox"
    assert [a.status for a in first.attempts] == [Status.FAILED, Status.PASSED]
    failure = first.attempts[0].failure
    assert failure is not None and failure.message == "Error: boom" and "\u001b" not in (failure.trace or "")
    assert first.metadata == {"project": "chromium", "tags": "@smoke"}
    assert source.info["duration_ms"] == "13"
    assert source.info["tool_version"] == "1.50.0"


def test_repeat_each_runs_are_separate_tests(tmp_path: Path) -> None:
    results, _ = _parse(tmp_path, _report([_test([_result("passed")]), _test([_result("failed")])]))
    assert [r.parameters for r in results] == ["chromium", "chromium, #2"]


def test_timeouts_expected_failures_skips_and_tests_that_never_ran(tmp_path: Path) -> None:
    tests = [
        _test([_result("timedOut", error={"message": "Test timeout of 30000ms exceeded."})]),
        _test([_result("failed", error={"message": "Error: nope"})], project="p2", expectedStatus="failed"),
        _test([_result("passed")], project="p3", expectedStatus="failed"),
        _test([], project="p4", status="skipped", annotations=[{"type": "skip", "description": "later"}]),
        _test([_result("interrupted")], project="p5"),
    ]
    timed, expected_fail, unexpected_pass, never, interrupted = _parse(tmp_path, _report(tests))[0]
    assert timed.final.failure is not None and timed.final.failure.type is FailureType.TIMEOUT
    assert expected_fail.final.status is Status.PASSED
    assert unexpected_pass.final.status is Status.FAILED
    assert never.final.status is Status.SKIPPED and never.final.properties["skip_reason"] == "later"
    assert interrupted.final.status is Status.FAILED
    assert interrupted.final.failure is not None and interrupted.final.failure.type is FailureType.ERROR


def test_attachments_output_chunks_and_global_errors(tmp_path: Path) -> None:
    result = _result(
        "passed",
        attachments=[
            {"name": "trace", "contentType": "application/zip", "path": "/repo/test-results/x/trace.zip"},
            {"name": "note", "contentType": "text/plain", "body": "aGk="},
        ],
        stdout=[{"text": "a\n"}, {"buffer": "Yg=="}],
    )
    error = {"message": "SyntaxError: Unexpected token", "location": {"file": "/repo/tests/b.spec.ts", "line": 2}}
    results, _ = _parse(tmp_path, _report([_test([result])], errors=[error]))
    test, global_error = results
    assert [(a.name, a.path, a.data) for a in test.final.attachments] == [
        ("trace", "/repo/test-results/x/trace.zip", None),
        ("note", None, b"hi"),
    ]
    assert test.final.stdout == "a\nb"
    assert global_error.suite == "b.spec.ts"
    assert global_error.final.status is Status.FAILED
    assert global_error.final.failure is not None and global_error.final.failure.exception == "SyntaxError"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ('{"config": {"rootDir": "/r"}, "suites": [{"title": "a", "specs": [', "ends early"),
        ({"config": {"rootDir": "/r"}, "suites": []}, "no tests"),
        ({"config": {"rootDir": "/r"}, "suites": {"a": 1}}, "no top-level"),
        ({"config": {}, "suites": [{"title": "a", "specs": ["x"]}]}, "not an object"),
    ],
)
def test_bad_input_is_a_parse_error_naming_the_file(tmp_path: Path, document: Any, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        _parse(tmp_path, document)
    assert "pw.json" in str(caught.value)
    assert reason in str(caught.value)
