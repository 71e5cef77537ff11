"""The pytest-json-report and pytest-reportlog parsers on their quirks and on broken input.

Reports written by the real plugins are covered by the golden tests
(tests/data/reports/pytest-json-report and reportlog); the documents here isolate one quirk each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.pytest_json import json_report_parser, reportlog_parser
from caserun.ingest.protocol import ReportSource


def write(tmp_path: Path, content: str, name: str) -> ReportSource:
    path = tmp_path / name
    path.write_text(content)
    return ReportSource(path, name)


def report(*tests: dict[str, Any], **extra: Any) -> str:
    body = {"created": 1700000010.0, "duration": 2.5, "exitcode": 1, "root": "/src", "environment": {}}
    body.update(summary={"total": len(tests)}, tests=list(tests), **extra)
    return json.dumps(body)


def parse_json(tmp_path: Path, content: str) -> list[TestResult]:
    return list(json_report_parser.parse(write(tmp_path, content, "report.json")))


PASSED = {"duration": 0.001, "outcome": "passed"}


def test_identity_follows_the_pytest_plugin(tmp_path: Path) -> None:
    nodeid = "tests/test_cart.py::TestCart::test_total[4-1000]"
    [test] = parse_json(
        tmp_path,
        report({"nodeid": nodeid, "lineno": 19, "outcome": "passed", "setup": PASSED, "call": PASSED}),
    )
    assert (test.suite, test.name) == ("tests/test_cart.py::TestCart", "test_total[4-1000]")
    assert (test.file, test.line) == ("tests/test_cart.py", 20)
    assert test.final.duration_ms == 2


def test_setup_error_teardown_error_and_xpass(tmp_path: Path) -> None:
    setup_error = {
        "duration": 0.1,
        "outcome": "failed",
        "crash": {"path": "/src/conftest.py", "lineno": 3, "message": "ConnectionError: db down"},
        "longrepr": "def db():\n>   raise ConnectionError('db down')\n\nconftest.py:3: ConnectionError",
    }
    teardown_error = {
        **setup_error,
        "crash": {"message": "RuntimeError: left open"},
        "longrepr": "x.py:9: RuntimeError",
    }
    results = parse_json(
        tmp_path,
        report(
            {"nodeid": "t.py::test_a", "outcome": "error", "setup": setup_error, "teardown": PASSED},
            {"nodeid": "t.py::test_b", "outcome": "error", "setup": PASSED, "call": PASSED, "teardown": teardown_error},
            {"nodeid": "t.py::test_c", "outcome": "xpassed", "setup": PASSED, "call": PASSED},
        ),
    )
    a, b, c = (r.final for r in results)
    assert a.status is Status.FAILED
    assert a.failure is not None
    assert a.failure.message == "error at setup: ConnectionError: db down"
    assert (a.failure.type, a.failure.exception) == (FailureType.ERROR, "ConnectionError")
    assert b.status is Status.FAILED and b.properties["teardown_error"] == "error at teardown: RuntimeError: left open"
    assert c.status is Status.PASSED and c.properties["xpass"] == "true"


def test_rerun_outcome_is_a_passed_test_with_an_earlier_failed_attempt(tmp_path: Path) -> None:
    [test] = parse_json(
        tmp_path,
        report({"nodeid": "t.py::test_flaky", "outcome": "rerun", "setup": PASSED, "call": PASSED, "teardown": PASSED}),
    )
    assert [a.status for a in test.attempts] == [Status.FAILED, Status.PASSED]
    assert test.warnings


def test_reruns_extension_gives_the_earlier_attempts_details(tmp_path: Path) -> None:
    failed = {
        "duration": 0.1,
        "outcome": "failed",
        "crash": {"message": "assert 1 > 1"},
        "longrepr": "t.py:3: AssertionError",
    }
    [test] = parse_json(
        tmp_path,
        report(
            {
                "nodeid": "t.py::test_flaky",
                "outcome": "rerun",
                "setup": PASSED,
                "call": PASSED,
                "reruns": [{"setup": PASSED, "call": failed}],
            }
        ),
    )
    first, final = test.attempts
    assert first.failure is not None and first.failure.message == "assert 1 > 1"
    assert first.failure.type is FailureType.ASSERTION
    assert final.status is Status.PASSED


def test_logs_metadata_and_environment(tmp_path: Path) -> None:
    call = {**PASSED, "stdout": "out\n", "stderr": "err\n", "log": [{"levelname": "INFO", "name": "shop", "msg": "hi"}]}
    [test] = parse_json(
        tmp_path,
        report(
            {"nodeid": "t.py::test_a", "outcome": "passed", "call": call, "metadata": {"ticket": 12}},
            environment={"Python": "3.11.7", "Packages": {"pytest": "8.0.0"}},
        ),
    )
    assert (test.final.stdout, test.final.stderr, test.final.log) == ("out\n", "err\n", "INFO shop: hi\n")
    assert test.metadata["ticket"] == "12"


def test_failed_collector_becomes_a_failed_test(tmp_path: Path) -> None:
    collector = {"nodeid": "t_broken.py", "outcome": "failed", "result": [], "longrepr": "ImportError while importing"}
    [test] = parse_json(tmp_path, report(collectors=[collector]))
    assert test.name == "t_broken.py"
    assert test.final.failure is not None
    assert test.final.failure.message == "collection failure: ImportError while importing"
    assert test.metadata["phase"] == "collect"


def test_json_of_the_wrong_shape_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="not a pytest-json-report"):
        parse_json(tmp_path, '{"results": {"tests": 3}}')


def test_a_test_of_the_wrong_type_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="without a nodeid"):
        parse_json(tmp_path, report("not a test"))  # type: ignore[arg-type]


def test_truncated_report_names_the_file_and_line(tmp_path: Path) -> None:
    text = json.dumps(json.loads(report({"nodeid": "t.py::test_a", "outcome": "passed"})), indent=1)
    with pytest.raises(ParseError) as info:
        parse_json(tmp_path, text[: len(text) // 2])
    assert "report.json" in str(info.value)
    assert info.value.line is not None


def test_zero_tests_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="no tests"):
        parse_json(tmp_path, report())


# --- reportlog -----------------------------------------------------------------------------


def phase(nodeid: str, when: str, outcome: str = "passed", rerun: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "$report_type": "TestReport",
        "nodeid": nodeid,
        "location": [nodeid.split("::")[0], 4, nodeid.split("::")[-1]],
        "when": when,
        "outcome": outcome,
        "longrepr": None,
        "sections": [],
        "duration": 0.01,
        "start": 1700000000.0 + rerun,
        "stop": 1700000000.01 + rerun,
        "rerun": rerun,
        **extra,
    }


CRASH = {
    "reprcrash": {"path": "/src/t.py", "lineno": 6, "message": "AssertionError: timed out on attempt 1"},
    "reprtraceback": {
        "reprentries": [
            {
                "type": "ReprEntry",
                "data": {
                    "lines": [">   assert attempt > 1", "E   AssertionError: timed out on attempt 1"],
                    "reprfileloc": {"path": "t.py", "lineno": 6, "message": "AssertionError"},
                },
            }
        ]
    },
}


def parse_log(tmp_path: Path, lines: list[dict[str, Any] | str]) -> list[TestResult]:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    return list(reportlog_parser.parse(write(tmp_path, text, "log.jsonl")))


def test_rerun_reports_become_attempts_with_their_own_output(tmp_path: Path) -> None:
    n = "t.py::test_flaky"
    first_out = ["Captured stdout call", "attempt 1\n"]
    second_out = ["Captured stdout call", "attempt 2\n"]
    [test] = parse_log(
        tmp_path,
        [
            {"$report_type": "SessionStart", "pytest_version": "8.3.0"},
            phase(n, "setup"),
            phase(n, "call", "rerun", longrepr=CRASH),
            phase(n, "teardown", sections=[first_out]),
            phase(n, "setup", rerun=1, sections=[first_out]),
            phase(n, "call", rerun=1, sections=[first_out, second_out]),
            phase(n, "teardown", rerun=1, sections=[first_out, second_out]),
            {"$report_type": "SessionFinish", "exitstatus": 0},
        ],
    )
    first, final = test.attempts
    assert first.status is Status.FAILED and final.status is Status.PASSED
    assert first.failure is not None
    assert first.failure.message == "AssertionError: timed out on attempt 1"
    assert first.failure.type is FailureType.ASSERTION  # not a timeout, whatever the message says
    assert first.failure.trace is not None and "t.py:6: AssertionError" in first.failure.trace
    assert (first.stdout, final.stdout) == ("attempt 1\n", "attempt 2\n")


def test_skip_and_xfail(tmp_path: Path) -> None:
    results = parse_log(
        tmp_path,
        [
            phase("t.py::test_s", "setup", "skipped", longrepr=["/src/t.py", 3, "Skipped: not today"]),
            phase("t.py::test_s", "teardown"),
            phase("t.py::test_x", "setup"),
            phase("t.py::test_x", "call", "skipped", longrepr=CRASH, wasxfail="known bug"),
            phase("t.py::test_x", "teardown"),
        ],
    )
    s, x = (r.final for r in results)
    assert s.status is Status.SKIPPED and s.properties["skip_reason"] == "not today"
    assert x.status is Status.SKIPPED and x.properties == {"xfail": "true", "skip_reason": "xfail: known bug"}


def test_collection_error_is_a_failed_test(tmp_path: Path) -> None:
    [test] = parse_log(
        tmp_path,
        [
            {
                "$report_type": "CollectReport",
                "nodeid": "t_broken.py",
                "outcome": "failed",
                "longrepr": "ImportError while importing test module\nE   ModuleNotFoundError: No module named 'nope'",
                "result": [],
                "sections": [],
            }
        ],
    )
    assert test.final.status is Status.FAILED
    assert test.final.failure is not None
    assert test.final.failure.message == "collection failure: ImportError while importing test module"
    assert test.final.failure.exception == "ModuleNotFoundError"


def test_a_broken_line_in_the_middle_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(ParseError) as info:
        parse_log(tmp_path, [phase("t.py::a", "setup"), '{"$report_type": "TestRep', phase("t.py::a", "teardown")])
    assert info.value.line == 2


def test_a_line_that_is_not_a_report_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match=r"no \$report_type"):
        parse_log(tmp_path, [{"type": "launch.started"}])


def test_a_log_without_tests_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="no tests"):
        parse_log(tmp_path, [{"$report_type": "SessionStart", "pytest_version": "8.3.0"}])


def test_a_log_cut_before_teardown_keeps_the_test_with_a_warning(tmp_path: Path) -> None:
    [test] = parse_log(tmp_path, [phase("t.py::a", "setup"), phase("t.py::a", "call", "failed", longrepr=CRASH)])
    assert test.final.status is Status.FAILED
    assert test.warnings


def test_sniffs() -> None:
    source = ReportSource(Path("x"), "x")
    log_head = json.dumps({"pytest_version": "8.3.0", "$report_type": "SessionStart"}).encode() + b"\n"
    assert reportlog_parser.sniff(log_head, source) >= 0.9
    assert json_report_parser.sniff(log_head, source) == 0.0
    assert json_report_parser.sniff(report().encode(), source) >= 0.9
    assert reportlog_parser.sniff(report().encode(), source) == 0.0
