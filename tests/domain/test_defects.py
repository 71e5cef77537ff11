"""The defect lifecycle: every move in the table, every move outside it refused."""

from __future__ import annotations

import itertools

import pytest

from caserun.domain.defects import (
    TRANSITIONS,
    DefectStatus,
    Severity,
    allowed_moves,
    check_defect_transition,
    check_external_url,
    parse_defect_status,
    parse_severity,
)
from caserun.errors import Conflict, InvalidInput

S = DefectStatus
ALLOWED = {
    (S.OPEN, S.IN_PROGRESS),
    (S.OPEN, S.RESOLVED),
    (S.OPEN, S.CLOSED),
    (S.IN_PROGRESS, S.OPEN),
    (S.IN_PROGRESS, S.RESOLVED),
    (S.IN_PROGRESS, S.CLOSED),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.REOPENED),
    (S.CLOSED, S.REOPENED),
    (S.REOPENED, S.IN_PROGRESS),
    (S.REOPENED, S.RESOLVED),
    (S.REOPENED, S.CLOSED),
}


@pytest.mark.parametrize(("current", "new"), list(itertools.product(DefectStatus, DefectStatus)))
def test_every_pair_of_statuses_is_allowed_exactly_when_the_table_says(current: S, new: S) -> None:
    if (current, new) in ALLOWED:
        check_defect_transition(current, new)
    else:
        with pytest.raises(Conflict, match=f"cannot become {new.value}"):
            check_defect_transition(current, new)


def test_the_table_covers_every_status_and_never_allows_standing_still() -> None:
    assert set(TRANSITIONS) == set(DefectStatus)
    assert all(status not in moves for status, moves in TRANSITIONS.items())


def test_the_main_path_and_reopening() -> None:
    path = [S.OPEN, S.IN_PROGRESS, S.RESOLVED, S.CLOSED, S.REOPENED, S.IN_PROGRESS, S.RESOLVED]
    for current, new in itertools.pairwise(path):
        check_defect_transition(current, new)
    with pytest.raises(Conflict, match="it may become reopened"):
        check_defect_transition(S.CLOSED, S.OPEN)


def test_allowed_moves_are_listed_in_lifecycle_order() -> None:
    assert allowed_moves(S.OPEN) == [S.IN_PROGRESS, S.RESOLVED, S.CLOSED]
    assert allowed_moves(S.CLOSED) == [S.REOPENED]


def test_active_statuses() -> None:
    assert [s for s in DefectStatus if s.active] == [S.OPEN, S.IN_PROGRESS, S.REOPENED]


def test_parsing_names_the_choices() -> None:
    assert parse_severity("high") is Severity.HIGH
    assert parse_defect_status("in_progress") is S.IN_PROGRESS
    with pytest.raises(InvalidInput, match="critical, high, medium, low"):
        parse_severity("urgent")
    with pytest.raises(InvalidInput, match="unknown defect status"):
        parse_defect_status("done")


@pytest.mark.parametrize("url", ["https://jira.example.com/browse/WEB-1", "http://tracker/1", " https://x.y/z "])
def test_external_links_are_http_or_https(url: str) -> None:
    assert check_external_url(url) == url.strip()


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://x/y", "file:///etc/passwd", "jira/WEB-1", "https://", "data:text/html,x"]
)
def test_other_links_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="http"):
        check_external_url(url)
