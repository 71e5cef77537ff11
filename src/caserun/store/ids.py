"""Primary keys handed out in bulk, so bulk inserts need no RETURNING round trips.

With explicit ids an import's rows go in with plain executemany, and child rows (logs,
attachments) can point at their case run without reading anything back. On SQLite the
caller holds the write lock (``BEGIN IMMEDIATE``), so ``max(id) + 1`` is safe; on
PostgreSQL the table's identity sequence hands out the block.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, func, select, text


def allocate(conn: Connection, table: Table, count: int) -> list[int]:
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}).scalar_one()
        rows = conn.execute(
            text("SELECT nextval(CAST(:seq AS regclass)) FROM generate_series(1, :n)"), {"seq": sequence, "n": count}
        )
        return [int(r[0]) for r in rows]
    start = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1
    return list(range(start, start + count))
