"""Every string from a report is escaped in HTML, whichever page shows it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.web.conftest import junit, upload

RAW = "<script>alert(1)</script>"
XML = "&lt;script&gt;alert(1)&lt;/script&gt;"  # the same text, as it is written in XML
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
#: the one script every page loads (same origin, no inline code: the CSP forbids inline scripts)
OUR_SCRIPT = '<script src="/static/app.js" defer></script>'

HOSTILE = f"""
<testcase classname="evil.{XML}" name="test_{XML}" time="1">
  <properties><property name="{XML}" value="{XML}"/></properties>
  <failure message="boom {XML}" type="{XML}">trace {XML}</failure>
  <system-out>out {XML}
[[ATTACHMENT|{XML}.png]]</system-out>
  <system-err><![CDATA[err {RAW}]]></system-err>
</testcase>
"""


def test_script_tags_from_a_report_are_escaped_on_every_page(
    browser: TestClient, bearer: dict[str, str], tmp_path: Path
) -> None:
    launch_id = upload(
        browser,
        junit(tmp_path / "evil.xml", HOSTILE),
        bearer,
        name=f"launch {RAW}",
        environment=RAW,
        branch=RAW,
        commit=RAW,
        build_url=f"javascript:alert(1)//{RAW}",
    )
    run_id = browser.get(f"/api/v1/launches/{launch_id}/case-runs").json()["items"][0]["id"]
    pages = {
        "projects": browser.get("/"),
        "launches": browser.get("/projects/web", params={"branch": RAW}),
        "launch": browser.get(f"/launches/{launch_id}", params={"q": "script"}),
        "case run": browser.get(f"/case-runs/{run_id}"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.text
        assert RAW not in html, name
        assert "<script" not in html.lower().replace(OUR_SCRIPT, ""), name
        assert ESCAPED in html, name
    launch = pages["launch"].text
    assert 'href="javascript:' not in launch
    assert f"test_{ESCAPED}" in launch  # test name in the case runs table
    case_run = pages["case run"].text
    assert f'<pre class="message">boom {ESCAPED}</pre>' in case_run
    assert f'<span class="tl">trace {ESCAPED}</span>' in case_run
    assert f"out {ESCAPED}" in case_run and f"err {ESCAPED}" in case_run
    assert f'<th scope="row">{ESCAPED}</th><td>{ESCAPED}</td>' in case_run
