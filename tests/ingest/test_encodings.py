"""Every XML format is detected and read in the encodings the issue names: UTF-8 with and
without a BOM, UTF-16 (with its BOM, little and big endian) and Latin-1 declared in the
XML prolog. Each document carries a non-ASCII test name that must survive."""

from __future__ import annotations

from pathlib import Path

import pytest

from caserun.ingest import registry
from caserun.ingest.protocol import ReportSource

NAME = "prix_en_€_et_café"  # € is not in Latin-1: that case uses LATIN_NAME
LATIN_NAME = "café_crème_à_l'été"

TRX_NS = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"

DOCUMENTS = {
    "junit": (
        '<testsuites><testsuite name="s"><testcase classname="c" name="{name}" time="0.1"/></testsuite></testsuites>'
    ),
    "testng": (
        '<testng-results><suite name="s"><test name="t"><class name="c">'
        '<test-method name="{name}" status="PASS" duration-ms="1"/></class></test></suite></testng-results>'
    ),
    "nunit3": (
        '<test-run id="1"><test-suite type="TestFixture" name="c" fullname="c">'
        '<test-case name="{name}" fullname="c.{name}" result="Passed" duration="0.1"/></test-suite></test-run>'
    ),
    "xunit2": (
        '<assemblies><assembly name="a"><collection name="c">'
        '<test name="{name}" type="c" method="m" result="Pass" time="0.1"/></collection></assembly></assemblies>'
    ),
    "trx": (
        f'<TestRun id="r" xmlns="{TRX_NS}"><Results>'
        '<UnitTestResult testId="t" executionId="e" testName="{name}" outcome="Passed" duration="00:00:00.1"/>'
        '</Results><TestDefinitions><UnitTest id="t" name="{name}"><TestMethod className="c" name="m"/></UnitTest>'
        "</TestDefinitions></TestRun>"
    ),
}


def _document(fmt: str, encoding: str, name: str) -> str:
    body = DOCUMENTS[fmt].replace("{name}", name)
    return f'<?xml version="1.0" encoding="{encoding}"?>\n{body}\n'


CASES = {
    "utf-8": lambda fmt: (_document(fmt, "UTF-8", NAME).encode("utf-8"), NAME),
    "utf-8-bom": lambda fmt: (b"\xef\xbb\xbf" + _document(fmt, "UTF-8", NAME).encode("utf-8"), NAME),
    "utf-16-le": lambda fmt: (_document(fmt, "UTF-16", NAME).encode("utf-16"), NAME),  # BOM + little endian
    "utf-16-be": lambda fmt: (b"\xfe\xff" + _document(fmt, "UTF-16", NAME).encode("utf-16-be"), NAME),
    "latin-1": lambda fmt: (_document(fmt, "ISO-8859-1", LATIN_NAME).encode("latin-1"), LATIN_NAME),
}


@pytest.mark.parametrize("encoding", list(CASES))
@pytest.mark.parametrize("fmt", list(DOCUMENTS))
def test_xml_report_is_detected_and_read(fmt: str, encoding: str, tmp_path: Path) -> None:
    if fmt not in registry.parsers():
        pytest.skip(f"format {fmt} is not installed")
    content, name = CASES[encoding](fmt)
    path = tmp_path / "report.dat"
    path.write_bytes(content)
    source = ReportSource(path, f"{fmt}-{encoding}")
    parser = registry.detect(source)
    assert parser.name == fmt
    results = list(parser.parse(source))
    assert [r.name for r in results] == [name]
