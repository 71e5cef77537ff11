"""Live load: many reporters streaming case run events at once to running ``caserun serve``
processes, against a baseline measured in the same run.

Each of ``--reporters`` threads (one ``httpx`` client each) is a CI job: it starts its own
launch, streams a ``case_run.started`` and a ``case_run.finished`` per test in batches of
``--batch`` events (what a reporter sends when its tests finish a few at a time; the
pytest plugin sends up to 200 every 0.5 s), one request after the other, as fast as the
server answers, then finishes its launch. The tests are a JUnit file from
``bench/junit_gen.py`` (10% failing with ~2 KB stack traces) split among the reporters.

Figures per configuration: sustained events per second (all events / wall time from the
first request to the last answer), p50 and p99 latency of one request, and the baseline:
the bulk import of the same tests (the JUnit file posted once to ``/imports``) on the
same database. Configurations: SQLite with one server process, and, given ``--postgres``,
PostgreSQL with 1, 2 and 4 ``caserun serve`` processes on one database, the reporters
spread over them round robin (what a load balancer does). Each configuration gets a fresh
database.

    python -m bench.live_load [--reporters 20] [--tests 10000] [--batch 20]
        [--processes 1,2,4] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--no-sqlite]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.junit_gen import generate
from bench.live_events import free_port, live_events

CASERUN = [sys.executable, "-m", "caserun"]


@dataclass
class Figures:
    name: str
    processes: int
    events: int
    tests: int
    seconds: float
    latencies: list[float]
    bulk_seconds: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def row(self) -> str:
        bulk_rate = self.tests / self.bulk_seconds
        live_rate = self.tests / self.seconds
        return (
            f"| {self.name} | {self.processes} | {self.events:,} | {self.seconds:.1f} s | {self.events_per_s:,.0f} "
            f"| {live_rate:,.0f} | {self.percentile(0.5):.0f} ms | {self.percentile(0.99):.0f} ms "
            f"| {self.bulk_seconds:.2f} s ({bulk_rate:,.0f} tests/s) | {live_rate / bulk_rate:.2f}× |"
        )


def reporter_streams(report: Path, reporters: int, batch: int, tag: str) -> list[list[str]]:
    """Each reporter's request bodies: its launch, its share of the tests, its finish."""
    [_, *tests, _] = live_events(report, "x")
    pairs = [tests[i : i + 2] for i in range(0, len(tests), 2)]
    streams = []
    for n in range(reporters):
        launch = f"{tag}-{n}"
        mine: list[dict[str, Any]] = [{"type": "launch.started", "launch": launch, "name": launch, "source": "pytest"}]
        for pair in pairs[n::reporters]:
            mine += [{**event, "launch": launch} for event in pair]
        mine.append({"type": "launch.finished", "launch": launch, "status": "completed"})
        lines = [json.dumps(e) for e in mine]
        streams.append(['{"events":[' + ",".join(lines[i : i + batch]) + "]}" for i in range(0, len(lines), batch)])
    return streams


def start_servers(env: dict[str, str], count: int) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    servers, urls = [], []
    for _ in range(count):
        port = free_port()
        servers.append(
            subprocess.Popen(
                [*CASERUN, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        for _ in range(300):
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
    return servers, urls


def run_config(
    name: str, env: dict[str, str], processes: int, report: Path, tests: int, reporters: int, batch: int
) -> Figures:
    subprocess.run([*CASERUN, "project", "create", "bench"], env=env, check=True, capture_output=True)
    token = subprocess.run(
        [*CASERUN, "token", "create", "--project", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    as_json = {"content-type": "application/json"}
    servers, urls = start_servers(env, processes)
    streams = reporter_streams(report, reporters, batch, name.replace(" ", "-"))
    latencies: list[list[float]] = [[] for _ in range(reporters)]
    failures: list[str] = []
    barrier = threading.Barrier(reporters + 1)

    def reporter(n: int) -> None:
        with httpx.Client(base_url=urls[n % len(urls)], headers=headers, timeout=120) as http:
            barrier.wait()
            for body in streams[n]:
                began = time.perf_counter()
                response = http.post("/api/v1/projects/bench/events", content=body, headers=as_json)
                latencies[n].append(time.perf_counter() - began)
                if response.status_code != 200 or response.json()["refused"]:
                    failures.append(f"reporter {n}: {response.status_code} {response.text[:300]}")
                    return

    try:
        threads = [threading.Thread(target=reporter, args=(n,)) for n in range(reporters)]
        for thread in threads:
            thread.start()
        barrier.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
        if failures:
            raise SystemExit("\n".join(failures[:5]))
        with httpx.Client(base_url=urls[0], headers=headers, timeout=600) as http:
            launches = http.get("/api/v1/projects/bench/launches", params={"limit": 200}).json()["items"]
            recorded = sum(launch["summary"]["total"] for launch in launches)
            assert recorded == tests, f"{recorded} case runs recorded, {tests} sent"
            assert all(launch["status"] == "completed" for launch in launches)
            began_bulk = time.perf_counter()
            with report.open("rb") as stream:
                response = http.post("/api/v1/projects/bench/imports", files={"report": (report.name, stream)})
            response.raise_for_status()
            bulk = time.perf_counter() - began_bulk
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(30)
    events = sum(body.count('"type":') for stream in streams for body in stream)
    return Figures(name, processes, events, tests, seconds, [x for xs in latencies for x in xs], bulk)


def fresh_postgres(admin_url: str, name: str) -> str:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reporters", type=int, default=20)
    parser.add_argument("--tests", type=int, default=10_000, help="tests in all, split among the reporters")
    parser.add_argument("--batch", type=int, default=20, help="events per request")
    parser.add_argument("--processes", default="1,2,4", help="server process counts to try on PostgreSQL")
    parser.add_argument("--postgres", help="URL of a PostgreSQL maintenance database (to create scratch ones)")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="caserun-load-"))
    report = folder / "tests.xml"
    generate(report, args.tests)

    results: list[Figures] = []
    if not args.no_sqlite:
        env = {**os.environ, "CASERUN_DATA_DIR": str(folder / "sqlite")}
        env.pop("CASERUN_DATABASE_URL", None)
        results.append(run_config("SQLite", env, 1, report, args.tests, args.reporters, args.batch))
        print(results[-1].row(), flush=True)
    if args.postgres:
        for count in [int(p) for p in args.processes.split(",")]:
            scratch = f"caserun_live_load_{count}"
            url = fresh_postgres(args.postgres, scratch)
            env = {**os.environ, "CASERUN_DATA_DIR": str(folder / f"pg{count}"), "CASERUN_DATABASE_URL": url}
            try:
                results.append(run_config("PostgreSQL", env, count, report, args.tests, args.reporters, args.batch))
            finally:
                drop_postgres(args.postgres, scratch)
            print(results[-1].row(), flush=True)

    print()
    print(f"{args.reporters} reporters, {args.tests:,} tests, {args.batch} events per request, {os.cpu_count()} cores")
    print()
    print(
        "| database | server processes | events | time | events/s | tests/s | p50 request | p99 request "
        "| bulk import of the same tests (baseline) | live vs bulk |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for figures in results:
        print(figures.row())
    print()
    print(f"request latency: mean {statistics.mean(x for f in results for x in f.latencies) * 1000:.0f} ms overall")


if __name__ == "__main__":
    main()
