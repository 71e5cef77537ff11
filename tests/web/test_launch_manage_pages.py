"""The launch management parts of the UI over HTTP: archive and delete buttons (maintainer
only, the name typed to delete), the new launch and case-run filters, "retry selected",
and the projects overview with its pass-rate sparkline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caserun.domain.model import Role
from caserun.service import projects
from caserun.store.engine import Database
from tests.web.conftest import Launches, junit, sign_in, upload
from tests.web.test_pages import case_run_id
from tests.web.test_triage_pages import csrf_of


@pytest.fixture
def maintainer(browser: TestClient, db: Database) -> TestClient:
    sign_in(browser, db, role=Role.MAINTAINER)
    return browser


def launch_names(html: str) -> list[str]:
    body = html.split("<tbody>")[1] if "<tbody>" in html else ""
    return re.findall(r'<a href="/launches/\d+">([^<]+)</a> <span class="muted">#', body)


def test_archive_and_unarchive_from_the_launch_page(maintainer: TestClient, launches: Launches) -> None:
    page = maintainer.get(f"/launches/{launches.baseline}").text
    assert f'action="/launches/{launches.baseline}/archive"' in page and "data-archived" not in page
    done = maintainer.post(
        f"/launches/{launches.baseline}/archive", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/launches/{launches.baseline}?done=archived"
    page = maintainer.get(done.headers["location"]).text
    assert "The launch is archived" in page and "data-archived" in page
    assert f'action="/launches/{launches.baseline}/unarchive"' in page
    assert launch_names(maintainer.get("/projects/web").text) == ["Nightly 2"]
    archived = maintainer.get("/projects/web", params={"archived": "1"}).text
    assert launch_names(archived) == ["Nightly 1"] and 'name="archived" value="1" checked' in archived
    # the current launch no longer compares with the archived one
    assert 'id="compare-title"' not in maintainer.get(f"/launches/{launches.current}").text

    back = maintainer.post(
        f"/launches/{launches.baseline}/unarchive", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert back.status_code == 303
    assert launch_names(maintainer.get("/projects/web").text) == ["Nightly 2", "Nightly 1"]
    assert 'id="compare-title"' in maintainer.get(f"/launches/{launches.current}").text


def test_delete_needs_the_typed_name(maintainer: TestClient, launches: Launches) -> None:
    page = maintainer.get(f"/launches/{launches.current}").text
    form = page.split(f'action="/launches/{launches.current}/delete"')[1].split("</form>")[0]
    assert 'data-confirm-name="Nightly 2"' in page and 'name="confirm"' in form
    wrong = maintainer.post(
        f"/launches/{launches.current}/delete", data={"csrf": csrf_of(page), "confirm": "Nightly 1"}
    )
    assert wrong.status_code == 422 and "confirm with its exact name" in wrong.text
    assert maintainer.get(f"/launches/{launches.current}").status_code == 200
    gone = maintainer.post(
        f"/launches/{launches.current}/delete",
        data={"csrf": csrf_of(page), "confirm": "Nightly 2"},
        follow_redirects=False,
    )
    assert gone.status_code == 303 and gone.headers["location"] == "/projects/web?done=launch-deleted"
    listing = maintainer.get(gone.headers["location"]).text
    assert "The launch and its case runs are deleted" in listing
    assert launch_names(listing) == ["Nightly 1"]
    assert maintainer.get(f"/launches/{launches.current}").status_code == 404


def test_a_viewer_gets_the_403_page_and_nothing_changes(browser: TestClient, launches: Launches) -> None:
    page = browser.get(f"/launches/{launches.current}").text
    csrf = csrf_of(page)
    for path, data in [
        ("archive", {"csrf": csrf}),
        ("delete", {"csrf": csrf, "confirm": "Nightly 2"}),
    ]:
        response = browser.post(f"/launches/{launches.current}/{path}", data=data)
        assert response.status_code == 403 and "Not allowed" in response.text, path
    assert launch_names(browser.get("/projects/web").text) == ["Nightly 2", "Nightly 1"]
    # and without the CSRF token even a maintainer changes nothing
    assert browser.post(f"/launches/{launches.current}/archive", data={"csrf": "nope"}).status_code == 403


def test_launch_filters_source_pass_rate_band(browser: TestClient, launches: Launches) -> None:
    # Nightly 1: 3 passed, 1 failed (75 %); Nightly 2: 2 passed, 1 failed (66.7 %)
    page = browser.get("/projects/web").text
    assert '<select name="source">' in page and 'name="min_pass_rate"' in page and 'name="max_pass_rate"' in page
    assert launch_names(browser.get("/projects/web", params={"source": "api"}).text) == ["Nightly 2", "Nightly 1"]
    assert "No launches match" in browser.get("/projects/web", params={"source": "manual"}).text
    band = {"min_pass_rate": "60", "max_pass_rate": "70"}
    assert launch_names(browser.get("/projects/web", params=band).text) == ["Nightly 2"]
    assert launch_names(browser.get("/projects/web", params={"min_pass_rate": "70"}).text) == ["Nightly 1"]
    high = browser.get("/projects/web", params={"min_pass_rate": "90"}).text
    assert "No launches match" in high and 'max="100" step="any" value="90"' in high
    assert "/api/v1/projects/web/launches?min_pass_rate=90&amp;sort=-created_at" in high  # the JSON twin
    for params in ({"min_pass_rate": "abc"}, {"max_pass_rate": "150"}, {"source": "fax"}):
        assert browser.get("/projects/web", params=params).status_code == 422, params
    reversed_band = browser.get("/projects/web", params={"min_pass_rate": "80", "max_pass_rate": "10"})
    assert reversed_band.status_code == 422 and "is above max_pass_rate" in reversed_band.text


def test_case_run_filters_suite_and_duration(browser: TestClient, launches: Launches) -> None:
    url = f"/launches/{launches.current}"

    def rows(**params: str) -> list[str]:
        html = browser.get(url, params=params).text.split('id="runs-title"')[1]
        return re.findall(r'<a href="/case-runs/\d+">([^<]+)</a>', html)

    assert rows(suite="shop.Cart") == ["shop.Cart.test_checkout"]
    assert rows(min_duration="3") == ["shop.Cart.test_checkout", "shop.Search.test_search"]
    assert rows(min_duration="3", suite="shop.Search") == ["shop.Search.test_search"]
    assert rows(min_duration="1000") == []
    page = browser.get(url, params={"suite": "shop.Cart", "min_duration": "1.5"}).text
    assert 'name="suite" value="shop.Cart"' in page and 'value="1.5"' in page
    # a suite cell links to the suite's runs
    assert f'href="/launches/{launches.current}?suite=shop.Auth"' in browser.get(url).text
    assert browser.get(url, params={"min_duration": "soon"}).status_code == 422


def test_retry_selected_creates_a_launch_with_exactly_those_tests(
    browser: TestClient, db: Database, launches: Launches
) -> None:
    sign_in(browser, db, role=Role.REPORTER)  # a retry is a new launch: reporters may
    login = case_run_id(browser, launches.current, "test_login")
    checkout = case_run_id(browser, launches.current, "test_checkout")
    page = browser.get(f"/launches/{launches.current}").text
    assert 'name="action" value="retry"' in page
    response = browser.post(
        f"/launches/{launches.current}/bulk",
        data={"csrf": csrf_of(page), "action": "retry", "case_run_id": [login, checkout, login]},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    retry_id = int(re.match(r"/launches/(\d+)\?done=retry-selected", location).group(1))  # type: ignore[union-attr]
    html = browser.get(location).text
    assert "A retry launch holds the selected tests." in html
    runs = browser.get(f"/api/v1/launches/{retry_id}/case-runs").json()["items"]
    assert sorted(r["name"] for r in runs) == ["test_checkout", "test_login"]
    assert {r["status"] for r in runs} == {"running"}
    # a run of another launch is refused, naming it
    other = case_run_id(browser, launches.baseline, "test_login")
    bad = browser.post(
        f"/launches/{launches.current}/bulk",
        data={"csrf": csrf_of(page), "action": "retry", "case_run_id": [other]},
    )
    assert bad.status_code == 404 and f"case runs not in launch {launches.current}: {other}" in bad.text


def test_projects_overview_has_last_launch_and_a_sparkline(
    browser: TestClient, db: Database, bearer: dict[str, str], tmp_path: Path, launches: Launches
) -> None:
    projects.create(db, "api", "Public API")
    sign_in(browser, db, project_key=None)
    upload(browser, junit(tmp_path / "green.xml", '<testcase classname="a" name="b"/>'), bearer, name="Green")
    html = browser.get("/").text
    web_row = html.split("<strong>Web shop</strong>")[1].split("</tr>")[0]
    assert ">Green</a>" in web_row
    assert 'class="spark-rate"' in web_row
    label = re.search(r'aria-label="(Pass rate of the last \d+ launches[^"]*)"', web_row)
    assert label and label.group(1) == "Pass rate of the last 3 launches: from 75.0% to 100.0%, lowest 66.7%"
    points = re.search(r'<polyline class="line" points="([^"]+)"', web_row)
    assert points and len(points.group(1).split()) == 3
    api_row = html.split("<strong>Public API</strong>")[1].split("</tr>")[0]
    assert "No launches yet" in api_row and "spark-rate" not in api_row
