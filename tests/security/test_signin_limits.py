"""Failed sign-ins are rate limited per client address, in the database, so every server
process sharing it enforces the same limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from caserun.app import create_app
from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.settings import Settings
from caserun.store.engine import Database
from caserun.store.tables import signin_failure
from tests.security.world import csrf


def wrong_token(client: TestClient) -> int:
    return client.post("/login", data={"csrf": csrf(client), "token": "crn_guess"}).status_code


def test_ten_failures_lock_the_client_out_even_with_a_right_token(
    app_client: TestClient, db: Database, tokens: dict[str, str]
) -> None:
    statuses = [wrong_token(app_client) for _ in range(auth.SIGNIN_FAILURES)]
    assert statuses == [401] * auth.SIGNIN_FAILURES
    locked = app_client.post("/login", data={"csrf": csrf(app_client), "token": tokens["viewer"]})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= auth.SIGNIN_WINDOW.total_seconds() + 1
    assert "Too many failed sign-ins" in locked.text
    code = auth.create_login_code(db, auth.create_token(db, project_key="web", role=Role.VIEWER).id)
    assert app_client.get(f"/login/{code}", follow_redirects=False).status_code == 429
    # the API's Bearer tokens (256 random bits) are not behind the sign-in limit
    assert (
        app_client.get("/api/v1/projects/web", headers={"Authorization": f"Bearer {tokens['viewer']}"}).status_code
        == 200
    )


def test_used_sign_in_links_count_as_failures(app_client: TestClient, db: Database, project: projects.Project) -> None:
    for n in range(auth.SIGNIN_FAILURES):
        assert app_client.get(f"/login/not-a-code-{n}", follow_redirects=False).status_code == 401
    assert app_client.get("/login/not-a-code", follow_redirects=False).status_code == 429


def test_the_limit_holds_across_processes_and_lifts_after_the_window(
    settings: Settings, db: Database, tokens: dict[str, str]
) -> None:
    # two apps on one database stand for two server processes behind a load balancer
    second = Database.from_url(settings.db_url)
    with (
        TestClient(create_app(settings, database=db), base_url="http://caserun.test") as one,
        TestClient(create_app(settings, database=second), base_url="http://caserun.test") as two,
    ):
        for n in range(auth.SIGNIN_FAILURES):
            assert wrong_token(one if n % 2 else two) == 401
        assert wrong_token(one) == 429
        assert wrong_token(two) == 429
        with db.write() as conn:  # the window passes
            conn.execute(
                update(signin_failure).values(at=datetime.now(UTC) - auth.SIGNIN_WINDOW - timedelta(seconds=1))
            )
        assert (
            two.post("/login", data={"csrf": csrf(two), "token": tokens["viewer"]}, follow_redirects=False).status_code
            == 303
        )


def test_other_clients_are_not_locked_out(db: Database, project: projects.Project) -> None:
    for _ in range(auth.SIGNIN_FAILURES):
        auth.record_signin_failure(db, "203.0.113.7")
    try:
        auth.check_signin(db, "203.0.113.7")
        raise AssertionError("expected the client to be throttled")
    except auth.SignInThrottled as exc:
        assert exc.status == 429 and exc.retry_after > 0
    auth.check_signin(db, "198.51.100.1")  # another address signs in freely
