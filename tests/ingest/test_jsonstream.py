"""The shared JSON streaming helper: encodings, errors with lines, sniffing shapes, coercions."""

from __future__ import annotations

from pathlib import Path

import pytest

from caserun.domain.model import FailureType
from caserun.errors import ParseError
from caserun.ingest.jsonstream import (
    JsonWalk,
    annotation_metadata,
    failure_of,
    file_label,
    flatten,
    head_shape,
    strip_ansi,
)
from caserun.ingest.protocol import ReportSource

DOC = '{\n  "tests": [\n    {"name": "a"},\n    {"name": "ü"}\n  ]\n}\n'


def _walk(path: Path) -> list[object]:
    walk = JsonWalk(ReportSource(path, path.name), format="x", wanted=lambda p: p == "tests.item")
    return [value for _, value in walk]


@pytest.mark.parametrize(
    "encoded",
    [DOC.encode(), b"\xef\xbb\xbf" + DOC.encode(), DOC.encode("utf-16"), b"\xfe\xff" + DOC.encode("utf-16-be")],
)
def test_utf8_with_or_without_bom_and_utf16_are_read(tmp_path: Path, encoded: bytes) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(encoded)
    assert _walk(path) == [{"name": "a"}, {"name": "ü"}]


def test_text_after_the_document_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(DOC + "  1 passing (4ms)\n")
    assert len(_walk(path)) == 2


def test_truncated_and_broken_documents_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(DOC[:30])
    with pytest.raises(ParseError, match="ends early") as caught:
        _walk(path)
    assert caught.value.file == "r.json" and caught.value.line == 3
    path.write_text(DOC.replace('{"name": "ü"}', '{"name": ü}'))
    with pytest.raises(ParseError, match="not valid JSON") as caught:
        _walk(path)
    assert caught.value.line == 4


def test_head_shape_shows_the_structure_of_a_cut_document() -> None:
    shape = head_shape(b'\xef\xbb\xbf{"results": {"tool": {"name": "x"}, "tests": [{"name": "a", "sta')
    assert shape["results"] == "start_map"
    assert shape["results.tool.name"] == "x"
    assert shape["results.tests"] == "start_array"
    assert head_shape(b"<xml/>") == {}
    assert head_shape(b"TAP version 13\n") == {}


def test_strip_ansi_removes_colours_and_links_only() -> None:
    assert strip_ansi("\x1b[31mred\x1b[39m \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ [x]") == "red link [x]"
    assert strip_ansi(None) is None


def test_flatten_and_annotations() -> None:
    assert flatten({"a": 1, "b": {"c": [1, "x"], "d": None}, "e": [{"f": 1}], "g": ""}) == {
        "a": "1",
        "b.c": "1, x",
        "e": '[{"f":1}]',
    }
    notes = [{"type": "issue", "description": "A-1"}, {"type": "issue", "description": "A-2"}, {"type": "slow"}]
    assert annotation_metadata(notes) == {"issue": "A-1, A-2", "slow": ""}


def test_file_label_drops_machine_specific_directories() -> None:
    assert file_label("/home/ci/work/repo/test/a.spec.js") == "a.spec.js"
    assert file_label("C:\\work\\a.spec.js") == "a.spec.js"
    assert file_label("./test/a.spec.js") == "test/a.spec.js"


def test_failure_kinds() -> None:
    assert failure_of("gateway timed out", "AssertionError: gateway timed out\n    at x").type is FailureType.ASSERTION
    assert failure_of("Error: boom", None).exception == "Error"
    assert failure_of("Error: boom", None).type is FailureType.ERROR
    assert failure_of("Error: expect(received).toBe(1)", None).type is FailureType.ASSERTION
    assert failure_of("x", None, timed_out=True).type is FailureType.TIMEOUT
    assert failure_of(None, None).type is FailureType.UNKNOWN
