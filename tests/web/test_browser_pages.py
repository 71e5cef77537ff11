"""Every page in a real browser (Debian's Chromium through Playwright) on the demo project:
filters and sorting, a bulk action, a defect created from a failure and moved, quarantine,
the live update of a running launch fed by the events API, and a hostile report that must
render as text everywhere. Screenshots land in ``test-artifacts/screenshots/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.service import demo as demo_data
from tests.web.conftest import LiveServer, junit, png
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _need_chromium
from tests.web.test_escaping import HOSTILE, RAW

if TYPE_CHECKING:
    from playwright.sync_api import Page


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


def _signed_in(chromium: Any, server: LiveServer, role: Role) -> tuple[Page, list[str]]:
    token = auth.create_token(server.db, project_key=None, role=role)
    code = auth.create_login_code(server.db, token.id)
    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/login/{code}")
    return page, errors


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_demo_project_pages_filters_bulk_action_and_defect_from_a_failure(
    live_server: LiveServer, chromium: Any
) -> None:
    from playwright.sync_api import expect

    assert demo_data.seed(live_server.db, live_server.settings.blob_dir)
    page, errors = _signed_in(chromium, live_server, Role.MAINTAINER)
    url = live_server.url

    # launches: trend chart, filters, sorting, keyboard
    page.goto(f"{url}/projects/demo")
    expect(page.get_by_role("heading", name="Pass rate trend")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    _shot(page, "demo-launches")
    page.get_by_label("Environment").fill("production")
    page.get_by_label("Sort").select_option("name")
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(demo_data.LAUNCHES // 3)
    expect(rows.first.locator("td").first).to_contain_text("CI #100")
    expect(rows.nth(1).locator("td").nth(2)).to_have_text("production")
    page.locator("figure.chart a").last.click()  # a point of the trend chart opens its launch
    page.wait_for_url(re.compile(r".*/launches/\d+$"))

    # the launch with the broken test's first failure: failed first, bulk status change
    page.goto(f"{url}/projects/demo")
    page.get_by_role("link", name=f"CI #{100 + demo_data.BROKEN_FROM}", exact=True).click()
    expect(page.get_by_role("heading", name="Case runs")).to_be_visible()
    page.get_by_role("link", name="Failed first").click()
    first = page.locator("table.runs tbody tr").first
    expect(first.locator(".badge")).to_have_text("failed")
    expect(page.get_by_role("heading", name="Failure patterns in this launch")).to_be_visible()
    _shot(page, "demo-launch")
    failed_name = first.locator("td").nth(2).locator("a").inner_text()
    first.get_by_role("checkbox").check()
    page.get_by_label("New status").select_option("blocked")
    page.get_by_label("Comment").fill("database was down")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("status")).to_contain_text("status of the selected case runs changed")
    page.get_by_role("link", name=failed_name, exact=True).first.click()
    expect(page.locator(".page-head .badge")).to_have_text("blocked")
    expect(page.locator(".audit")).to_contain_text("failed → blocked")

    # a failure: collapsed trace with a copy button, defect created from it, then moved
    page.goto(f"{url}/projects/demo/broken")
    _shot(page, "demo-broken")
    page.get_by_role("link", name=re.compile(r"case run #\d+")).first.click()
    trace = page.locator("details.trace")
    expect(trace.locator("pre")).to_be_hidden()
    trace.locator("summary").click()
    expect(trace.locator("pre .tl-err").first).to_be_visible()
    trace.get_by_role("button", name="Copy").click()
    expect(trace.get_by_role("button", name="Copied")).to_be_visible()
    expect(page.get_by_role("link", name="Full history »")).to_be_visible()
    _shot(page, "demo-case-run")
    page.get_by_text("Create a defect from this failure").click()
    expect(page.get_by_label("Title")).to_have_value(re.compile(r"^test_refund: AssertionError"))
    page.get_by_label("Severity").select_option("high")
    page.get_by_role("button", name="Create defect").click()
    expect(page.get_by_role("status")).to_have_text("The defect is created.")
    expect(page.get_by_role("link", name=demo_data.BROKEN)).to_be_visible()
    page.get_by_role("button", name="Start work").click()
    expect(page.locator(".page-head .badge")).to_have_text("in progress")
    _shot(page, "demo-defect")
    page.get_by_role("link", name="Defects").first.click()
    page.get_by_label("Status").select_option("in_progress")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.defects tbody tr")).to_have_count(1)
    _shot(page, "demo-defects")

    # flaky → a test: timeline, duration chart, evidence, quarantine toggle
    page.goto(f"{url}/projects/demo/flaky")
    expect(page.locator("table.flaky tbody tr")).to_have_count(len(demo_data.FLAKY))
    _shot(page, "demo-flaky")
    page.get_by_role("link", name=sorted(demo_data.FLAKY)[1]).click()
    expect(page.locator("svg.timeline rect")).to_have_count(demo_data.LAUNCHES)
    expect(page.get_by_role("heading", name="Flakiness evidence")).to_be_visible()
    page.get_by_label("Environment").select_option("production")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("svg.timeline rect")).to_have_count(demo_data.LAUNCHES // 3)
    page.get_by_label("Reason").fill("payment sandbox is flaky")
    page.get_by_role("button", name="Quarantine this test").click()
    expect(page.locator(".tag-quarantine")).to_be_visible()
    _shot(page, "demo-test")
    page.get_by_role("button", name="Lift quarantine").click()
    expect(page.locator(".tag-quarantine")).to_have_count(0)

    # slow, patterns (filtered), one pattern
    page.goto(f"{url}/projects/demo/slow")
    expect(page.get_by_role("link", name=demo_data.SLOW)).to_be_visible()
    _shot(page, "demo-slow")
    page.goto(f"{url}/projects/demo/patterns")
    page.get_by_label("Text").fill("timed out")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.patterns tbody tr")).to_have_count(1)
    _shot(page, "demo-patterns")
    page.locator("table.patterns tbody a").first.click()
    expect(page.get_by_role("heading", name=re.compile("Failure pattern"))).to_be_visible()
    _shot(page, "demo-pattern")

    # an unknown id: the friendly 404 page
    page.goto(f"{url}/launches/999999")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert [e for e in errors if "404" not in e] == [], errors


def _events(server: LiveServer, token: str, *events: dict[str, Any]) -> None:
    response = httpx.post(
        f"{server.url}/api/v1/projects/web/events",
        json={"events": list(events)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["refused"] == 0, response.text


def _test(name: str) -> dict[str, str]:
    return {"suite": "live.Suite", "name": name}


def test_a_running_launch_updates_live_while_events_arrive(live_server: LiveServer, chromium: Any) -> None:
    from playwright.sync_api import expect

    projects.create(live_server.db, "web", "Web shop")
    reporter = auth.create_token(live_server.db, project_key="web", role=Role.REPORTER).token
    ref = {"launch": "live-1"}
    _events(
        live_server,
        reporter,
        {"type": "launch.started", "launch": "live-1", "name": "Live run"},
        *({"type": "case_run.started", **ref, "id": f"t{n}", "test": _test(f"test_{n}")} for n in (1, 2, 3)),
    )
    launch_id = httpx.get(
        f"{live_server.url}/api/v1/projects/web/launches", headers={"Authorization": f"Bearer {reporter}"}
    ).json()["items"][0]["id"]
    page, errors = _signed_in(chromium, live_server, Role.VIEWER)
    page.goto(f"{live_server.url}/launches/{launch_id}")
    expect(page.locator("#launch-status .badge")).to_have_text("running")
    expect(page.locator('[data-stat="running"]')).to_have_text("3")
    expect(page.locator("[data-progress]")).to_have_text("0.0%")

    _events(
        live_server, reporter, {"type": "case_run.finished", **ref, "id": "t1", "status": "passed", "duration_ms": 1200}
    )
    row = page.locator("table.runs tr", has_text="test_1")
    expect(row.locator(".badge")).to_have_text("passed")
    expect(page.locator('[data-stat="passed"]')).to_have_text("1")
    expect(page.locator("[data-progress]")).to_have_text("33.3%")
    expect(page.locator("[data-eta]")).to_contain_text("left")
    _shot(page, "launch-live")

    _events(
        live_server,
        reporter,
        {
            "type": "case_run.finished",
            **ref,
            "id": "t2",
            "status": "failed",
            "failure": {"message": "boom", "type": "assertion"},
        },
        {"type": "case_run.finished", **ref, "id": "t4", "test": _test("test_4"), "status": "passed"},
    )
    expect(page.locator("table.runs tr", has_text="test_2").locator(".badge")).to_have_text("failed")
    expect(page.locator("table.runs tr", has_text="test_4").locator(".badge")).to_have_text("passed")  # a new row
    expect(page.locator('[data-stat="failed"]')).to_have_text("1")

    _events(
        live_server,
        reporter,
        {"type": "case_run.finished", **ref, "id": "t3", "status": "skipped"},
        {"type": "launch.finished", **ref, "status": "completed"},
    )
    expect(page.locator("#launch-status .badge")).to_have_text("completed")
    expect(page.locator("[data-live-note]")).to_contain_text("has finished")
    expect(page.locator("[data-progress]")).to_have_text("100.0%")
    _shot(page, "launch-live-finished")
    assert errors == [], errors


def test_a_hostile_report_renders_as_text_in_every_page(live_server: LiveServer, chromium: Any, tmp_path: Any) -> None:
    from playwright.sync_api import expect

    projects.create(live_server.db, "web", "Web shop")
    reporter = auth.create_token(live_server.db, project_key="web", role=Role.REPORTER).token
    report = junit(tmp_path / "evil.xml", HOSTILE)
    response = httpx.post(
        f"{live_server.url}/api/v1/projects/web/imports",
        files=[("report", (report.name, report.read_bytes())), ("attachment", (f"{RAW}.png", png(8, 8)))],
        data={"name": f"launch {RAW}", "environment": RAW, "branch": RAW},
        headers={"Authorization": f"Bearer {reporter}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    launch_id = response.json()["launch"]["id"]
    headers = {"Authorization": f"Bearer {reporter}"}
    run = httpx.get(f"{live_server.url}/api/v1/launches/{launch_id}/case-runs", headers=headers).json()["items"][0]
    pattern = httpx.get(f"{live_server.url}/api/v1/projects/web/failure-patterns", headers=headers).json()["items"][0]

    page, errors = _signed_in(chromium, live_server, Role.MAINTAINER)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pages = {
        "xss-launches": f"/projects/web?branch={RAW}",
        "xss-launch": f"/launches/{launch_id}",
        "xss-case-run": f"/case-runs/{run['id']}",
        "xss-test": f"/tests/{run['test_case_id']}",
        "xss-patterns": "/projects/web/patterns",
        "xss-pattern": f"/patterns/{pattern['id']}",
    }
    for name, path in pages.items():
        page.goto(live_server.url + path)
        expect(page.get_by_text(RAW).first).to_be_visible()
        assert page.locator("script").count() == 1  # only /static/app.js
        _shot(page, name)
    page.goto(f"{live_server.url}/case-runs/{run['id']}")
    expect(page.locator("h1")).to_contain_text(f".test_{RAW}")  # the suite's "/" becomes "." in identities
    # the report names the file "<script>alert(1)</script>.png"; its "/" makes "script>.png" the file name
    expect(page.locator("figure.shot figcaption")).to_contain_text("script>.png")
    page.locator("details.trace summary").click()
    expect(page.locator("#trace-text")).to_contain_text(f"trace {RAW}")
    expect(page.locator("pre.log").first).to_contain_text(f"out {RAW}")
    # a defect from the failure carries the text, still inert
    page.get_by_text("Create a defect from this failure").click()
    page.get_by_role("button", name="Create defect").click()
    expect(page.locator("h1")).to_contain_text(RAW)
    expect(page.locator("pre.description")).to_contain_text(f"boom {RAW}")
    _shot(page, "xss-defect")
    assert dialogs == [], dialogs
    assert errors == [], errors
