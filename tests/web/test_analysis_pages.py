"""The pages that explain history, on the demo project's planted tests: a test's history,
flaky, broken and slow tests, failure patterns; and the test page's quarantine and merge."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from caserun.domain.model import Role
from caserun.service import demo as demo_data
from caserun.store.engine import Database
from caserun.web import analysis_pages
from tests.web.conftest import find_test_id, sign_in

FLAKY = "tests.web.test_checkout.TestCheckout.test_pay_with_paypal"
BROKEN = demo_data.BROKEN
SLOW = demo_data.SLOW


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


def test_test_page_shows_history_charts_statistics_and_evidence(demo: TestClient) -> None:
    test_id = find_test_id(demo, FLAKY)
    response = demo.get(f"/tests/{test_id}")
    assert response.status_code == 200
    html = response.text
    assert f'<h1 class="test-name">{FLAKY}</h1>' in html
    # status timeline: one linked square per run (36 launches, newest 36 of them)
    timeline = html.split('class="timeline"')[1].split("</svg>")[0]
    squares = re.findall(r'<a href="/case-runs/(\d+)"><rect class="fill-(passed|failed)"', timeline)
    assert len(squares) == demo_data.LAUNCHES
    # duration chart: a polyline and a linked point per run
    assert 'aria-label="Duration of each run' in html and "<polyline" in html
    assert len(re.findall(r'<circle class="dot fill-', html)) == demo_data.LAUNCHES
    # flakiness evidence and score
    evidence = html.split('id="evidence-title"')[1].split("</section>")[0]
    assert "passed on retry in the same launch" in evidence and "pass/fail flips" in evidence
    score = int(re.search(r'data-testid="flaky-score">(\d+)<', html).group(1))  # type: ignore[union-attr]
    assert score >= 20
    assert re.search(r'<code class="pattern"[^>]*>[PFrS]{20,}</code>', html)
    # history table, newest first, with launch links; the JSON twin
    history = html.split('id="history-title"')[1]
    assert history.count('href="/launches/') == demo_data.LAUNCHES
    assert f'href="/api/v1/tests/{test_id}/history"' in html


def test_test_page_filters_by_environment_and_branch(demo: TestClient) -> None:
    test_id = find_test_id(demo, FLAKY)
    html = demo.get(f"/tests/{test_id}").text
    assert '<option value="production">production</option>' in html
    assert '<option value="feature/checkout-v2">feature/checkout-v2</option>' in html
    production = demo.get(f"/tests/{test_id}", params={"environment": "production"}).text
    assert '<option value="production" selected>' in production
    rows = production.split('id="history-title"')[1].split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == demo_data.LAUNCHES // 3  # every third launch runs on production
    assert "staging" not in rows
    both = demo.get(f"/tests/{test_id}", params={"environment": "production", "branch": "main"}).text
    assert both.split("<tbody>")[1].split("</tbody>")[0].count("<tr>") < rows.count("<tr>")
    assert 'href="/api/v1/tests/' in both and "environment=production" in both


def test_test_page_pages_its_history(demo: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis_pages, "HISTORY_PER_PAGE", 10)
    test_id = find_test_id(demo, FLAKY)
    first = demo.get(f"/tests/{test_id}").text
    next_url = unescape(re.search(r'href="([^"]+)" rel="next"', first).group(1))  # type: ignore[union-attr]
    second = demo.get(next_url).text
    ids = lambda html: re.findall(r'href="/case-runs/(\d+)" class="badge-link"', html)  # noqa: E731
    assert len(ids(first)) == len(ids(second)) == 10
    assert not set(ids(first)) & set(ids(second))


def test_broken_test_page_says_since_when(demo: TestClient) -> None:
    html = demo.get(f"/tests/{find_test_id(demo, BROKEN)}").text
    assert "in a row since" in html and 'class="tag tag-broken">broken' in html


def test_flaky_broken_and_slow_pages_list_the_planted_tests(demo: TestClient) -> None:
    flaky = demo.get("/projects/demo/flaky").text
    table = flaky.split("<tbody>")[1]
    assert set(re.findall(r'<a href="/tests/\d+">([^<]+)</a>', table)) == demo_data.FLAKY
    assert BROKEN not in table
    assert 'href="/api/v1/projects/demo/flaky?min_score=20&amp;window=30"' in flaky
    assert 'aria-current="page">Flaky tests' in flaky

    strict = demo.get("/projects/demo/flaky", params={"min_score": 100}).text
    assert "No flaky tests with these filters." in strict
    on_branch = demo.get("/projects/demo/flaky", params={"branch": "main", "window": 10}).text
    assert 'value="main"' in on_branch

    broken = demo.get("/projects/demo/broken").text
    assert re.findall(r'<a href="/tests/\d+">([^<]+)</a>', broken.split("<tbody>")[1]) == [BROKEN]
    assert "case run #" in broken

    slow = demo.get("/projects/demo/slow").text
    rows = slow.split("<tbody>")[1]
    assert re.findall(r'<a href="/tests/\d+">([^<]+)</a>', rows) == [SLOW]
    assert re.search(r"×\d+\.\d+", rows) and 'href="/launches/' in rows


def test_failure_patterns_page_filters_sorts_and_opens_a_pattern(demo: TestClient) -> None:
    html = demo.get("/projects/demo/patterns").text
    table = html.split("<tbody>")[1]
    ids = re.findall(r'<a href="/patterns/(\d+)">', table)
    assert len(ids) >= 2
    assert "<code>TimeoutError</code>" in table and "<code>AssertionError</code>" in table
    assert 'class="spark"' in table
    timeouts = demo.get("/projects/demo/patterns", params={"q": "timed out"}).text.split("<tbody>")[1]
    assert "TimeoutError" in timeouts and "AssertionError" not in timeouts
    by_count = demo.get("/projects/demo/patterns", params={"sort": "-count", "min_count": 3}).text
    counts = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>\s*<td class="num">\d+</td>', by_count)]
    assert counts == sorted(counts, reverse=True) and all(n >= 3 for n in counts)
    assert "No failure patterns match" in demo.get("/projects/demo/patterns", params={"q": "zzz-nothing"}).text

    pattern = demo.get(f"/patterns/{ids[0]}").text
    assert "<h1>Failure pattern" in pattern and 'id="runs-title"' in pattern
    assert 'href="/api/v1/failure-patterns/' in pattern


def test_quarantine_toggle_needs_a_maintainer(demo: TestClient, db: Database) -> None:
    test_id = find_test_id(demo, FLAKY)
    page = demo.get(f"/tests/{test_id}").text
    form = {"csrf": csrf_of(page), "reason": "flaky payment sandbox"}
    refused = demo.post(f"/tests/{test_id}/quarantine", data=form, follow_redirects=False)
    assert refused.status_code == 403 and "<h1>Not allowed</h1>" in refused.text
    assert "quarantined" not in demo.get(f"/tests/{test_id}").text.split("</header>")[0]  # nothing changed

    sign_in(demo, db, project_key="demo", role=Role.MAINTAINER)
    page = demo.get(f"/tests/{test_id}").text
    done = demo.post(f"/tests/{test_id}/quarantine", data={**form, "csrf": csrf_of(page)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/tests/{test_id}?done=quarantined"
    html = demo.get(done.headers["location"]).text
    assert 'class="tag tag-quarantine">quarantined' in html and "<q>flaky payment sandbox</q>" in html
    assert "The test is quarantined" in html
    listed = demo.get("/api/v1/projects/demo/quarantine").json()["items"]
    assert [i["test_case_id"] for i in listed] == [test_id]

    lift = demo.post(f"/tests/{test_id}/quarantine/lift", data={"csrf": csrf_of(html)}, follow_redirects=False)
    assert lift.status_code == 303
    assert demo.get("/api/v1/projects/demo/quarantine").json()["items"] == []


def test_merge_a_renamed_test_from_its_page(demo: TestClient, db: Database) -> None:
    old_name, new_name = demo_data.RENAMED
    old_id = find_test_id(demo, old_name)
    new_id = find_test_id(demo, old_name.rsplit(".", 1)[0] + "." + new_name)
    sign_in(demo, db, project_key="demo", role=Role.MAINTAINER)
    search = demo.get(f"/tests/{new_id}", params={"merge_q": "remember_me"}).text
    candidates = search.split('class="candidates"')[1].split("</ul>")[0]
    assert f'href="/tests/{old_id}"' in candidates and f'href="/tests/{new_id}"' not in candidates
    response = demo.post(
        f"/tests/{old_id}/merge", data={"csrf": csrf_of(search), "into": new_id}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == f"/tests/{new_id}?done=merged"
    merged = demo.get(response.headers["location"]).text
    assert "The histories are merged" in merged and old_name in merged.split('class="facts"')[1]
    assert merged.split('id="history-title"')[1].split("<tbody>")[1].count("<tr>") == demo_data.LAUNCHES
    # the old id now shows the test it was merged into
    assert "was merged into this one" in demo.get(f"/tests/{old_id}").text


@pytest.mark.parametrize("path", ["/tests/999999", "/patterns/999999", "/defects/999999", "/projects/nope/flaky"])
def test_unknown_ids_on_analysis_pages_get_the_404_page(demo: TestClient, path: str) -> None:
    response = demo.get(path)
    assert response.status_code == 404 and "<h1>Not found</h1>" in response.text
