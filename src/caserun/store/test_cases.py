"""Test case rows: the stable identities history hangs off."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from caserun.store import bulk
from caserun.store.ids import allocate
from caserun.store.tables import test_case

CHUNK = 5000  # keys per lookup; far below SQLite's 32,766 parameters

# the id a test's results are recorded under: a test merged into another records its
# results under the one it was merged into
_LOOKUP_SQLITE = "SELECT key, coalesce(alias_of_id, id) FROM test_case WHERE project_id = ? AND key IN ({marks})"
# one probe of the unique index per key, whatever the planner believes: mid-import its
# statistics may not know the project's tests yet, and with ``key = ANY(…)`` it then
# scanned all of them once per chunk
_LOOKUP_PG = (
    "SELECT k.key, t.id FROM unnest({keys}) AS k(key) CROSS JOIN LATERAL"
    " (SELECT coalesce(alias_of_id, id) AS id FROM test_case WHERE project_id = %s AND key = k.key LIMIT 1) AS t"
)


def existing(conn: Connection, project_id: int, keys: Sequence[str]) -> dict[str, int]:
    """The ids of the keys that have a test case (keys without one are left out).

    Read with the driver directly: an import asks for every test it records, and
    SQLAlchemy's expanding ``IN`` and row objects cost more than the lookup."""
    driver: Any = conn.connection.driver_connection
    found: dict[str, int] = {}
    postgres = conn.dialect.name == "postgresql"
    for start in range(0, len(keys), CHUNK):
        chunk = list(keys[start : start + CHUNK])
        if postgres and not any("," in key for key in chunk):
            # one comma-joined text, split by the server: psycopg dumps a list item by
            # item in Python, half the lookup's time (keys are hex digests: no commas)
            rows = driver.execute(_LOOKUP_PG.format(keys="string_to_array(%s, ',')"), (",".join(chunk), project_id))
        elif postgres:
            rows = driver.execute(_LOOKUP_PG.format(keys="%s::text[]"), (chunk, project_id))
        else:
            rows = driver.execute(_LOOKUP_SQLITE.format(marks=",".join("?" * len(chunk))), (project_id, *chunk))
        found.update(rows)
    return found


def insert_new(conn: Connection, project_id: int, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert test cases (dicts with key, suite, name, …) and return the ids of their keys.

    The ids are allocated first, so when every row goes in (the rule) they are known
    without reading them back. Concurrent importers may race to insert the same new test:
    ``ON CONFLICT DO NOTHING`` skips the loser's row, and then the keys are re-read, which
    makes that safe on both engines.
    """
    by_key = {row["key"]: row for row in rows}
    now = datetime.now(UTC)
    ids = allocate(conn, test_case, len(by_key))
    values = [
        {**row, "id": ident, "project_id": project_id, "created_at": now}
        for row, ident in zip(by_key.values(), ids, strict=True)
    ]
    if bulk.insert_rows(conn, test_case, values, skip_conflicts=True) == len(values):
        return dict(zip(by_key, ids, strict=True))
    return existing(conn, project_id, list(by_key))


def get(conn: Connection, test_case_id: int) -> RowMapping | None:
    return conn.execute(select(test_case).where(test_case.c.id == test_case_id)).mappings().first()
