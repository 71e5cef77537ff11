"""Text from reports, shaped for reading: ANSI colours, highlighted stack traces, log pages.

Everything here returns plain (text, css class) pieces; the templates print the text with
autoescape on, so no report text ever becomes markup. Only the class names come from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LOG_PAGE_LINES = 400

_SGR = re.compile(r"\x1b\[([0-9;]*)m")
#: other escape sequences (cursor moves, erase line…) are dropped
_OTHER_ESCAPES = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-ln-z]|\][^\x07]*\x07|[()][A-Z0-9])")
_COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")


@dataclass(frozen=True, slots=True)
class Piece:
    text: str
    css: str


def _apply(codes: str, fg: str | None, bold: bool) -> tuple[str | None, bool]:
    for raw in (codes or "0").split(";"):
        code = int(raw) if raw.isdigit() else 0
        if code == 0:
            fg, bold = None, False
        elif code == 1:
            bold = True
        elif code == 22:
            bold = False
        elif 30 <= code <= 37:
            fg = _COLOURS[code - 30]
        elif 90 <= code <= 97:
            fg = "bright-" + _COLOURS[code - 90]
        elif code == 39:
            fg = None
    return fg, bold


def ansi(text: str) -> list[Piece]:
    """Split text on SGR colour codes into pieces with classes like ``ansi-red ansi-bold``."""
    text = _OTHER_ESCAPES.sub("", text)
    pieces: list[Piece] = []
    fg: str | None = None
    bold = False
    pos = 0
    for match in _SGR.finditer(text):
        if match.start() > pos:
            pieces.append(Piece(text[pos : match.start()], _css(fg, bold)))
        fg, bold = _apply(match.group(1), fg, bold)
        pos = match.end()
    if pos < len(text):
        pieces.append(Piece(text[pos:], _css(fg, bold)))
    return [Piece(p.text.replace("\x1b", ""), p.css) for p in pieces]


def _css(fg: str | None, bold: bool) -> str:
    parts = [f"ansi-{fg}"] if fg else []
    if bold:
        parts.append("ansi-bold")
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class LogPage:
    stream: str
    pieces: list[Piece]
    first_line: int
    last_line: int
    total_lines: int
    page: int
    pages: int


def log_page(stream: str, content: str, page: int) -> LogPage:
    """One page of ``LOG_PAGE_LINES`` lines of a log (pages count from 1; out of range → last)."""
    lines = content.splitlines(keepends=True) or [""]
    pages = max(1, -(-len(lines) // LOG_PAGE_LINES))
    page = min(max(page, 1), pages)
    start = (page - 1) * LOG_PAGE_LINES
    chunk = lines[start : start + LOG_PAGE_LINES]
    return LogPage(
        stream=stream,
        pieces=ansi("".join(chunk)),
        first_line=start + 1,
        last_line=start + len(chunk),
        total_lines=len(lines),
        page=page,
        pages=pages,
    )


_FRAME = re.compile(
    r"""^\s*(File\ ".*",\ line\ \d+|at\ [\w$.<>]+\(|[\w./\\-]+\.\w+:\d+(:\d+)?(:\ in\ |\s|$)|[\w/.-]+\.go:\d+)""",
    re.VERBOSE,
)
_ERROR = re.compile(r"^(E\s|\w+(\.\w+)*(Error|Exception|Failure)\b|AssertionError|panic:)")


def trace_lines(trace: str) -> list[Piece]:
    """Lines of a stack trace classed ``frame`` (a location), ``err`` (the error) or plain."""
    out = []
    for line in trace.splitlines():
        clean = _OTHER_ESCAPES.sub("", _SGR.sub("", line))
        stripped = clean.strip()
        css = "err" if _ERROR.match(stripped) else "frame" if _FRAME.match(clean) else ""
        out.append(Piece(clean, css))
    return out
