"""One registry of report formats, filled from the ``caserun.formats`` entry points.

Built-in formats register through the same entry points as a third-party package would,
so the plugin seam is exercised by every import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points

from caserun.errors import ConfigError, ParseError
from caserun.ingest.protocol import ReportParser, ReportSource

log = logging.getLogger("caserun.ingest")

GROUP = "caserun.formats"
#: below this, a sniff is not taken as a match
MIN_CONFIDENCE = 0.5
#: two candidates closer than this are ambiguous
AMBIGUITY_MARGIN = 0.1


@dataclass(frozen=True, slots=True)
class FormatInfo:
    name: str
    title: str
    module: str


@cache
def parsers() -> dict[str, ReportParser]:
    """Every registered parser by name, loaded once."""
    found: dict[str, ReportParser] = {}
    for entry in entry_points(group=GROUP):
        try:
            parser = entry.load()
        except Exception as exc:  # a broken plugin must not take every other format down with it
            log.warning("report format %r (%s) could not be loaded, skipped: %s", entry.name, entry.value, exc)
            continue
        if not isinstance(parser, ReportParser):
            raise ConfigError(f"entry point {entry.name!r} in {GROUP} is not a report parser")
        found[parser.name] = parser
    return dict(sorted(found.items()))


def load(name: str) -> ReportParser:
    """The parser of this name, loading only its own entry point when that is named after
    it (as caserun's are), not every format's: for a process that parses one format."""
    for entry in entry_points(group=GROUP, name=name):
        parser = entry.load()
        if isinstance(parser, ReportParser) and parser.name == name:
            return parser
    return get(name)


def describe() -> list[FormatInfo]:
    return [FormatInfo(name=p.name, title=p.title, module=type(p).__module__) for p in parsers().values()]


def get(name: str) -> ReportParser:
    try:
        return parsers()[name]
    except KeyError:
        known = ", ".join(parsers())
        raise ParseError(f"unknown format {name!r}; known formats: {known}") from None


def detect(source: ReportSource) -> ReportParser:
    """The parser whose sniff is most confident about this source's content."""
    head = source.head()
    if not source.path.is_dir():
        if not head.strip():
            raise ParseError("file is empty", file=source.display_name)
        if b"\x00" in head[:1024] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ParseError("binary file, not a test report", file=source.display_name)
    scored = sorted(
        ((parser.sniff(head, source), parser) for parser in parsers().values()),
        key=lambda pair: pair[0],
        reverse=True,
    )
    candidates = [(score, p) for score, p in scored if score >= MIN_CONFIDENCE]
    if not candidates:
        raise ParseError(
            "not a report in any known format (see `caserun formats`)",
            file=source.display_name,
        )
    if len(candidates) > 1 and candidates[0][0] - candidates[1][0] < AMBIGUITY_MARGIN:
        names = ", ".join(p.name for score, p in candidates if candidates[0][0] - score < AMBIGUITY_MARGIN)
        raise ParseError(
            f"ambiguous report format, candidates: {names}; choose one with --format",
            file=source.display_name,
        )
    return candidates[0][1]
