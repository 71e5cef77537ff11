"""The NUnit 3 parser on outcomes, retries, attachments and broken input.

Whole reports (nunit3-console and pytest-nunit) are covered by the golden tests
(tests/data/reports/nunit3).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.nunit import parser
from caserun.ingest.protocol import ReportSource


def parse(path: Path, content: str) -> list[TestResult]:
    path.write_text(content)
    return list(parser.parse(ReportSource(path, path.name)))


def run(cases: str, fixture: str = 'type="TestFixture" name="CartTests" fullname="Shop.CartTests"') -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<test-run id="2" result="Failed" engine-version="3.16.3" start-time="2024-01-02 10:00:00Z" duration="1.5">
<test-suite type="Assembly" name="Shop.dll" fullname="/src/Shop.dll">
<test-suite {fixture}>{cases}</test-suite></test-suite></test-run>"""


def case(name: str, result: str, extra: str = "", body: str = "", method: str | None = None) -> str:
    method = method or name.split("(")[0]
    return (
        f'<test-case name="{name}" fullname="Shop.CartTests.{name}" methodname="{method}" '
        f'classname="Shop.CartTests" result="{result}" duration="0.25" start-time="2024-01-02T10:00:01Z" {extra}>'
        f"{body}</test-case>"
    )


def failure(message: str, trace: str = "at Shop.CartTests.X() in Cart.cs:line 3") -> str:
    return f"<failure><message><![CDATA[{message}]]></message><stack-trace><![CDATA[{trace}]]></stack-trace></failure>"


def test_outcomes_from_result_label_and_site(tmp_path: Path) -> None:
    results = parse(
        tmp_path / "r.xml",
        run(
            case("Passes", "Passed")
            + case("Asserts", "Failed", "", failure("  Expected: 3\n  But was:  2\n"))
            + case("Throws", "Failed", 'label="Error"', failure("System.InvalidOperationException : boom"))
            + case("Slow", "Failed", 'label="Test exceeded Timeout value 1ms."', "<failure />")
            + case("Ignored", "Skipped", 'label="Ignored"', "<reason><message><![CDATA[later]]></message></reason>")
            + case("Unsure", "Inconclusive")
            + case("Orphan", "Failed", 'label="Error" site="Parent"', failure("OneTimeSetUp: db down"))
            + case("Setup", "Failed", 'label="Error" site="SetUp"', failure("SetUp : System.Exception : no"))
        ),
    )
    by_name = {r.name: r.final for r in results}
    assert by_name["Passes"].status is Status.PASSED
    asserts = by_name["Asserts"].failure
    assert asserts is not None and asserts.message == "Expected: 3\nBut was:  2"
    assert asserts.type is FailureType.ASSERTION
    throws = by_name["Throws"].failure
    assert throws is not None and throws.type is FailureType.ERROR
    assert throws.exception == "System.InvalidOperationException"
    slow = by_name["Slow"].failure
    assert slow is not None and slow.type is FailureType.TIMEOUT and slow.message.startswith("Test exceeded")
    assert by_name["Ignored"].status is Status.SKIPPED
    assert by_name["Ignored"].properties["skip_reason"] == "later"
    assert by_name["Unsure"].status is Status.SKIPPED
    assert by_name["Unsure"].properties["outcome"] == "Inconclusive"
    assert by_name["Orphan"].status is Status.BLOCKED
    assert by_name["Setup"].status is Status.FAILED
    assert by_name["Setup"].properties["failure_site"] == "SetUp"


def test_parameterized_cases_and_fixtures_keep_their_identity(tmp_path: Path) -> None:
    results = parse(
        tmp_path / "r.xml",
        run(
            case("Adds(1,2)", "Passed") + case("Custom name", "Passed", method="Adds"),
            fixture='type="TestFixture" name="CartTests(EUR)" fullname="Shop.CartTests(EUR)"',
        ),
    )
    assert [(r.suite, r.name, r.parameters) for r in results] == [
        ("Shop.CartTests(EUR)", "Adds", "1,2"),
        ("Shop.CartTests(EUR)", "Custom name", None),
    ]


def test_retry_property_on_a_failed_assertion_means_every_run_failed(tmp_path: Path) -> None:
    props = '<properties><property name="Retry" value="3" /><property name="Category" value="slow" /></properties>'
    results = parse(tmp_path / "r.xml", run(case("Flaky", "Failed", "", props + failure("Expected: 1"))))
    flaky = results[0]
    assert [a.status for a in flaky.attempts] == [Status.FAILED] * 3
    assert flaky.metadata == {"retry": "3", "categories": "slow"}


def test_attachments_inside_the_report_folder_become_relative(tmp_path: Path) -> None:
    inside = tmp_path / "shots" / "a.png"
    body = (
        f"<attachments><attachment><filePath>{inside}</filePath><description>A</description></attachment>"
        r"<attachment><filePath>C:\agent\work\b.png</filePath></attachment></attachments>"
    )
    results = parse(tmp_path / "r.xml", run(case("Shot", "Passed", "", body)))
    refs = results[0].final.attachments
    assert [(r.name, r.path) for r in refs] == [("A", "shots/a.png"), ("b.png", "b.png")]
    assert any("absolute path" in w and "work" in w for w in results[0].warnings)


def test_output_and_times(tmp_path: Path) -> None:
    results = parse(tmp_path / "r.xml", run(case("Logs", "Passed", "", "<output><![CDATA[hello\n]]></output>")))
    final = results[0].final
    assert final.stdout == "hello\n"
    assert final.duration_ms == 250
    assert final.started_at is not None and final.started_at.utcoffset() is not None


def test_one_time_teardown_failure_is_reported(tmp_path: Path) -> None:
    content = (
        run(case("Passes", "Passed"))
        .replace('name="CartTests"', 'name="CartTests" result="Failed" site="TearDown"')
        .replace("<test-case", "<failure><message>OneTimeTearDown : cleanup broke</message></failure><test-case", 1)
    )
    results = parse(tmp_path / "r.xml", content)
    assert [r.name for r in results] == ["Passes", "(OneTimeTearDown)"]
    assert results[1].final.status is Status.FAILED


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('<test-run><test-suite type="Assembly"><test-case name="x"', "not well-formed"),
        ("<testsuites><testsuite/></testsuites>", "not <test-run>"),
        ('<test-run><test-suite type="Assembly" name="a"/></test-run>', "no test cases"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><test-run/>', "not allowed"),
    ],
    ids=["truncated", "wrong-root", "no-tests", "dtd"],
)
def test_bad_input_is_a_parse_error_naming_the_file(tmp_path: Path, content: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(tmp_path / "TestResult.xml", content)
    assert "TestResult.xml" in str(caught.value)
    assert reason in str(caught.value)


def test_unknown_result_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    results = parse(tmp_path / "r.xml", run(case("Odd", "Exploded")))
    assert results[0].final.status is Status.FAILED
    assert "unknown result" in results[0].warnings[0]


def test_sniff_claims_only_test_run() -> None:
    source = ReportSource(Path("x"), "x")
    assert parser.sniff(b'<?xml version="1.0"?><test-run id="2">', source) == 1.0
    assert parser.sniff(b"<test-results><test-suite/></test-results>", source) == 0.0
    assert parser.sniff(b"<testsuites/>", source) == 0.0
