"""Triage in the web UI: defects (list, page, lifecycle, from a failure, links), bulk
actions on a launch, the case run page's extras, and what viewers and expired sessions get."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from caserun.domain.model import Role
from caserun.service import auth
from caserun.store.engine import Database
from caserun.store.tables import web_session
from caserun.web import textview
from tests.web.conftest import Launches, sign_in
from tests.web.test_pages import case_run_id


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


@pytest.fixture
def maintainer(browser: TestClient, db: Database) -> TestClient:
    sign_in(browser, db, role=Role.MAINTAINER)
    return browser


def test_defect_from_a_failed_case_run_is_prefilled_and_linked(maintainer: TestClient, launches: Launches) -> None:
    checkout = case_run_id(maintainer, launches.current, "test_checkout")
    page = maintainer.get(f"/case-runs/{checkout}").text
    form = page.split(f'action="/case-runs/{checkout}/defect"')[1].split("</form>")[0]
    assert 'value="test_checkout: expected total 3 but was 4"' in form
    assert "Test: shop.Cart.test_checkout" in form and "Failure type: assertion (AssertionError)" in form
    response = maintainer.post(
        f"/case-runs/{checkout}/defect",
        data={"csrf": csrf_of(page), "title": "Cart total off by one", "description": "", "severity": "high"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    defect_id = int(re.match(r"/defects/(\d+)\?done=defect-created", response.headers["location"]).group(1))  # type: ignore[union-attr]
    html = maintainer.get(response.headers["location"]).text
    assert "<h1>Cart total off by one" in html and "The defect is created." in html
    assert 'class="sev sev-high">high' in html
    assert "Test: shop.Cart.test_checkout" in html  # blank description fell back to the prefilled one
    assert f'href="/case-runs/{checkout}">shop.Cart.test_checkout</a>' in html
    assert f'href="/launches/{launches.current}">#{launches.current}</a>' in html
    # the case run shows its defect, with an unlink button
    run_page = maintainer.get(f"/case-runs/{checkout}").text
    assert f'<a href="/defects/{defect_id}">Cart total off by one</a>' in run_page
    # and the launch table shows it too
    assert f'href="/defects/{defect_id}" class="defect-ref"' in maintainer.get(f"/launches/{launches.current}").text


def test_defect_lifecycle_buttons_and_edit(maintainer: TestClient, launches: Launches) -> None:
    listing = maintainer.get("/projects/web/defects").text
    assert "No defects yet" in listing
    created = maintainer.post(
        "/projects/web/defects",
        data={"csrf": csrf_of(listing), "title": "Login is slow", "severity": "low", "assignee": "alice"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    url = created.headers["location"].split("?")[0]
    html = maintainer.get(url).text
    buttons = re.findall(r'name="status" value="(\w+)">\s*<button type="submit" class="move[^"]*">([^<]+)<', html)
    assert buttons == [("in_progress", "Start work"), ("resolved", "Resolve"), ("closed", "Close")]
    moved = maintainer.post(
        f"{url}/status", data={"csrf": csrf_of(html), "status": "in_progress"}, follow_redirects=False
    )
    assert moved.status_code == 303
    html = maintainer.get(url).text
    assert 'badge-defect-in_progress">in progress' in html
    bad = maintainer.post(f"{url}/status", data={"csrf": csrf_of(html), "status": "reopened"})
    assert bad.status_code == 409 and "cannot become reopened" in bad.text
    edited = maintainer.post(
        f"{url}/edit",
        data={"csrf": csrf_of(html), "title": "Login is very slow", "severity": "critical", "assignee": "bob"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    html = maintainer.get(url).text
    assert "<h1>Login is very slow" in html and "sev-critical" in html and "bob" in html


def test_defects_list_filters_by_status_severity_and_assignee(maintainer: TestClient, launches: Launches) -> None:
    csrf = csrf_of(maintainer.get("/projects/web/defects").text)
    for title, severity, assignee in [
        ("A crash", "critical", "alice"),
        ("B typo", "low", "bob"),
        ("C lag", "high", ""),
    ]:
        maintainer.post(
            "/projects/web/defects", data={"csrf": csrf, "title": title, "severity": severity, "assignee": assignee}
        )
    titles = lambda html: re.findall(r'<a href="/defects/\d+">([^<]+)</a>', html.split("<tbody>")[1])  # noqa: E731
    assert titles(maintainer.get("/projects/web/defects").text) == ["C lag", "B typo", "A crash"]
    assert titles(maintainer.get("/projects/web/defects", params={"severity": "critical"}).text) == ["A crash"]
    assert titles(maintainer.get("/projects/web/defects", params={"assignee": "bob"}).text) == ["B typo"]
    assert "No defects match" in maintainer.get("/projects/web/defects", params={"status": "closed"}).text
    assert maintainer.get("/projects/web/defects", params={"status": "exploded"}).status_code == 422


def test_bulk_status_change_with_comment_is_audited(maintainer: TestClient, launches: Launches) -> None:
    checkout = case_run_id(maintainer, launches.current, "test_checkout")
    page = maintainer.get(f"/launches/{launches.current}").text
    assert "data-select-all" in page and f'name="case_run_id" value="{checkout}"' in page
    response = maintainer.post(
        f"/launches/{launches.current}/bulk",
        data={
            "csrf": csrf_of(page),
            "action": "status",
            "case_run_id": [checkout],
            "status": "blocked",
            "comment": "env down",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    html = maintainer.get(response.headers["location"]).text
    assert "The status of the selected case runs changed" in html
    assert re.search(r'Blocked</span><span class="card-value"[^>]*>1<', html)
    audit = maintainer.get(f"/case-runs/{checkout}").text.split('id="audit-title"')[1]
    assert "failed → blocked" in audit and "<q>env down</q>" in audit


def test_bulk_link_to_a_new_and_an_existing_defect(maintainer: TestClient, launches: Launches) -> None:
    checkout = case_run_id(maintainer, launches.current, "test_checkout")
    login = case_run_id(maintainer, launches.current, "test_login")
    page = maintainer.get(f"/launches/{launches.current}").text
    created = maintainer.post(
        f"/launches/{launches.current}/bulk",
        data={"csrf": csrf_of(page), "action": "new_defect", "case_run_id": [checkout], "title": "Checkout broke"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    defect_url = created.headers["location"].split("?")[0]
    defect_id = int(defect_url.rsplit("/", 1)[1])
    assert "staging" in maintainer.get(defect_url).text  # the launch's environment
    linked = maintainer.post(
        f"/launches/{launches.current}/bulk",
        data={"csrf": csrf_of(page), "action": "link", "case_run_id": [login], "defect_id": str(defect_id)},
        follow_redirects=False,
    )
    assert linked.status_code == 303
    assert maintainer.get(f"/api/v1/defects/{defect_id}").json()["linked_runs"] == 2
    nothing = maintainer.post(f"/launches/{launches.current}/bulk", data={"csrf": csrf_of(page), "action": "status"})
    assert nothing.status_code == 422 and "select at least one case run" in nothing.text


def test_link_and_unlink_an_existing_defect_from_a_case_run(maintainer: TestClient, launches: Launches) -> None:
    csrf = csrf_of(maintainer.get("/projects/web/defects").text)
    maintainer.post("/projects/web/defects", data={"csrf": csrf, "title": "Known flake"})
    defect_id = maintainer.get("/api/v1/projects/web/defects").json()["items"][0]["id"]
    search = case_run_id(maintainer, launches.current, "test_search")
    page = maintainer.get(f"/case-runs/{search}").text
    assert f'<option value="{defect_id}"' in page
    maintainer.post(f"/case-runs/{search}/link", data={"csrf": csrf, "defect_id": defect_id})
    page = maintainer.get(f"/case-runs/{search}").text
    assert f'<a href="/defects/{defect_id}">Known flake</a>' in page
    maintainer.post(f"/case-runs/{search}/unlink", data={"csrf": csrf, "defect_id": defect_id})
    assert "Not linked to a defect." in maintainer.get(f"/case-runs/{search}").text


def test_a_viewer_gets_the_403_page_and_nothing_changes(browser: TestClient, launches: Launches) -> None:
    checkout = case_run_id(browser, launches.current, "test_checkout")
    page = browser.get(f"/launches/{launches.current}").text
    before = browser.get(f"/api/v1/launches/{launches.current}").json()["summary"]
    attempts = {
        f"/launches/{launches.current}/bulk": {
            "action": "status",
            "case_run_id": [checkout],
            "status": "passed",
            "comment": "x",
        },
        f"/case-runs/{checkout}/defect": {"title": "nope"},
        "/projects/web/defects": {"title": "nope"},
        f"/launches/{launches.current}/retry": {},
    }
    for path, form in attempts.items():
        response = browser.post(path, data={"csrf": csrf_of(page), **form}, follow_redirects=False)
        assert response.status_code == 403, path
        assert "<h1>Not allowed</h1>" in response.text and "needs the" in response.text
    assert browser.get(f"/api/v1/launches/{launches.current}").json()["summary"] == before
    assert browser.get("/api/v1/projects/web/defects").json()["items"] == []
    assert "Not linked to a defect." in browser.get(f"/case-runs/{checkout}").text


def test_forms_without_the_csrf_token_are_refused(maintainer: TestClient, launches: Launches) -> None:
    response = maintainer.post("/projects/web/defects", data={"title": "forged"})
    assert response.status_code == 403 and "did not come from caserun" in response.text
    assert maintainer.get("/api/v1/projects/web/defects").json()["items"] == []


def test_expired_session_goes_to_sign_in_and_back(browser: TestClient, launches: Launches, db: Database) -> None:
    with db.write() as conn:
        conn.execute(update(web_session).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    target = f"/launches/{launches.current}?status=failed"
    response = browser.get(target, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=%2Flaunches%2F{launches.current}%3Fstatus%3Dfailed"
    form = browser.get(response.headers["location"]).text
    assert f'name="next" value="{target}"' in form
    token = auth.create_token(db, project_key="web", role=Role.VIEWER).token
    signed = browser.post(
        "/login", data={"csrf": csrf_of(form), "token": token, "next": target}, follow_redirects=False
    )
    assert signed.status_code == 303 and signed.headers["location"] == target
    assert browser.get(target).status_code == 200


def test_case_run_page_attachments_zip_and_log_views(
    browser: TestClient, launches: Launches, bearer: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    login = case_run_id(browser, launches.current, "test_login")
    html = browser.get(f"/case-runs/{login}").text
    assert f'href="/case-runs/{login}/attachments.zip"' in html
    response = browser.get(f"/case-runs/{login}/attachments.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == ["login.png", "server.log"]
        assert archive.read("server.log") == b"GET /login 200\n"
    checkout = case_run_id(browser, launches.current, "test_checkout")
    assert browser.get(f"/case-runs/{checkout}/attachments.zip").status_code == 404
    # the history beside the run, and a link to the full history
    assert 'aria-label="Status of the last runs of this test' in html and "Full history »" in html

    # ANSI colours become classes; long logs are paged
    monkeypatch.setattr(textview, "LOG_PAGE_LINES", 2)
    out = "\x1b[31mred alert\x1b[0m plain\nline 2\nline 3\n"
    created = browser.post("/api/v1/projects/web/launches", json={"name": "ansi"}, headers=bearer)
    launch = int(created.json()["id"])
    added = browser.post(
        f"/api/v1/launches/{launch}/case-runs",
        json={"items": [{"suite": "c", "name": "t", "status": "passed", "stdout": out}]},
        headers=bearer,
    )
    assert added.status_code == 201, added.text
    run = case_run_id(browser, launch, "c.t")
    html = browser.get(f"/case-runs/{run}").text
    assert '<span class="ansi-red">red alert</span> plain' in html and "\x1b" not in html
    assert "lines 1–2 of 3" in html and "line 3" not in html
    later = browser.get(f"/case-runs/{run}", params={"log_page": 2}).text
    assert "line 3" in later and "red alert" not in later


def test_launches_page_has_trend_chart_source_and_date_range(browser: TestClient, launches: Launches) -> None:
    html = browser.get("/projects/web").text
    chart = html.split('id="trend-title"')[1].split("</figure>")[0]
    points = re.findall(r'<a href="/launches/(\d+)"><circle', chart)
    assert points == [str(launches.baseline), str(launches.current)]  # oldest first, each opens its launch
    assert '<th scope="col">Source</th>' in html and "<td>api</td>" in html
    today = datetime.now(UTC).date()
    assert "Nightly 2" in browser.get("/projects/web", params={"since": today.isoformat()}).text.split("<tbody>")[1]
    old = browser.get("/projects/web", params={"until": (today - timedelta(days=3)).isoformat()}).text
    assert "No launches match these filters." in old


def test_launch_page_shows_patterns_and_the_comparison_buckets(browser: TestClient, launches: Launches) -> None:
    html = browser.get(f"/launches/{launches.current}").text
    patterns = html.split('id="patterns-title"')[1].split("</section>")[0]
    assert "<code>AssertionError</code>" in patterns and 'class="tag tag-new">new' in patterns
    assert "Flaky this time" in html and "Slower" in html
    assert "pts vs the previous launch" in html
