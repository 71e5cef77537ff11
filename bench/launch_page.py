"""The launch page at scale: a launch with TESTS case runs (default 10,000) that compares
with a previous launch of the same size, on SQLite or the URL given.

    python bench/launch_page.py [--tests 10000] [--repeat 30] [--database URL]

Measures, through the whole app (routing, services, SQL, templates) with an in-process
HTTP client, p50/p95 of:

* the launch page HTML (``/launches/{id}``: header, stat cards, comparison, patterns,
  the first 50 case runs),
* the JSON launch (``/api/v1/launches/{id}``, with its comparison),
* the first page of its case runs (``/api/v1/launches/{id}/case-runs``, 100 runs),
* the same first page filtered (failed first, and by suite and duration),

and, as the baseline measured in the same run, one full scan of the case_run table
(``SUM(duration_ms)``: what any answer that read every row would cost at least). Figures go
to docs/benchmarks.md as ratios against that baseline.
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

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from caserun.app import create_app
from caserun.domain.model import Attempt, Failure, Role, Status, TestResult
from caserun.service import auth, projects
from caserun.service.launches import LaunchParams, record_completed_launch
from caserun.settings import Settings
from caserun.store import migrate
from caserun.store.blobs import FileBlobStore
from caserun.store.engine import Database
from caserun.store.tables import case_run


def results(tests: int, rng: random.Random) -> Iterator[TestResult]:
    """About 3 % failures in 20 distinct messages, 1 % passed on a retry, 2 % skipped."""
    for t in range(tests):
        roll = rng.random()
        duration = rng.randint(5, 4000)
        if roll < 0.03:
            failure = Failure(
                message=f"AssertionError: expected {t % 20} got {t % 20 + 1}",
                exception="AssertionError",
                trace=f'File "tests/test_mod_{t % 200}.py", line {10 + t % 20}, in test_{t}',
            )
            attempts = [Attempt(status=Status.FAILED, duration_ms=duration, failure=failure)]
        elif roll < 0.04:
            attempts = [
                Attempt(status=Status.FAILED, duration_ms=duration, failure=Failure(message="timeout")),
                Attempt(status=Status.PASSED, duration_ms=duration),
            ]
        elif roll < 0.06:
            attempts = [Attempt(status=Status.SKIPPED, duration_ms=0)]
        else:
            attempts = [Attempt(status=Status.PASSED, duration_ms=duration)]
        yield TestResult(suite=f"tests.module_{t % 200}", name=f"test_{t}", attempts=attempts)


def populate(db: Database, blob_dir: Path, tests: int) -> int:
    """Two launches of ``tests`` tests on main/ci; returns the id of the second."""
    rng = random.Random(7)  # noqa: S311 - benchmark data
    projects.create(db, "bench")
    start = datetime.now(UTC) - timedelta(days=2)
    launch_id = 0
    for index in range(2):
        with db.write() as conn:
            project = projects.lookup(conn, "bench")
            when = start + timedelta(days=index)
            params = LaunchParams(name=f"nightly {index}", branch="main", environment="ci", started_at=when)
            launch_id = record_completed_launch(
                conn, project.id, params, results(tests, rng), FileBlobStore(blob_dir), max_attachment_bytes=1
            )
    return launch_id


def timed(label: str, call: Callable[[], object], repeat: int) -> tuple[float, float]:
    call()  # warm caches (templates, statement cache) once, outside the samples
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    print(f"{label:<38} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms", flush=True)
    return p50, p95


def ok(client: TestClient, url: str, **params: str) -> Callable[[], object]:
    def call() -> object:
        response = client.get(url, params=params)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        return response

    return call


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="caserun-bench-"))
    url = args.database or f"sqlite:///{folder / 'bench.db'}"
    settings = Settings(data_dir=folder / "data", database_url=url, public_url="http://bench.test")
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    started = time.perf_counter()
    launch_id = populate(db, folder / "blobs", args.tests)
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(case_run)).scalar_one()
        in_launch = conn.execute(
            select(func.count()).select_from(case_run).where(case_run.c.launch_id == launch_id)
        ).scalar_one()
    print(
        f"wrote {total:,} case runs ({in_launch:,} in launch {launch_id}) in "
        f"{time.perf_counter() - started:.0f} s ({db.engine.dialect.name})"
    )
    # the statistics the server's background task (SQLite) and autovacuum (PostgreSQL) keep
    db.refresh_planner_statistics()
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))

    token = auth.create_token(db, project_key=None, role=Role.ADMIN)
    with TestClient(create_app(settings, database=db), base_url="http://bench.test") as page_client:
        code = auth.create_login_code(db, token.id)
        assert page_client.get(f"/login/{code}", follow_redirects=False).status_code == 303
        api = TestClient(page_client.app, base_url="http://bench.test")
        api.headers["Authorization"] = f"Bearer {token.token}"

        def full_scan() -> None:
            with db.read() as conn:
                conn.execute(select(func.sum(case_run.c.duration_ms))).scalar_one()

        base50, _ = timed("baseline: full case_run scan", full_scan, max(5, args.repeat // 3))
        rows = [
            ("launch page (HTML)", ok(page_client, f"/launches/{launch_id}")),
            ("launch page, failed first (HTML)", ok(page_client, f"/launches/{launch_id}", failed_first="1")),
            ("JSON launch with comparison", ok(api, f"/api/v1/launches/{launch_id}")),
            ("JSON case runs, first page", ok(api, f"/api/v1/launches/{launch_id}/case-runs")),
            (
                "JSON case runs, suite + duration",
                ok(api, f"/api/v1/launches/{launch_id}/case-runs", suite="tests.module_7", min_duration_ms="1000"),
            ),
        ]
        print()
        for label, call in rows:
            p50, p95 = timed(label, call, args.repeat)
            print(f"{'':<38} p50 = {p50 / base50:.2f} ×, p95 = {p95 / base50:.2f} × one full scan", flush=True)


if __name__ == "__main__":
    main()
