"""Test case rows: the stable identities history hangs off."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select
from sqlalchemy.dialects import postgresql, sqlite

from caserun.store import bulk
from caserun.store.tables import test_case

CHUNK = 5000


def ensure(conn: Connection, project_id: int, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Ids for the given identities (dicts with key, suite, name, …), inserting the new ones.

    Concurrent importers may race to insert the same new test; ``ON CONFLICT DO NOTHING``
    plus a re-read makes that safe on both engines.
    """
    ids: dict[str, int] = {}
    by_key = {row["key"]: row for row in rows}
    keys = list(by_key)
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        ids.update(_existing(conn, project_id, chunk))
        missing = [k for k in chunk if k not in ids]
        if missing:
            now = datetime.now(UTC)
            values = [{**by_key[k], "project_id": project_id, "created_at": now} for k in missing]
            conn.execute(_insert_ignore(conn), values)
            ids.update(_existing(conn, project_id, missing))
    return ids


def _existing(conn: Connection, project_id: int, keys: list[str]) -> dict[str, int]:
    # a test merged into another records its results under the one it was merged into
    query = select(test_case.c.key, func.coalesce(test_case.c.alias_of_id, test_case.c.id)).where(
        test_case.c.project_id == project_id, bulk.one_of(conn, test_case.c.key, keys)
    )
    return {key: int(ident) for key, ident in conn.execute(query)}


def _insert_ignore(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(test_case).on_conflict_do_nothing()
    return sqlite.insert(test_case).on_conflict_do_nothing()


def get(conn: Connection, test_case_id: int) -> RowMapping | None:
    return conn.execute(select(test_case).where(test_case.c.id == test_case_id)).mappings().first()
