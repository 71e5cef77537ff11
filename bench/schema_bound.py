"""What storing a report costs in caserun's schema with nothing else done: the bound under
issue 8's §1 target, beside the floor, measured in the same run.

    python -m bench.schema_bound [--tests 100000] [--database URL]

The floor (as in ``bench.import_junit``): a bare ``iterparse`` of the generated JUnit file
plus a raw ``executemany`` of as many narrow rows into a table with no index. The bound:
one ``iterparse`` that reads what a case run stores (names, time, failure message, type
and trace, system-out), a sha256 key per test, then the rows written in one transaction
into ``test_case``, ``case_run`` and ``case_run_log`` with ``store.bulk`` (COPY on
PostgreSQL), with the schema's indexes and foreign keys. No identity normalisation, no
attempts, no statistics, no failure patterns, no HTTP, no CLI: a lower bound on an
import, not a way to import.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import insert

from bench.import_junit import floor_insert, floor_parse
from bench.junit_gen import generate
from caserun.store import bulk, migrate
from caserun.store.engine import Database
from caserun.store.tables import case_run, case_run_log, launch, project, test_case


def parse_rows(report: Path) -> tuple[dict[str, list[Any]], dict[str, list[Any]], list[tuple[int, str, str]]]:
    """Columns of test cases and case runs, and the logs, read from the report."""
    tests: dict[str, list[Any]] = {k: [] for k in ("key", "suite", "name", "full_name")}
    runs: dict[str, list[Any]] = {
        k: [] for k in ("status", "duration_ms", "failure_type", "failure_message", "stack_trace")
    }
    logs: list[tuple[int, str, str]] = []
    for index, (_event, element) in enumerate(etree.iterparse(str(report), events=("end",), tag="testcase")):
        suite, name = element.get("classname") or "", element.get("name") or ""
        tests["key"].append(hashlib.sha256(f"{suite}\x1f{name}".encode()).hexdigest())
        tests["suite"].append(suite)
        tests["name"].append(name)
        tests["full_name"].append(f"{suite}.{name}")
        failure = element.find("failure")
        runs["status"].append("failed" if failure is not None else "passed")
        runs["duration_ms"].append(round(float(element.get("time") or 0) * 1000))
        runs["failure_type"].append("assertion" if failure is not None else None)
        runs["failure_message"].append(failure.get("message") if failure is not None else None)
        runs["stack_trace"].append(failure.text if failure is not None else None)
        out = element.find("system-out")
        if out is not None and out.text:
            logs.append((index, "stdout", out.text))
        element.clear()
    return tests, runs, logs


def bound(report: Path, url: str) -> tuple[float, float]:
    """Seconds to read the report's rows, and to write them into the schema."""
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    now = datetime.now(UTC)
    with db.write() as conn:
        conn.execute(insert(project).values(id=1, key="bench", name="bench", created_at=now))
        conn.execute(
            insert(launch).values(
                id=1, project_id=1, name="l", status="completed", source="cli", started_at=now, created_at=now
            )
        )
    started = time.perf_counter()
    tests, runs, logs = parse_rows(report)
    parsed = time.perf_counter()
    count = len(tests["key"])
    ids = range(1, count + 1)
    with db.write() as conn:
        bulk.insert_columns(
            conn,
            test_case,
            ["id", "project_id", "scheme", "parameters", "created_at", *tests],
            [ids, [1] * count, [1] * count, [""] * count, [now] * count, *tests.values()],
        )
        bulk.insert_columns(
            conn,
            case_run,
            [
                "id",
                "project_id",
                "launch_id",
                "test_case_id",
                "attempt",
                "is_final",
                "passed_on_retry",
                "started_at",
                *runs,
            ],
            [ids, [1] * count, [1] * count, ids, [1] * count, [True] * count, [False] * count, [now] * count]
            + list(runs.values()),
        )
        bulk.insert_columns(
            conn,
            case_run_log,
            ["case_run_id", "stream", "content"],
            [[index + 1 for index, _, _ in logs], [s for _, s, _ in logs], [c for _, _, c in logs]],
        )
    written = time.perf_counter()
    db.dispose()
    return parsed - started, written - parsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=100_000)
    parser.add_argument("--database", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="caserun-bound-"))
    report = folder / "big.xml"
    generate(report, args.tests)
    parse_s = floor_parse(report)
    insert_s = floor_insert(folder / "floor.db", args.tests)
    floor = parse_s + insert_s
    print(f"{args.tests:,} test cases, {report.stat().st_size / 1e6:.1f} MB")
    print(f"floor: lxml stream parse {parse_s:.2f} s + raw executemany {insert_s:.2f} s = {floor:.2f} s")
    read_s, write_s = bound(report, args.database or f"sqlite:///{folder / 'bound.db'}")
    total = read_s + write_s
    print(f"bound: read the rows {read_s:.2f} s + write them into the schema {write_s:.2f} s = {total:.2f} s")
    print(f"bound / floor: {total / floor:.1f}× (issue 8 §1 asks an import for 3×)")


if __name__ == "__main__":
    main()
