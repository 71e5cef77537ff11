"""The TRX parser on identity, retries, data rows, attachments and broken input.

vstest and jest-trx-results-processor reports are covered by the golden tests
(tests/data/reports/trx).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.trx import parser
from caserun.ingest.protocol import ReportSource

NS = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"


def parse(path: Path, content: str) -> list[TestResult]:
    path.write_text(content)
    return list(parser.parse(ReportSource(path, path.name)))


def run(results: str, definitions: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<TestRun id="r" name="ci" xmlns="{NS}">
  <Times start="2024-01-02T10:00:00.0000000+02:00" finish="2024-01-02T10:00:02.5000000+02:00" />
  <TestSettings name="default"><Deployment runDeploymentRoot="ci_2024" /></TestSettings>
  <Results>{results}</Results>
  <TestDefinitions>{definitions}</TestDefinitions>
</TestRun>"""


def result(test_id: str, name: str, outcome: str, body: str = "", execution: str = "e1", extra: str = "") -> str:
    return (
        f'<UnitTestResult executionId="{execution}" testId="{test_id}" testName="{name}" duration="00:00:01.2500000" '
        f'startTime="2024-01-02T10:00:00.5+02:00" outcome="{outcome}" {extra}>{body}</UnitTestResult>'
    )


def definition(test_id: str, method: str, cls: str = "Shop.CartTests", extra: str = "") -> str:
    return (
        f'<UnitTest name="{method}" id="{test_id}">{extra}'
        f'<TestMethod className="{cls}, Shop.Tests, Version=1.0.0.0" name="{method}" /></UnitTest>'
    )


def error(message: str, trace: str = "at Shop.CartTests.Adds() in Cart.cs:line 3") -> str:
    return f"<Output><ErrorInfo><Message>{message}</Message><StackTrace>{trace}</StackTrace></ErrorInfo></Output>"


def test_results_are_joined_with_their_definitions(tmp_path: Path) -> None:
    results = parse(
        tmp_path / "r.trx",
        run(
            result("t1", "Shop.CartTests.Adds", "Passed")
            + result("t2", "Shop.CartTests.Adds (1,2)", "Failed", error("Assert.AreEqual failed. Expected:&lt;3&gt;."))
            + result(
                "t3", "Shop.CartTests.Boom", "Failed", error("Test method threw exception: \nSystem.Exception: boom")
            )
            + result("t4", "Shop.CartTests.Slow", "Timeout")
            + result("t5", "Shop.CartTests.Later", "NotExecuted"),
            definition("t1", "Adds")
            + definition("t2", "Adds")
            + definition("t3", "Boom")
            + definition("t4", "Slow")
            + definition("t5", "Later", extra='<TestCategory><TestCategoryItem TestCategory="cart" /></TestCategory>'),
        ),
    )
    assert [(r.suite, r.name, r.parameters) for r in results] == [
        ("Shop.CartTests", "Adds", None),
        ("Shop.CartTests", "Adds", "1,2"),
        ("Shop.CartTests", "Boom", None),
        ("Shop.CartTests", "Slow", None),
        ("Shop.CartTests", "Later", None),
    ]
    adds, row, boom, slow, later = results
    assert adds.final.duration_ms == 1250
    assert adds.final.started_at is not None and adds.final.started_at.utcoffset() is not None
    assert row.final.failure is not None and row.final.failure.type is FailureType.ASSERTION
    assert boom.final.failure is not None and boom.final.failure.type is FailureType.ERROR
    assert boom.final.failure.exception == "System.Exception"
    assert slow.final.failure is not None and slow.final.failure.type is FailureType.TIMEOUT
    assert later.final.status is Status.SKIPPED
    assert later.metadata["categories"] == "cart"


def test_results_sharing_a_test_id_are_attempts_in_order(tmp_path: Path) -> None:
    results = parse(
        tmp_path / "r.trx",
        run(
            result("t1", "Shop.CartTests.Flaky", "Failed", error("Expected: 1"), "e1")
            + result("t2", "Shop.CartTests.Other", "Passed", "", "e2")
            + result("t1", "Shop.CartTests.Flaky", "Passed", "", "e3"),
            definition("t1", "Flaky") + definition("t2", "Other"),
        ),
    )
    assert [r.name for r in results] == ["Other", "Flaky"]
    assert [a.status for a in results[1].attempts] == [Status.FAILED, Status.PASSED]


def test_data_driven_inner_results_are_separate_tests(tmp_path: Path) -> None:
    inner = (
        "<InnerResults>"
        + result("t1", "Adds (1,2)", "Passed", "", "i1", 'resultType="DataDrivenDataRow" dataRowInfo="1"')
        + result(
            "t1", "Adds (2,2)", "Failed", error("Expected: 4"), "i2", 'resultType="DataDrivenDataRow" dataRowInfo="2"'
        )
        + "</InnerResults>"
    )
    results = parse(
        tmp_path / "r.trx",
        run(result("t1", "Adds", "Failed", inner, extra='resultType="DataDrivenTest"'), definition("t1", "Adds")),
    )
    assert [(r.name, r.parameters, r.final.status) for r in results] == [
        ("Adds", "1,2", Status.PASSED),
        ("Adds", "2,2", Status.FAILED),
    ]


def test_result_files_are_found_under_the_deployment_folder(tmp_path: Path) -> None:
    files = '<ResultFiles><ResultFile path="AGENT\\shot.png" /></ResultFiles>'
    results = parse(
        tmp_path / "r.trx",
        run(result("t1", "Shop.CartTests.Shot", "Passed", files, "e9"), definition("t1", "Shot")),
    )
    ref = results[0].final.attachments[0]
    assert (ref.name, ref.path) == ("shot.png", "ci_2024/In/e9/AGENT/shot.png")


def test_stdout_stderr_and_launch_facts(tmp_path: Path) -> None:
    path = tmp_path / "r.trx"
    out = "<Output><StdOut>hello&#xD;\nworld</StdOut><StdErr>oops</StdErr><DebugTrace>trace</DebugTrace></Output>"
    path.write_text(run(result("t1", "Shop.CartTests.Logs", "Passed", out), definition("t1", "Logs")))
    source = ReportSource(path, "r.trx")
    final = next(iter(parser.parse(source))).final
    assert (final.stdout, final.stderr, final.log) == ("hello\nworld", "oops", "trace")
    assert source.info["started_at"] == "2024-01-02T08:00:00+00:00"
    assert source.info["duration_ms"] == "2500"


def test_a_result_without_a_definition_is_kept_with_a_warning(tmp_path: Path) -> None:
    results = parse(tmp_path / "r.trx", run(result("t9", "Lonely", "Passed"), ""))
    assert results[0].name == "Lonely"
    assert "no <UnitTest> definition" in results[0].warnings[0]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (f'<TestRun xmlns="{NS}"><Results><UnitTestResult testId="a"', "not well-formed"),
        ("<TestRun><Results/></TestRun>", "TeamTest namespace"),
        (f'<TestRun xmlns="{NS}"><Results/></TestRun>', "no test results"),
    ],
    ids=["truncated", "no-namespace", "no-tests"],
)
def test_bad_input_is_a_parse_error_naming_the_file(tmp_path: Path, content: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(tmp_path / "run.trx", content)
    assert "run.trx" in str(caught.value)
    assert reason in str(caught.value)


def test_sniff_needs_the_trx_namespace() -> None:
    source = ReportSource(Path("x"), "x")
    assert parser.sniff(f'<?xml version="1.0"?>\n<TestRun id="1" xmlns="{NS}">'.encode(), source) == 1.0
    assert parser.sniff(b"<TestRun><Results/></TestRun>", source) == 0.0
    assert parser.sniff(b"<testsuites/>", source) == 0.0
