"""Every registered parser, fed random bytes and damaged real reports, fails only with ParseError.

The parser contract (``caserun.ingest.protocol``): ``sniff`` answers a confidence and never
raises; ``parse`` either yields tests or raises :class:`caserun.errors.ParseError` naming the
file. Anything else (``KeyError``, ``TypeError``, ``RecursionError``, ``UnicodeDecodeError``…)
would reach a user as a 500 or a traceback, so it fails here with the input that caused it.

The damaged inputs start from the golden reports under ``tests/data/reports/<format>/`` and
apply the damage real files suffer: truncation, flipped bytes, lines duplicated, removed or
swapped, junk inserted, and deep nesting. With ``CI=true`` the examples are derandomized so a
run cannot flake; locally each run explores new inputs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caserun.errors import ParseError
from caserun.ingest import registry
from caserun.ingest.protocol import ReportParser, ReportSource
from tests.ingest.golden import cases

PARSERS = registry.parsers()
SAMPLES: dict[str, list[Path]] = {}
for _format, _path in cases():
    SAMPLES.setdefault(_format, []).append(_path)

FUZZ = settings(
    max_examples=int(os.environ.get("CASERUN_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def test_every_registered_format_has_a_sample_to_mutate() -> None:
    assert sorted(PARSERS) == sorted(SAMPLES), "a new format needs a golden report, which the fuzzer mutates"


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="caserun-fuzz-") as folder:
        yield Path(folder)


def _report_files(sample: Path) -> list[Path]:
    if sample.is_file():
        return [sample]
    return sorted(p for p in sample.rglob("*") if p.is_file() and p.suffix in (".json", ".xml", ".properties", ".txt"))


def check(parser: ReportParser, path: Path, display: str) -> None:
    """The contract: sniff answers a float in [0, 1]; parse yields tests or raises ParseError."""
    source = ReportSource(path, display)
    confidence = parser.sniff(source.head(), source)
    assert isinstance(confidence, float | int)
    assert 0 <= confidence <= 1
    try:
        for result in parser.parse(source):
            assert result.attempts, "a parsed test has at least one attempt"
    except ParseError as exc:
        assert exc.message, "a ParseError says what is wrong"


# --- damage --------------------------------------------------------------------------------


def _nest(data: bytes, depth: int, xml: bool) -> bytes:
    if xml:
        return b"<x>" * depth + data + b"</x>" * depth
    return b'{"a":[' * depth + data + b"]}" * depth


@st.composite
def damaged(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with one to four kinds of real-world damage applied in turn."""
    data = original
    xml = original.lstrip().startswith(b"<")
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(["truncate", "flip", "dup_line", "drop_line", "swap_lines", "insert", "nest", "deep"])
        )
        lines = data.splitlines(keepends=True) or [b""]
        if kind == "truncate":
            data = data[: draw(st.integers(0, max(len(data) - 1, 0)))]
        elif kind == "flip" and data:
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif kind == "dup_line":
            at = draw(st.integers(0, len(lines) - 1))
            data = b"".join(lines[: at + 1] + lines[at:])
        elif kind == "drop_line":
            at = draw(st.integers(0, len(lines) - 1))
            data = b"".join(lines[:at] + lines[at + 1 :])
        elif kind == "swap_lines":
            a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[a], lines[b] = lines[b], lines[a]
            data = b"".join(lines)
        elif kind == "insert":
            at = draw(st.integers(0, len(data)))
            junk = draw(
                st.sampled_from([b"null", b"[]", b"{}", b'""', b"0", b"-1e999", b"\x00", b"\xff\xfe", b"<a>", b"&x;"])
                | st.binary(max_size=20)
            )
            data = data[:at] + junk + data[at:]
        elif kind == "nest":
            data = _nest(data, draw(st.integers(1, 5)), xml)
        elif kind == "deep":
            data = _nest(b"", draw(st.sampled_from([200, 1100, 5000])), xml) + data
    return data


def _write_damaged(parser_name: str, scratch: Path, sample: Path, payload: bytes, index: int) -> Path:
    """The damaged report on disk; a directory report gets one of its files replaced."""
    target = scratch / parser_name
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    if sample.is_file():
        target.write_bytes(payload)
        return target
    shutil.copytree(sample, target)
    files = _report_files(target)
    files[index % len(files)].write_bytes(payload)
    return target


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_damaged_reports_fail_only_with_parse_error(name: str, data: st.DataObject, scratch: Path) -> None:
    parser = PARSERS[name]
    sample = data.draw(st.sampled_from(SAMPLES[name]), label="sample")
    files = _report_files(sample)
    index = data.draw(st.integers(0, len(files) - 1), label="file")
    payload = data.draw(damaged(files[index].read_bytes()), label="payload")
    path = _write_damaged(name, scratch, sample, payload, index)
    check(parser, path, sample.name)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(
    payload=st.binary(max_size=2000)
    | st.text(max_size=500).map(str.encode)
    | st.sampled_from([b"", b"{}", b"[]", b"null", b"<a/>", b"\xef\xbb\xbf", b"\xff\xfe<\x00", b"TAP version 13\n"])
)
def test_random_bytes_fail_only_with_parse_error(name: str, payload: bytes, scratch: Path) -> None:
    parser = PARSERS[name]
    sample = SAMPLES[name][0]
    path = _write_damaged(name, scratch, sample, payload, 0)
    check(parser, path, "random")


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(head=st.binary(max_size=300))
def test_sniff_never_raises(name: str, head: bytes, scratch: Path) -> None:
    source = ReportSource(scratch / "absent-sniff-only", "head")
    confidence = PARSERS[name].sniff(head, source)
    assert 0 <= confidence <= 1
