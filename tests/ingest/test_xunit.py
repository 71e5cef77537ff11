"""The xUnit.net v2 parser on identity, traits, errors outside tests and broken input.

Reports from xunit.console are covered by the golden tests (tests/data/reports/xunit2).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.xunit import parser
from caserun.ingest.protocol import ReportSource


def parse(path: Path, content: str) -> list[TestResult]:
    path.write_text(content)
    return list(parser.parse(ReportSource(path, path.name)))


def report(tests: str, errors: str = "<errors />") -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<assemblies><assembly name="Shop.Tests.dll" test-framework="xUnit.net 2.4.2" run-date="2024-01-02" run-time="10:00:00"
 time="1.5" total="3">{errors}<collection name="Test collection for Shop.CartTests" time="1">{tests}</collection>
</assembly></assemblies>"""


def xtest(name: str, result: str, body: str = "", method: str = "Adds") -> str:
    return f'<test name="{name}" type="Shop.CartTests" method="{method}" time="0.125" result="{result}">{body}</test>'


def test_theory_rows_split_into_name_and_parameters(tmp_path: Path) -> None:
    results = parse(
        tmp_path / "r.xml",
        report(
            xtest("Shop.CartTests.Adds(a: 1, b: 2)", "Pass")
            + xtest("Shop.CartTests.Adds(a: 2, b: 3)", "Pass")
            + xtest("Adds two numbers", "Pass")
        ),
    )
    assert [(r.suite, r.name, r.parameters) for r in results] == [
        ("Shop.CartTests", "Adds", "a: 1, b: 2"),
        ("Shop.CartTests", "Adds", "a: 2, b: 3"),
        ("Shop.CartTests", "Adds two numbers", None),
    ]
    assert results[2].metadata["method"] == "Adds"
    assert results[0].final.duration_ms == 125


def test_failures_skips_traits_and_output(tmp_path: Path) -> None:
    failure = (
        '<failure exception-type="Xunit.Sdk.EqualException"><message><![CDATA[Assert.Equal() Failure]]></message>'
        "<stack-trace><![CDATA[   at Shop.CartTests.Adds() in Cart.cs:line 9]]></stack-trace></failure>"
    )
    error = (
        '<failure exception-type="System.NullReferenceException"><message>Object reference not set</message></failure>'
    )
    traits = '<traits><trait name="Category" value="fast" /><trait name="Category" value="cart" /></traits>'
    results = parse(
        tmp_path / "r.xml",
        report(
            xtest("Shop.CartTests.Adds", "Fail", failure + "<output>log line\n</output>")
            + xtest("Shop.CartTests.Nulls", "Fail", error, method="Nulls")
            + xtest("Shop.CartTests.Later", "Skip", traits + "<reason><![CDATA[not yet]]></reason>", method="Later")
        ),
    )
    adds, nulls, later = results
    assert adds.final.failure is not None and adds.final.failure.type is FailureType.ASSERTION
    assert adds.final.failure.exception == "Xunit.Sdk.EqualException"
    assert adds.final.stdout == "log line"
    assert nulls.final.failure is not None and nulls.final.failure.type is FailureType.ERROR
    assert later.final.status is Status.SKIPPED
    assert later.final.properties["skip_reason"] == "not yet"
    assert later.metadata == {"Category": "fast, cart"}


def test_errors_outside_tests_are_reported_as_failed_entries(tmp_path: Path) -> None:
    errors = (
        '<errors><error type="test-class-cleanup" name="Shop.CartTests">'
        '<failure exception-type="System.IO.IOException"><message>disk full</message></failure></error></errors>'
    )
    results = parse(tmp_path / "r.xml", report(xtest("Shop.CartTests.Adds", "Pass"), errors))
    cleanup = results[0]
    assert (cleanup.suite, cleanup.name) == ("Shop.CartTests", "(test-class-cleanup)")
    assert cleanup.final.status is Status.FAILED
    assert cleanup.final.failure is not None and cleanup.final.failure.message == "disk full"


def test_launch_facts(tmp_path: Path) -> None:
    source_path = tmp_path / "r.xml"
    source_path.write_text(report(xtest("Shop.CartTests.Adds", "Pass")))
    source = ReportSource(source_path, "r.xml")
    list(parser.parse(source))
    assert source.info["tool"] == "xUnit.net"
    assert source.info["tool_version"] == "2.4.2"
    assert source.info["duration_ms"] == "1500"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('<assemblies><assembly name="a"><collection><test name="x"', "not well-formed"),
        ("<testsuites><testsuite/></testsuites>", "not <assemblies>"),
        ('<assemblies><assembly name="a"><errors /></assembly></assemblies>', "no tests"),
    ],
    ids=["truncated", "wrong-root", "no-tests"],
)
def test_bad_input_is_a_parse_error_naming_the_file(tmp_path: Path, content: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(tmp_path / "xunit.xml", content)
    assert "xunit.xml" in str(caught.value)
    assert reason in str(caught.value)


def test_unknown_result_is_a_warning(tmp_path: Path) -> None:
    results = parse(tmp_path / "r.xml", report(xtest("Shop.CartTests.Adds", "Maybe")))
    assert results[0].final.status is Status.FAILED
    assert "unknown result" in results[0].warnings[0]


def test_sniff_claims_only_assemblies() -> None:
    source = ReportSource(Path("x"), "x")
    assert parser.sniff(b'\xef\xbb\xbf<?xml version="1.0"?>\n<assemblies>', source) == 1.0
    assert parser.sniff(b"<testsuites/>", source) == 0.0
