"""A full manual launch in a real browser: a maintainer writes a test's steps and tags on its
page, starts a manual launch from the tag, works through it with the keyboard, records step
results, a failure with a screenshot and a pass, and finishes the launch."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from caserun.domain.model import Role
from caserun.service import auth, projects
from tests.web.conftest import LiveServer, junit, png
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _need_chromium

CASES = """
<testcase classname="shop.Auth" name="test_login" time="1"/>
<testcase classname="shop.Cart" name="test_checkout" time="2"/>
<testcase classname="shop.Search" name="test_search" time="3"/>
"""


@pytest.fixture
def chromium() -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_a_manual_launch_from_a_tag_with_steps_results_an_attachment_and_finish(
    live_server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    url = live_server.url
    projects.create(live_server.db, "web", "Web shop")
    reporter = auth.create_token(live_server.db, project_key="web", role=Role.REPORTER).token
    headers = {"Authorization": f"Bearer {reporter}"}
    report = junit(tmp_path / "r.xml", CASES)
    with report.open("rb") as fh:
        made = httpx.post(f"{url}/api/v1/projects/web/imports", files={"report": fh}, headers=headers, timeout=30)
    assert made.status_code == 201, made.text
    found = httpx.get(f"{url}/api/v1/projects/web/tests", params={"q": "shop"}, headers=headers).json()
    ids = {t["name"]: t["id"] for t in found}

    maintainer = auth.create_token(live_server.db, project_key="web", role=Role.MAINTAINER)
    code = auth.create_login_code(live_server.db, maintainer.id)
    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}/login/{code}")

    # write the definitions on the tests' pages: login gets two steps, both get the tag
    page.goto(f"{url}/tests/{ids['test_login']}")
    expect(page.get_by_text("Nobody has described this test yet.")).to_be_visible()
    page.get_by_text("Edit the definition").click()
    page.get_by_label("Description").fill("A shopper signs in <script>alert(1)</script>")
    page.get_by_label(re.compile("^Steps")).fill(
        "Open /login => The form shows\nSign in as alice => Dashboard greets alice"
    )
    page.get_by_label("Priority").select_option("critical")
    page.get_by_label("Tags, separated by commas").fill("smoke, auth")
    page.get_by_role("button", name="Save definition").click()
    expect(page.get_by_test_id("definition-priority")).to_have_text("critical")
    expect(page.locator("table.steps tbody tr")).to_have_count(2)
    expect(page.locator("#definition p.prewrap")).to_have_text("A shopper signs in <script>alert(1)</script>")
    page.goto(f"{url}/tests/{ids['test_checkout']}")
    page.get_by_text("Edit the definition").click()
    page.get_by_label("Tags, separated by commas").fill("smoke")
    page.get_by_role("button", name="Save definition").click()
    page.get_by_role("link", name="smoke").click()  # the tag opens "Run manually" for it

    # the run-manually page lists the tagged tests; start the launch
    expect(page.get_by_label("Tag")).to_have_value("smoke")
    expect(page.get_by_test_id("manual-candidates").locator("tbody tr")).to_have_count(2)
    page.get_by_label("Launch name").fill("Release 2.1 manual check")
    page.get_by_label("Environment").fill("staging")
    page.get_by_label("Assignee").fill("bob")
    page.get_by_role("button", name="Start manual launch").click()
    page.wait_for_url(re.compile(r".*/launches/\d+/execute"))
    launch_id = int(re.findall(r"/launches/(\d+)/execute", page.url)[0])
    expect(page.get_by_role("status")).to_contain_text("Manual launch created")
    expect(page.get_by_test_id("manual-progress")).to_have_text("0 / 2 done")
    page.screenshot(path=str(SHOTS / "manual-execute.png"), full_page=True)

    # the keyboard walks the list: j next, k previous
    heading = page.locator("#current-title")
    expect(heading).to_contain_text("shop.Auth.test_login")
    page.keyboard.press("j")
    expect(heading).to_contain_text("shop.Cart.test_checkout")
    page.keyboard.press("k")
    expect(heading).to_contain_text("shop.Auth.test_login")

    # login: step 2 fails, a screenshot attached
    page.get_by_label("Result of step 1", exact=True).select_option("passed")
    page.get_by_label("Actual result of step 1").fill("form shown")
    page.get_by_label("Result of step 2", exact=True).select_option("failed")
    page.get_by_label("Actual result of step 2").fill("error 500")
    page.get_by_label("failed", exact=True).check()
    page.get_by_label(re.compile("^Comment")).fill("sign-in answers 500")
    shot = tmp_path / "sign-in.png"
    shot.write_bytes(png())
    page.get_by_label("Screenshots or files").set_input_files(str(shot))
    page.get_by_role("button", name="Save result").click()
    expect(page.get_by_role("status")).to_have_text("Result saved.")
    # on to the next test still to do
    expect(heading).to_contain_text("shop.Cart.test_checkout")
    expect(page.get_by_test_id("manual-progress")).to_have_text("1 / 2 done")
    page.get_by_label("passed", exact=True).check()
    page.get_by_role("button", name="Save result").click()
    expect(page.get_by_test_id("manual-progress")).to_have_text("2 / 2 done")
    page.get_by_role("button", name="Finish launch").click()
    page.wait_for_url(re.compile(rf".*/launches/{launch_id}$"))
    expect(page.locator(".page-head .badge")).to_have_text("completed")
    page.screenshot(path=str(SHOTS / "manual-finished.png"), full_page=True)

    # what was recorded, read back through the API
    runs = httpx.get(f"{url}/api/v1/launches/{launch_id}/case-runs", headers=headers).json()["items"]
    login = next(r for r in runs if r["name"] == "test_login")
    detail = httpx.get(f"{url}/api/v1/case-runs/{login['id']}", headers=headers).json()
    assert detail["status"] == "failed" and detail["failure"]["message"] == "sign-in answers 500"
    assert [a["name"] for a in detail["attachments"]] == ["sign-in.png"]
    launch = httpx.get(f"{url}/api/v1/launches/{launch_id}", headers=headers).json()
    assert (launch["source"], launch["environment"]) == ("manual", "staging")
    assert (launch["summary"]["passed"], launch["summary"]["failed"]) == (1, 1)
    with live_server.db.read() as conn:
        from caserun.store import case_runs

        row = case_runs.get(conn, login["id"])
    assert row is not None
    assert row["step_results"] == [
        {"status": "passed", "actual": "form shown"},
        {"status": "failed", "actual": "error 500"},
    ]
    assert row["executed_by"]
    assert errors == []
