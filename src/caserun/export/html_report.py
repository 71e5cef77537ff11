"""A launch as one self-contained HTML file: summary, an inline SVG chart, the comparison
with its baseline, failures with their traces, and screenshots as ``data:`` URIs.

The file loads nothing: styles are inline, images are embedded, there is no script, and
its Content-Security-Policy (``default-src 'none'``) forbids any request should a report
string ever get through. Every string from a report is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from caserun import __version__
from caserun.domain.rules import format_duration
from caserun.export.model import Digest

TEMPLATES = Path(__file__).parent / "templates"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["duration"] = format_duration
_env.filters["rate"] = lambda v: "–" if v is None else f"{v:g}%"
_env.filters["stamp"] = lambda v: v.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if v else "–"

STATUSES = ("passed", "failed", "skipped", "blocked", "running")
COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "skipped": "#757575", "blocked": "#ef6c00", "running": "#1565c0"}
BAR_W, BAR_H, BAR_TOP = 420, 160, 20


@dataclass(frozen=True, slots=True)
class Bar:
    status: str
    count: int
    x: int
    y: int
    height: int
    colour: str


def status_bars(counts: dict[str, int]) -> list[Bar]:
    """One bar per status, heights scaled to the largest count."""
    top = max(counts.values(), default=0) or 1
    width = BAR_W // len(STATUSES)
    bars = []
    for i, status in enumerate(STATUSES):
        n = counts.get(status, 0)
        height = round((BAR_H - BAR_TOP) * n / top)
        bars.append(Bar(status, n, i * width + 10, BAR_H - height, height, COLOURS[status]))
    return bars


def trend_points(trend: list[tuple[str, float | None]]) -> str:
    """Polyline points for pass rates 0–100 over a 420×100 box (launches without one skipped)."""
    known = [(i, rate) for i, (_, rate) in enumerate(trend) if rate is not None]
    if len(trend) < 2 or not known:
        return ""
    step = BAR_W / (len(trend) - 1)
    return " ".join(f"{i * step:.1f},{100 - rate:.1f}" for i, rate in known)


def render_report(digest: Digest) -> str:
    s = digest.launch.summary
    counts = {status: getattr(s, status) for status in STATUSES}
    return _env.get_template("report.html").render(
        d=digest,
        launch=digest.launch,
        s=s,
        bars=status_bars(counts),
        chart_w=BAR_W,
        chart_h=BAR_H,
        trend=trend_points(digest.trend),
        generated=datetime.now(UTC),
        version=__version__,
    )
