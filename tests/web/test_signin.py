"""Signing in (one-time link, token form), CSRF, signing out, and the sign-in redirect."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from caserun.api.deps import SESSION_COOKIE
from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.store.engine import Database


def login_code(db: Database, role: Role = Role.VIEWER) -> str:
    issued = auth.create_token(db, project_key="web", role=role)
    return auth.create_login_code(db, issued.id)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, html
    return match.group(1)


def test_one_time_code_signs_in_once(app_client: TestClient, db: Database, project: projects.Project) -> None:
    code = login_code(db)
    response = app_client.get(f"/login/{code}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert app_client.get("/", follow_redirects=False).status_code == 200

    app_client.cookies.clear()
    again = app_client.get(f"/login/{code}", follow_redirects=False)
    assert again.status_code == 401
    assert "already used or has expired" in again.text
    assert SESSION_COOKIE not in again.headers.get("set-cookie", "")
    assert app_client.get("/", follow_redirects=False).status_code == 303


def test_code_over_https_sets_a_secure_cookie(app_client: TestClient, db: Database, project: projects.Project) -> None:
    response = app_client.get(f"https://caserun.test/login/{login_code(db)}", follow_redirects=False)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/launches/7?status=failed", "/launches/7?status=failed"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_redirect_after_sign_in_stays_on_this_site(
    app_client: TestClient, db: Database, project: projects.Project, target: str, expected: str
) -> None:
    response = app_client.get(f"/login/{login_code(db)}", params={"next": target}, follow_redirects=False)
    assert response.headers["location"] == expected


def test_signed_out_pages_redirect_to_sign_in_with_next(app_client: TestClient) -> None:
    response = app_client.get("/launches/5", params={"status": "failed"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Flaunches%2F5%3Fstatus%3Dfailed"
    for path in ("/", "/projects/web", "/case-runs/1"):
        assert app_client.get(path, follow_redirects=False).headers["location"].startswith("/login?next=")
    form = app_client.get(response.headers["location"])
    assert form.status_code == 200
    assert 'name="next" value="/launches/5?status=failed"' in form.text


def test_token_form_signs_in_and_follows_next(app_client: TestClient, tokens: dict[str, str]) -> None:
    form = app_client.get("/login", params={"next": "/projects/web"})
    assert form.status_code == 200 and 'type="password"' in form.text
    response = app_client.post(
        "/login",
        data={"token": tokens["viewer"], "csrf": csrf_of(form.text), "next": "/projects/web"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/projects/web"
    assert SESSION_COOKIE in response.headers["set-cookie"]
    assert app_client.get("/projects/web").status_code == 200


def test_token_form_refuses_a_post_without_the_csrf_token(app_client: TestClient, tokens: dict[str, str]) -> None:
    form = app_client.get("/login")
    for csrf in ("", "0" * 64):
        response = app_client.post("/login", data={"token": tokens["viewer"], "csrf": csrf}, follow_redirects=False)
        assert response.status_code == 403
        assert "set-cookie" not in response.headers
    # a token taken from another browser's form does not work either
    app_client.cookies.clear()
    response = app_client.post(
        "/login", data={"token": tokens["viewer"], "csrf": csrf_of(form.text)}, follow_redirects=False
    )
    assert response.status_code == 403
    assert app_client.get("/", follow_redirects=False).status_code == 303


def test_token_form_with_a_wrong_token_says_so(app_client: TestClient, tokens: dict[str, str]) -> None:
    form = app_client.get("/login")
    response = app_client.post("/login", data={"token": "crn_nope", "csrf": csrf_of(form.text)})
    assert response.status_code == 401
    assert "That token is not valid" in response.text
    empty = app_client.post("/login", data={"token": " ", "csrf": csrf_of(form.text)})
    assert empty.status_code == 422


def test_sign_out_needs_the_csrf_token_and_ends_the_session(
    app_client: TestClient, db: Database, project: projects.Project
) -> None:
    app_client.get(f"/login/{login_code(db)}")
    page = app_client.get("/")
    assert 'action="/logout"' in page.text
    refused = app_client.post("/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert app_client.get("/", follow_redirects=False).status_code == 200

    session = app_client.cookies[SESSION_COOKIE]
    response = app_client.post("/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert app_client.get("/", follow_redirects=False).status_code == 303
    # the session is gone on the server, not only in this browser
    app_client.cookies.set(SESSION_COOKIE, session)
    assert app_client.get("/", follow_redirects=False).status_code == 303


def test_pages_carry_security_headers(app_client: TestClient, db: Database, project: projects.Project) -> None:
    for response in (
        app_client.get("/login"),
        app_client.get(f"/login/{login_code(db)}", follow_redirects=False),
        app_client.get("/"),
        app_client.get("/launches/424242"),
    ):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "img-src 'self' data:" in csp and "style-src 'self'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


def test_static_assets_are_served(app_client: TestClient) -> None:
    response = app_client.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
