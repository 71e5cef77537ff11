"""Seeded data for the security tests: per project a launch with a failed run, its
attachment, test cases, a failure pattern, a defect, a quarantine, a share link, a running
launch with a running case run, and a spare viewer token: every kind of id a route takes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient

from caserun.domain.model import Role
from caserun.service import auth
from caserun.store.engine import Database

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuite name="shop">
  <testcase classname="shop{n}.Cart" name="test_checkout" time="2">
    <failure message="expected total 3 but was 4" type="AssertionError">Traceback: cart.py:12</failure>
    <system-out>[[ATTACHMENT|shots/cart.png]]</system-out>
  </testcase>
  <testcase classname="shop{n}.Auth" name="test_login" time="1"/>
  <testcase classname="shop{n}.Search" name="test_search" time="1"/>
</testsuite>
"""
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

ROLES = ("anonymous", "viewer", "reporter", "maintainer", "admin", "instance")


@dataclass(frozen=True)
class Seeded:
    key: str
    launch: int
    launch_name: str
    running_launch: int
    running_run: int
    case_run: int
    attachment: int
    test: int
    other_test: int
    quarantined_test: int
    pattern: int
    defect: int
    share_link: int
    share_token: str
    token: int


def _ok(response: object, status: int = 201) -> dict[str, object]:
    assert getattr(response, "status_code", None) == status, getattr(response, "text", response)
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    return body


def seed(client: TestClient, admin_token: str, key: str, n: int) -> Seeded:
    """Create one set of resources in project ``key`` through the API (instance admin)."""
    h = {"Authorization": f"Bearer {admin_token}"}
    name = f"Nightly {key} {n}"
    files = [("report", ("r.xml", REPORT.replace("{n}", str(n)).encode())), ("attachment", ("shots/cart.png", PNG))]
    launch = int(
        _ok(client.post(f"/api/v1/projects/{key}/imports", files=files, data={"name": name}, headers=h))["launch"]["id"]
    )  # type: ignore[index]
    runs = _ok(client.get(f"/api/v1/launches/{launch}/case-runs", headers=h), 200)["items"]
    by_name = {r["name"]: r for r in runs}  # type: ignore[attr-defined, index]
    failed = by_name["test_checkout"]
    detail = _ok(client.get(f"/api/v1/case-runs/{failed['id']}", headers=h), 200)
    attachments = detail["attachments"]
    assert attachments, detail
    running = int(_ok(client.post(f"/api/v1/projects/{key}/launches", json={"name": f"live {n}"}, headers=h))["id"])  # type: ignore[arg-type]
    created = _ok(
        client.post(
            f"/api/v1/launches/{running}/case-runs",
            json={"items": [{"suite": "live", "name": "test_running", "status": "running"}]},
            headers=h,
        )
    )
    defect = int(_ok(client.post(f"/api/v1/projects/{key}/defects", json={"title": "Cart total"}, headers=h))["id"])  # type: ignore[arg-type]
    quarantined = int(by_name["test_search"]["test_case_id"])
    _ok(
        client.post(
            f"/api/v1/projects/{key}/quarantine", json={"test_case_id": quarantined, "reason": "flaky"}, headers=h
        )
    )
    link = _ok(client.post(f"/api/v1/launches/{launch}/share-links", json={}, headers=h))
    token = _ok(client.post("/api/v1/tokens", json={"name": "spare", "role": "viewer", "project": key}, headers=h))
    return Seeded(
        key=key,
        launch=launch,
        launch_name=name,
        running_launch=running,
        running_run=int(created["ids"][0]),  # type: ignore[index]
        case_run=int(failed["id"]),
        attachment=int(attachments[0]["id"]),  # type: ignore[index]
        test=int(failed["test_case_id"]),
        other_test=int(by_name["test_login"]["test_case_id"]),
        quarantined_test=quarantined,
        pattern=int(detail["pattern_id"]),  # type: ignore[arg-type]
        defect=defect,
        share_link=int(link["id"]),  # type: ignore[arg-type]
        share_token=str(link["token"]),
        token=int(token["token"]["id"]),  # type: ignore[index]
    )


def sign_in(client: TestClient, db: Database, role: str) -> None:
    """Give ``client`` a web session for ``role`` on project ``web`` (or instance admin)."""
    client.cookies.clear()
    if role == "anonymous":
        return
    if role == "instance":
        issued = auth.create_token(db, project_key=None, role=Role.ADMIN, name="instance session")
    else:
        issued = auth.create_token(db, project_key="web", role=Role(role), name=f"{role} session")
    response = client.get(f"/login/{auth.create_login_code(db, issued.id)}", follow_redirects=False)
    assert response.status_code == 303, response.text


def csrf(client: TestClient) -> str:
    """The CSRF token of this browser's forms (bound to its session or pre-session cookie)."""
    page = client.get("/login")
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert match, page.text
    return match.group(1)
