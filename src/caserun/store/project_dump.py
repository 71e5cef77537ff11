"""The rows of one project, table by table, for export and import.

``SECTIONS`` lists every table a project owns in an order where references mostly point
backwards; a reference that points forwards (a retry of a later launch, a pattern's example
run) is filled in once its target exists. References are carried as *refs*: the row's
position among its table's rows of the project in id order (1, 2, …), so an export does
not depend on the ids one database happened to assign and two exports of equal data are
equal byte for byte.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Connection, Select, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from caserun.store.tables import (
    UTCDateTime,
    attachment,
    blob,
    case_run,
    case_run_log,
    defect,
    defect_link,
    failure_pattern,
    launch,
    quarantine,
    status_change,
    test_case,
    test_stats,
)


@dataclass(frozen=True)
class Section:
    name: str
    table: Table
    #: column -> the section its value refers to
    refs: dict[str, str] = field(default_factory=dict)
    #: other rows refer to this section's rows by ref
    referenced: bool = False

    def rows(self, project_id: int) -> Select[Any]:
        t = self.table
        if "project_id" in t.c:
            query = select(t).where(t.c.project_id == project_id)
        elif "case_run_id" in t.c:
            query = (
                select(t).join(case_run, case_run.c.id == t.c.case_run_id).where(case_run.c.project_id == project_id)
            )
        else:
            query = select(t).join(defect, defect.c.id == t.c.defect_id).where(defect.c.project_id == project_id)
        return query.order_by(*t.primary_key.columns)

    def ids(self, project_id: int) -> Select[Any]:
        return select(self.table.c.id).where(self.table.c.project_id == project_id).order_by(self.table.c.id)

    @property
    def fields(self) -> list[Column[Any]]:
        skip = {"id", "project_id"}
        return [c for c in self.table.columns if c.name not in skip]


SECTIONS: list[Section] = [
    Section("test_case", test_case, {"alias_of_id": "test_case"}, referenced=True),
    Section("launch", launch, {"retry_of_id": "launch"}, referenced=True),
    Section("defect", defect, {"launch_id": "launch"}, referenced=True),
    Section("failure_pattern", failure_pattern, {"example_case_run_id": "case_run", "defect_id": "defect"}, True),
    Section(
        "case_run",
        case_run,
        {
            "launch_id": "launch",
            "test_case_id": "test_case",
            "retry_of_id": "case_run",
            "pattern_id": "failure_pattern",
        },
        referenced=True,
    ),
    Section("log", case_run_log, {"case_run_id": "case_run"}),
    Section("attachment", attachment, {"case_run_id": "case_run"}),
    Section("defect_link", defect_link, {"defect_id": "defect", "case_run_id": "case_run"}),
    Section("status_change", status_change, {"case_run_id": "case_run"}),
    Section("quarantine", quarantine, {"test_case_id": "test_case"}),
    Section("test_stats", test_stats, {"test_case_id": "test_case", "streak_run_id": "case_run"}),
]
BY_NAME = {s.name: s for s in SECTIONS}


def is_time(column: Column[Any]) -> bool:
    return isinstance(column.type, UTCDateTime)


class RefMap:
    """Database id -> ref for the referenced sections of one project (sorted id arrays:
    8 bytes a row, so a million case runs cost 8 MB)."""

    def __init__(self, conn: Connection, project_id: int) -> None:
        self.ids: dict[str, array[int]] = {}
        for section in SECTIONS:
            if section.referenced:
                self.ids[section.name] = array("q", conn.execute(section.ids(project_id)).scalars())

    def ref(self, section: str, db_id: int | None) -> int | None:
        if db_id is None:
            return None
        ids = self.ids[section]
        at = bisect_left(ids, db_id)
        return at + 1 if at < len(ids) and ids[at] == db_id else None


def stream(conn: Connection, query: Select[Any]) -> Iterator[Any]:
    """Rows one batch at a time (a server-side cursor on PostgreSQL)."""
    result = conn.execution_options(stream_results=True, yield_per=1000).execute(query)
    yield from result.mappings()


def project_blobs(conn: Connection, project_id: int) -> Select[Any]:
    used = (
        select(attachment.c.sha256)
        .join(case_run, case_run.c.id == attachment.c.case_run_id)
        .where(case_run.c.project_id == project_id)
    )
    return select(blob).where(blob.c.sha256.in_(used)).order_by(blob.c.sha256)


class IdMap:
    """Ref -> new database id while importing: refs arrive in order, 1, 2, …"""

    def __init__(self) -> None:
        self.ids: dict[str, array[int]] = {s.name: array("q") for s in SECTIONS if s.referenced}

    def get(self, section: str, ref: int) -> int | None:
        ids = self.ids[section]
        return ids[ref - 1] if 1 <= ref <= len(ids) else None


def insert_rows(conn: Connection, section: Section, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows in order; for a referenced section, return their new ids in the same order."""
    if not rows:
        return []
    table = section.table
    if not section.referenced:
        conn.execute(insert(table), list(rows))
        return []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(i) for i in conn.execute(statement, list(rows)).scalars()]


def set_value(conn: Connection, section: Section, row_id: int, column: str, value: int) -> None:
    conn.execute(update(section.table).where(section.table.c.id == row_id).values({column: value}))


def add_blob(conn: Connection, values: dict[str, Any]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(blob).values(**values).on_conflict_do_nothing())
