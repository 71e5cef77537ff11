import pytest

from caserun.domain.model import LaunchStatus, Role, Status
from caserun.domain.rules import (
    Summary,
    check_case_run_transition,
    check_launch_transition,
    format_duration,
    pass_rate,
    passed_on_retry,
    progress,
)
from caserun.errors import Conflict


@pytest.mark.parametrize(
    ("ms", "text"),
    [(45_000, "45s"), (754_000, "12m 34s"), (8_100_000, "2h 15m"), (100_800_000, "1d 4h"), (250, "250ms"), (None, "–")],
)
def test_durations_display_like_the_spec(ms: int | None, text: str) -> None:
    assert format_duration(ms) == text


def test_pass_rate_excludes_skipped_and_blocked() -> None:
    summary = Summary.from_counts({"passed": 3, "failed": 1, "skipped": 5, "blocked": 2})
    assert summary.total == 11
    assert summary.pass_rate == 75.0
    assert pass_rate(0, 0) is None


def test_progress_counts_everything_not_running() -> None:
    assert progress(10, 4) == 60.0
    assert progress(0, 0) == 100.0


def test_passed_on_retry_needs_a_failure_then_a_final_pass() -> None:
    assert passed_on_retry([Status.FAILED, Status.PASSED])
    assert not passed_on_retry([Status.PASSED])
    assert not passed_on_retry([Status.PASSED, Status.FAILED])
    assert not passed_on_retry([Status.SKIPPED, Status.PASSED])


def test_launch_transitions() -> None:
    check_launch_transition(LaunchStatus.RUNNING, LaunchStatus.COMPLETED)
    with pytest.raises(Conflict):
        check_launch_transition(LaunchStatus.COMPLETED, LaunchStatus.RUNNING)
    with pytest.raises(Conflict):
        check_launch_transition(LaunchStatus.STOPPED, LaunchStatus.COMPLETED)


def test_case_run_finishes_once() -> None:
    check_case_run_transition(Status.RUNNING, Status.PASSED)
    with pytest.raises(Conflict):
        check_case_run_transition(Status.PASSED, Status.FAILED)
    with pytest.raises(Conflict):
        check_case_run_transition(Status.RUNNING, Status.RUNNING)


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.allows(Role.VIEWER)
    assert Role.MAINTAINER.allows(Role.REPORTER)
    assert not Role.REPORTER.allows(Role.MAINTAINER)
    assert [s.rank for s in (Status.FAILED, Status.PASSED)] == [0, 4]
