"""Schemathesis drives every operation in /openapi.json with generated requests.

The app runs in-process (ASGI) on a database seeded with a project and a real JUnit import,
so generated ids sometimes hit rows that exist. Every response must be a non-5xx answer
whose status, content type and body match what the schema declares: a 5xx is always a bug,
and a response the schema does not describe breaks generated clients. Runs on SQLite, and on
PostgreSQL when ``CASERUN_TEST_DATABASE_URL`` is set. ``CI=true`` derandomizes the examples.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from caserun.app import create_app
from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.settings import Settings
from caserun.store.engine import Database
from tests.conftest import REPORTS

EXAMPLES = int(os.environ.get("CASERUN_SCHEMA_EXAMPLES", "12"))


def _not_a_server_error(ctx: Any, response: Any, case: Any) -> bool:
    assert response.status_code < 500, f"{case.method} {case.formatted_path} answered {response.status_code}"
    return True


CHECKS = [_not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[FastAPI, str]]:
    """An app on a database with project ``web``, a launch imported from JUnit, and an admin token."""
    folder = tmp_path_factory.mktemp(f"openapi-{request.param}")
    if request.param == "sqlite":
        shutil.copy(sqlite_template, folder / "caserun.db")
        url = f"sqlite:///{folder / 'caserun.db'}"
    else:
        from tests.conftest import _truncate_pg

        url = request.getfixturevalue("pg_database")
        _truncate_pg(url)
    config = Settings(data_dir=folder / "data", database_url=url, public_url="http://testserver")
    db = Database.from_url(config.db_url)
    projects.create(db, "web", "Web shop")
    token = auth.create_token(db, project_key=None, role=Role.ADMIN).token
    app = create_app(config, database=db)
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as client:
        report = REPORTS / "junit" / "go-junit-report.xml"
        files = [("report", (report.name, report.read_bytes()))]
        answer = client.post("/api/v1/projects/web/imports", files=files, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 201, answer.text
    yield app, token
    db.dispose()


@pytest.fixture(scope="module")
def api_schema(seeded: tuple[FastAPI, str]) -> Any:
    app, _token = seeded
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def admin_token(seeded: tuple[FastAPI, str]) -> str:
    return seeded[1]


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, read from a throwaway app (no database is touched)."""
    unused = Settings(data_dir=Path("/nonexistent"), database_url="sqlite://", secret_key="collection only")
    document = create_app(unused).openapi()
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda v: str(v))
def test_every_operation_answers_within_its_schema(
    method: str, path: str, api_schema: Any, admin_token: str, request: pytest.FixtureRequest
) -> None:
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {admin_token}"}
    # PostgreSQL round trips cost more: half the examples there keep the pair under a minute or so
    examples = EXAMPLES if "sqlite" in request.node.name else max(EXAMPLES // 2, 3)

    @settings(FUZZ, max_examples=examples)
    @given(case=operation.as_strategy())
    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=10)

    call()
