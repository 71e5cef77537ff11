"""Presentation only: turn service dataclasses into what a template prints.

Numbers come from the services and ``domain.rules``; this module formats them (durations,
times, percentages), picks badge colours and builds links. Templates stay free of logic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from caserun.domain.rules import Summary, format_duration

#: image types the attachment route serves inline (it downloads everything else)
INLINE_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")

CASE_STATUSES = ("failed", "blocked", "running", "skipped", "passed")
LAUNCH_STATUSES = ("running", "completed", "failed", "stopped")
LAUNCH_SOURCES = ("cli", "api", "pytest", "manual", "demo")

LAUNCH_SORTS = (
    ("-created_at", "Newest first"),
    ("created_at", "Oldest first"),
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("-duration_ms", "Slowest first"),
    ("duration_ms", "Fastest first"),
    ("pass_rate", "Lowest pass rate"),
    ("-pass_rate", "Highest pass rate"),
)

CASE_RUN_SORTS = (
    ("started", "Run order"),
    ("status", "Status (worst first)"),
    ("-duration", "Slowest first"),
    ("duration", "Fastest first"),
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
)


def duration(ms: int | None) -> str:
    return format_duration(ms)


def when(value: datetime | None) -> str:
    """A timestamp in UTC, to the second."""
    if value is None:
        return "–"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def share(part: int, total: int) -> str:
    return "–" if total == 0 else f"{part * 100.0 / total:.1f}%"


def rate_class(value: float | None) -> str:
    """Colour of a pass rate: good, fair or poor."""
    if value is None:
        return "rate-none"
    if value >= 95:
        return "rate-good"
    if value >= 80:
        return "rate-fair"
    return "rate-poor"


def size(num_bytes: int) -> str:
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{num_bytes} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{num_bytes} B"  # pragma: no cover - the loop always returns


def http_link(url: str | None) -> str | None:
    """A URL safe to put in ``href``: only http(s) with a host, never ``javascript:``."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return None


def is_inline_image(content_type: str) -> bool:
    return content_type.lower().startswith(INLINE_IMAGES)


def link(path: str, **params: str | int | bool | None) -> str:
    """``path`` with the non-empty ``params`` as a query string."""
    query = urlencode(
        {k: ("1" if v is True else v) for k, v in params.items() if v not in (None, "", False)},
    )
    return f"{path}?{query}" if query else path


def metadata_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class StatCard:
    label: str
    value: int
    share: str
    css: str


def stat_cards(summary: Summary) -> list[StatCard]:
    counts = [
        ("Passed", summary.passed, "passed"),
        ("Failed", summary.failed, "failed"),
        ("Skipped", summary.skipped, "skipped"),
        ("Blocked", summary.blocked, "blocked"),
    ]
    if summary.running:
        counts.append(("Running", summary.running, "running"))
    return [StatCard(label, n, share(n, summary.total), css) for label, n, css in counts]


@dataclass(frozen=True, slots=True)
class BarSegment:
    status: str
    x: float
    width: float
    count: int


def status_bar(summary: Summary) -> list[BarSegment]:
    """Segments of a stacked bar (percent of the width), worst status first."""
    if summary.total == 0:
        return []
    segments = []
    x = 0.0
    for status in CASE_STATUSES:
        count = int(getattr(summary, status))
        if count:
            width = count * 100.0 / summary.total
            segments.append(BarSegment(status, round(x, 3), round(width, 3), count))
            x += width
    return segments


PATTERN_SORTS = (
    ("-last_seen", "Seen most recently"),
    ("last_seen", "Seen least recently"),
    ("-count", "Most failures"),
    ("count", "Fewest failures"),
)

DEFECT_STATUSES = ("open", "in_progress", "resolved", "closed", "reopened")
SEVERITIES = ("critical", "high", "medium", "low")
SETTABLE_STATUSES = ("passed", "failed", "skipped", "blocked")

#: what a finished action says on the page it returns to (``?done=<code>``); fixed texts only
NOTICES = {
    "quarantined": "The test is quarantined: its failures are shown but no longer count against pass rates.",
    "released": "The quarantine is lifted.",
    "merged": "The histories are merged: this test now holds both.",
    "defect-created": "The defect is created.",
    "defect-saved": "The defect is saved.",
    "defect-moved": "The defect moved.",
    "linked": "Linked.",
    "unlinked": "Unlinked.",
    "status-changed": "The status of the selected case runs changed; each change is recorded with your comment.",
    "retry-created": "A retry launch holds the failed tests.",
    "pattern-linked": "The pattern's defect is saved.",
    "archived": "The launch is archived: it left the launch list and is no longer used as a baseline.",
    "unarchived": "The launch is back in the launch list.",
    "launch-deleted": "The launch and its case runs are deleted; the tests' statistics were rebuilt without it.",
    "retry-selected": "A retry launch holds the selected tests.",
}


def notice(code: str | None) -> str | None:
    return NOTICES.get(code) if code else None


def label(value: str) -> str:
    """``in_progress`` → ``in progress``."""
    return value.replace("_", " ")


VERDICTS = {
    "flaky": "likely a flaky failure",
    "likely_flaky": "likely a flaky failure",
    "real": "likely a real failure",
    "likely_real": "likely a real failure",
}


def verdict(value: str | None) -> str | None:
    if not value:
        return None
    return VERDICTS.get(value, value.replace("_", " "))


@dataclass(frozen=True, slots=True)
class RateChange:
    text: str
    css: str


def rate_change(now: Summary, before: Summary | None) -> RateChange | None:
    """The pass rate against the baseline launch, in percentage points."""
    if before is None or now.pass_rate is None or before.pass_rate is None:
        return None
    delta = now.pass_rate - before.pass_rate
    if abs(delta) < 0.05:
        return RateChange("same as the previous launch", "rate-none")
    arrow = "▲" if delta > 0 else "▼"
    return RateChange(f"{arrow} {abs(delta):.1f} pts vs the previous launch", "rate-good" if delta > 0 else "rate-poor")


#: circumference of the progress ring (r = 16 in a 36 × 36 box)
RING = 100.53


@dataclass(frozen=True, slots=True)
class Ring:
    percent: float
    dash: float
    gap: float


def progress_ring(summary: Summary) -> Ring:
    done = summary.progress
    dash = round(RING * done / 100.0, 2)
    return Ring(percent=round(done, 1), dash=dash, gap=round(RING - dash, 2))
