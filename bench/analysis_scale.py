"""Analysis at scale: flaky list, one test's history and a launch comparison on a project
with TESTS × LAUNCHES case runs (default 10,000 × 100 = 1,000,000), on SQLite or the URL given.

    python bench/analysis_scale.py [--tests 10000] [--launches 100] [--database URL]

Prints p50/p95 latency of each answer over repeated calls, and, as the baseline measured in
the same run, the time of one full scan of the case_run table (what an answer that read all
history would cost at least).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from caserun.analysis.history import HistoryFilter
from caserun.domain.model import Attempt, Failure, Role, Status, TestResult
from caserun.service import case_runs, history, launches, patterns, projects
from caserun.service.auth import Principal
from caserun.service.launches import LaunchParams, record_completed_launch
from caserun.store import migrate
from caserun.store.blobs import FileBlobStore
from caserun.store.case_runs import CaseRunFilter
from caserun.store.engine import Database
from caserun.store.patterns import PatternFilter
from caserun.store.tables import case_run, launch

WHO = Principal(token_id=0, role=Role.ADMIN, project_id=None)


def results(index: int, tests: int, rng: random.Random) -> Iterator[TestResult]:
    for t in range(tests):
        flaky = t % 100 == 0
        failed = (flaky and rng.random() < 0.3) or rng.random() < 0.01
        attempts = [
            Attempt(
                status=Status.FAILED,
                duration_ms=rng.randint(10, 900),
                failure=Failure(
                    message=f"AssertionError: expected {rng.randint(0, 9)}",
                    exception="AssertionError",
                    trace="at test_x (tests/x.py:10)",
                ),
            )
        ]
        if not failed:
            attempts = [Attempt(status=Status.PASSED, duration_ms=rng.randint(10, 900))]
        elif flaky and rng.random() < 0.5:
            attempts.append(Attempt(status=Status.PASSED, duration_ms=rng.randint(10, 900)))
        yield TestResult(suite=f"tests.module_{t % 200}", name=f"test_{t}", attempts=attempts)


def populate(db: Database, blob_dir: Path, tests: int, count: int) -> list[int]:
    rng = random.Random(3)  # noqa: S311 - benchmark data
    projects.create(db, "scale")
    start = datetime.now(UTC) - timedelta(days=count)
    ids = []
    for index in range(count):
        with db.write() as conn:
            project = projects.lookup(conn, "scale")
            when = start + timedelta(days=index)
            params = LaunchParams(
                name=f"nightly {index}", branch="main", environment="ci", started_at=when, commit=f"{index:08x}"
            )
            launch_id = record_completed_launch(
                conn, project.id, params, results(index, tests, rng), FileBlobStore(blob_dir), max_attachment_bytes=1
            )
        ids.append(launch_id)
        if index % 10 == 9:
            print(f"  {index + 1} launches written", flush=True)
    return ids


def timed(label: str, call: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    print(f"{label:<28} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    return p50, p95


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=10_000)
    parser.add_argument("--launches", type=int, default=100)
    parser.add_argument("--database")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="measure a database an earlier run populated")
    parser.add_argument("--folder", help="where the SQLite database lives (default: a new temporary folder)")
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="caserun-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(args.database or f"sqlite:///{folder / 'bench.db'}")
    migrate.upgrade(db.engine)
    started = time.perf_counter()
    if args.reuse:
        with db.read() as conn:
            ids = [int(i) for i in conn.execute(select(launch.c.id).order_by(launch.c.id)).scalars()]
    else:
        ids = populate(db, folder / "blobs", args.tests, args.launches)
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(case_run)).scalar_one()
    print(f"wrote {total:,} case runs in {time.perf_counter() - started:.0f} s ({db.engine.dialect.name})")
    # the statistics the server's background task (SQLite) and autovacuum (PostgreSQL) keep
    db.refresh_planner_statistics()
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))

    def full_scan() -> None:
        with db.read() as conn:
            conn.execute(select(func.sum(case_run.c.duration_ms))).scalar_one()

    with db.read() as conn:
        some_test = conn.execute(
            select(case_run.c.test_case_id).where(case_run.c.launch_id == ids[-1]).limit(1)
        ).scalar_one()
    base50, _ = timed("baseline: full case_run scan", full_scan, 5)
    rows = [
        ("flaky list", lambda: history.flaky(db, WHO, "scale", HistoryFilter(), min_score=20, window=30)),
        (
            "flaky list, branch filter",
            lambda: history.flaky(db, WHO, "scale", HistoryFilter(branch="main"), min_score=20, window=30),
        ),
        (
            "one test's history",
            lambda: history.history(db, WHO, some_test, HistoryFilter(), cursor=None, limit=100, window=30),
        ),
        ("launch comparison", lambda: launches.get(db, WHO, ids[-1], "")),
        (
            "failure-pattern list",
            lambda: patterns.list_page(db, WHO, "scale", PatternFilter(), cursor=None, limit=50),
        ),
        (
            "launch's case runs, page 1",
            lambda: case_runs.list_page(
                db, WHO, ids[-1], CaseRunFilter(sort="status", failed_first=True), cursor=None, limit=100
            ),
        ),
    ]
    print()
    for label, call in rows:
        p50, p95 = timed(label, call, args.repeat)
        print(f"{'':<28} p95 = {p95 / base50:.3f} × one full scan")


if __name__ == "__main__":
    main()
