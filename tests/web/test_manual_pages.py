"""The definition form on a test's page and the manual-run pages, through their forms:
roles, CSRF, escaping, and what a bad form answers."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from caserun.domain.model import Role
from caserun.store.engine import Database
from tests.web.conftest import junit, sign_in

CASES = """
<testcase classname="shop.Auth" name="test_login" time="1"/>
<testcase classname="shop.Cart" name="test_checkout" time="2"/>
"""


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, html
    return match.group(1)


def _tests(client: TestClient, bearer: dict[str, str], tmp_path: Path) -> dict[str, int]:
    from tests.conftest import post_report

    assert post_report(client, junit(tmp_path / "r.xml", CASES), headers=bearer).status_code == 201
    found = client.get("/api/v1/projects/web/tests", params={"q": "shop"}, headers=bearer).json()
    return {t["name"]: t["id"] for t in found}


def test_a_maintainer_edits_the_definition_on_the_test_page(
    app_client: TestClient, db: Database, bearer: dict[str, str], tmp_path: Path
) -> None:
    ids = _tests(app_client, bearer, tmp_path)
    sign_in(app_client, db, role=Role.MAINTAINER)
    url = f"/tests/{ids['test_login']}"
    page = app_client.get(url).text
    assert "Nobody has described this test yet." in page
    form = {
        "csrf": csrf_of(page),
        "description": "<b>signs in</b>",
        "steps": "Open /login => form\n\nSign in",
        "priority": "high",
        "tags": "smoke, auth",
        "lifecycle": "draft",
    }
    saved = app_client.post(f"{url}/definition", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    shown = app_client.get(url).text
    assert "&lt;b&gt;signs in&lt;/b&gt;" in shown and "<b>signs in</b>" not in shown
    assert '<option value="high" selected>' in shown and '<option value="draft" selected>' in shown
    assert "/projects/web/manual?tag=smoke" in shown
    definition = app_client.get(f"/api/v1/tests/{ids['test_login']}/definition", headers=bearer).json()
    assert definition["steps"] == [{"action": "Open /login", "expected": "form"}, {"action": "Sign in", "expected": ""}]

    bad = app_client.post(f"{url}/definition", data={**form, "priority": "urgent"}, follow_redirects=False)
    assert bad.status_code == 422 and "priority must be one of" in bad.text
    forged = app_client.post(f"{url}/definition", data={**form, "csrf": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403
    assert app_client.get(f"/api/v1/tests/{ids['test_login']}/definition", headers=bearer).json()["priority"] == "high"


def test_a_viewer_sees_the_definition_but_cannot_save_it(
    app_client: TestClient, db: Database, bearer: dict[str, str], tmp_path: Path
) -> None:
    ids = _tests(app_client, bearer, tmp_path)
    sign_in(app_client, db, role=Role.VIEWER)
    url = f"/tests/{ids['test_login']}"
    page = app_client.get(url).text
    denied = app_client.post(f"{url}/definition", data={"csrf": csrf_of(page), "priority": "low"})
    assert denied.status_code == 403
    assert app_client.get(f"/api/v1/tests/{ids['test_login']}/definition", headers=bearer).json()["priority"] is None


def test_run_manually_from_a_search_then_record_and_finish_through_the_forms(
    app_client: TestClient, db: Database, bearer: dict[str, str], tmp_path: Path
) -> None:
    _tests(app_client, bearer, tmp_path)
    sign_in(app_client, db, role=Role.MAINTAINER)
    chooser = app_client.get("/projects/web/manual", params={"q": "checkout"})
    assert chooser.status_code == 200 and "1 test chosen" in chooser.text
    created = app_client.post(
        "/projects/web/manual",
        data={"csrf": csrf_of(chooser.text), "q": "checkout", "assignee": "<i>bob</i>"},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    page = app_client.get(created.headers["location"]).text
    assert "&lt;i&gt;bob&lt;/i&gt;" in page and "shop.Cart.test_checkout" in page
    run = int(re.findall(r'action="/case-runs/(\d+)/execute"', page)[0])
    launch = int(re.findall(r"/launches/(\d+)/execute", created.headers["location"])[0])

    blocked = app_client.post(f"/case-runs/{run}/execute", data={"csrf": csrf_of(page), "status": "blocked"})
    assert blocked.status_code == 422 and "needs a reason" in blocked.text
    saved = app_client.post(
        f"/case-runs/{run}/execute",
        data={"csrf": csrf_of(page), "status": "blocked", "comment": "no payment sandbox"},
        files=[("attachment", ("log.txt", b"502 from sandbox", "text/plain"))],
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    detail = app_client.get(f"/api/v1/case-runs/{run}", headers=bearer).json()
    assert detail["status"] == "blocked" and [a["name"] for a in detail["attachments"]] == ["log.txt"]

    finished = app_client.post(
        f"/launches/{launch}/execute/finish", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert finished.status_code == 303
    assert app_client.get(f"/api/v1/launches/{launch}", headers=bearer).json()["status"] == "completed"
    again = app_client.get(f"/launches/{launch}/execute").text
    assert "it accepts no more results" in again


def test_a_viewer_cannot_start_a_manual_launch(
    app_client: TestClient, db: Database, bearer: dict[str, str], tmp_path: Path
) -> None:
    _tests(app_client, bearer, tmp_path)
    sign_in(app_client, db, role=Role.VIEWER)
    chooser = app_client.get("/projects/web/manual", params={"q": "shop"})
    assert "2 tests chosen" in chooser.text
    denied = app_client.post("/projects/web/manual", data={"csrf": csrf_of(chooser.text), "q": "shop"})
    assert denied.status_code == 403
    assert (
        app_client.get("/api/v1/projects/web/launches", params={"source": "manual"}, headers=bearer).json()["items"]
        == []
    )


def test_a_selection_saved_on_the_page_starts_the_same_launch_again(
    app_client: TestClient, db: Database, bearer: dict[str, str], tmp_path: Path
) -> None:
    _tests(app_client, bearer, tmp_path)
    sign_in(app_client, db, role=Role.MAINTAINER)
    chooser = app_client.get("/projects/web/manual", params={"q": "checkout"})
    saved = app_client.post(
        "/projects/web/manual/selections",
        data={"csrf": csrf_of(chooser.text), "selection_name": "cart <b>smoke</b>", "q": "checkout"},
        follow_redirects=False,
    )
    assert saved.status_code == 422  # a name with markup is refused, nothing saved
    saved = app_client.post(
        "/projects/web/manual/selections",
        data={"csrf": csrf_of(chooser.text), "selection_name": "cart smoke", "q": "checkout"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    # later: the saved selection is offered, and opens the same tests
    page = app_client.get("/projects/web/manual").text
    assert "?selection=cart+smoke" in page or "?selection=cart%20smoke" in page
    chosen = app_client.get("/projects/web/manual", params={"selection": "cart smoke"})
    assert "1 test chosen" in chosen.text and "shop.Cart.test_checkout" in chosen.text
    created = app_client.post(
        "/projects/web/manual",
        data={"csrf": csrf_of(chosen.text), "selection": "cart smoke"},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    launch = int(re.findall(r"/launches/(\d+)/execute", created.headers["location"])[0])
    runs = app_client.get(f"/api/v1/launches/{launch}/case-runs", headers=bearer).json()["items"]
    assert [r["name"] for r in runs] == ["test_checkout"]
    assert app_client.get("/api/v1/projects/web/selections", headers=bearer).json()[0]["q"] == "checkout"
