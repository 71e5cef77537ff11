"""Execution-time trends: a slowdown is a lasting shift, not one noisy run.

From a test's recent durations (passed runs only, oldest first), the change point is the
split that maximises the ratio of the medians after and before it, with at least
``MIN_SIDE`` runs on each side. It is a slowdown when that ratio is at least
``MIN_RATIO`` and the medians differ by at least ``MIN_DELTA_MS``; medians make one
outlier irrelevant, and requiring several runs after the split means a single slow run
never reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

MIN_SIDE = 5
MIN_RATIO = 1.5
MIN_DELTA_MS = 100


@dataclass(frozen=True, slots=True)
class Slowdown:
    baseline_ms: float
    recent_ms: float
    ratio: float
    #: index into the durations where the slower behaviour begins
    start: int


def detect(durations: list[int]) -> Slowdown | None:
    best: Slowdown | None = None
    for split in range(MIN_SIDE, len(durations) - MIN_SIDE + 1):
        before, after = median(durations[:split]), median(durations[split:])
        if before <= 0:
            continue
        ratio = after / before
        if ratio >= MIN_RATIO and after - before >= MIN_DELTA_MS and (best is None or ratio > best.ratio):
            best = Slowdown(baseline_ms=before, recent_ms=after, ratio=round(ratio, 2), start=split)
    if best is None:
        return None
    # the change point is the earliest run from which the slower level holds
    start = best.start
    while start > MIN_SIDE and durations[start - 1] >= best.baseline_ms * MIN_RATIO:
        start -= 1
    return Slowdown(best.baseline_ms, best.recent_ms, best.ratio, start)


def percentile(values: list[int], fraction: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
