"""The JUnit parser on the dialect quirks and on hostile or broken input.

The small documents here isolate one quirk each; whole reports written by the real tools
are covered by the golden tests (tests/data/reports/junit).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest import registry
from caserun.ingest.formats.junit import parser
from caserun.ingest.protocol import ReportSource


def parse(tmp_path: Path, content: str | bytes, name: str = "report.xml") -> list[TestResult]:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return list(parser.parse(ReportSource(path, name)))


def test_pytest_teardown_error_testcase_is_merged_into_its_test(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        """<testsuites><testsuite name="pytest">
      <testcase classname="t.test_a" name="test_x" time="0.1"/>
      <testcase classname="t.test_a" name="test_x" time="0.2">
        <error message="failed on teardown with &quot;RuntimeError: db left open&quot;">teardown trace</error>
      </testcase>
      <testcase classname="t.test_a" name="test_y" time="0.1"/>
    </testsuite></testsuites>""",
    )
    assert [r.name for r in results] == ["test_x", "test_y"]
    x = results[0]
    assert len(x.attempts) == 1
    assert x.final.status is Status.FAILED
    assert x.final.failure is not None and x.final.failure.type is FailureType.ERROR
    assert "db left open" in x.final.properties["teardown_error"]


def test_pytest_control_character_escapes_are_restored(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        """<testsuite name="pytest"><testcase classname="c" name="t">
      <failure message="#x1B[31mred#x1B[0m">E   assert #x1B[1mbold
c.py:3: AssertionError</failure></testcase></testsuite>""",
    )
    failure = results[0].final.failure
    assert failure is not None
    assert failure.message == "\x1b[31mred\x1b[0m"
    assert failure.exception == "AssertionError"


def test_surefire_flaky_and_rerun_elements_become_attempts(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        """<testsuite name="S">
      <testcase classname="com.acme.T" name="flaky" time="0.3">
        <flakyFailure message="first" type="java.lang.AssertionError"><stackTrace>at A</stackTrace>
          <system-out>out 1</system-out></flakyFailure>
        <flakyError message="second" type="java.net.SocketTimeoutException"><stackTrace>at B</stackTrace></flakyError>
      </testcase>
      <testcase classname="com.acme.T" name="broken" time="0.1">
        <failure message="boom" type="java.lang.AssertionError">trace</failure>
        <rerunFailure message="boom again" type="java.lang.AssertionError"><stackTrace>t2</stackTrace></rerunFailure>
      </testcase>
    </testsuite>""",
    )
    flaky, broken = results
    assert [a.status for a in flaky.attempts] == [Status.FAILED, Status.FAILED, Status.PASSED]
    assert flaky.attempts[0].stdout == "out 1"
    assert flaky.attempts[1].failure is not None
    assert flaky.attempts[1].failure.type is FailureType.TIMEOUT
    assert [a.status for a in broken.attempts] == [Status.FAILED, Status.FAILED]
    assert broken.attempts[1].failure is not None and broken.attempts[1].failure.message == "boom again"


def test_nested_suites_skips_properties_attachments_and_lines(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        """<testsuites><testsuite name="outer"><testsuite name="Inner">
      <testcase name="noclass" file="tests/a.php" line="12" time="1,234.5"><skipped message="later"/></testcase>
      <testcase classname="K" name="prop" time="0.01">
        <properties><property name="owner" value="qa"/></properties>
        <system-out>hello
[[ATTACHMENT|shots/fail.png]]
</system-out>
      </testcase>
    </testsuite></testsuite></testsuites>""",
    )
    skipped, prop = results
    assert skipped.suite == "Inner"
    assert skipped.final.status is Status.SKIPPED
    assert skipped.final.duration_ms == 1_234_500
    assert (skipped.file, skipped.line) == ("tests/a.php", 12)
    assert prop.final.properties == {"owner": "qa"}
    assert [(a.name, a.path) for a in prop.final.attachments] == [("fail.png", "shots/fail.png")]


@pytest.mark.parametrize(
    ("encoding", "prolog"),
    [("utf-8-sig", "UTF-8"), ("utf-16", "UTF-16"), ("latin-1", "ISO-8859-1")],
)
def test_encodings(tmp_path: Path, encoding: str, prolog: str) -> None:
    doc = f'<?xml version="1.0" encoding="{prolog}"?><testsuite><testcase classname="c" name="café"/></testsuite>'
    results = parse(tmp_path, doc.encode(encoding))
    assert results[0].name == "café"


def _expect_error(tmp_path: Path, content: str | bytes, needle: str, line: int | None = None) -> ParseError:
    path = tmp_path / "bad.xml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(ParseError) as info:
        source = ReportSource(path, "bad.xml")
        list(registry.detect(source).parse(source))
    assert "bad.xml" in str(info.value)
    assert needle in str(info.value)
    if line is not None:
        assert info.value.line == line
    return info.value


def test_truncated_xml_names_file_and_line(tmp_path: Path) -> None:
    _expect_error(
        tmp_path, '<testsuite>\n<testcase classname="c" name="a"/>\n<testcase classname="c"', "not well-formed", 3
    )


def test_empty_binary_and_foreign_files(tmp_path: Path) -> None:
    _expect_error(tmp_path, b"", "empty")
    _expect_error(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary")
    _expect_error(tmp_path, "<html><body>hi</body></html>", "not a report")


def test_report_without_test_cases_is_refused(tmp_path: Path) -> None:
    _expect_error(tmp_path, '<testsuites><testsuite name="empty" tests="0"/></testsuites>', "no test cases")


def test_deep_nesting_is_refused_quickly(tmp_path: Path) -> None:
    doc = "<testsuites>" + "<testsuite>" * 10_000 + "</testsuite>" * 10_000 + "</testsuites>"
    started = time.monotonic()
    _expect_error(tmp_path, doc, "not well-formed")
    assert time.monotonic() - started < 5


def test_billion_laughs_is_refused_without_expansion(tmp_path: Path) -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE testsuite [{entities}]>'
        '<testsuite><testcase classname="c" name="&lol9;"/></testsuite>'
    )
    _expect_error(tmp_path, doc, "not allowed")


def test_external_entity_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<testsuite><testcase classname="c" name="&x;"/></testsuite>'
    )
    error = _expect_error(tmp_path, doc, "not allowed")
    assert "TOP-SECRET" not in str(error)


def test_doctype_is_refused_before_parsing_in_any_encoding(tmp_path: Path) -> None:
    doc = '<?xml version="1.0" encoding="UTF-16"?>\n<!-- made by hand -->\n<!DOCTYPE t [<!ENTITY a "b">]>\n<testsuite/>'
    error = _expect_error(tmp_path, doc.encode("utf-16"), "not allowed")
    assert error.line == 3


def test_pytest_rerunfailures_duplicates_become_failed_then_final_attempts(tmp_path: Path) -> None:
    # what pytest 9 + pytest-rerunfailures write for `--reruns 1 --junitxml` (captured here):
    # the rerun attempt is a bare <testcase/>, its failure is not written
    results = parse(
        tmp_path,
        """<testsuites name="pytest tests"><testsuite name="pytest" tests="2">
      <testcase classname="test_r" name="test_flaky" time="0.002" />
      <testcase classname="test_r" name="test_flaky" time="0.001" />
      <testcase classname="test_r" name="test_always" time="0.001" />
      <testcase classname="test_r" name="test_always" time="0.001"><failure message="assert False">E   assert False
test_r.py:7: AssertionError</failure></testcase></testsuite></testsuites>""",
    )
    flaky, always = results
    assert [a.status for a in flaky.attempts] == [Status.FAILED, Status.PASSED]
    assert flaky.attempts[0].failure is not None
    assert flaky.attempts[0].failure.type is FailureType.UNKNOWN
    assert [a.status for a in always.attempts] == [Status.FAILED, Status.FAILED]


def test_repeated_testcases_of_other_writers_keep_their_status(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        """<testsuite name="jest">
      <testcase classname="c" name="t"/><testcase classname="c" name="t"/></testsuite>""",
    )
    assert [a.status for a in results[0].attempts] == [Status.PASSED, Status.PASSED]


def test_attachment_scan_finds_every_file_the_parse_references(tmp_path: Path) -> None:
    """``caserun upload`` sends the files a JUnit report names after a byte scan instead of
    a second parse: the scan must find at least what the parser attaches."""
    reports = sorted((Path(__file__).parents[1] / "data" / "reports" / "junit").glob("*.xml"))
    checked = 0
    for report in reports:
        scanned = parser.referenced_paths(ReportSource(report, report.name))
        assert scanned is not None
        parsed = {
            a.path
            for r in parser.parse(ReportSource(report, report.name))
            for attempt in r.attempts
            for a in attempt.attachments
            if a.path
        }
        assert parsed <= set(scanned), report.name
        checked += bool(parsed)
    assert checked >= 2
    # a marker cut by the 1 MiB chunk boundary is still found; UTF-16 falls back to parsing
    padded = tmp_path / "big.xml"
    marker = "[[ATTACHMENT|shots/a&amp;b.png]]"
    prefix = '<testsuite><testcase name="t"><system-out>' + "x" * ((1 << 20) - 60)
    padded.write_text(prefix + marker + "</system-out></testcase></testsuite>")
    assert list(parser.referenced_paths(ReportSource(padded, "big.xml")) or []) == ["shots/a&b.png"]
    wide = tmp_path / "wide.xml"
    wide.write_text('<?xml version="1.0" encoding="UTF-16"?><testsuite/>', encoding="utf-16")
    assert parser.referenced_paths(ReportSource(wide, "wide.xml")) is None


def test_absurd_durations_are_dropped_not_an_error(tmp_path: Path) -> None:
    results = parse(
        tmp_path,
        '<testsuite><testcase classname="c" name="a" time="9e305"/><testcase classname="c" name="b" time="1e20"/>'
        '<testcase classname="c" name="c" time="nan"/><testcase classname="c" name="d" time="2.5"/></testsuite>',
    )
    assert [r.final.duration_ms for r in results] == [None, None, None, 2500]
