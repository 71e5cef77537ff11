"""``score_bound`` is what lets a filtered flaky list skip tests: it must never be below
the score the full history would give."""

from __future__ import annotations

import random

from caserun.analysis.flakiness import Run, score, score_bound


def _history(rng: random.Random, repeat_commits: bool) -> list[Run]:
    runs = []
    for index in range(rng.randint(1, 30)):
        status = rng.choice(["passed", "passed", "passed", "failed", "skipped"])
        retried = status == "passed" and rng.random() < 0.2
        commit = f"c{rng.randint(0, 5) if repeat_commits else index}"
        runs.append(Run(status, retried, index, commit, 10))
    return runs


def test_the_bound_is_never_below_the_score() -> None:
    rng = random.Random(7)
    reached = 0
    for case in range(5000):
        repeat = case % 2 == 0
        runs = _history(rng, repeat)
        decided = [r for r in runs if r.status in ("passed", "failed")]
        failed = sum(1 for r in decided if r.status == "failed")
        # every pass on retry had at least one failed attempt before it; sometimes more
        attempts = sum(1 + (rng.random() < 0.3) for r in decided if r.passed_on_retry)
        actual = score(runs).score
        bound = score_bound(len(decided), failed, attempts, commits_repeat=repeat)
        assert bound >= actual, (runs, bound, actual)
        reached += actual >= 20
    assert reached > 100  # the property was tested on flaky histories, not only clean ones


def test_one_stray_failure_cannot_reach_the_default_threshold() -> None:
    assert score_bound(30, 1, 0, commits_repeat=False) < 20
    assert score_bound(30, 0, 0, commits_repeat=False) == 0
