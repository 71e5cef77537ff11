"""One real browser (Debian's Chromium through Playwright) against a real server: sign in
with a one-time link, walk projects → launch → case run, and keep screenshots in
``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from caserun.domain.model import Role
from caserun.service import auth, projects
from tests.web.conftest import BASELINE, CURRENT, LiveServer, junit, png

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing (install Debian's chromium: make browsers)")
    pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium: make browsers)")


def _import(server: LiveServer, token: str, path: Path, **fields: str) -> int:
    files = [
        ("report", (path.name, path.read_bytes())),
        ("attachment", ("shots/login.png", png(320, 180))),
        ("attachment", ("logs/server.log", b"GET /login 200\n")),
    ]
    response = httpx.post(
        f"{server.url}/api/v1/projects/web/imports",
        files=files,
        data=fields,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["launch"]["id"])


def test_sign_in_and_walk_from_projects_to_a_case_run(live_server: LiveServer, tmp_path: Path) -> None:
    _need_chromium()
    from playwright.sync_api import expect, sync_playwright

    projects.create(live_server.db, "web", "Web shop")
    reporter = auth.create_token(live_server.db, project_key="web", role=Role.REPORTER).token
    common = {"branch": "main", "environment": "staging"}
    _import(live_server, reporter, junit(tmp_path / "base.xml", BASELINE), name="Nightly 1", **common)
    launch_id = _import(
        live_server,
        reporter,
        junit(tmp_path / "current.xml", CURRENT),
        name="Nightly 2",
        commit="0a1b2c3d",
        build_url="https://ci.example.com/builds/2",
        **common,
    )
    viewer = auth.create_token(live_server.db, project_key=None, role=Role.VIEWER)
    code = auth.create_login_code(live_server.db, viewer.id)
    SHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

            page.goto(f"{live_server.url}/login/{code}")
            expect(page.get_by_role("heading", name="Projects")).to_be_visible()
            expect(page.get_by_role("link", name="Nightly 2")).to_be_visible()
            page.screenshot(path=str(SHOTS / "projects.png"), full_page=True)

            page.get_by_role("link", name="Web shop").click()
            expect(page.get_by_role("link", name="Nightly 1", exact=True)).to_be_visible()
            page.screenshot(path=str(SHOTS / "launches.png"), full_page=True)

            page.get_by_role("link", name="Nightly 2", exact=True).click()
            page.wait_for_url(f"**/launches/{launch_id}")
            expect(page.get_by_role("heading", name="Case runs")).to_be_visible()
            expect(page.locator(".badge-failed").first).to_be_visible()
            page.screenshot(path=str(SHOTS / "launch.png"), full_page=True)

            page.locator("#main table.runs").get_by_role("link", name="shop.Auth.test_login").click()
            expect(page.get_by_role("heading", name="shop.Auth.test_login")).to_be_visible()
            image = page.locator("figure.shot img")
            expect(image).to_be_visible()
            assert image.evaluate("img => img.naturalWidth") == 320  # served through the session cookie
            page.screenshot(path=str(SHOTS / "case-run-attachments.png"), full_page=True)

            page.go_back()
            page.locator("#main table.runs").get_by_role("link", name="shop.Cart.test_checkout").click()
            trace = page.locator("details.trace")
            expect(trace.locator("pre")).to_be_hidden()  # collapsed until asked for
            trace.locator("summary").click()
            expect(trace.locator("pre")).to_be_visible()
            page.screenshot(path=str(SHOTS / "case-run.png"), full_page=True)

            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("heading", name="Sign in to caserun")).to_be_visible()
            assert errors == [], errors  # no CSP violations or failed loads
        finally:
            browser.close()
    for name in ("projects", "launches", "launch", "case-run", "case-run-attachments"):
        assert (SHOTS / f"{name}.png").stat().st_size > 0
