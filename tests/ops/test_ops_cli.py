"""The operator's commands on the database: ``db upgrade|check|sweep``, ``retention
run|keep|unkeep``, ``export-project`` and ``import-project``."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from caserun.settings import Settings
from caserun.store import migrate
from caserun.store import retention as queries
from caserun.store.engine import Database
from caserun.store.tables import case_run, launch
from tests.cli.test_cli import Run
from tests.ops.helpers import launch as make_launch


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Run:
    return Run(capsys, monkeypatch, settings)


def test_db_check_finds_an_old_schema_and_upgrade_fixes_it(cli: Run, db: Database) -> None:
    config = migrate._config()
    try:
        with db.engine.connect().execution_options(caserun_write=True) as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0002")
            conn.commit()
        code, _, err = cli("db", "check")
        assert code == 1 and "schema is at 0002" in err and "caserun db upgrade" in err
    finally:
        code, out, _ = cli("db", "upgrade")
    assert code == 0 and f"schema at {migrate.head()}" in out
    code, out, _ = cli("db", "check")
    assert code == 0 and "current" in out
    assert cli("db", "upgrade")[0] == 0  # idempotent


def test_db_check_finds_a_schema_changed_behind_its_back(cli: Run, db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE launch ADD COLUMN surprise INTEGER"))
    try:
        code, _, err = cli("db", "check")
        assert code == 1 and "differs" in err and "surprise" in err
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE launch DROP COLUMN surprise"))
    assert cli("db", "check")[0] == 0


def test_db_check_on_an_empty_database(cli: Run, tmp_path: Path) -> None:
    code, _, err = cli("db", "check", "--database", f"sqlite:///{tmp_path / 'empty.db'}")
    assert code == 1 and "schema is at None" in err


def test_db_sweep_stops_stale_launches(cli: Run, client: TestClient, db: Database) -> None:
    dead = make_launch(client, "crashed", finish=False, running=1)
    fresh = make_launch(client, "alive", finish=False)
    past = datetime.now(UTC) - timedelta(hours=3)
    with db.write() as conn:  # the reporter went quiet three hours ago
        conn.execute(update(launch).where(launch.c.id == dead).values(started_at=past, created_at=past))
        conn.execute(update(case_run).where(case_run.c.launch_id == dead).values(started_at=past, finished_at=past))
    code, out, _ = cli("db", "sweep")
    assert code == 0 and f"stopped launch {dead} 'crashed'" in out and "1 stale launch(es) stopped" in out
    assert client.get(f"/api/v1/launches/{dead}").json()["status"] == "stopped"
    assert client.get(f"/api/v1/launches/{fresh}").json()["status"] == "running"
    code, out, _ = cli("db", "sweep", "--stale-after", "1d")
    assert code == 0 and "0 stale" in out
    code, _, err = cli("db", "sweep", "--stale-after", "later")
    assert code == 1 and "--stale-after='later' is not a duration" in err


def test_retention_commands(cli: Run, client: TestClient, db: Database) -> None:
    old, kept = make_launch(client, "old"), make_launch(client, "kept")
    past = datetime.now(UTC) - timedelta(days=40)
    with db.write() as conn:
        conn.execute(update(launch).values(created_at=past))
    code, out, _ = cli("retention", "keep", str(kept))
    assert code == 0 and f"launch {kept} 'kept' kept" in out
    code, out, _ = cli("retention", "run", "--dry-run", "-o", "json")
    assert code == 0 and json.loads(out)["projects"][0]["launches"] == 0  # no settings yet
    with db.write() as conn:
        queries.save_project_settings(conn, 1, {"retention_days": 30})
    code, out, _ = cli("retention", "run", "--project", "web", "--dry-run")
    assert code == 0 and "web: would delete 1 launches" in out
    assert client.get(f"/api/v1/launches/{old}").status_code == 200
    code, out, _ = cli("retention", "run", "--project", "web")
    assert code == 0 and "web: deleted 1 launches" in out
    assert client.get(f"/api/v1/launches/{old}").status_code == 404
    assert client.get(f"/api/v1/launches/{kept}").status_code == 200
    assert cli("retention", "unkeep", str(kept))[0] == 0
    cli("retention", "run")
    assert client.get(f"/api/v1/launches/{kept}").status_code == 404
    code, _, err = cli("retention", "run", "--project", "ghost")
    assert code == 1 and "ghost" in err
    assert cli("retention", "keep", "424242")[0] == 1


def test_export_and_import_through_the_cli(
    cli: Run, client: TestClient, settings: Settings, tmp_path: Path, sqlite_template: Path
) -> None:
    make_launch(client, "nightly", attachment=b"\x89PNG fake")
    code, exported, _ = cli("export-project", "web")
    assert code == 0 and exported.startswith('{"type":"caserun-project","version":1}')
    dump = tmp_path / "project.jsonl"
    dump.write_text(exported, encoding="utf-8")
    code, out, _ = cli("import-project", str(dump), "--as", "web2")
    assert code == 0 and "imported project web2" in out and "1 launch" in out
    code, again, _ = cli("export-project", "web2")
    assert again.replace('"key":"web2"', '"key":"web"', 1) == exported
    code, _, err = cli("import-project", str(dump))
    assert code == 1 and "already exists" in err
    # into a fresh installation
    target = tmp_path / "fresh.db"
    shutil.copy(sqlite_template, target)
    fresh = ["--database", f"sqlite:///{target}", "--data-dir", str(tmp_path / "fresh")]
    assert cli("import-project", str(dump), *fresh)[0] == 0
    assert cli("export-project", "web", *fresh)[1] == exported
    code, _, err = cli("export-project", "ghost")
    assert code == 1 and "ghost" in err
