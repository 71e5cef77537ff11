"""Share links: maintainers create, list and revoke them; the public view shows one launch
only, counts views, asks for a password, and tells a visitor nothing when it does not work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from caserun.app import create_app
from caserun.settings import Settings
from caserun.store.engine import Database
from caserun.store.tables import share_link
from tests.web.conftest import BASELINE, CURRENT, junit, upload


@pytest.fixture
def launch(client: TestClient, tmp_path: Path) -> int:
    upload(client, junit(tmp_path / "base.xml", BASELINE), {}, name="Nightly 1", branch="main")
    return upload(client, junit(tmp_path / "cur.xml", CURRENT), {}, name="Nightly <2>", branch="main")


@pytest.fixture
def maintainer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['maintainer']}"}


@pytest.fixture
def visitor(settings: Settings, db: Database) -> TestClient:
    """A browser with no account and no cookies, on the same server."""
    return TestClient(create_app(settings, database=db), base_url="http://caserun.test")


def _create(client: TestClient, launch: int, headers: dict[str, str], **body: object) -> dict[str, object]:
    response = client.post(f"/api/v1/launches/{launch}/share-links", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_maintainers_create_list_and_revoke(client: TestClient, launch: int, maintainer: dict[str, str]) -> None:
    created = _create(client, launch, maintainer, expires_in_days=3)
    token = str(created["token"])
    assert created["url"] == f"http://caserun.test/s/{token}"
    assert created["state"] == "active" and created["has_password"] is False
    expires = datetime.fromisoformat(str(created["expires_at"]))
    assert timedelta(days=2, hours=23) < expires - datetime.now(UTC) <= timedelta(days=3)
    listed = client.get(f"/api/v1/launches/{launch}/share-links", headers=maintainer).json()["items"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert "token" not in listed[0] and token not in str(listed)  # the secret is shown once
    revoked = client.delete(f"/api/v1/share-links/{created['id']}", headers=maintainer)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert client.delete(f"/api/v1/share-links/{created['id']}", headers=maintainer).status_code == 200


def test_reporters_cannot_share_and_bad_input_is_named(client: TestClient, launch: int, maintainer: dict) -> None:
    denied = client.post(f"/api/v1/launches/{launch}/share-links", json={})
    assert denied.status_code == 403
    assert client.get(f"/api/v1/launches/{launch}/share-links").status_code == 403
    too_long = client.post(f"/api/v1/launches/{launch}/share-links", json={"expires_in_days": 400}, headers=maintainer)
    assert too_long.status_code == 422 and "expires_in_days" in too_long.json()["error"]["message"]
    short = client.post(f"/api/v1/launches/{launch}/share-links", json={"password": "abc"}, headers=maintainer)
    assert short.status_code == 422 and "password" in short.json()["error"]["message"]
    assert client.post("/api/v1/launches/999/share-links", json={}, headers=maintainer).status_code == 404
    assert client.delete("/api/v1/share-links/999", headers=maintainer).status_code == 404


def test_the_public_view_shows_that_launch_only_and_counts_views(
    client: TestClient, visitor: TestClient, launch: int, maintainer: dict[str, str]
) -> None:
    created = _create(client, launch, maintainer)
    page = visitor.get(f"/s/{created['token']}")
    assert page.status_code == 200
    html = page.text
    assert "Nightly &lt;2&gt;" in html and "Nightly <2>" not in html  # escaped
    assert "shop.Cart.test_checkout" in html and "expected total 3 but was 4" in html
    assert "AssertionError: expected total 3 but was 4" in html  # the trace
    assert "Nightly 1" not in html  # not the baseline, not another launch
    assert 'href="/launches' not in html and 'href="/case-runs' not in html and 'href="/"' not in html
    assert page.headers["cache-control"] == "no-store"
    assert "noindex" in page.headers["x-robots-tag"]
    visitor.get(f"/s/{created['token']}")
    listed = client.get(f"/api/v1/launches/{launch}/share-links", headers=maintainer).json()["items"]
    assert listed[0]["view_count"] == 2 and listed[0]["last_viewed_at"]
    # the link opens nothing else: not the API, not the pages
    assert visitor.get(f"/api/v1/launches/{launch}").status_code == 401
    assert visitor.get(f"/launches/{launch}", follow_redirects=False).status_code == 303


def test_dead_links_and_wrong_passwords_look_the_same(
    client: TestClient, visitor: TestClient, db: Database, launch: int, maintainer: dict[str, str]
) -> None:
    unknown = visitor.get("/s/crs_not-a-real-link")
    assert unknown.status_code == 404
    expired = _create(client, launch, maintainer)
    with db.write() as conn:
        conn.execute(
            update(share_link)
            .where(share_link.c.id == expired["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    revoked = _create(client, launch, maintainer)
    client.delete(f"/api/v1/share-links/{revoked['id']}", headers=maintainer)
    locked = _create(client, launch, maintainer, password="open sesame")
    form = visitor.get(f"/s/{locked['token']}")
    assert form.status_code == 200 and 'type="password"' in form.text and "Nightly" not in form.text
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    wrong = visitor.post(f"/s/{locked['token']}", data={"password": "guess", "csrf": csrf}, follow_redirects=False)
    pages = [visitor.get(f"/s/{expired['token']}"), visitor.get(f"/s/{revoked['token']}"), wrong]
    for page in pages:
        assert page.status_code == 404
        assert page.text == unknown.text
        assert "Nightly" not in page.text
    right = visitor.post(
        f"/s/{locked['token']}", data={"password": "open sesame", "csrf": csrf}, follow_redirects=False
    )
    assert right.status_code == 303
    assert "Nightly &lt;2&gt;" in visitor.get(f"/s/{locked['token']}").text  # the cookie opens it
    client.delete(f"/api/v1/share-links/{locked['id']}", headers=maintainer)
    assert visitor.get(f"/s/{locked['token']}").text == unknown.text  # revoking ends the unlocked view


def test_password_attempts_are_rate_limited(
    client: TestClient, visitor: TestClient, launch: int, maintainer: dict[str, str]
) -> None:
    locked = _create(client, launch, maintainer, password="open sesame")
    url = f"/s/{locked['token']}"
    csrf = visitor.get(url).text.split('name="csrf" value="')[1].split('"')[0]
    for _ in range(5):
        assert visitor.post(url, data={"password": "nope!!", "csrf": csrf}).status_code == 404
    limited = visitor.post(url, data={"password": "open sesame", "csrf": csrf}, follow_redirects=False)
    assert limited.status_code == 429 and "too many wrong passwords" in limited.text
    assert "Nightly" not in limited.text


def test_the_share_section_for_maintainers(
    app_client: TestClient, db: Database, launch: int, visitor: TestClient
) -> None:
    from caserun.domain.model import Role
    from tests.web.conftest import sign_in

    sign_in(app_client, db, role=Role.MAINTAINER)
    page = app_client.get(f"/launches/{launch}/share")
    assert page.status_code == 200 and "No share links yet." in page.text
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    created = app_client.post(f"/launches/{launch}/share", data={"expires_in_days": "2", "csrf": csrf})
    assert created.status_code == 201
    url = created.text.split("data-share-url")[0].rsplit('value="', 1)[1].split('"')[0]
    assert url.startswith("http://caserun.test/s/crs_")
    assert visitor.get(url.removeprefix("http://caserun.test")).status_code == 200
    link_id = created.text.split('data-link-id="')[1].split('"')[0]
    revoked = app_client.post(f"/share-links/{link_id}/revoke", data={"csrf": csrf}, follow_redirects=True)
    assert "revoked" in revoked.text
    assert visitor.get(url.removeprefix("http://caserun.test")).status_code == 404
