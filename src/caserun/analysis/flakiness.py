"""Flakiness: a 0–100 score from a test's recent results, with the evidence behind it.

Pure functions over :class:`Run` tuples (oldest first); the definitions are in
``docs/analysis.md``. Three kinds of evidence, strongest first, combined as a noisy-OR
so each one alone can make a test flaky and together they reinforce:

* **passed on retry** within one launch — the test failed and then passed with no code
  change in between. ``w_retry = min(1, 3 × share of runs that passed on retry)``;
* **same commit, both outcomes** — a commit on which the test both passed and failed
  (across launches). ``w_commit = 0.8 × min(1, 2 × share of multi-run commits that conflict)``;
* **flip rate** — how often consecutive pass/fail results differ.
  ``w_flip = 0.6 × min(1, 1.5 × flips / (pass-or-fail runs − 1))``.

``score = 100 × (1 − (1 − w_retry)(1 − w_commit)(1 − w_flip))``.

A test whose last results are an unbroken run of failures that began at one commit and
never passed since is **broken**, not flaky: it is listed separately and scores 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

BROKEN_STREAK = 3
DEFAULT_WINDOW = 30
RECENT_KEEP = 50


@dataclass(frozen=True, slots=True)
class Run:
    """One final result: status, whether it passed on retry, launch, commit, duration."""

    status: str
    passed_on_retry: bool
    launch_id: int
    commit: str | None
    duration_ms: int | None

    @classmethod
    def from_json(cls, item: list[Any]) -> Run:
        status, retry, launch_id, commit, duration = item
        return cls(
            str(status),
            bool(retry),
            int(launch_id),
            commit if isinstance(commit, str) else None,
            duration if isinstance(duration, int) else None,
        )

    def to_json(self) -> list[object]:
        return [self.status, self.passed_on_retry, self.launch_id, self.commit, self.duration_ms]


@dataclass(slots=True)
class Evidence:
    runs: int = 0
    passed_on_retry: int = 0
    conflicting_commits: list[str] = field(default_factory=list)
    flips: int = 0
    flip_rate: float = 0.0
    broken: bool = False
    pattern: str = ""


@dataclass(slots=True)
class Flakiness:
    score: int
    evidence: Evidence


_LETTER = {"passed": "P", "failed": "F", "skipped": "S", "blocked": "B", "running": "R"}


def pattern(runs: list[Run]) -> str:
    """``P`` pass, ``F`` fail, ``r`` passed on retry, ``S`` skip, ``B`` blocked; oldest first."""
    return "".join("r" if r.passed_on_retry else _LETTER.get(r.status, "?") for r in runs)


def is_broken(runs: list[Run]) -> bool:
    """The last BROKEN_STREAK+ results all failed (no retry pass), after the test had passed."""
    decided = [r for r in runs if r.status in ("passed", "failed")]
    streak = 0
    for run in reversed(decided):
        if run.status != "failed":
            break
        streak += 1
    return streak >= BROKEN_STREAK and streak < len(decided) and _streak_is_steady(decided[-streak:])


def _streak_is_steady(streak: list[Run]) -> bool:
    # a failing streak that is itself interrupted by retry passes is flakiness, not breakage
    return not any(r.passed_on_retry for r in streak)


def score(runs: list[Run], window: int = DEFAULT_WINDOW) -> Flakiness:
    recent = runs[-window:]
    decided = [r for r in recent if r.status in ("passed", "failed")]
    evidence = Evidence(runs=len(recent), pattern=pattern(recent))
    if not decided:
        return Flakiness(0, evidence)
    evidence.passed_on_retry = sum(1 for r in decided if r.passed_on_retry)
    by_commit: dict[str, set[str]] = defaultdict(set)
    multi: dict[str, int] = defaultdict(int)
    for run in decided:
        if run.commit:
            by_commit[run.commit].add(run.status)
            multi[run.commit] += 1
    evidence.conflicting_commits = sorted(c for c, outcomes in by_commit.items() if len(outcomes) > 1)
    evidence.flips = sum(1 for a, b in zip(decided, decided[1:], strict=False) if a.status != b.status)
    evidence.flip_rate = round(evidence.flips / (len(decided) - 1), 3) if len(decided) > 1 else 0.0
    evidence.broken = is_broken(recent)
    if evidence.broken:
        return Flakiness(0, evidence)
    w_retry = min(1.0, 3 * evidence.passed_on_retry / len(decided))
    repeated = [c for c, n in multi.items() if n > 1]
    w_commit = 0.8 * min(1.0, 2 * len(evidence.conflicting_commits) / len(repeated)) if repeated else 0.0
    w_flip = 0.6 * min(1.0, 1.5 * evidence.flip_rate)
    combined = 1 - (1 - w_retry) * (1 - w_commit) * (1 - w_flip)
    return Flakiness(round(100 * combined), evidence)


def score_bound(decided: int, failed: int, failed_attempts: int, commits_repeat: bool) -> int:
    """An upper bound of ``score`` from counts alone, for pruning candidates in SQL.

    ``decided`` passed or failed final runs, ``failed`` of them failed, and
    ``failed_attempts`` failed earlier attempts (at least one per pass on retry). Each
    failure makes at most two flips; a pass on retry needs a failed attempt; the commit
    term is at most its weight when some commit ran more than once.
    """
    if decided == 0 or (failed == 0 and failed_attempts == 0):
        return 0
    w_retry = min(1.0, 3 * failed_attempts / decided)
    w_flip = 0.6 * min(1.0, 1.5 * 2 * failed / (decided - 1)) if decided > 1 else 0.0
    w_commit = 0.8 if commits_repeat else 0.0
    return math.ceil(100 * (1 - (1 - w_retry) * (1 - w_commit) * (1 - w_flip)))


FLAKY_VERDICT_SCORE = 30


def verdict(prior_score: int, passed_on_retry: bool, new_pattern: bool | None) -> str:
    """For one failed run: ``likely_flaky`` when the test is known flaky (or this very run
    passed on retry) and the failure is not a pattern never seen before; else ``likely_real``."""
    if passed_on_retry:
        return "likely_flaky"
    if prior_score >= FLAKY_VERDICT_SCORE and not new_pattern:
        return "likely_flaky"
    return "likely_real"
