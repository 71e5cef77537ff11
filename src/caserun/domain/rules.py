"""Rules of the domain: pass rate, progress, durations, summaries and transitions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from caserun.domain.model import Attempt, LaunchStatus, Status
from caserun.errors import Conflict


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts of a launch's tests (final attempts, not every attempt)."""

    total: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    blocked: int = 0
    running: int = 0
    duration_ms: int = 0

    @property
    def pass_rate(self) -> float | None:
        return pass_rate(self.passed, self.failed)

    @property
    def progress(self) -> float:
        return progress(self.total, self.running)

    def as_dict(self) -> dict[str, int | float | None]:
        return {
            "total": self.total,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "blocked": self.blocked,
            "running": self.running,
            "pass_rate": self.pass_rate,
            "duration_ms": self.duration_ms,
        }

    @classmethod
    def from_counts(cls, counts: dict[str, int], duration_ms: int = 0) -> Summary:
        values = {s.value: int(counts.get(s.value, 0)) for s in Status}
        return cls(total=sum(values.values()), duration_ms=duration_ms, **values)


def pass_rate(passed: int, failed: int) -> float | None:
    """passed / (passed + failed) × 100, one decimal; skipped and blocked do not count."""
    denominator = passed + failed
    if denominator == 0:
        return None
    return round(passed * 100.0 / denominator, 1)


def progress(total: int, running: int) -> float:
    """Share of tests that have finished, 0–100."""
    if total == 0:
        return 100.0
    return round((total - running) * 100.0 / total, 1)


def format_duration(ms: int | None) -> str:
    """``45s``, ``12m 34s``, ``2h 15m``, ``1d 4h``; under a second shows milliseconds."""
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms // 1000
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def final_status(attempts: Iterable[Attempt]) -> Status:
    last = None
    for last in attempts:  # noqa: B007 - the last attempt decides
        pass
    if last is None:
        raise ValueError("a test has at least one attempt")
    return last.status


def passed_on_retry(statuses: list[Status]) -> bool:
    """Failed at least once, then passed in the last attempt, within one launch."""
    return len(statuses) > 1 and statuses[-1] is Status.PASSED and Status.FAILED in statuses[:-1]


_LAUNCH_MOVES = {
    LaunchStatus.RUNNING: {LaunchStatus.COMPLETED, LaunchStatus.FAILED, LaunchStatus.STOPPED},
}


def check_launch_transition(current: LaunchStatus, new: LaunchStatus) -> None:
    if new not in _LAUNCH_MOVES.get(current, set()):
        raise Conflict(f"a launch that is {current.value} cannot become {new.value}")


def check_case_run_transition(current: Status, new: Status) -> None:
    """A running case run may finish once; a finished one is not silently overwritten."""
    if current is not Status.RUNNING:
        raise Conflict(f"case run already finished as {current.value}")
    if new is Status.RUNNING:
        raise Conflict("case run is already running")
