"""Every golden report is detected as its own format by content and parses to its expected file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from caserun.ingest import registry
from caserun.ingest.protocol import ReportSource
from tests.ingest.golden import cases, expected_path, snapshot

CASES = cases()


@pytest.mark.parametrize(("fmt", "report"), CASES, ids=[f"{f}/{p.name}" for f, p in CASES])
def test_report_parses_to_its_golden_file(fmt: str, report: Path) -> None:
    expected = json.loads(expected_path(report).read_text())
    actual = json.loads(json.dumps(snapshot(report, fmt), ensure_ascii=False))
    assert actual == expected


@pytest.mark.parametrize(("fmt", "report"), CASES, ids=[f"{f}/{p.name}" for f, p in CASES])
def test_report_is_detected_by_content(fmt: str, report: Path, tmp_path: Path) -> None:
    # the file name must not matter: detect a copy with a neutral name
    if report.is_dir():
        source = ReportSource(report, report.name)
    else:
        neutral = tmp_path / "results.dat"
        neutral.write_bytes(report.read_bytes())
        source = ReportSource(neutral, report.name)
    assert registry.detect(source).name == fmt


def test_there_are_golden_files_for_every_registered_format() -> None:
    covered = {fmt for fmt, _ in CASES}
    assert set(registry.parsers()) <= covered
