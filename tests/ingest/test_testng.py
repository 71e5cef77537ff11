"""The TestNG parser on the quirks its docstring names and on broken input.

Whole reports from TestNG 7.9 are covered by the golden tests (tests/data/reports/testng).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.testng import parser
from caserun.ingest.protocol import ReportSource


def parse(tmp_path: Path, content: str) -> list[TestResult]:
    path = tmp_path / "testng-results.xml"
    path.write_text(content)
    return list(parser.parse(ReportSource(path, "testng-results.xml")))


def doc(classes: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<testng-results total="1"><suite name="S" duration-ms="10" started-at="2024-03-28T22:24:44 CDT">
<test name="T">{classes}</test></suite></testng-results>"""


def method(name: str, status: str, extra: str = "", body: str = "") -> str:
    return (
        f'<test-method name="{name}" status="{status}" duration-ms="3" '
        f'started-at="2024-03-28T22:24:45 CDT" {extra}>{body}</test-method>'
    )


EXC = (
    '<exception class="java.lang.AssertionError"><message><![CDATA[expected [true] but found [false]]]></message>'
    "<full-stacktrace><![CDATA[java.lang.AssertionError: expected [true]\n at a.B.c(B.java:1)]]></full-stacktrace>"
    "</exception>"
)


def test_retried_attempts_come_before_the_final_result(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        doc(
            '<class name="a.B">' + method("flaky", "SKIP", 'retried="true"', EXC) + method("flaky", "PASS") + "</class>"
        ),
    )
    assert len(results) == 1
    flaky = results[0]
    assert [a.status for a in flaky.attempts] == [Status.FAILED, Status.PASSED]
    first = flaky.attempts[0].failure
    assert first is not None and first.message == "expected [true] but found [false]"
    assert first.type is FailureType.ASSERTION


def test_times_with_a_zone_name_are_converted_to_utc(tmp_path: Path) -> None:
    results = parse(tmp_path, doc('<class name="a.B">' + method("t", "PASS") + "</class>"))
    assert results[0].final.started_at == datetime(2024, 3, 29, 3, 24, 45, tzinfo=UTC)


def test_a_failed_configuration_blocks_the_test_it_skipped(tmp_path: Path) -> None:
    config = method("setUp", "FAIL", 'is-config="true"', EXC.replace("expected [true]", "db down"))
    results = parse(tmp_path, doc('<class name="a.B">' + config + method("t", "SKIP") + "</class>"))
    assert [r.name for r in results] == ["t"]
    final = results[0].final
    assert final.status is Status.BLOCKED
    assert final.failure is not None and "a.B.setUp" in final.failure.message
    assert final.properties["blocked_by"] == "a.B.setUp"


def test_data_provider_rows_and_repeated_invocations_are_separate_tests(tmp_path: Path) -> None:
    params = '<params><param index="0"><value><![CDATA[1]]></value></param></params>'
    nulls = '<params><param index="0"><value is-null="true"/></param></params>'
    results = parse(
        tmp_path,
        doc(
            '<class name="a.B">'
            + method("row", "PASS", 'data-provider="rows"', params)
            + method("row", "PASS", 'data-provider="rows"', nulls)
            + method("again", "PASS")
            + method("again", "FAIL", "", EXC)
            + "</class>"
        ),
    )
    assert [(r.name, r.parameters) for r in results] == [
        ("row", "1"),
        ("row", "null"),
        ("again", None),
        ("again", "#2"),
    ]
    assert results[0].metadata["data_provider"] == "rows"
    assert results[3].final.status is Status.FAILED


def test_skip_exception_message_is_the_skip_reason(tmp_path: Path) -> None:
    skip = '<exception class="org.testng.SkipException"><message><![CDATA[not today]]></message></exception>'
    results = parse(tmp_path, doc('<class name="a.B">' + method("t", "SKIP", "", skip) + "</class>"))
    assert results[0].final.status is Status.SKIPPED
    assert results[0].final.properties["skip_reason"] == "not today"


def test_reporter_output_is_stdout(tmp_path: Path) -> None:
    out = "<reporter-output><line><![CDATA[step 1]]></line><line><![CDATA[step 2]]></line></reporter-output>"
    results = parse(tmp_path, doc('<class name="a.B">' + method("t", "PASS", "", out) + "</class>"))
    assert results[0].final.stdout == "step 1\nstep 2"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('<testng-results><suite name="S"><test name="T"><class name="a.B">', "not well-formed"),
        ("<testsuites><testsuite/></testsuites>", "not <testng-results>"),
        ('<testng-results><suite name="S"/></testng-results>', "no test cases"),
    ],
    ids=["truncated", "wrong-root", "no-tests"],
)
def test_bad_input_is_a_parse_error_naming_the_file(tmp_path: Path, content: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(tmp_path, content)
    assert "testng-results.xml" in str(caught.value)
    assert reason in str(caught.value)


def test_sniff_claims_only_testng_results() -> None:
    source = ReportSource(Path("x"), "x")
    assert parser.sniff(b'<?xml version="1.0"?>\n<testng-results>', source) == 1.0
    assert parser.sniff(b"<testsuites><testsuite/></testsuites>", source) == 0.0
