"""Test case definitions over the API: read, replace, validation, roles, and re-imports
that never touch what a person wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.store.engine import Database
from tests.api.test_launches import report, upload


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def ids_by_name(client: TestClient, q: str = "suite") -> dict[str, int]:
    return {t["name"]: t["id"] for t in client.get("/api/v1/projects/web/tests", params={"q": q}).json()}


@pytest.fixture
def tests_(client: TestClient, tmp_path: Path) -> dict[str, int]:
    upload(client, report(tmp_path, "r", {"login": "pass", "checkout": "fail"}))
    return ids_by_name(client)


DEFINITION: dict[str, Any] = {
    "description": "A shopper signs in.",
    "preconditions": "A user alice exists",
    "steps": [
        {"action": "Open /login", "expected": "The form shows"},
        {"action": "Submit alice's password", "expected": "The dashboard greets alice"},
    ],
    "priority": "high",
    "tags": ["smoke", "auth"],
    "lifecycle": "active",
}


def test_a_maintainer_writes_a_definition_and_anyone_reads_it(
    client: TestClient, tokens: dict[str, str], tests_: dict[str, int]
) -> None:
    url = f"/api/v1/tests/{tests_['login']}/definition"
    empty = client.get(url, headers=bearer(tokens["viewer"])).json()
    assert empty["steps"] == [] and empty["lifecycle"] == "active" and empty["updated_at"] is None

    saved = client.put(url, json=DEFINITION, headers=bearer(tokens["maintainer"]))
    assert saved.status_code == 200, saved.text
    read = client.get(url, headers=bearer(tokens["viewer"])).json()
    assert read["steps"][1] == {"action": "Submit alice's password", "expected": "The dashboard greets alice"}
    assert (read["priority"], read["tags"], read["preconditions"]) == ("high", ["smoke", "auth"], "A user alice exists")
    assert read["updated_at"] is not None

    # a reporter (the CI token) may not edit it
    denied = client.put(url, json={"priority": "low"}, headers=bearer(tokens["reporter"]))
    assert denied.status_code == 403
    assert client.get(url).json()["priority"] == "high"


def test_a_reimported_test_keeps_its_definition(
    client: TestClient, tokens: dict[str, str], tests_: dict[str, int], tmp_path: Path
) -> None:
    url = f"/api/v1/tests/{tests_['login']}/definition"
    assert client.put(url, json=DEFINITION, headers=bearer(tokens["maintainer"])).status_code == 200
    upload(client, report(tmp_path, "again", {"login": "fail", "checkout": "pass"}))
    assert ids_by_name(client)["login"] == tests_["login"]
    after = client.get(url).json()
    assert after["description"] == "A shopper signs in." and after["tags"] == ["smoke", "auth"]
    assert len(after["steps"]) == 2


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"priority": "urgent"}, "priority must be one of critical, high, medium, low"),
        ({"lifecycle": "retired"}, "lifecycle must be one of draft, active, archived"),
        ({"steps": [{"expected": "no action"}]}, "steps.0.action"),
        ({"steps": [{"action": "   "}]}, "step 1 needs an action"),
        ({"steps": "click it"}, "steps"),
        ({"steps": [{"action": "a", "extra": 1}]}, "steps.0.extra"),
        ({"tags": ["has space"]}, "tag 'has space' is not valid"),
        ({"tags": [42]}, "tags.0"),
        ({"tags": ['say "hi"']}, "is not valid"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_definitions_get_a_422_naming_the_field(
    client: TestClient, tokens: dict[str, str], tests_: dict[str, int], body: dict[str, Any], named: str
) -> None:
    url = f"/api/v1/tests/{tests_['login']}/definition"
    response = client.put(url, json=body, headers=bearer(tokens["maintainer"]))
    assert response.status_code == 422, response.text
    assert named in response.json()["error"]["message"]
    assert client.get(url).json()["updated_at"] is None  # nothing written


def test_unknown_and_other_projects_tests_are_not_found(
    client: TestClient, db: Database, tokens: dict[str, str], tests_: dict[str, int]
) -> None:
    assert client.get("/api/v1/tests/999999/definition").status_code == 404
    projects.create(db, "other")
    other = auth.create_token(db, project_key="other", role=Role.MAINTAINER).token
    response = client.put(f"/api/v1/tests/{tests_['login']}/definition", json=DEFINITION, headers=bearer(other))
    assert response.status_code == 404
