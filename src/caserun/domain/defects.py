"""Defects as data: severities, statuses and the lifecycle a defect may move through.

::

    open ──► in_progress ──► resolved ──► closed
     │  ◄──────┘  │             │  ▲        │
     │            │             ▼  │        │
     ├────────────┴──────► reopened ◄───────┘
     └──► resolved / closed (fixed or dropped without being worked on)

``reopened`` behaves like ``open`` (work starts again) but remembers that a fix did not
hold. A move to the status the defect already has is refused, so a retried request
cannot silently succeed twice; every refused move is a :class:`~caserun.errors.Conflict`.
"""

from __future__ import annotations

import enum
from urllib.parse import urlsplit

from caserun.errors import Conflict, InvalidInput


class Severity(enum.StrEnum):
    """How bad a defect is, worst first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class DefectStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"

    @property
    def active(self) -> bool:
        """Still being worked on (a matching failure is expected, not news)."""
        return self in (DefectStatus.OPEN, DefectStatus.IN_PROGRESS, DefectStatus.REOPENED)


#: current status → the statuses it may move to
TRANSITIONS: dict[DefectStatus, frozenset[DefectStatus]] = {
    DefectStatus.OPEN: frozenset({DefectStatus.IN_PROGRESS, DefectStatus.RESOLVED, DefectStatus.CLOSED}),
    DefectStatus.IN_PROGRESS: frozenset({DefectStatus.OPEN, DefectStatus.RESOLVED, DefectStatus.CLOSED}),
    DefectStatus.RESOLVED: frozenset({DefectStatus.CLOSED, DefectStatus.REOPENED}),
    DefectStatus.CLOSED: frozenset({DefectStatus.REOPENED}),
    DefectStatus.REOPENED: frozenset({DefectStatus.IN_PROGRESS, DefectStatus.RESOLVED, DefectStatus.CLOSED}),
}


def allowed_moves(current: DefectStatus) -> list[DefectStatus]:
    """The statuses ``current`` may move to, in lifecycle order."""
    return [s for s in DefectStatus if s in TRANSITIONS[current]]


def check_defect_transition(current: DefectStatus, new: DefectStatus) -> None:
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(s.value for s in allowed_moves(current))
        raise Conflict(f"a defect that is {current.value} cannot become {new.value}; it may become {allowed}")


def parse_severity(value: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise InvalidInput(f"unknown severity {value!r}; use one of {', '.join(s.value for s in Severity)}") from None


def parse_defect_status(value: str) -> DefectStatus:
    try:
        return DefectStatus(value)
    except ValueError:
        known = ", ".join(s.value for s in DefectStatus)
        raise InvalidInput(f"unknown defect status {value!r}; use one of {known}") from None


def check_external_url(url: str) -> str:
    """An issue tracker link: absolute http(s) only (no ``javascript:``, ``file:``, …)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"external link {url!r} must be an absolute http:// or https:// URL")
    return url.strip()
