"""The migrations build exactly the schema the code declares, on both engines."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from caserun.store import migrate
from caserun.store.engine import Database, make_engine


def test_migrated_schema_matches_the_tables(db: Database) -> None:
    assert migrate.current(db.engine) == migrate.head()
    assert migrate.pending_differences(db.engine) == []


def test_indexes_that_serve_history_and_launch_pages_exist(db: Database) -> None:
    inspector = inspect(db.engine)
    runs = {tuple(ix["column_names"]) for ix in inspector.get_indexes("case_run")}
    assert ("test_case_id", "started_at") in runs
    assert ("launch_id", "status") in runs
    launches = {tuple(ix["column_names"]) for ix in inspector.get_indexes("launch")}
    assert ("project_id", "branch", "environment", "created_at") in launches


def test_upgrade_is_idempotent(db: Database) -> None:
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == migrate.head()


def test_upgrading_a_database_with_history_keeps_every_row(tmp_path: Path) -> None:
    """From the first schema, with data in it, to the newest: nothing is lost. (On SQLite a
    migration that rebuilds a table drops the old one, and with foreign keys on, that drop
    would cascade into every case run.)"""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0001")
    now = "2026-01-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO project (id, key, name, created_at) VALUES (1, 'web', 'Web', '{now}')"))
        conn.execute(
            text(
                "INSERT INTO launch (id, project_id, name, status, source, started_at, created_at, total, passed,"
                f" failed, skipped, blocked, running, duration_ms) VALUES (1, 1, 'n', 'completed', 'cli', '{now}',"
                f" '{now}', 2, 1, 1, 0, 0, 0, 5)"
            )
        )
        for i in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO test_case (id, project_id, key, scheme, suite, name, parameters, full_name,"
                    f" created_at) VALUES ({i}, 1, 'k{i}', 1, 's', 't{i}', '', 's.t{i}', '{now}')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO case_run (id, project_id, launch_id, test_case_id, attempt, is_final, status,"
                    f" passed_on_retry, started_at) VALUES ({i}, 1, 1, {i}, 1, 1, 'passed', 0, '{now}')"
                )
            )
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    with engine.connect() as conn:
        counts = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ("launch", "case_run")]
        assert counts == [1, 2]
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1  # switched back on
    engine.dispose()
