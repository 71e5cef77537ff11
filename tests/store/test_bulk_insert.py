"""Bulk inserts store exactly what SQLAlchemy's ``insert()`` stores (timestamps in UTC
whatever their zone, booleans, JSON, NULLs, scalar defaults), and the ids they hand out
are kept compactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select

from caserun.store import bulk
from caserun.store.engine import Database
from caserun.store.ids import IdSpans
from caserun.store.tables import case_run, launch, project, test_case

NOW = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


def _rows(launch_id: int) -> list[dict[str, Any]]:
    moments = [
        NOW,
        NOW.astimezone(PLUS_TWO),  # the same instant, another zone
        NOW.replace(tzinfo=None),  # naive: taken as UTC
        datetime(2025, 12, 31, 23, 59, 59, tzinfo=PLUS_TWO),
    ]
    return [
        {
            "id": launch_id * 100 + i,
            "project_id": 1,
            "launch_id": launch_id,
            "test_case_id": 1 + i % 3,
            "attempt": 1 + i // 3,
            "is_final": i % 2 == 0,
            "status": ["passed", "failed", "skipped"][i % 3],
            "started_at": moments[i % len(moments)],
            "finished_at": moments[(i + 1) % len(moments)] if i % 3 else None,
            "duration_ms": i * 7 if i % 4 else None,
            "failure_message": "boom ü" if i % 3 == 1 else None,
            "metadata": {"browser": "chromium", "n": i} if i % 2 else None,
            "warnings": ["careful"] if i % 5 == 0 else None,
        }
        for i in range(12)
    ]


def test_bulk_rows_read_back_as_sqlalchemy_insert_writes_them(db: Database) -> None:
    with db.write() as conn:
        conn.execute(insert(project).values(id=1, key="p", name="p", created_at=NOW))
        for launch_id in (1, 2):
            conn.execute(
                insert(launch).values(
                    id=launch_id,
                    project_id=1,
                    name="l",
                    status="completed",
                    source="cli",
                    started_at=NOW,
                    created_at=NOW,
                )
            )
        conn.execute(
            insert(test_case),
            [
                {"id": i, "project_id": 1, "key": f"k{i}", "scheme": 1, "suite": "s", "name": f"t{i}",
                 "parameters": "", "full_name": f"s.t{i}", "created_at": NOW}
                for i in (1, 2, 3)
            ],
        )  # fmt: skip
        conn.execute(insert(case_run), _rows(1))
        assert bulk.insert_rows(conn, case_run, _rows(2)) == len(_rows(2))  # COPY on PostgreSQL

    def stored(launch_id: int) -> list[dict[str, Any]]:
        with db.read() as conn:
            query = select(case_run).where(case_run.c.launch_id == launch_id).order_by(case_run.c.id)
            return [
                {k: v for k, v in row.items() if k not in ("id", "launch_id")} for row in conn.execute(query).mappings()
            ]

    by_sqlalchemy, by_bulk = stored(1), stored(2)
    assert by_bulk == by_sqlalchemy
    assert {row["started_at"] for row in by_bulk} == {NOW, datetime(2025, 12, 31, 21, 59, 59, tzinfo=UTC)}
    assert all(row["passed_on_retry"] is False for row in by_bulk)  # the column's default


def test_rows_that_lack_a_key_of_the_first_row_store_null(db: Database) -> None:
    common = {"project_id": 1, "scheme": 1, "suite": "s", "parameters": "", "full_name": "f", "created_at": NOW}
    rows = [{"id": 1, "key": "a", "name": "A", "file": "a.py", **common}, {"id": 2, "key": "b", "name": "B", **common}]
    with db.write() as conn:
        conn.execute(insert(project).values(id=1, key="p", name="p", created_at=NOW))
        bulk.insert_rows(conn, test_case, rows)
        files = conn.execute(select(test_case.c.file).order_by(test_case.c.id)).scalars().all()
    assert files == ["a.py", None]


def test_rows_that_break_a_unique_constraint_can_be_skipped(db: Database) -> None:
    def row(ident: int, key: str) -> dict[str, Any]:
        return {"id": ident, "project_id": 1, "key": key, "scheme": 1, "suite": "s", "name": key, "parameters": "",
                "full_name": f"s.{key}", "line": None, "created_at": NOW.astimezone(PLUS_TWO)}  # fmt: skip

    with db.write() as conn:
        conn.execute(insert(project).values(id=1, key="p", name="p", created_at=NOW))
        assert bulk.insert_rows(conn, test_case, [row(1, "a")]) == 1
        # the count of rows inserted is how test_cases.insert_new knows its ids went in
        assert bulk.insert_rows(conn, test_case, [row(2, "a"), row(3, "b")], skip_conflicts=True) == 1
        stored = conn.execute(select(test_case.c.id, test_case.c.key, test_case.c.created_at).order_by(test_case.c.id))
        assert [tuple(r) for r in stored] == [(1, "a", NOW), (3, "b", NOW)]


def test_unknown_columns_are_refused(db: Database) -> None:
    with db.write() as conn, pytest.raises(KeyError, match="nope"):
        bulk.insert_rows(conn, project, [{"id": 1, "nope": 2}])


def test_id_spans_keep_runs_and_behave_as_a_sequence() -> None:
    spans = IdSpans(range(5, 8))
    spans.extend([8, 9, 20, 21, 3])
    spans.extend(range(4, 4))
    spans.extend(range(4, 6))
    assert list(spans) == [5, 6, 7, 8, 9, 20, 21, 3, 4, 5]
    assert len(spans) == 10
    assert spans._runs == [range(5, 10), range(20, 22), range(3, 6)]
    assert [spans[i] for i in range(10)] == list(spans)
    assert spans[-1] == 5 and spans[-10] == 5 and spans[7] == 3
    assert spans[2:5] == [7, 8, 9]
    assert spans == [5, 6, 7, 8, 9, 20, 21, 3, 4, 5]
    assert spans != [5, 6]
    with pytest.raises(IndexError):
        spans[10]
    assert list(IdSpans()) == [] and len(IdSpans()) == 0
