"""Formatting for pages: links, percentages, sizes and the status bar."""

from __future__ import annotations

from datetime import UTC, datetime

from caserun.domain.rules import Summary
from caserun.web import present
from caserun.web.security import local_path


def test_only_http_links_become_hrefs() -> None:
    assert present.http_link("https://ci.example.com/b/1") == "https://ci.example.com/b/1"
    assert present.http_link(" http://ci/x ") == "http://ci/x"
    for bad in (None, "", "javascript:alert(1)", "data:text/html,x", "ftp://x/y", "https:///nohost", "/relative"):
        assert present.http_link(bad) is None


def test_local_paths_only() -> None:
    assert local_path("/launches/1?status=failed") == "/launches/1?status=failed"
    for bad in (None, "", "launches", "//evil", "/\\evil", "https://evil/", "/x\r\nSet-Cookie: a=b"):
        assert local_path(bad) == "/"


def test_formats() -> None:
    assert present.percent(None) == "–" and present.percent(66.66) == "66.7%"
    assert present.share(1, 3) == "33.3%" and present.share(0, 0) == "–"
    assert present.size(608) == "608 B" and present.size(2048) == "2.0 KB" and present.size(5 * 1024**3) == "5.0 GB"
    assert present.when(datetime(2024, 5, 1, 12, 30, tzinfo=UTC)) == "2024-05-01 12:30:00 UTC"
    assert present.when(datetime(2024, 5, 1, 12, 30)) == "2024-05-01 12:30:00 UTC"
    assert present.duration(754_000) == "12m 34s"
    assert present.metadata_value({"b": 1, "a": [1]}) == '{"a": [1], "b": 1}'
    link = present.link("/p", status="failed", q=None, failed_first=True, cursor="")
    assert link == "/p?status=failed&failed_first=1"
    classes = [present.rate_class(v) for v in (None, 99.0, 85.0, 10.0)]
    assert classes == ["rate-none", "rate-good", "rate-fair", "rate-poor"]


def test_status_bar_is_worst_first_and_fills_the_width() -> None:
    bar = present.status_bar(Summary(total=4, passed=2, failed=1, skipped=1))
    segments = [(s.status, s.x, s.width) for s in bar]
    assert segments == [("failed", 0.0, 25.0), ("skipped", 25.0, 25.0), ("passed", 50.0, 50.0)]
    assert present.status_bar(Summary()) == []
