"""Bulk insert of case-run rows: ``store.bulk.insert_rows`` (driver executemany on SQLite,
COPY on PostgreSQL) against SQLAlchemy's ``execute(insert(table), rows)``, the baseline,
on the same rows in the same run, three rounds each. A third line writes the same rows
with ``insert_rows`` into a copy of ``case_run`` without its indexes and foreign keys:
what the schema itself costs an import, beside the floor of issue 8 (a plain table).

    python -m bench.bulk_insert [--rows 20000] [--database URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import MetaData, delete, insert, text

from caserun.store import bulk, migrate
from caserun.store.engine import Database
from caserun.store.tables import case_run, launch, project, test_case


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--database", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    db = Database.from_url(args.database or f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    migrate.upgrade(db.engine)
    now = datetime.now(UTC)
    ids = range(1, args.rows + 1)
    with db.write() as conn:
        conn.execute(insert(project).values(id=1, key="bench", name="bench", created_at=now))
        conn.execute(
            insert(launch).values(
                id=1, project_id=1, name="l", status="completed", source="cli", started_at=now, created_at=now
            )
        )
        tests = [
            {"id": i, "project_id": 1, "key": f"k{i}", "scheme": 1, "suite": "s", "name": f"t{i}",
             "parameters": "", "full_name": f"s.t{i}", "created_at": now}
            for i in ids
        ]  # fmt: skip
        conn.execute(insert(test_case), tests)
    rows: list[dict[str, Any]] = [
        {"id": i, "project_id": 1, "launch_id": 1, "test_case_id": i, "attempt": 1, "is_final": True,
         "status": "failed" if i % 10 == 3 else "passed", "passed_on_retry": False, "started_at": now,
         "finished_at": None, "duration_ms": i % 2000, "failure_type": None, "failure_exception": None,
         "failure_message": "expected 42" if i % 10 == 3 else None, "stack_trace": None,
         "metadata": {"browser": "chromium"} if i % 3 == 0 else None, "warnings": None, "client_id": None,
         "retry_of_id": None}
        for i in ids
    ]  # fmt: skip
    plain = case_run.to_metadata(MetaData(), name="case_run_plain")  # names and types only
    with db.write() as conn:  # the same columns, no index, no foreign key
        conn.execute(text("CREATE TABLE case_run_plain AS SELECT * FROM case_run WHERE 1 = 0"))
    writes = {
        "sqlalchemy insert() (baseline)": (case_run, lambda c: c.execute(insert(case_run), rows)),
        "store.bulk.insert_rows": (case_run, lambda c: bulk.insert_rows(c, case_run, rows)),
        "insert_rows, no index or FK": (plain, lambda c: bulk.insert_rows(c, plain, rows)),
    }
    timings: dict[str, list[float]] = {label: [] for label in writes}
    for _ in range(3):
        for label, (table, write) in writes.items():
            with db.write() as conn:
                started = time.perf_counter()
                write(conn)
                timings[label].append(time.perf_counter() - started)
                conn.execute(delete(table))
    base = min(timings["sqlalchemy insert() (baseline)"])
    print(f"{args.rows:,} case-run rows, {db.engine.dialect.name}, best of 3:")
    for label, runs in timings.items():
        print(f"  {label:<32} {min(runs):.3f} s  ({min(runs) / base:.2f} x baseline)")


if __name__ == "__main__":
    main()
