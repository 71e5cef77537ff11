"""The TAP parser on subtests, directives, YAML diagnostics, plans and broken input.

Streams from node's test runner, node-tap and an older node-tap run are covered by the
golden tests (tests/data/reports/tap).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.tap import parser
from caserun.ingest.protocol import ReportSource


def parse(tmp_path: Path, content: str | bytes) -> list[TestResult]:
    path = tmp_path / "run.tap"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return list(parser.parse(ReportSource(path, "run.tap")))


def test_points_directives_and_plan(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        """TAP version 13
1..5
ok 1 - adds
not ok 2 - subtracts
ok 3 - divides # SKIP no divider yet
not ok 4 - rounds # TODO decide on rounding
ok 5 - escapes \\# hash # time=12.5ms
""",
    )
    assert [(r.name, r.final.status) for r in results] == [
        ("adds", Status.PASSED),
        ("subtracts", Status.FAILED),
        ("divides", Status.SKIPPED),
        ("rounds", Status.SKIPPED),
        ("escapes # hash", Status.PASSED),
    ]
    assert results[2].final.properties["skip_reason"] == "no divider yet"
    assert results[3].final.properties["todo"] == "decide on rounding"
    assert results[3].final.failure is None  # a failing TODO is not a failure
    assert results[4].final.duration_ms == 12


def test_yaml_diagnostics_give_message_trace_and_duration(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        """TAP version 13
not ok 1 - totals
  ---
  duration_ms: 7.5
  failureType: 'testCodeFailure'
  error: |-
    Expected values to be strictly equal:

    1980 !== 1800
  code: 'ERR_ASSERTION'
  name: 'AssertionError'
  stack: |-
    TestContext.<anonymous> (file:///cart.test.mjs:23:14)
    Test.run (node:internal/test_runner/test:796:25)
  ...
not ok 2 - waits
  ---
  failureType: 'testTimeoutFailure'
  error: 'test timed out after 10ms'
  ...
1..2
""",
    )
    totals, waits = results
    failure = totals.final.failure
    assert failure is not None
    assert failure.message == "Expected values to be strictly equal:\n\n1980 !== 1800"
    assert failure.exception == "AssertionError"
    assert failure.type is FailureType.ASSERTION
    assert failure.trace is not None and failure.trace.startswith("TestContext.<anonymous>")
    assert totals.final.duration_ms == 8
    assert waits.final.failure is not None and waits.final.failure.type is FailureType.TIMEOUT


def test_yaml_sequences_folded_scalars_and_indentation_indicators(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        """TAP version 13
not ok 1 - deep
  ---
  message: "values differ"
  stack:
    - |
      first (a.js:1:1)
    - second (b.js:2:2)
  at:
    fileName: test/a.js
    lineNumber: 4
  source: |2
      indented
  note: >
    folded
    line
  ...
""",
    )
    failure = results[0].final.failure
    assert failure is not None
    assert failure.message.startswith("deep: values differ")
    assert failure.trace == "first (a.js:1:1)\nsecond (b.js:2:2)"
    assert results[0].final.properties["location"] == "test/a.js:4"


def test_unreadable_yaml_is_kept_as_text_with_a_warning(tmp_path: Path) -> None:
    results = parse(tmp_path, "TAP version 13\nnot ok 1 - odd\n  ---\n  : : :\n    - x\n  ...\n")
    assert "unreadable YAML" in results[0].warnings[0]
    assert results[0].final.failure is not None and results[0].final.failure.trace is not None


def test_subtests_are_suites_and_only_leaves_are_tests(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        """TAP version 14
# Subtest: Cart
    # Subtest: discounts
        ok 1 - ten percent
        not ok 2 - twenty percent
        1..2
    not ok 1 - discounts
    ok 2 - empties
    # a diagnostic for empties
    1..2
not ok 1 - Cart
1..1
""",
    )
    assert [(r.suite, r.name, r.final.status) for r in results] == [
        ("Cart > discounts", "ten percent", Status.PASSED),
        ("Cart > discounts", "twenty percent", Status.FAILED),
        ("Cart", "empties", Status.PASSED),
    ]
    assert results[2].final.stdout == "a diagnostic for empties"


def test_indented_subtests_without_a_subtest_line_take_their_parents_name(tmp_path: Path) -> None:
    results = parse(tmp_path, "TAP version 13\n    ok 1 - inner\n    1..1\nok 1 - outer\n1..1\n")
    assert [(r.suite, r.name) for r in results] == [("outer", "inner")]


def test_a_failing_suite_with_passing_tests_is_reported_itself(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        "TAP version 14\n# Subtest: file.js\n    ok 1 - fine\n    1..1\n"
        "not ok 1 - file.js\n  ---\n  exitCode: 1\n  ...\n1..1\n",
    )
    assert [(r.name, r.final.status) for r in results] == [("fine", Status.PASSED), ("file.js", Status.FAILED)]


def test_missing_planned_points_fail_and_bail_out_blocks_the_rest(tmp_path: Path) -> None:
    crashed = parse(tmp_path, "1..3\nok 1 - a\n")
    assert [(r.name, r.final.status) for r in crashed] == [
        ("a", Status.PASSED),
        ("test 2", Status.FAILED),
        ("test 3", Status.FAILED),
    ]
    assert crashed[1].final.failure is not None and "never reported" in crashed[1].final.failure.message
    bailed = parse(tmp_path, "1..3\nok 1 - a\nBail out! database gone\nok 2 - ignored\n")
    assert [(r.name, r.final.status) for r in bailed] == [
        ("a", Status.PASSED),
        ("test 2", Status.BLOCKED),
        ("test 3", Status.BLOCKED),
    ]
    assert bailed[1].final.failure is not None and "database gone" in bailed[1].final.failure.message


def test_repeated_names_are_told_apart(tmp_path: Path) -> None:
    results = parse(tmp_path, "ok 1 should be equal\nok 2 should be equal\n1..2\n")
    assert [r.parameters for r in results] == [None, "#2"]


def test_utf8_bom_and_utf16(tmp_path: Path) -> None:
    text = "TAP version 13\nok 1 - café\n1..1\n"
    assert parse(tmp_path, b"\xef\xbb\xbf" + text.encode())[0].name == "café"
    assert parse(tmp_path, text.encode("utf-16"))[0].name == "café"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"tests": []}', "not TAP"),
        ("TAP version 13\n1..0\n", "no test points"),
        ("TAP version 13\n# only a comment\n", "no test points"),
    ],
    ids=["json", "empty-plan", "comments-only"],
)
def test_bad_input_is_a_parse_error_naming_the_file(tmp_path: Path, content: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(tmp_path, content)
    assert "run.tap" in str(caught.value)
    assert reason in str(caught.value)


def test_sniff() -> None:
    source = ReportSource(Path("x"), "x")
    assert parser.sniff(b"TAP version 14\n1..1\n", source) == 1.0
    assert parser.sniff(b"1..3\nok 1 - a\n", source) >= 0.5
    assert parser.sniff(b"ok 1 - a\n", source) >= 0.5
    assert parser.sniff(b'<?xml version="1.0"?><testsuites/>', source) == 0.0
    assert parser.sniff(b'{"ok": true}', source) == 0.0
    assert parser.sniff(b"okay then\n", source) == 0.0
