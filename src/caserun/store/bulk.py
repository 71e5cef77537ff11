"""Bulk inserts at driver speed, for the rows an import writes by the ten thousand.

SQLAlchemy's ``execute(insert(table), rows)`` is convenient but spends most of an
import's insert time building parameters row by row. Here the statement is built once,
each column's own bind conversion (JSON, UTC timestamps) is looked up once and applied to
plain tuples, and the rows go to the driver directly: ``executemany`` on SQLite, ``COPY …
FROM STDIN`` on PostgreSQL. Both run inside the caller's transaction, so an import stays
all-or-nothing.

Every row must carry the same keys (the first row's); columns a row leaves out get their
scalar Python default, as ``insert()`` would give them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Column, ColumnElement, Connection, String, Table, any_, bindparam, insert


def _columns(table: Table, first: Mapping[str, Any]) -> list[tuple[Column[Any], Any]]:
    """(column, default for rows that lack it) for every column the insert writes."""
    chosen: list[tuple[Column[Any], Any]] = []
    for column in table.columns:
        if column.key in first:
            chosen.append((column, None))
        elif column.default is not None and column.default.is_scalar:
            chosen.append((column, column.default.arg))  # type: ignore[attr-defined]
    unknown = set(first) - {c.key for c in table.columns}
    if unknown:
        raise KeyError(f"{table.name} has no column {sorted(unknown)}")
    return chosen


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` in the current transaction."""
    if not rows:
        return
    dialect = conn.dialect
    columns = _columns(table, rows[0])
    convert: list[tuple[str, Any, Callable[[Any], Any] | None]] = [
        (column.key, default, column.type.dialect_impl(dialect).bind_processor(dialect)) for column, default in columns
    ]

    def values(row: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for key, default, process in convert:
            value = row.get(key, default)
            out.append(process(value) if process is not None and value is not None else value)
        return tuple(out)

    driver: Any = conn.connection.driver_connection
    if dialect.name == "postgresql":
        # names come from the table definition, never from input
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(column.name) for column, _ in columns)
        with driver.cursor() as cursor, cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(values(row))
        return
    compiled = insert(table).compile(dialect=dialect, column_keys=[column.key for column, _ in columns])
    if compiled.positiontup != [column.key for column, _ in columns]:
        raise RuntimeError(f"unexpected parameter order for {table.name}")  # pragma: no cover - a SQLAlchemy change
    cursor = driver.cursor()
    try:
        cursor.executemany(str(compiled), [values(r) for r in rows])
    finally:
        cursor.close()


def one_of(conn: Connection, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` for thousands of values: one array parameter (``= ANY``) on
    PostgreSQL, where an expanded ``IN`` of 5,000 parameters costs more to send and plan
    than the lookup itself; a plain expanding ``IN`` elsewhere (SQLite binds are cheap)."""
    if conn.dialect.name != "postgresql" or not values:
        return column.in_(values)
    element: Any = BigInteger() if isinstance(values[0], int) else String()
    return column == any_(bindparam(None, list(values), type_=ARRAY(element)))
