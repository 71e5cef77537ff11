"""Small fixtures: settings, a database per test on SQLite and PostgreSQL, an app, a client.

Every test that takes ``db`` (or anything built on it) runs twice: on SQLite and on
PostgreSQL (``CASERUN_TEST_DATABASE_URL``). With ``CI=true`` a missing PostgreSQL fails
the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from caserun.app import create_app
from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.settings import Settings
from caserun.store import migrate
from caserun.store.engine import Database, make_engine
from caserun.store.tables import metadata

# pytester must be named at the top level; tests/plugin runs the pytest plugin with it
pytest_plugins = ["pytester"]

DATA = Path(__file__).parent / "data"
REPORTS = DATA / "reports"
PG_URL = os.environ.get("CASERUN_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test copies it (milliseconds, not a migration)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this session, migrated once."""
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but CASERUN_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL not configured (CASERUN_TEST_DATABASE_URL)")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"caserun_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no PostgreSQL"
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "caserun.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, public_url="http://caserun.test")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.from_url(settings.db_url)
    yield database
    database.dispose()


@pytest.fixture
def app_client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, database=db), base_url="http://caserun.test") as client:
        yield client


@pytest.fixture
def project(db: Database) -> projects.Project:
    return projects.create(db, "web", "Web shop")


@pytest.fixture
def tokens(db: Database, project: projects.Project) -> dict[str, str]:
    """A token per role on project ``web``, plus an instance admin (``instance``)."""
    issued = {role.value: auth.create_token(db, project_key="web", role=role).token for role in Role}
    issued["instance"] = auth.create_token(db, project_key=None, role=Role.ADMIN).token
    return issued


@pytest.fixture
def client(app_client: TestClient, tokens: dict[str, str]) -> TestClient:
    """An API client with the reporter token of project ``web``."""
    app_client.headers["Authorization"] = f"Bearer {tokens['reporter']}"
    return app_client


def post_report(
    client: TestClient,
    path: Path,
    project: str = "web",
    *,
    attachments: dict[str, bytes] | None = None,
    headers: dict[str, str] | None = None,
    **fields: str,
) -> Any:
    """POST one report (plus attachments named by the paths the report wrote) to the import API."""
    files: list[tuple[str, tuple[str, bytes]]] = [("report", (path.name, path.read_bytes()))]
    files += [("attachment", (ref, data)) for ref, data in (attachments or {}).items()]
    return client.post(f"/api/v1/projects/{project}/imports", files=files, data=fields, headers=headers or {})


SAMPLE_SUITE = """
import pytest

def test_passes():
    print("hello from stdout")

def test_fails():
    expected = {"total": 3}
    assert expected == {"total": 4}

def test_errors():
    raise ValueError("bad value 42")

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert n > 0
"""


@pytest.fixture(scope="session")
def junit_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JUnit report written by real pytest (xunit2, all logging) for a small suite."""
    folder = tmp_path_factory.mktemp("suite")
    (folder / "test_sample.py").write_text(SAMPLE_SUITE)
    report = folder / "report.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--junitxml",
            str(report),
            "-o",
            "junit_family=xunit2",
            "-o",
            "junit_logging=all",
            "test_sample.py",
        ],
        cwd=folder,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert report.exists()
    return report
