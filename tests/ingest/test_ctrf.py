"""CTRF: retries, identity quirks of the reporters that write it, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest import registry
from caserun.ingest.formats.ctrf import parser
from caserun.ingest.jsonstream import UNREPORTED
from caserun.ingest.protocol import ReportSource


def _report(tests: list[Any], **top: Any) -> dict[str, Any]:
    return {"results": {"tool": {"name": top.pop("tool", "tool")}, "summary": {}, "tests": tests}, **top}


def _parse(tmp_path: Path, document: Any) -> tuple[list[TestResult], ReportSource]:
    path = tmp_path / "ctrf.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    source = ReportSource(path, "ctrf.json")
    return list(parser.parse(source)), source


def test_retry_attempts_come_before_the_final_attempt(tmp_path: Path) -> None:
    test = {
        "name": "pays",
        "status": "passed",
        "duration": 5,
        "retries": 2,
        "flaky": True,
        "retryAttempts": [
            {"attempt": 2, "status": "failed", "duration": 3, "message": "second"},
            {"attempt": 1, "status": "failed", "duration": 2, "message": "first"},
            {"attempt": 3, "status": "passed", "duration": 5},  # the final attempt, repeated
        ],
    }
    [result], _ = _parse(tmp_path, _report([test]))
    assert [a.status for a in result.attempts] == [Status.FAILED, Status.FAILED, Status.PASSED]
    assert [a.failure.message for a in result.attempts[:2] if a.failure] == ["first", "second"]
    assert result.metadata["flaky"] == "true"


def test_retries_without_details_become_unreported_failed_attempts(tmp_path: Path) -> None:
    [result], _ = _parse(tmp_path, _report([{"name": "t", "status": "failed", "duration": 1, "retries": 2}]))
    assert [a.status for a in result.attempts] == [Status.FAILED] * 3
    assert result.attempts[0].failure is not None
    assert result.attempts[0].failure.message == UNREPORTED


def test_flaky_without_a_retry_count_still_passed_on_retry(tmp_path: Path) -> None:
    [result], _ = _parse(tmp_path, _report([{"name": "t", "status": "passed", "duration": 1, "flaky": True}]))
    assert [a.status for a in result.attempts] == [Status.FAILED, Status.PASSED]


def test_suite_prefix_is_cut_from_pytest_node_ids_and_jest_full_names(tmp_path: Path) -> None:
    tests = [
        {
            "name": "t.py::C::test_a[1]",
            "status": "passed",
            "duration": 1,
            "suite": ["t.py", "C"],
            "parameters": {"x": 1},
        },
        {"name": "a.test.js > Cart > adds", "status": "passed", "duration": 1, "suite": "a.test.js > Cart > adds"},
    ]
    pytest_result, vitest_result = _parse(tmp_path, _report(tests))[0]
    assert (pytest_result.suite, pytest_result.name, pytest_result.parameters) == ("t.py > C", "test_a[1]", "x=1")
    assert (vitest_result.suite, vitest_result.name) == ("a.test.js > Cart", "adds")
    jest = _report([{"name": "Cart adds", "status": "passed", "duration": 1, "suite": "a.test.js > Cart"}], tool="jest")
    [jest_result], _ = _parse(tmp_path, jest)
    assert (jest_result.suite, jest_result.name) == ("a.test.js > Cart", "adds")
    other = _report([{"name": "cart empties", "status": "passed", "duration": 1, "suite": "f.js > cart"}], tool="x")
    assert _parse(tmp_path, other)[0][0].name == "cart empties"  # only jest writes full names


def test_failure_ansi_codes_snippet_attachments_output_and_environment(tmp_path: Path) -> None:
    test = {
        "name": "t",
        "status": "failed",
        "duration": 1.6,
        "start": 1795596891,  # playwright-ctrf-json-reporter: seconds
        "message": "Error: \u001b[31mexpect(received).toBe(expected)\u001b[39m",
        "trace": "Error: boom\n    at x.js:1:1",
        "snippet": "> 1 | expect(1).toBe(2)",
        "attachments": [{"name": "shot", "contentType": "image/png", "path": "/abs/shot.png"}, "junk"],
        "screenshot": "aGVsbG8=",
        "stdout": ["one\n", "two"],
        "tags": ["@slow"],
        "extra": {"annotations": [{"type": "issue", "description": "SHOP-1"}], "owner": "qa"},
    }
    env = {"testEnvironment": "staging", "branchName": "main", "buildNumber": 7, "osPlatform": "linux"}
    [result], source = _parse(tmp_path, {"results": {**_report([test])["results"], "environment": env}})
    attempt = result.final
    assert attempt.failure is not None
    assert attempt.failure.message == "Error: expect(received).toBe(expected)"
    assert attempt.failure.type is FailureType.ASSERTION
    assert attempt.failure.trace is not None and attempt.failure.trace.endswith("> 1 | expect(1).toBe(2)")
    assert attempt.duration_ms == 2
    assert attempt.started_at is not None and attempt.started_at.year == 2026
    assert [(a.name, a.path, a.data) for a in attempt.attachments] == [
        ("shot", "/abs/shot.png", None),
        ("screenshot", None, b"hello"),
    ]
    assert attempt.stdout == "one\ntwo\n"
    assert result.metadata == {"tags": "@slow", "issue": "SHOP-1", "extra.owner": "qa"}
    assert any("not an object" in w for w in result.warnings)
    assert source.info["environment"] == "staging"
    assert source.info["branch"] == "main"
    assert source.info["build_number"] == "7"
    assert source.info["os_platform"] == "linux"


def test_statuses(tmp_path: Path) -> None:
    tests = [
        {"name": n, "status": s, "duration": 0, "rawStatus": r}
        for n, s, r in [("a", "pending", "pending"), ("b", "other", "todo"), ("c", "weird", "weird")]
    ]
    results, _ = _parse(tmp_path, _report(tests))
    assert [r.final.status for r in results] == [Status.SKIPPED] * 3
    assert results[1].final.properties["raw_status"] == "todo"
    assert "unknown status 'weird'" in results[2].warnings[0]


def test_vitest_ctrf_json_reporter_configured_retries_are_ignored_on_passed_tests(tmp_path: Path) -> None:
    test = {"name": "t", "status": "passed", "duration": 1, "rawStatus": "pass", "retries": 1}
    [result], _ = _parse(tmp_path, _report([test]))
    assert [a.status for a in result.attempts] == [Status.PASSED]


def test_detected_with_and_without_report_format(tmp_path: Path) -> None:
    for document in (_report([], reportFormat="CTRF"), _report([])):
        path = tmp_path / "r.dat"
        path.write_text(json.dumps(document))
        assert registry.detect(ReportSource(path, "r.dat")).name == "ctrf"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ('{"results": {"tool": {"name": "x"}, "tests": [{"name": "a", "status": "passed"', "ends early"),
        ({"results": {"tool": {"name": "x"}, "tests": []}}, "no tests"),
        ({"results": {"tool": {"name": "x"}, "tests": {"a": 1}}}, "not a list"),
        ({"stats": {}, "tests": []}, "no top-level"),
        ([1, 2], "no top-level"),
        ({"results": {"tool": {}, "tests": ["a string"]}}, "test #1"),
    ],
)
def test_bad_input_is_a_parse_error_naming_the_file(tmp_path: Path, document: Any, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        _parse(tmp_path, document)
    assert "ctrf.json" in str(caught.value)
    assert reason in str(caught.value)


def test_truncated_file_names_the_line(tmp_path: Path) -> None:
    text = json.dumps(_report([{"name": "a", "status": "passed", "duration": 1}] * 3), indent=2)
    with pytest.raises(ParseError) as caught:
        _parse(tmp_path, text[: len(text) // 2])
    assert caught.value.line is not None and caught.value.line > 1
