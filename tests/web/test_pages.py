"""The pages render the data of their API twins, with filters, pages and friendly errors."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caserun.errors import PermissionDenied
from caserun.service import launches as launch_service
from caserun.service import projects
from caserun.store.engine import Database
from caserun.web import pages
from tests.web.conftest import Launches, junit, sign_in, upload


def case_run_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/case-runs/(\d+)"', html)]


def case_run_id(client: TestClient, launch_id: int, name: str) -> int:
    items = client.get(f"/api/v1/launches/{launch_id}/case-runs", params={"q": name}).json()["items"]
    assert len(items) == 1, items
    return int(items[0]["id"])


def test_projects_page_shows_each_project_with_its_last_launch(
    browser: TestClient, launches: Launches, db: Database
) -> None:
    projects.create(db, "api", "Public API")
    sign_in(browser, db, project_key=None)  # an instance viewer sees every project
    response = browser.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert 'href="/projects/web"' in html and "Web shop" in html
    assert f'href="/launches/{launches.current}">Nightly 2</a>' in html
    assert "badge-completed" in html
    assert "66.7%" in html  # final attempts: login and search passed, checkout failed, one skipped
    assert "2/4" in html
    assert 'href="/projects/api"' in html and "No launches yet" in html
    assert 'href="/api/v1/projects"' in html


def test_project_scoped_viewer_sees_only_its_project(browser: TestClient, launches: Launches, db: Database) -> None:
    projects.create(db, "api", "Public API")
    html = browser.get("/").text
    assert 'href="/projects/web"' in html
    assert 'href="/projects/api"' not in html
    assert browser.get("/projects/api").status_code == 404


def test_launches_page_lists_filters_sorts_and_pages(
    browser: TestClient, launches: Launches, bearer: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(browser, junit(tmp_path / "dev.xml", '<testcase classname="x" name="y"/>'), bearer, name="Dev", branch="dev")
    html = browser.get("/projects/web").text
    for name in ("Nightly 1", "Nightly 2", "Dev"):
        assert f">{name}</a>" in html
    table = html.split("<tbody>")[1]
    assert table.index("Dev") < table.index("Nightly 2") < table.index("Nightly 1")  # newest first
    row = table[table.index("Nightly 2</a>") :].split("</tr>")[0]
    assert "staging" in row and "main" in row and "12m 39s" in row and "2/4" in row and "66.7%" in row
    assert 'href="/api/v1/projects/web/launches?sort=-created_at"' in html

    filtered = browser.get("/projects/web", params={"branch": "dev", "status": "completed"}).text
    assert ">Dev</a>" in filtered and "Nightly" not in filtered.split("<tbody>")[1]
    assert 'value="dev"' in filtered and 'value="completed" selected' in filtered

    oldest = browser.get("/projects/web", params={"sort": "created_at"}).text
    assert oldest.index("Nightly 1</a>") < oldest.index("Nightly 2</a>")

    monkeypatch.setattr(pages, "LAUNCHES_PER_PAGE", 2)
    first = browser.get("/projects/web").text
    assert "Nightly 1</a>" not in first
    next_url = unescape(re.search(r'href="([^"]+)" rel="next"', first).group(1))  # type: ignore[union-attr]
    assert next_url.startswith("/projects/web?sort=-created_at&cursor=")
    second = browser.get(next_url).text
    assert "Nightly 1</a>" in second and 'rel="next"' not in second
    assert "« First page" in second

    empty = browser.get("/projects/web", params={"environment": "nowhere"}).text
    assert "No launches match these filters." in empty


def test_launch_page_shows_header_stats_comparison_and_case_runs(browser: TestClient, launches: Launches) -> None:
    response = browser.get(f"/launches/{launches.current}")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Nightly 2" in html and f"#{launches.current}" in html
    assert "<code>0a1b2c3d</code>" in html
    assert 'href="https://ci.example.com/builds/2"' in html
    assert "12m 39s" in html
    # stat cards: 4 tests, 2 passed (50%), 1 failed, 1 skipped, pass rate 66.7%
    assert re.search(r"Total</span><span class=\"card-value\" data-stat=\"total\">4<", html)
    assert re.search(r"Passed</span><span class=\"card-value\"[^>]*>2</span><span class=\"card-sub\">50.0%", html)
    assert re.search(r"Failed</span><span class=\"card-value\"[^>]*>1</span><span class=\"card-sub\">25.0%", html)
    assert "66.7%" in html
    # comparison with Nightly 1
    assert f'href="/launches/{launches.baseline}">Nightly 1 #{launches.baseline}</a>' in html
    checkout = case_run_id(browser, launches.current, "test_checkout")
    search = case_run_id(browser, launches.current, "test_search")
    compare = html.split('id="compare-title"')[1].split('id="runs-title"')[0]
    assert f'<a href="/case-runs/{checkout}">shop.Cart.test_checkout</a>' in compare
    assert f'<a href="/case-runs/{search}">shop.Search.test_search</a>' in compare
    assert "shop.Old.test_gone" in compare  # missing: listed, not linked
    assert re.findall(
        r'bucket-count">(\d+)</span> (New failures|Still failing|Fixed|New tests|Missing tests)', compare
    ) == [
        ("1", "New failures"),
        ("0", "Still failing"),
        ("1", "Fixed"),
        ("1", "New tests"),
        ("1", "Missing tests"),
    ]
    # case runs table
    runs = html.split('id="runs-title"')[1]
    assert "shop.Auth.test_login" in runs and "expected total 3 but was 4" in runs
    assert "passed on retry" in runs
    assert 'href="/api/v1/launches/' in html

    first_launch = browser.get(f"/launches/{launches.baseline}").text
    assert 'id="compare-title"' not in first_launch


def test_launch_page_filters_sorts_and_pages_case_runs(
    browser: TestClient, launches: Launches, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"/launches/{launches.current}"
    failed = browser.get(url, params={"status": "failed"}).text.split('id="runs-title"')[1]
    assert "test_checkout" in failed and "test_login" not in failed
    text = browser.get(url, params={"q": "login"}).text.split('id="runs-title"')[1]
    assert "test_login" in text and "test_checkout" not in text
    first = browser.get(url, params={"failed_first": "1"}).text.split('id="runs-title"')[1]
    assert 'name="failed_first" value="1" checked' in first
    assert first.index("test_checkout") < first.index("test_login")
    by_name = browser.get(url, params={"sort": "-name"}).text.split('id="runs-title"')[1]
    assert by_name.index("shop.Search") < by_name.index("shop.Auth")
    assert "No case runs match" in browser.get(url, params={"q": "nothing-like-this"}).text

    monkeypatch.setattr(pages, "CASE_RUNS_PER_PAGE", 3)
    page1 = browser.get(url, params={"sort": "name"}).text
    next_url = unescape(re.search(r'href="([^"]+)" rel="next"', page1).group(1))  # type: ignore[union-attr]
    assert "sort=name" in next_url and "cursor=" in next_url
    page2 = browser.get(next_url).text
    seen = case_run_ids(page1.split('id="runs-title"')[1]) + case_run_ids(page2.split('id="runs-title"')[1])
    assert len(seen) == len(set(seen)) == 4


def test_case_run_page_shows_failure_logs_metadata_and_attachments(browser: TestClient, launches: Launches) -> None:
    checkout = case_run_id(browser, launches.current, "test_checkout")
    html = browser.get(f"/case-runs/{checkout}").text
    assert "shop.Cart.test_checkout" in html and "badge-failed" in html
    assert '<pre class="message">expected total 3 but was 4</pre>' in html
    assert "<code>AssertionError</code>" in html
    assert re.search(
        r"<details class=\"trace\">\s*<summary>Stack trace</summary>.*?<pre id=\"trace-text\">", html, re.S
    )
    assert '<span class="tl">Traceback (most recent call last):</span>' in html
    assert '<span class="tl tl-frame">  File &#34;cart.py&#34;, line 12, in test_checkout</span>' in html
    assert '<span class="tl tl-err">AssertionError: expected total 3 but was 4</span>' in html
    assert "12m 34s" in html
    assert f'href="/api/v1/case-runs/{checkout}"' in html

    login = case_run_id(browser, launches.current, "test_login")
    html = browser.get(f"/case-runs/{login}").text
    assert re.search(r"<h3>stdout <span[^>]*>[^<]*</span></h3>\s*<pre class=\"log\">logged in as alice", html)
    assert re.search(r"<h3>stderr <span[^>]*>[^<]*</span></h3>\s*<pre class=\"log\">warning: slow font load", html)
    assert '<th scope="row">browser</th><td>chromium</td>' in html
    images = re.findall(r'<img src="/api/v1/attachments/(\d+)" alt="login.png"', html)
    assert len(images) == 1
    assert re.search(r'<a href="/api/v1/attachments/\d+" download>server.log</a>', html)
    assert "nowhere.png" in html.split('id="warnings-title"')[1]
    image = browser.get(f"/api/v1/attachments/{images[0]}")  # the session cookie is enough for <img>
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"

    search = case_run_id(browser, launches.current, "test_search")
    html = browser.get(f"/case-runs/{search}").text
    assert "passed on retry" in html
    attempts = html.split('id="attempts-title"')[1]
    earlier = re.findall(r'<a href="/case-runs/(\d+)">Attempt 1</a>', attempts)
    assert len(earlier) == 1
    assert '<strong aria-current="page">Attempt 2</strong>' in attempts
    first_attempt = browser.get(f"/case-runs/{earlier[0]}").text
    assert "search timed out once" in first_attempt and f'href="/case-runs/{search}">Attempt 2</a>' in first_attempt


@pytest.mark.parametrize(
    "path", ["/launches/999999", "/case-runs/999999", "/projects/nope", "/launches/abc", "/case-runs/1x"]
)
def test_unknown_ids_get_a_friendly_404_page(browser: TestClient, path: str) -> None:
    response = browser.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in response.text and 'href="/"' in response.text


def test_other_projects_are_invisible(browser: TestClient, launches: Launches, db: Database) -> None:
    projects.create(db, "api", "Public API")
    sign_in(browser, db, project_key="api")
    assert browser.get(f"/launches/{launches.current}").status_code == 404


def test_missing_rights_get_a_403_page(
    browser: TestClient, launches: Launches, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionDenied("this action needs the maintainer role")

    monkeypatch.setattr(launch_service, "get", refuse)
    response = browser.get(f"/launches/{launches.current}")
    assert response.status_code == 403
    assert "<h1>Not allowed</h1>" in response.text and "needs the maintainer role" in response.text


def test_bad_filters_get_an_error_page(browser: TestClient, launches: Launches) -> None:
    response = browser.get("/projects/web", params={"status": "exploded"})
    assert response.status_code == 422
    assert "unknown launch status" in response.text
    assert browser.get("/projects/web", params={"sort": "colour"}).status_code == 422
    assert browser.get(f"/launches/{launches.current}", params={"cursor": "!!"}).status_code == 422
    assert browser.get(f"/launches/{launches.current}", params={"failed_first": "maybe"}).status_code == 422


def test_empty_project_and_no_projects(browser: TestClient) -> None:
    assert "No launches yet" in browser.get("/projects/web").text


def test_a_bug_gets_a_500_page_not_a_traceback(
    browser: TestClient, launches: Launches, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(launch_service, "get", explode)
    response = browser.get(f"/launches/{launches.current}")
    assert response.status_code == 500
    assert "this is a bug in caserun" in response.text and "secret internals" not in response.text
    assert "unhandled error on GET" in caplog.text


def test_export_links_on_pages_download_with_the_session(browser: TestClient, launches: Launches) -> None:
    """The report and export buttons lead to files a signed-in viewer can download."""
    html = browser.get(f"/launches/{launches.current}", params={"status": "failed"}).text
    hrefs = [unescape(h) for h in re.findall(r'href="(/api/v1/[^"]*export[^"]*)"', html)]
    assert len(hrefs) == 5, hrefs  # html, pdf, junit, ctrf, filtered case runs as CSV
    csv_link = next(h for h in hrefs if "case-runs/export" in h)
    assert "status=failed" in csv_link
    rows = browser.get(csv_link)
    assert rows.status_code == 200 and rows.text.count("\n") == 2  # header and the one failed test
    junit_xml = browser.get(next(h for h in hrefs if "format=junit" in h))
    assert junit_xml.status_code == 200 and "<testsuites" in junit_xml.text
    assert "attachment" in junit_xml.headers["content-disposition"]
    listing = browser.get("/projects/web").text
    launches_csv = unescape(re.search(r'href="(/api/v1/projects/web/launches/export[^"]*)"', listing).group(1))
    assert browser.get(launches_csv).text.count("\n") >= 3
