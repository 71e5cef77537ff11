"""Tokens and roles on the API: no detail leaks, other projects are invisible."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from caserun.service import projects
from caserun.store.engine import Database
from caserun.store.tables import token
from tests.conftest import post_report


def as_(client: TestClient, secret: str | None) -> TestClient:
    client.headers.pop("Authorization", None)
    if secret is not None:
        client.headers["Authorization"] = f"Bearer {secret}"
    return client


def test_missing_and_wrong_tokens_are_401_without_details(app_client: TestClient, tokens: dict[str, str]) -> None:
    for secret in (None, "crn_wrong", tokens["reporter"] + "x"):
        response = as_(app_client, secret).get("/api/v1/projects/web/launches")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
        assert "crn_" not in response.text


def test_tokens_are_stored_hashed(db: Database, tokens: dict[str, str]) -> None:
    with db.read() as conn:
        hashes = set(conn.execute(select(token.c.token_hash)).scalars())
    assert not any(secret in hashes for secret in tokens.values())
    assert len(hashes) == len(tokens)


def test_roles(app_client: TestClient, tokens: dict[str, str], tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text('<testsuite><testcase classname="a" name="b"/></testsuite>')
    assert post_report(as_(app_client, tokens["viewer"]), report).status_code == 403
    assert as_(app_client, tokens["viewer"]).get("/api/v1/projects/web/launches").status_code == 200
    assert post_report(as_(app_client, tokens["reporter"]), report).status_code == 201
    assert post_report(as_(app_client, tokens["instance"]), report).status_code == 201
    created = as_(app_client, tokens["admin"]).post("/api/v1/projects", json={"key": "api"})
    assert created.status_code == 403  # a project admin is not an instance admin
    assert as_(app_client, tokens["instance"]).post("/api/v1/projects", json={"key": "api"}).status_code == 201
    assert as_(app_client, tokens["instance"]).post("/api/v1/projects", json={"key": "api"}).status_code == 409
    assert as_(app_client, tokens["instance"]).post("/api/v1/projects", json={"key": "Bad Key"}).status_code == 422


def test_other_projects_are_invisible(
    app_client: TestClient, tokens: dict[str, str], db: Database, tmp_path: Path
) -> None:
    projects.create(db, "other")
    report = tmp_path / "r.xml"
    report.write_text('<testsuite><testcase classname="a" name="b"/></testsuite>')
    other_launch = post_report(as_(app_client, tokens["instance"]), report, project="other").json()["launch"]["id"]
    reporter = as_(app_client, tokens["admin"])
    assert reporter.get("/api/v1/projects/other/launches").status_code == 404
    assert reporter.get(f"/api/v1/launches/{other_launch}").status_code == 404
    assert post_report(reporter, report, project="other").status_code == 404
    assert [p["key"] for p in reporter.get("/api/v1/projects").json()["items"]] == ["web"]
    assert {p["key"] for p in as_(app_client, tokens["instance"]).get("/api/v1/projects").json()["items"]} == {
        "web",
        "other",
    }


def test_health_openapi_and_formats_need_no_token(app_client: TestClient) -> None:
    assert app_client.get("/healthz").json()["status"] == "ok"
    schema = app_client.get("/openapi.json").json()
    assert "/api/v1/launches/{launch_id}/case-runs" in schema["paths"]
    assert "junit" in [f["name"] for f in app_client.get("/api/v1/formats").json()]
