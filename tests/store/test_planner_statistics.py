"""SQLite gets planner statistics from the server itself (PostgreSQL's autovacuum does
it there): after a refresh, the case-run indexes have rows in ``sqlite_stat1``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from caserun.service import demo
from caserun.store.engine import Database, is_sqlite


def test_refresh_gives_sqlite_statistics_for_the_case_run_indexes(db: Database, tmp_path: Path) -> None:
    if not is_sqlite(db.engine):
        pytest.skip("PostgreSQL's autovacuum keeps its statistics; the refresh is SQLite's")
    assert demo.seed(db, tmp_path / "blobs")
    db.refresh_planner_statistics()
    with db.read() as conn:
        indexes = set(conn.execute(text("SELECT idx FROM sqlite_stat1 WHERE tbl = 'case_run'")).scalars())
    assert {"ix_case_run_launch_status", "ix_case_run_history"} <= indexes
