"""Signatures do not drift: a changed signature silently splits every existing pattern.

The failures of every report under ``tests/data/reports`` (all formats), the labelled
failures of ``bench/pattern_quality.py`` and a generated JUnit file must give the digests
recorded in ``test_signature_stability.json`` (input key -> digest, both shortened),
recorded before the frame scan was optimised. Re-record only when a change of signatures
is intended: ``PYTHONPATH=. .venv/bin/python -m tests.analysis.test_signature_stability``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

from bench.junit_gen import generate
from bench.pattern_quality import load
from hypothesis import given
from hypothesis import strategies as st

from caserun.analysis import signatures as S
from caserun.errors import ParseError
from caserun.ingest import registry
from caserun.ingest.protocol import ReportSource

EXPECTED = Path(__file__).with_name("test_signature_stability.json")
REPORTS = Path(__file__).resolve().parents[1] / "data" / "reports"
#: a parser or the test data may change what is read; most recorded inputs must still be seen
MIN_SEEN = 0.9

Failure = tuple[str | None, str | None, str | None]


def _parsed(source: ReportSource) -> Iterator[Failure]:
    try:
        results = list(registry.detect(source).parse(source))
    except ParseError:
        return
    for result in results:
        for attempt in result.attempts:
            if attempt.failure is not None:
                yield attempt.failure.exception, attempt.failure.message, attempt.failure.trace


def failures(generated: Path) -> Iterator[Failure]:
    for path in sorted(REPORTS.rglob("*")):
        yield from _parsed(ReportSource(path, path.name))
    for row in load():
        yield row["exception"], row["message"], row["trace"]  # type: ignore[misc]
    generate(generated, 3000)
    yield from _parsed(ReportSource(generated, generated.name))


def key(failure: Failure) -> str:
    return hashlib.sha256(json.dumps(failure).encode()).hexdigest()[:16]


def digests(generated: Path) -> dict[str, str]:
    return {key(f): S.compute(*f).digest[:16] for f in failures(generated)}


def test_signatures_are_the_recorded_ones(tmp_path: Path) -> None:
    expected: dict[str, str] = json.loads(EXPECTED.read_text())
    for _ in ("first read", "again, from the memos"):
        S.compute.cache_clear()
        found = digests(tmp_path / "generated.xml")
        common = expected.keys() & found.keys()
        assert len(common) >= MIN_SEEN * len(expected), "the inputs changed: re-record (see the module docstring)"
        assert {k: found[k] for k in common} == {k: expected[k] for k in common}


_LAZY_AT = re.compile(r"^\s*at (?P<rest>.+?)\s*$")


_PIECES = ["at ", "a", "t", "x", "(", ":", "1", " ", "\t", "\xa0", "\u2003", "\x1f", "\r"]


@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_the_at_line_pattern_reads_what_the_lazy_one_did(line: str) -> None:
    lazy, fast = _LAZY_AT.match(line), S._AT.match(line)
    assert (lazy and lazy.group("rest")) == (fast and fast.group("rest"))


def test_memoised_and_fresh_reads_agree() -> None:
    trace = "\n".join(f"\tat com.acme.Cart.total{n % 3}(Cart.java:{n})" for n in range(40))
    first = S.app_frames(trace)
    assert S.app_frames(trace) == first == ["com.acme.Cart.total<n>"]
    long_line = "\tat com.acme." + "x" * S.MEMO_TEXT + ".run(Cart.java:1)"
    assert S.app_frames(long_line) == [f"com.acme.{'x' * S.MEMO_TEXT}.run"]


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        EXPECTED.write_text(json.dumps(digests(Path(folder) / "generated.xml"), indent=0, sort_keys=True) + "\n")
