"""The go test -json parser on its quirks and on broken input.

Whole streams written by go 1.19 are covered by the golden tests (tests/data/reports/gotest);
the small streams here isolate one quirk each, including Go 1.24's JSON build events.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.gotest import PACKAGE_TEST, parser
from caserun.ingest.protocol import ReportSource

PKG = "example.com/p"


def ev(action: str, test: str | None = None, output: str | None = None, **extra: Any) -> str:
    event: dict[str, Any] = {"Time": "2026-01-02T03:04:05.123456789Z", "Action": action, "Package": PKG}
    if test is not None:
        event["Test"] = test
    if output is not None:
        event["Output"] = output
    event.update(extra)
    return json.dumps(event)


def parse(tmp_path: Path, lines: list[str]) -> list[TestResult]:
    path = tmp_path / "go.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return list(parser.parse(ReportSource(path, "go.jsonl")))


def by_name(results: list[TestResult]) -> dict[str, TestResult]:
    return {r.name: r for r in results}


def test_failure_message_is_the_last_file_line_message_and_framing_is_dropped(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        [
            ev("run", "TestA"),
            ev("output", "TestA", "=== RUN   TestA\n"),
            ev("output", "TestA", "    a_test.go:10: connecting\n"),
            ev("output", "TestA", "    a_test.go:12: got 3, want 4\n"),
            ev("output", "TestA", "        extra detail\n"),
            ev("output", "TestA", "--- FAIL: TestA (0.25s)\n"),
            ev("fail", "TestA", Elapsed=0.25),
            ev("fail", Elapsed=0.3),
        ],
    )
    [test] = results
    assert (test.suite, test.name) == (PKG, "TestA")
    final = test.final
    assert final.status is Status.FAILED
    assert final.duration_ms == 250
    assert final.failure is not None
    assert final.failure.message == "got 3, want 4\nextra detail"
    assert final.failure.type is FailureType.ASSERTION
    assert final.stdout is not None and "=== RUN" not in final.stdout and "--- FAIL" not in final.stdout
    assert final.started_at is not None and final.started_at.tzinfo is not None


def test_count_runs_are_attempts_and_the_last_run_decides(tmp_path: Path) -> None:
    lines = []
    for action in ("fail", "pass"):
        lines += [ev("run", "TestFlaky"), ev("output", "TestFlaky", "    f_test.go:3: boom\n"), ev(action, "TestFlaky")]
    results = parse(tmp_path, [*lines, ev("fail")])
    [test] = results
    assert [a.status for a in test.attempts] == [Status.FAILED, Status.PASSED]
    assert test.final.status is Status.PASSED


def test_panic_is_a_crash_with_the_goroutine_trace(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        [
            ev("run", "TestNil"),
            ev("output", "TestNil", "    n_test.go:5: about to crash\n"),
            ev("output", "TestNil", "panic: runtime error: index out of range [recovered]\n"),
            ev("output", "TestNil", "\n"),
            ev("output", "TestNil", "goroutine 7 [running]:\n"),
            ev("fail", "TestNil"),
            ev("fail"),
        ],
    )
    failure = results[0].final.failure
    assert failure is not None
    assert failure.type is FailureType.CRASH
    assert failure.message == "panic: runtime error: index out of range"
    assert failure.trace is not None and "goroutine 7 [running]:" in failure.trace


def test_test_left_running_by_a_timeout_panic_fails_as_timeout(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        [
            ev("run", "TestSlow"),
            ev("output", "TestSlow", "=== RUN   TestSlow\n"),
            ev("output", None, "panic: test timed out after 1s\n"),
            ev("output", None, "running tests:\n\tTestSlow (1s)\n"),
            ev("fail", Elapsed=1.0),
        ],
    )
    [test] = results
    assert test.final.status is Status.FAILED
    assert test.final.failure is not None
    assert test.final.failure.type is FailureType.TIMEOUT
    assert test.final.failure.message == "panic: test timed out after 1s"


def test_package_failure_without_a_failed_test_is_a_package_test(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        [
            ev("run", "TestOK"),
            ev("pass", "TestOK"),
            ev("output", None, "PASS\n"),
            ev("output", None, "TestMain: database not reachable\n"),
            ev("output", None, "FAIL\texample.com/p\t0.01s\n"),
            ev("fail", Elapsed=0.01),
        ],
    )
    tests = by_name(results)
    assert tests["TestOK"].final.status is Status.PASSED
    package = tests[PACKAGE_TEST]
    assert package.suite == PKG
    assert package.final.failure is not None
    assert package.final.failure.message == "TestMain: database not reachable"
    assert package.final.failure.type is FailureType.ERROR


def test_plain_text_build_failure_becomes_a_failed_package_test(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        [
            "# example.com/broken [example.com/broken.test]",
            "broken/b_test.go:6:17: undefined: answer",
            "FAIL\texample.com/broken [build failed]",
            ev("run", "TestOK"),
            ev("pass", "TestOK"),
            ev("pass"),
        ],
    )
    broken = by_name(results)[PACKAGE_TEST]
    assert broken.suite == "example.com/broken"
    assert broken.final.status is Status.FAILED
    assert broken.final.failure is not None
    assert broken.final.failure.type is FailureType.ERROR
    assert broken.final.failure.message == "build failed: broken/b_test.go:6:17: undefined: answer"
    assert broken.final.failure.trace is not None and broken.final.failure.trace.startswith("# example.com/broken")


def test_go_1_24_build_events_become_a_failed_package_test(tmp_path: Path) -> None:
    path = "example.com/p [example.com/p.test]"
    results = parse(
        tmp_path,
        [
            json.dumps({"ImportPath": path, "Action": "build-output", "Output": f"# {path}\n"}),
            json.dumps({"ImportPath": path, "Action": "build-output", "Output": "./p_test.go:3:2: syntax error\n"}),
            json.dumps({"ImportPath": path, "Action": "build-fail"}),
            ev("start"),
            ev("output", None, "FAIL\texample.com/p [build failed]\n"),
            ev("fail", Elapsed=0, FailedBuild=path),
        ],
    )
    [test] = results
    assert test.name == PACKAGE_TEST
    assert test.final.failure is not None
    assert test.final.failure.message == "build failed: ./p_test.go:3:2: syntax error"


def test_subtests_keep_their_full_path_and_the_parent_names_them(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        [
            ev("run", "TestTable"),
            ev("run", "TestTable/case_one"),
            ev("run", "TestTable/case_two"),
            ev("pass", "TestTable/case_one"),
            ev("output", "TestTable/case_two", "    t_test.go:9: wrong\n"),
            ev("fail", "TestTable/case_two"),
            ev("fail", "TestTable"),
            ev("fail"),
        ],
    )
    assert [r.name for r in results] == ["TestTable", "TestTable/case_one", "TestTable/case_two"]
    parent = results[0].final.failure
    assert parent is not None and parent.message == "subtest failed: TestTable/case_two"


def test_skip_reason_is_kept(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        [
            ev("run", "TestLater"),
            ev("output", "TestLater", "    l_test.go:4: not yet\n"),
            ev("skip", "TestLater"),
            ev("pass"),
        ],
    )
    assert results[0].final.status is Status.SKIPPED
    assert results[0].final.properties["skip_reason"] == "not yet"


def test_a_broken_json_line_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(ParseError) as info:
        parse(tmp_path, [ev("run", "TestA"), '{"Action":"pass","Pack', ev("pass", "TestA")])
    assert info.value.line == 2
    assert "go.jsonl" in str(info.value)


def test_json_that_is_not_an_event_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="not a go test -json event"):
        parse(tmp_path, [json.dumps({"hello": "world"})])


def test_a_wrong_typed_test_field_is_an_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="Test is not a string"):
        parse(tmp_path, [json.dumps({"Action": "run", "Package": PKG, "Test": 3})])


def test_a_stream_without_tests_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="no tests"):
        parse(tmp_path, [ev("output", None, "?   \texample.com/p\t[no test files]\n"), ev("skip")])


def test_a_stream_cut_short_keeps_the_running_test_as_failed_with_a_warning(tmp_path: Path) -> None:
    results = parse(tmp_path, [ev("run", "TestA"), ev("pass", "TestA"), ev("run", "TestB")])
    tests = by_name(results)
    assert tests["TestA"].final.status is Status.PASSED
    assert tests["TestB"].final.status is Status.FAILED
    assert tests["TestB"].warnings


def test_sniff_accepts_events_after_build_text_and_rejects_other_json_lines() -> None:
    source = ReportSource(Path("x"), "x")
    head = ("# example.com/broken\nFAIL\texample.com/broken [build failed]\n" + ev("run", "TestA") + "\n").encode()
    assert parser.sniff(head, source) >= 0.9
    assert parser.sniff(b'{"$report_type": "SessionStart"}\n', source) == 0.0
    assert parser.sniff(b'{"type": "case_run.started"}\n', source) == 0.0


def test_absurd_elapsed_times_are_dropped_not_an_error(tmp_path: Path) -> None:
    lines = []
    for name, elapsed in (("TestHuge", "1e300"), ("TestInf", "1e400"), ("TestFine", "0.25")):
        lines.append(ev("run", name))
        lines.append(ev("pass", name, Elapsed=0).replace('"Elapsed": 0', f'"Elapsed": {elapsed}'))
    results = by_name(parse(tmp_path, lines))
    assert {n: r.final.duration_ms for n, r in results.items()} == {"TestHuge": None, "TestInf": None, "TestFine": 250}
