"""Chromium (Debian's, through Playwright) against a real server: the HTML report opened
from disk with the network blocked, its PDF turned into PNG pages (poppler's pdftoppm)
and read back (pdftotext), and share links in a signed-out browser, live and expired."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.store.tables import share_link
from tests.web.conftest import LiveServer, junit, png
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _need_chromium

CASES = """
<testcase classname="shop.Auth" name="test_login" time="1.5"/>
<testcase classname="shop.Cart" name="test_checkout" time="2.5">
  <failure message="expected &lt;script&gt;alert(1)&lt;/script&gt; total"
    type="AssertionError">Traceback (most recent call last):
  File "cart.py", line 12, in test_checkout
AssertionError: expected total 3 but was 4</failure>
  <system-out>[[ATTACHMENT|shots/cart.png]]</system-out>
</testcase>
<testcase classname="shop.Search" name="test_search" time="0.5"><skipped message="not today"/></testcase>
"""


def _need_poppler() -> None:
    if shutil.which("pdftoppm") and shutil.which("pdftotext"):
        return
    import os

    message = "poppler-utils (pdftoppm, pdftotext) missing: make browsers"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _seed(server: LiveServer, tmp_path: Path) -> tuple[int, dict[str, str]]:
    projects.create(server.db, "web", "Web shop")
    token = auth.create_token(server.db, project_key="web", role=Role.MAINTAINER).token
    headers = {"Authorization": f"Bearer {token}"}
    report = junit(tmp_path / "report.xml", CASES)
    files = [("report", (report.name, report.read_bytes())), ("attachment", ("shots/cart.png", png(64, 48)))]
    response = httpx.post(
        f"{server.url}/api/v1/projects/web/imports",
        files=files,
        data={"name": "Nightly <42>", "branch": "main"},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["launch"]["id"]), headers


def test_html_report_opens_offline_and_prints_to_pdf(live_server: LiveServer, tmp_path: Path) -> None:
    _need_chromium()
    _need_poppler()
    from playwright.sync_api import sync_playwright

    launch, headers = _seed(live_server, tmp_path)
    export = f"{live_server.url}/api/v1/launches/{launch}/export"
    html = httpx.get(export, params={"format": "html"}, headers=headers, timeout=60)
    assert html.status_code == 200, html.text
    report = tmp_path / "report.html"
    report.write_bytes(html.content)
    pdf = httpx.get(export, params={"format": "pdf"}, headers=headers, timeout=120)
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF-")
    (tmp_path / "report.pdf").write_bytes(pdf.content)

    requested: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(offline=True)

            def watch(route: object) -> None:
                url = route.request.url  # type: ignore[attr-defined]
                requested.append(url)
                if url.startswith("file://"):
                    route.continue_()  # type: ignore[attr-defined]
                else:
                    route.abort()  # type: ignore[attr-defined]

            context.route("**/*", watch)
            page = context.new_page()
            page.goto(report.as_uri())
            assert page.locator("h1").inner_text().startswith("Nightly <42>")
            failure = page.locator("article.failure")
            assert "shop.Cart.test_checkout" in failure.inner_text()
            assert "expected <script>alert(1)</script> total" in failure.inner_text()  # shown, not run
            assert "AssertionError: expected total 3 but was 4" in failure.locator("pre").inner_text()
            shot = failure.locator("img.shot")
            assert shot.evaluate("img => img.complete && img.naturalWidth") == 64  # the embedded screenshot
            assert page.locator("#status-chart rect").count() == 5
            assert "Pass rate" in page.locator("#summary").inner_text()
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "report-offline.png"), full_page=True)
        finally:
            browser.close()
    assert requested == [report.as_uri()]  # the file itself, nothing else

    pages_dir = tmp_path / "pages"
    pages_dir.mkdir()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(tmp_path / "report.pdf"), str(pages_dir / "page")], check=True)
    pngs = sorted(pages_dir.glob("page*.png"))
    info = subprocess.run(["pdfinfo", str(tmp_path / "report.pdf")], capture_output=True, text=True, check=True)
    count = int(next(line.split()[-1] for line in info.stdout.splitlines() if line.startswith("Pages:")))
    assert 1 <= count <= 3 and len(pngs) == count
    assert all(p.read_bytes().startswith(b"\x89PNG") and p.stat().st_size > 1000 for p in pngs)
    shutil.copy(pngs[0], SHOTS / "report-pdf-page-1.png")
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Nightly <42>" in text
    assert "shop.Cart.test_checkout" in text
    assert "expected <script>alert(1)</script> total" in text


def test_share_link_in_a_signed_out_browser_and_an_expired_one(live_server: LiveServer, tmp_path: Path) -> None:
    _need_chromium()
    from playwright.sync_api import expect, sync_playwright

    launch, headers = _seed(live_server, tmp_path)
    links = f"{live_server.url}/api/v1/launches/{launch}/share-links"
    live = httpx.post(links, json={"expires_in_days": 2}, headers=headers, timeout=30).json()
    expired = httpx.post(links, json={"expires_in_days": 1}, headers=headers, timeout=30).json()
    with live_server.db.write() as conn:
        conn.execute(
            update(share_link)
            .where(share_link.c.id == expired["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    shared_url = live["url"].replace("http://127.0.0.1", live_server.url.rsplit(":", 1)[0])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context().new_page()  # no session: never signed in
            page.goto(f"{live_server.url}/s/{live['token']}")
            expect(page.locator("h1")).to_contain_text("Nightly <42>")
            expect(page.locator("[data-stat=failed]")).to_have_text("1")
            expect(page.locator(".shared-failure")).to_contain_text("AssertionError: expected total 3 but was 4")
            expect(page.locator("table.runs tbody tr")).to_have_count(3)
            hrefs = page.locator("a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
            assert all(h.startswith(f"/s/{live['token']}") for h in hrefs), hrefs
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "share-link.png"), full_page=True)

            page.goto(f"{live_server.url}/s/{expired['token']}")
            expect(page.locator("h1")).to_have_text("This link is not available")
            assert "Nightly" not in page.content()
            page.screenshot(path=str(SHOTS / "share-link-expired.png"))
        finally:
            browser.close()
    assert shared_url.endswith(live["token"])
    views = httpx.get(links, headers=headers, timeout=30).json()["items"]
    assert {v["id"]: v["view_count"] for v in views} == {live["id"]: 1, expired["id"]: 0}
