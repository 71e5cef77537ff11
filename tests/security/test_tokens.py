"""Tokens: named, shown once, hashed, expiring, last-used at most once a minute, revocable
through the API, the CLI and the page; expired and revoked tokens get 401."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from caserun.cli import app as cli_app
from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.settings import Settings
from caserun.store.engine import Database
from caserun.store.tables import token, web_session
from tests.security.world import csrf, sign_in


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_api_issues_a_named_token_once_and_lists_it_without_its_secret(
    app_client: TestClient, tokens: dict[str, str], db: Database
) -> None:
    created = app_client.post(
        "/api/v1/tokens",
        json={"name": "CI uploads", "role": "reporter", "project": "web", "expires_days": 30},
        headers=bearer(tokens["maintainer"]),
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    issued = created.json()["token"]
    assert secret.startswith("crn_") and len(secret) >= 40
    assert issued["name"] == "CI uploads" and issued["state"] == "active" and issued["project_key"] == "web"
    assert secret.startswith(issued["prefix"])
    assert 29 <= (datetime.fromisoformat(issued["expires_at"]) - datetime.now(UTC)).days <= 30

    listed = app_client.get("/api/v1/tokens", headers=bearer(tokens["maintainer"]))
    assert listed.status_code == 200
    with db.read() as conn:
        hashes = list(conn.execute(select(token.c.token_hash)).scalars())
    for h in hashes:
        assert h not in listed.text
    assert secret not in listed.text
    names = [t["name"] for t in listed.json()["items"]]
    assert "CI uploads" in names and len(names) == 5  # the four role tokens of web and this one
    assert app_client.get("/api/v1/projects/web", headers=bearer(secret)).status_code == 200


def test_a_maintainer_cannot_mint_or_revoke_stronger_tokens_or_instance_tokens(
    app_client: TestClient, tokens: dict[str, str], db: Database
) -> None:
    h = bearer(tokens["maintainer"])
    too_strong = app_client.post("/api/v1/tokens", json={"name": "x", "role": "admin", "project": "web"}, headers=h)
    assert too_strong.status_code == 403
    instance = app_client.post("/api/v1/tokens", json={"name": "x", "role": "admin", "project": None}, headers=h)
    assert instance.status_code == 403
    admin_id = next(
        t["id"] for t in app_client.get("/api/v1/tokens", headers=h).json()["items"] if t["role"] == "admin"
    )
    assert app_client.delete(f"/api/v1/tokens/{admin_id}", headers=h).status_code == 403
    # an instance token is invisible to a project maintainer
    instance_id = next(
        t["id"]
        for t in app_client.get("/api/v1/tokens", headers=bearer(tokens["instance"])).json()["items"]
        if t["project_key"] is None
    )
    assert app_client.delete(f"/api/v1/tokens/{instance_id}", headers=h).status_code == 404
    made = app_client.post("/api/v1/tokens", json={"name": "ops", "role": "admin"}, headers=bearer(tokens["instance"]))
    assert made.status_code == 201 and made.json()["token"]["project_key"] is None


def test_revoked_and_expired_tokens_are_refused(app_client: TestClient, tokens: dict[str, str], db: Database) -> None:
    victim = auth.create_token(db, project_key="web", role=Role.REPORTER, name="leaked")
    assert app_client.get("/api/v1/projects/web", headers=bearer(victim.token)).status_code == 200
    revoked = app_client.delete(f"/api/v1/tokens/{victim.id}", headers=bearer(tokens["admin"]))
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    again = app_client.delete(f"/api/v1/tokens/{victim.id}", headers=bearer(tokens["admin"]))
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    refused = app_client.get("/api/v1/projects/web", headers=bearer(victim.token))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"

    short = auth.create_token(db, project_key="web", role=Role.VIEWER, name="short", expires_days=1)
    with db.write() as conn:
        conn.execute(update(token).where(token.c.id == short.id).values(expires_at=datetime.now(UTC) - timedelta(1)))
    assert app_client.get("/api/v1/projects/web", headers=bearer(short.token)).status_code == 401
    assert auth.get_token(db, short.id).state == "expired"


def test_revoking_ends_web_sessions(app_client: TestClient, db: Database, project: projects.Project) -> None:
    issued = auth.create_token(db, project_key="web", role=Role.VIEWER)
    assert app_client.get(f"/login/{auth.create_login_code(db, issued.id)}", follow_redirects=False).status_code == 303
    assert app_client.get("/", follow_redirects=False).status_code == 200
    auth.revoke_token(db, None, issued.id)
    with db.read() as conn:
        assert conn.execute(select(web_session).where(web_session.c.token_id == issued.id)).first() is None
    assert app_client.get("/", follow_redirects=False).status_code == 303


def test_last_used_is_written_at_most_once_a_minute(app_client: TestClient, db: Database, project: object) -> None:
    issued = auth.create_token(db, project_key="web", role=Role.VIEWER)
    writes: list[datetime] = []
    original = auth.tokens.touch

    def counting(conn: object, token_id: int, when: datetime, stale_before: datetime) -> None:
        writes.append(when)
        original(conn, token_id, when, stale_before)  # type: ignore[arg-type]

    auth.tokens.touch = counting  # type: ignore[assignment]
    try:
        for _ in range(20):
            assert app_client.get("/api/v1/projects/web", headers=bearer(issued.token)).status_code == 200
        assert len(writes) == 1
        first = auth.get_token(db, issued.id).last_used_at
        assert first is not None and abs((datetime.now(UTC) - first).total_seconds()) < 60
        with db.write() as conn:  # a minute later, the next request records the use again
            conn.execute(update(token).where(token.c.id == issued.id).values(last_used_at=first - timedelta(minutes=2)))
        app_client.get("/api/v1/projects/web", headers=bearer(issued.token))
        assert len(writes) == 2
    finally:
        auth.tokens.touch = original  # type: ignore[assignment]


def test_cli_lists_and_revokes(settings: Settings, db: Database, tokens: dict[str, str]) -> None:
    runner = CliRunner()
    base = ["--database", settings.db_url, "--data-dir", str(settings.data_dir)]
    listed = runner.invoke(cli_app, ["token", "list", "--project", "web", "--output", "json", *base])
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.output)["items"]
    assert {t["role"] for t in items} == {"viewer", "reporter", "maintainer", "admin"}
    assert all(t["state"] == "active" for t in items)
    assert not any(secret in listed.output for secret in tokens.values())
    victim = next(t for t in items if t["role"] == "reporter")
    revoked = runner.invoke(cli_app, ["token", "revoke", str(victim["id"]), *base])
    assert revoked.exit_code == 0, revoked.output
    assert f"revoked token {victim['id']}" in revoked.output
    text = runner.invoke(cli_app, ["token", "list", *base], env={"COLUMNS": "200"})
    assert text.exit_code == 0 and "revoked" in text.output and "(instance)" in text.output
    missing = runner.invoke(cli_app, ["token", "revoke", "99999", *base])
    assert missing.exit_code == 1


def test_token_page_issues_shows_once_and_revokes(app_client: TestClient, db: Database, project: object) -> None:
    sign_in(app_client, db, "maintainer")
    page = app_client.get("/tokens")
    assert page.status_code == 200 and "maintainer session" in page.text
    assert page.headers["cache-control"] == "no-store"
    made = app_client.post(
        "/tokens", data={"csrf": csrf(app_client), "name": "nightly <b>", "role": "reporter", "project": "web"}
    )
    assert made.status_code == 201
    secret = re.search(r'id="issued-secret" class="secret">(crn_[^<]+)<', made.text)
    assert secret, made.text
    assert "nightly &lt;b&gt;" in made.text
    assert secret.group(1) not in app_client.get("/tokens").text  # shown once
    token_id = next(v.id for v in auth.list_tokens(db, None, "web") if v.name == "nightly <b>")
    gone = app_client.post(f"/tokens/{token_id}/revoke", data={"csrf": csrf(app_client)}, follow_redirects=False)
    assert gone.status_code == 303 and "done=revoked" in gone.headers["location"]
    assert auth.get_token(db, token_id).state == "revoked"
    forged = app_client.post(f"/tokens/{token_id}/revoke", data={"csrf": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403
    sign_in(app_client, db, "viewer")
    assert app_client.get("/tokens").status_code == 403
