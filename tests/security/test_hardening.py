"""HTTP hardening: security headers on every response, safe attachment downloads, and a
413 JSON error for bodies past their limit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from xml.sax.saxutils import escape

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from caserun.api import hardening
from caserun.app import create_app
from caserun.settings import Settings
from caserun.store.engine import Database
from tests.web.conftest import sign_in


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def upload_with(client: TestClient, token: str, name: str, data: bytes, content_type: str | None = None) -> int:
    """A launch whose one failed test carries one attachment named ``name``; its attachment id."""
    report = f"""<testsuite><testcase classname="x" name="t"><failure message="m"/>
      <system-out>[[ATTACHMENT|{escape(name)}]]</system-out></testcase></testsuite>"""
    part: tuple[str, bytes] | tuple[str, bytes, str] = (
        (name, data) if content_type is None else (name, data, content_type)
    )
    files = [("report", ("r.xml", report.encode())), ("attachment", part)]
    created = client.post("/api/v1/projects/web/imports", files=files, headers=bearer(token))
    assert created.status_code == 201, created.text
    launch = created.json()["launch"]["id"]
    run = client.get(f"/api/v1/launches/{launch}/case-runs", headers=bearer(token)).json()["items"][0]
    attachments = client.get(f"/api/v1/case-runs/{run['id']}", headers=bearer(token)).json()["attachments"]
    assert attachments, run
    return int(attachments[0]["id"])


def test_pages_send_a_csp_without_inline_script(app_client: TestClient, db: Database, tokens: dict[str, str]) -> None:
    sign_in(app_client, db)
    for path in ("/", "/login", "/projects/web", "/projects/web/flaky", "/launches/999"):
        response = app_client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        # nothing in the markup that the policy would block
        assert (
            "<script>" not in response.text and " onclick=" not in response.text and "javascript:" not in response.text
        )


def test_every_other_response_is_nosniff_and_unframeable(app_client: TestClient, tokens: dict[str, str]) -> None:
    for path, headers in (
        ("/healthz", {}),
        ("/api/v1/projects", bearer(tokens["viewer"])),
        ("/api/v1/projects", {}),  # a 401
        ("/api/v1/nowhere", {}),  # a 404 from the router
        ("/static/app.js", {}),
        ("/openapi.json", {}),
    ):
        response = app_client.get(path, headers=headers)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
    docs = app_client.get("/api/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("name", "data", "declared"),
    [
        ("report.html", b"<script>alert(document.cookie)</script>", "text/html"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
        ("page.xhtml", b"<html xmlns='http://www.w3.org/1999/xhtml'><script>alert(1)</script></html>", None),
        ("notes.txt", b"<script>alert(1)</script>", "text/plain"),
    ],
)
def test_attachments_that_could_run_script_are_downloads(
    app_client: TestClient, tokens: dict[str, str], name: str, data: bytes, declared: str | None
) -> None:
    attachment = upload_with(app_client, tokens["reporter"], name, data, declared)
    response = app_client.get(f"/api/v1/attachments/{attachment}", headers=bearer(tokens["viewer"]))
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]


def test_images_show_inline_and_hostile_names_are_escaped(app_client: TestClient, tokens: dict[str, str]) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    attachment = upload_with(app_client, tokens["reporter"], "shot <b>ü</b>; filename=evil.html;.png", png, "image/png")
    response = app_client.get(f"/api/v1/attachments/{attachment}", headers=bearer(tokens["viewer"]))
    assert response.headers["content-type"] == "image/png"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("inline;")
    assert disposition.count('"') == 2 and disposition.count(";") in (1, 2)
    assert "<" not in disposition and "evil.html;" not in disposition
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_download_safety_net_covers_any_route() -> None:
    """The middleware alone, behind a route that forgets every rule: it still cannot serve
    HTML inline."""

    async def careless(request: Request) -> Response:
        return Response("<script>alert(1)</script>", media_type="text/html", headers={"Content-Disposition": "inline"})

    async def archive(request: Request) -> Response:
        return Response(b"PK", media_type="application/zip", headers={"Content-Disposition": "attachment"})

    routes = [Route("/f", careless), Route("/z", archive)]
    app = hardening.Hardening(Starlette(routes=routes), upload_limit=lambda: 10)
    assert TestClient(app).get("/z").headers["content-type"] == "application/zip"  # harmless types are kept
    response = TestClient(app).get("/f")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == "attachment"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_content_disposition_keeps_unicode_names_safely() -> None:
    header = hardening.content_disposition('../../etc/Résumé "final".pdf')
    assert header.startswith("attachment; filename=\"R_sum_ _final_.pdf\"; filename*=UTF-8''")
    assert "%C3%A9" in header and ".." not in header.split(";")[1]
    assert hardening.content_disposition("plain.txt", inline=True) == 'inline; filename="plain.txt"'
    assert hardening.content_disposition("") == 'attachment; filename="attachment"'


@pytest.fixture
def small_upload_client(settings: Settings, db: Database, tokens: dict[str, str]) -> Iterator[TestClient]:
    app = create_app(replace(settings, max_upload_bytes=4096), database=db)
    with TestClient(app, base_url="http://caserun.test") as client:
        yield client


def test_a_declared_oversized_body_is_refused_before_it_is_read(
    small_upload_client: TestClient, tokens: dict[str, str]
) -> None:
    files = [("report", ("r.xml", b"<testsuite>" + b" " * 8000 + b"</testsuite>"))]
    response = small_upload_client.post("/api/v1/projects/web/imports", files=files, headers=bearer(tokens["reporter"]))
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and "over the limit of 4096 bytes" in error["message"]
    lying = small_upload_client.post(
        "/api/v1/projects/web/defects",
        content=b"{}",
        headers={**bearer(tokens["admin"]), "Content-Type": "application/json", "Content-Length": str(10**9)},
    )
    assert lying.status_code == 413 and "1000000000 bytes" in lying.json()["error"]["message"]


def test_a_streamed_oversized_body_is_cut_off_with_413(small_upload_client: TestClient, tokens: dict[str, str]) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="report"; filename="r.xml"\r\n\r\n'
        for _ in range(10):
            yield b"<x/>" * 256
        yield b"\r\n--b--\r\n"

    response = small_upload_client.post(
        "/api/v1/projects/web/imports",
        content=chunks(),  # no Content-Length: chunked
        headers={**bearer(tokens["reporter"]), "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


def test_forms_and_json_have_their_own_limits() -> None:
    async def echo(request: Request) -> Response:
        return JSONResponse({"size": len(await request.body())})

    app = hardening.Hardening(
        Starlette(routes=[Route("/e", echo, methods=["POST"])]),
        upload_limit=lambda: 10_000,
        body_limit=100,
        form_limit=50,
    )
    client = TestClient(app)
    assert client.post("/e", content=b"x" * 100, headers={"Content-Type": "application/json"}).json() == {"size": 100}
    assert client.post("/e", content=b"x" * 101, headers={"Content-Type": "application/json"}).status_code == 413
    assert client.post("/e", data={"a": "x" * 60}).status_code == 413
    assert client.post("/e", files={"f": ("f", b"x" * 500)}).status_code == 200
    streamed = client.post("/e", content=iter([b"x" * 60, b"x" * 60]), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413  # (the app's own error handler words it; JSON in caserun)
