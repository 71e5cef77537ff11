"""Primary keys handed out in bulk, so bulk inserts need no RETURNING round trips.

With explicit ids an import's rows go in with plain executemany, and child rows (logs,
attachments) can point at their case run without reading anything back. On SQLite the
caller holds the write lock (``BEGIN IMMEDIATE``), so ``max(id) + 1`` is safe; on
PostgreSQL the table's identity sequence hands out the block.

:class:`IdSpans` keeps a long list of such ids in a few bytes: blocks are consecutive
numbers, so it stores each run once.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import overload

from sqlalchemy import Connection, Table, func, select, text


def allocate(conn: Connection, table: Table, count: int) -> Sequence[int]:
    """``count`` new ids for ``table``, in increasing order."""
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}).scalar_one()
        driver = conn.connection.driver_connection
        assert driver is not None
        rows = driver.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", (sequence, count))
        return [int(r[0]) for r in rows]
    start = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1
    return range(start, start + count)


class IdSpans(Sequence[int]):
    """Ids in the order they were added, stored as runs of consecutive numbers."""

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self._runs: list[range] = []
        self._ends: list[int] = []  # how many ids the runs up to and including each one hold
        self.extend(ids)

    def extend(self, ids: Iterable[int]) -> None:
        for run in _runs(ids):
            last = self._runs[-1] if self._runs else None
            if last is not None and last.stop == run.start:
                self._runs[-1] = range(last.start, run.stop)
                self._ends[-1] += len(run)
            else:
                self._runs.append(run)
                self._ends.append(len(self) + len(run))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __iter__(self) -> Iterator[int]:
        return chain.from_iterable(self._runs)

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("IdSpans index out of range")
        at = bisect_right(self._ends, index)
        before = self._ends[at - 1] if at else 0
        return self._runs[at][index - before]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"IdSpans({self._runs!r})"


def _runs(ids: Iterable[int]) -> Iterator[range]:
    if isinstance(ids, range) and ids.step == 1:
        if ids:
            yield ids
        return
    start = stop = None
    for ident in ids:
        if ident == stop:
            stop += 1
            continue
        if start is not None and stop is not None:
            yield range(start, stop)
        start, stop = ident, ident + 1
    if start is not None and stop is not None:
        yield range(start, stop)
