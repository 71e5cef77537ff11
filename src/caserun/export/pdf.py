"""The HTML report printed to PDF by Chromium (the same Debian Chromium the browser tests
drive), through Playwright's ``page.pdf``.

Needs the ``playwright`` package and a Chromium binary (``CASERUN_CHROMIUM``, default
``/usr/bin/chromium``); without them the export fails with a clear configuration error.
The page is loaded with ``set_content`` and every network request is refused, so the
PDF is made from the self-contained HTML alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from caserun.errors import ConfigError

DEFAULT_CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def chromium_path() -> str:
    return os.environ.get("CASERUN_CHROMIUM") or DEFAULT_CHROMIUM


def html_to_pdf(html: str) -> bytes:
    """A4 pages with backgrounds, from the report's HTML."""
    executable = chromium_path()
    if not Path(executable).exists():
        raise ConfigError(f"PDF export needs Chromium at {executable} (set CASERUN_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ConfigError("PDF export needs the playwright package (pip install playwright)") from None

    def refuse(route: Any) -> None:
        route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", refuse)
            page.set_content(html, wait_until="load")
            data: bytes = page.pdf(
                format="A4",
                print_background=True,
                margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"},
            )
            return data
        finally:
            browser.close()
