"""Bulk inserts at driver speed, for the rows an import writes by the ten thousand.

SQLAlchemy's ``execute(insert(table), rows)`` is convenient but spends most of an
import's insert time building parameters row by row. Here the statement is built once and
the rows go to the driver directly: ``executemany`` on SQLite, ``COPY … FROM STDIN`` on
PostgreSQL. Both run inside the caller's transaction, so an import stays all-or-nothing.

Values are converted a column at a time, and only in the columns whose type has a bind
conversion on the dialect (JSON, UTC timestamps, booleans where they are integers): a
timestamp or boolean column converts each distinct value once (an import's rows mostly
share the launch's start time), other columns value by value, skipping NULLs. Text and
numbers go to the driver untouched.

``skip_conflicts`` leaves out the rows that would break a unique constraint (``ON
CONFLICT DO NOTHING``). COPY cannot, so on PostgreSQL the rows go by COPY inside a
savepoint, and only when that meets a conflict (another import inserted the same new test
first: rare) by one ``INSERT … SELECT`` of an array per column, five times slower.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from psycopg import errors as psycopg_errors
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    ColumnElement,
    Connection,
    Insert,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from caserun.store.tables import UTCDateTime

Converter = Callable[[Sequence[Any]], Sequence[Any]]


def insert_rows(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, skip_conflicts: bool = False
) -> int:
    """Insert ``rows`` (dicts) into ``table`` in the current transaction; returns how many
    were inserted (fewer than given only with ``skip_conflicts``).

    Every row must carry the same keys (the first row's); columns the first row leaves out
    get their scalar Python default, as ``insert()`` would give them."""
    if not rows:
        return 0
    first = rows[0]
    unknown = set(first) - {c.key for c in table.columns}
    if unknown:
        raise KeyError(f"{table.name} has no column {sorted(unknown)}")
    keys = [column.key for column in table.columns if column.key in first]
    columns = _transpose(rows, keys)
    for column in table.columns:
        if column.key not in first and column.default is not None and column.default.is_scalar:
            keys.append(column.key)
            columns.append([column.default.arg] * len(rows))  # type: ignore[attr-defined]
    return insert_columns(conn, table, keys, columns, skip_conflicts=skip_conflicts)


def _transpose(rows: Sequence[Mapping[str, Any]], keys: list[str]) -> list[Sequence[Any]]:
    """The rows' values as one sequence per key; a row that lacks a key gives NULL."""
    try:
        if len(keys) == 1:
            return [[row[keys[0]] for row in rows]]
        return list(zip(*map(itemgetter(*keys), rows), strict=True))
    except KeyError:
        return [[row.get(key) for row in rows] for key in keys]


def insert_columns(
    conn: Connection,
    table: Table,
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    *,
    skip_conflicts: bool = False,
) -> int:
    """Insert rows given column by column: ``columns[i]`` holds every row's value for the
    column named ``names[i]``, all of one length. Columns not named get no value (NULL, or
    the database's server default). Returns how many rows were inserted."""
    if not columns or not len(columns[0]):
        return 0
    dialect = conn.dialect
    position = {column.key: index for index, column in enumerate(table.columns)}
    named = sorted(zip(names, columns, strict=True), key=lambda pair: position[pair[0]])  # the statement's order
    keys = tuple(name for name, _ in named)
    postgres = dialect.name == "postgresql"
    if postgres and skip_conflicts:
        # conflicts are rare (two imports racing to add the same new test): COPY in a
        # savepoint, five times faster than the arrays; on a conflict, the arrays
        try:
            with conn.begin_nested():
                return _write(conn, table, keys, named, skip_conflicts=False)
        except psycopg_errors.UniqueViolation:
            arrays = {f"c{i}": list(values) for i, (_, values) in enumerate(named)}
            done = conn.execute(_insert_arrays(table, keys).execution_options(preserve_rowcount=True), arrays)
            return int(done.rowcount)
    return _write(conn, table, keys, named, skip_conflicts=skip_conflicts)


def _write(
    conn: Connection,
    table: Table,
    keys: tuple[str, ...],
    named: list[tuple[str, Sequence[Any]]],
    *,
    skip_conflicts: bool,
) -> int:
    dialect = conn.dialect
    postgres = dialect.name == "postgresql"
    statement, converters = _plan(table, keys, dialect, skip_conflicts)
    converted = [convert(values) if convert else values for convert, (_, values) in zip(converters, named, strict=True)]
    driver: Any = conn.connection.driver_connection
    rows = zip(*converted, strict=True)
    if postgres:
        with driver.cursor() as cursor:
            with cursor.copy(statement) as copy:
                write = copy.write_row
                for row in rows:
                    write(row)
            return int(cursor.rowcount)
    cursor = driver.cursor()
    try:
        cursor.executemany(statement, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


@lru_cache(maxsize=64)
def _plan(
    table: Table, names: tuple[str, ...], dialect: Dialect, skip_conflicts: bool
) -> tuple[str, list[Converter | None]]:
    """The statement for these columns (in the table's order) and each one's converter."""
    chosen = [table.columns[name] for name in names]
    converters = [_converter(column.type, dialect) for column in chosen]
    if dialect.name == "postgresql":
        # names come from the table definition, never from input
        quote = dialect.identifier_preparer.quote
        return f"COPY {quote(table.name)} ({', '.join(quote(c.name) for c in chosen)}) FROM STDIN", converters
    statement = sqlite.insert(table).on_conflict_do_nothing() if skip_conflicts else insert(table)
    compiled = statement.compile(dialect=dialect, column_keys=list(names))
    if compiled.positiontup != list(names):
        raise RuntimeError(f"unexpected parameter order for {table.name}")  # pragma: no cover - a SQLAlchemy change
    return str(compiled), converters


@lru_cache(maxsize=16)
def _insert_arrays(table: Table, names: tuple[str, ...]) -> Insert:
    """``INSERT … SELECT unnest(:c0), unnest(:c1), … ON CONFLICT DO NOTHING``: one array
    parameter per column, unnested side by side into rows."""
    arrays = [func.unnest(bindparam(f"c{i}", type_=ARRAY(table.columns[name].type))) for i, name in enumerate(names)]
    return postgresql.insert(table).from_select(list(names), select(*arrays)).on_conflict_do_nothing()


def _converter(type_: TypeEngine[Any], dialect: Dialect) -> Converter | None:
    """How one column's values become the driver's, or None when they go as they are."""
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    if _by_value(type_):
        return lambda values: _each_distinct(process, values)
    return lambda values: [process(value) if value is not None else None for value in values]


def _by_value(type_: TypeEngine[Any]) -> bool:
    """Whether equal values convert to equal results, so each distinct value is converted
    once: booleans, and timestamps stored as UTC (equal instants give one text; a plain
    ``DateTime`` on SQLite would write 10:00+00:00 and 11:00+01:00 differently)."""
    return isinstance(type_, (Boolean, UTCDateTime))


def _each_distinct(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    done = {value: process(value) for value in set(values) if value is not None}
    return list(map(done.get, values))


def one_of(conn: Connection, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` for thousands of values: one array parameter (``= ANY``) on
    PostgreSQL, where an expanded ``IN`` of 5,000 parameters costs more to send and plan
    than the lookup itself; a plain expanding ``IN`` elsewhere (SQLite binds are cheap)."""
    if conn.dialect.name != "postgresql" or not values:
        return column.in_(values)
    element: Any = BigInteger() if isinstance(values[0], int) else String()
    return column == any_(bindparam(None, list(values), type_=ARRAY(element)))
