"""The migrations build exactly the schema the code declares, on both engines."""

from __future__ import annotations

from sqlalchemy import inspect

from caserun.store import migrate
from caserun.store.engine import Database


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
