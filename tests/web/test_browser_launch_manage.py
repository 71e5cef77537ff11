"""Launch management in a real browser (Debian's Chromium through Playwright): the new
filters, retry selected, archive and unarchive, and deleting a launch by typing its name."""

from __future__ import annotations

import re
from pathlib import Path

from caserun.domain.model import Role
from caserun.service import auth, projects
from tests.web.conftest import BASELINE, CURRENT, LiveServer, junit
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _import, _need_chromium


def test_filters_retry_selected_archive_and_delete(live_server: LiveServer, tmp_path: Path) -> None:
    _need_chromium()
    from playwright.sync_api import expect, sync_playwright

    projects.create(live_server.db, "web", "Web shop")
    reporter = auth.create_token(live_server.db, project_key="web", role=Role.REPORTER).token
    common = {"branch": "main", "environment": "staging"}
    first = _import(live_server, reporter, junit(tmp_path / "base.xml", BASELINE), name="Nightly 1", **common)
    second = _import(live_server, reporter, junit(tmp_path / "current.xml", CURRENT), name="Nightly 2", **common)
    maintainer = auth.create_token(live_server.db, project_key="web", role=Role.MAINTAINER)
    code = auth.create_login_code(live_server.db, maintainer.id)
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.goto(f"{base}/login/{code}")
            expect(page.get_by_role("heading", name="Projects")).to_be_visible()
            expect(page.locator("svg.spark-rate")).to_have_count(1)  # two launches: a trend

            # launches: a pass-rate band keeps Nightly 2 (66.7 %) and drops Nightly 1 (75 %)
            page.goto(f"{base}/projects/web")
            page.get_by_label("Pass rate at least (%)").fill("60")
            page.get_by_label("Pass rate at most (%)").fill("70")
            page.get_by_label("Source").select_option("api")
            page.get_by_role("button", name="Apply").click()
            page.wait_for_url(re.compile(r"min_pass_rate=60"))
            table = page.locator("#main table.grid")
            expect(table.get_by_role("link", name="Nightly 2", exact=True)).to_be_visible()
            expect(table.get_by_role("link", name="Nightly 1", exact=True)).to_have_count(0)
            page.screenshot(path=str(SHOTS / "launches-filtered.png"), full_page=True)

            # a launch's case runs by suite and duration
            page.goto(f"{base}/launches/{second}")
            page.get_by_label("Slower than").fill("3")
            page.get_by_role("button", name="Apply").first.click()
            page.wait_for_url(re.compile(r"min_duration=3"))
            runs = page.locator("#main table.runs tbody tr")
            expect(runs).to_have_count(2)
            page.locator("#main table.runs").get_by_role("link", name="shop.Cart", exact=True).click()
            page.wait_for_url(re.compile(r"suite=shop.Cart"))
            expect(runs).to_have_count(1)
            expect(page.get_by_label("Suite")).to_have_value("shop.Cart")
            page.screenshot(path=str(SHOTS / "launch-filtered.png"), full_page=True)

            # retry selected: two chosen tests become a new running launch
            page.goto(f"{base}/launches/{second}")
            page.get_by_label("Select shop.Auth.test_login").check()
            page.get_by_label("Select shop.Cart.test_checkout").check()
            page.get_by_label("Retry in a new launch").check()
            page.get_by_role("button", name="Apply to selected").click()
            expect(page.get_by_text("A retry launch holds the selected tests.")).to_be_visible()
            expect(page.locator("#main table.runs tbody tr")).to_have_count(2)
            expect(page.locator("#launch-status .badge-running")).to_be_visible()
            page.screenshot(path=str(SHOTS / "retry-selected.png"), full_page=True)

            # archive the first launch: it leaves the list, and comes back
            page.goto(f"{base}/launches/{first}")
            page.get_by_role("button", name="Archive").click()
            expect(page.get_by_text("The launch is archived")).to_be_visible()
            expect(page.locator("[data-archived]")).to_be_visible()
            page.screenshot(path=str(SHOTS / "launch-archived.png"), full_page=True)
            page.goto(f"{base}/projects/web")
            expect(page.locator("#main table.grid").get_by_role("link", name="Nightly 1", exact=True)).to_have_count(0)
            page.get_by_label("Archived only").check()
            page.get_by_role("button", name="Apply").click()
            page.locator("#main table.grid").get_by_role("link", name="Nightly 1", exact=True).click()
            page.get_by_role("button", name="Unarchive").click()
            expect(page.get_by_text("The launch is back in the launch list.")).to_be_visible()

            # delete asks for the name: the button stays disabled until it is typed exactly
            page.goto(f"{base}/launches/{second}")
            page.get_by_text("Delete this launch…").click()
            button = page.get_by_role("button", name="Delete launch")
            expect(button).to_be_disabled()
            confirm = page.get_by_label("Type the launch name")
            confirm.fill("Nightly 1")
            expect(button).to_be_disabled()
            confirm.fill("Nightly 2")
            expect(button).to_be_enabled()
            page.screenshot(path=str(SHOTS / "launch-delete.png"), full_page=True)
            button.click()
            expect(page.get_by_text("The launch and its case runs are deleted")).to_be_visible()
            expect(page.locator("#main table.grid").get_by_role("link", name="Nightly 2", exact=True)).to_have_count(0)
            assert page.goto(f"{base}/launches/{second}").status == 404  # type: ignore[union-attr]
            assert errors == [e for e in errors if "404" in e], errors  # only the expected 404
        finally:
            browser.close()
    for name in ("launches-filtered", "launch-filtered", "retry-selected", "launch-archived", "launch-delete"):
        assert (SHOTS / f"{name}.png").stat().st_size > 0
