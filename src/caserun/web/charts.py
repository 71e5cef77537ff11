"""Server-side SVG charts: geometry only, drawn by the templates.

Each function turns plain numbers from a service into shapes with coordinates in a fixed
``viewBox`` plus the link and label of every mark, so a chart needs no script, works with
the keyboard (every mark is a link) and escapes its labels like any other text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from caserun.domain.rules import format_duration

CELL = 14
GAP = 3
HEIGHT = 26


@dataclass(frozen=True, slots=True)
class Cell:
    x: int
    status: str
    href: str
    label: str


@dataclass(frozen=True, slots=True)
class Timeline:
    width: int
    height: int
    cells: list[Cell]


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def timeline(runs: Sequence[tuple[int, str, datetime, str]]) -> Timeline:
    """One square per run, oldest left: ``runs`` are (case run id, status, started, launch name)."""
    cells = [
        Cell(
            x=i * (CELL + GAP),
            status=status,
            href=f"/case-runs/{run_id}",
            label=f"{status} · {launch} · {_stamp(started)}",
        )
        for i, (run_id, status, started, launch) in enumerate(runs)
    ]
    return Timeline(width=max(len(cells) * (CELL + GAP) - GAP, 1), height=HEIGHT, cells=cells)


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    css: str
    href: str
    label: str


@dataclass(frozen=True, slots=True)
class LineChart:
    width: int
    height: int
    line: str
    points: list[Point]
    top_label: str
    bottom_label: str
    #: y of a reference line (e.g. a median), or None
    guide_y: float | None = None


W, H, PAD = 640, 150, 12


def _scale(values: Sequence[float], low: float, high: float) -> list[tuple[float, float]]:
    n = len(values)
    span = (high - low) or 1.0
    step = (W - 2 * PAD) / (n - 1) if n > 1 else 0.0
    return [
        (round(PAD + i * step if n > 1 else W / 2, 1), round(PAD + (high - v) / span * (H - 2 * PAD), 1))
        for i, v in enumerate(values)
    ]


def durations(runs: Sequence[tuple[int, str, int | None, str]], median_ms: int | None = None) -> LineChart | None:
    """Duration of each run, oldest left: ``runs`` are (case run id, status, duration ms, label)."""
    known = [(rid, status, ms, label) for rid, status, ms, label in runs if ms is not None]
    if len(known) < 2:
        return None
    values = [float(ms) for _, _, ms, _ in known]
    high = max(values) * 1.05 or 1.0
    coords = _scale(values, 0.0, high)
    points = [
        Point(x, y, status, f"/case-runs/{rid}", f"{format_duration(ms)} · {status} · {label}")
        for (x, y), (rid, status, ms, label) in zip(coords, known, strict=True)
    ]
    guide = None
    if median_ms:
        guide = round(PAD + (high - median_ms) / high * (H - 2 * PAD), 1)
    return LineChart(
        width=W,
        height=H,
        line=" ".join(f"{p.x},{p.y}" for p in points),
        points=points,
        top_label=format_duration(int(high)),
        bottom_label="0s",
        guide_y=guide,
    )


def pass_rates(launches: Sequence[tuple[int, float | None, str]]) -> LineChart | None:
    """Pass rate per launch, oldest left: (launch id, pass rate or None, label); every point opens its launch."""
    known = [(lid, rate, label) for lid, rate, label in launches if rate is not None]
    if len(known) < 2:
        return None
    coords = _scale([float(rate) for _, rate, _ in known], 0.0, 100.0)
    points = [
        Point(x, y, _rate_css(rate), f"/launches/{lid}", f"{label}: {rate:.1f}%")
        for (x, y), (lid, rate, label) in zip(coords, known, strict=True)
    ]
    return LineChart(
        width=W,
        height=H,
        line=" ".join(f"{p.x},{p.y}" for p in points),
        points=points,
        top_label="100%",
        bottom_label="0%",
    )


def _rate_css(rate: float) -> str:
    if rate >= 95:
        return "passed"
    if rate >= 80:
        return "blocked"
    return "failed"


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    height: float
    label: str


def daily_bars(days: Sequence[tuple[str, int]], width: int = 150, height: int = 28) -> list[Bar]:
    """A sparkline of daily counts (oldest left) in a ``width`` × ``height`` box."""
    if not days:
        return []
    top = max(count for _, count in days) or 1
    step = width / len(days)
    return [
        Bar(round(i * step, 2), round(count / top * height, 2), f"{day}: {count}")
        for i, (day, count) in enumerate(days)
    ]


@dataclass(frozen=True, slots=True)
class Sparkline:
    width: int
    height: int
    #: polyline points, oldest left
    line: str
    #: the newest point, drawn as a dot
    last_x: float
    last_y: float
    last_css: str
    #: what a screen reader says, and the tooltip
    label: str


def rate_sparkline(
    launches: Sequence[tuple[int, float | None, str]], width: int = 120, height: int = 28
) -> Sparkline | None:
    """A small pass-rate line (0–100 %, oldest left) of a project's last launches:
    (launch id, pass rate or None, name); launches without a pass rate are left out."""
    rates = [float(rate) for _, rate, _ in launches if rate is not None]
    if len(rates) < 2:
        return None
    pad = 3.0
    step = (width - 2 * pad) / (len(rates) - 1)
    coords = [
        (round(pad + i * step, 1), round(pad + (100.0 - r) / 100.0 * (height - 2 * pad), 1))
        for i, r in enumerate(rates)
    ]
    lowest = min(rates)
    label = (
        f"Pass rate of the last {len(rates)} launches: from {rates[0]:.1f}% to {rates[-1]:.1f}%, lowest {lowest:.1f}%"
    )
    return Sparkline(
        width=width,
        height=height,
        line=" ".join(f"{x},{y}" for x, y in coords),
        last_x=coords[-1][0],
        last_y=coords[-1][1],
        last_css=_rate_css(rates[-1]),
        label=label,
    )
