"""Live load: many reporters streaming case run events at once to running ``caserun serve``
processes, against a baseline measured in the same run.

Each of ``--reporters`` reporters is a CI job with its own HTTP connection: it starts its
own launch and streams a ``case_run.started`` and a ``case_run.finished`` per test in
batches of ``--batch`` events (what a reporter sends when its tests finish a few at a time;
the pytest plugin sends up to 200 every 0.5 s), one request after the other, then finishes
its launch. The tests are a JUnit file from ``bench/junit_gen.py`` (10% failing with ~2 KB
stack traces). The reporters run as threads spread over ``--client-processes`` processes,
so the load generator is not held back by one interpreter; the client's own CPU and how
late its threads send are printed with every figure, to show it was not the bottleneck.

Two ways to load the server: the closed loop in every run, paced steps when asked for.

* **Closed loop (saturation)**: every reporter sends its next batch as soon as the previous
  one is answered, ``--tests`` tests split among the reporters. The server is always busy,
  so this gives its **maximum throughput** (events per second, all events over the wall
  time from the first request to the last answer); its latencies measure queueing, not
  what a reporter waits at a given rate.
* **Open loop (paced)**, with ``--rate`` or ``--sweep``: every reporter sends a batch on a
  fixed schedule, one every ``batch × reporters / rate`` seconds, starting at a random
  phase, for ``--step-seconds``, each step with fresh launches. A request's latency runs
  from the time it was **scheduled** to its answer: a reporter still waiting for its
  previous answer sends late, and that wait counts (no coordinated omission), so a server
  that cannot keep up shows it in the percentiles. ``--sweep`` steps the rate up (250, 500,
  1000, 1500, 2000, 3000, 4000 events/s by default; it stops after a step the server
  clearly could not sustain: under 80% of the target achieved, or p99 over 1 s) and
  prints, per step, the achieved events per second and p50/p95/p99/max latency, then the
  **highest sustained rate with p99 under 100 ms** (at least 95% of the target achieved,
  every lower step sustained too). The launches' own ``launch.started`` and
  ``launch.finished`` are sent outside the timed window. Short steps give few requests:
  at 250 events/s a 20 s step is 250 requests, so its p99 is its third-slowest.

The baseline: the bulk import of the ``--tests`` tests (the JUnit file posted once to
``/imports``) on the same database, after the closed loop. Configurations: SQLite with one
server process, and, given ``--postgres`` (a maintenance database such as
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``; scratch databases
``caserun_live_load_<n>`` are created and dropped there), PostgreSQL with 1, 2 and 4
``caserun serve`` processes on one database, the reporters spread over them round robin
(what a load balancer does). Each configuration gets a fresh database; every launch's
summary is checked against the tests it was sent.

    python -m bench.live_load [--reporters 20] [--tests 10000] [--batch 20]
        [--sweep [250,500,1000,…]] [--rate EVENTS_PER_S] [--step-seconds 20] [--client-processes 2]
        [--processes 1,2,4] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--no-sqlite]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.junit_gen import generate
from bench.live_events import free_port, live_events

CASERUN = [sys.executable, "-m", "caserun"]
EVENTS_URL = "/api/v1/projects/bench/events"
AS_JSON = {"content-type": "application/json"}
SWEEP = "250,500,1000,1500,2000,3000,4000"
#: the latency goal of the sweep
P99_GOAL_S = 0.100
#: a step is sustained when it achieved this share of its target rate
SUSTAINED = 0.95


# ------------------------------------------------------------------------ figures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else math.nan


@dataclass
class Load:
    """What the reporters measured in one closed loop or one paced step."""

    events: int = 0
    requests: int = 0
    #: from the start to the last answer (paced: at least the schedule's span)
    seconds: float = 0.0
    #: per request: from its scheduled time (paced) or its send (closed loop) to its answer
    latencies: list[float] = field(default_factory=list)
    #: per request: how late the client sent it when nothing held it back (thread wake-up)
    lags: list[float] = field(default_factory=list)
    #: CPU seconds the load generator's processes used in the window
    client_cpu: float = 0.0
    launch_ids: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def ms(self, share: float) -> float:
        return percentile(self.latencies, share) * 1000

    def client(self) -> str:
        """The load generator's CPU (over all its processes) and, paced, its own lateness."""
        share = self.client_cpu / self.seconds if self.seconds else 0.0
        lag = f", late p99 {percentile(self.lags, 0.99) * 1000:.1f} ms" if self.lags else ""
        return f"CPU {share:.0%} of a core{lag}"


@dataclass
class Figures:
    name: str
    processes: int
    tests: int
    closed: Load
    bulk_seconds: float
    steps: list[tuple[float, Load]] = field(default_factory=list)

    def row(self) -> str:
        bulk_rate = self.tests / self.bulk_seconds
        live_rate = self.tests / self.closed.seconds
        return (
            f"| {self.name} | {self.processes} | {self.closed.events:,} | {self.closed.seconds:.1f} s "
            f"| {self.closed.events_per_s:,.0f} | {live_rate:,.0f} | {self.closed.ms(0.5):.0f} ms "
            f"| {self.closed.ms(0.99):.0f} ms | {self.bulk_seconds:.2f} s ({bulk_rate:,.0f} tests/s) "
            f"| {live_rate / bulk_rate:.2f}× | {self.closed.client()} |"
        )

    def step_row(self, target: float, load: Load) -> str:
        return (
            f"| {self.name} | {self.processes} | {target:,.0f} | {load.events_per_s:,.0f} | {load.requests:,} "
            f"| {load.ms(0.5):.0f} ms | {load.ms(0.95):.0f} ms | {load.ms(0.99):.0f} ms | {load.ms(1.0):.0f} ms "
            f"| {'yes' if sustained(target, load) else 'no'} | {load.client()} |"
        )

    def best(self) -> float | None:
        """The highest rate sustained with p99 under the goal, every lower step sustained too."""
        best = None
        for target, load in sorted(self.steps, key=lambda step: step[0]):
            if not sustained(target, load):
                break
            best = target
        return best

    def verdict(self) -> str:
        bulk_rate = self.tests / self.bulk_seconds
        best = self.best()
        where = f"{self.name}, {self.processes} server process{'es' if self.processes > 1 else ''}"
        goal = f"p99 < {P99_GOAL_S * 1000:.0f} ms"
        # a higher step that passed after one that failed: the machine was noisy, say so
        above = [f"{t:,.0f}" for t, load in self.steps if sustained(t, load) and (best is None or t > best)]
        noisy = f" ({', '.join(above)} events/s passed too, above a step that failed)" if above else ""
        if best is None:
            return f"{where}: the lowest step was not sustained with {goal}{noisy}"
        return (
            f"{where}: highest sustained rate with {goal}: {best:,.0f} events/s{noisy} "
            f"= {best / 2:,.0f} tests/s; bulk import {bulk_rate:,.0f} tests/s in the same run "
            f"({best / 2 / bulk_rate:.2f}×); closed-loop maximum {self.closed.events_per_s:,.0f} events/s"
        )


def sustained(target: float, load: Load) -> bool:
    return load.events_per_s >= SUSTAINED * target and percentile(load.latencies, 0.99) < P99_GOAL_S


# ------------------------------------------------------------------------ streams


@dataclass
class Plan:
    reporters: int
    batch: int
    #: tests of the closed loop and the bulk import
    tests: int
    #: paced steps, events/s
    rates: list[float]
    step_seconds: float


def event_pairs(report: Path) -> list[list[dict[str, Any]]]:
    """Each test of the report as the plugin streams it: its started and finished events."""
    [_, *tests, _] = live_events(report, "x")
    return [tests[i : i + 2] for i in range(0, len(tests), 2)]


def body(events: list[dict[str, Any]]) -> str:
    return '{"events":[' + ",".join(json.dumps(e) for e in events) + "]}"


def reporter_streams(pairs: list[list[dict[str, Any]]], reporters: int, batch: int, tag: str) -> list[list[str]]:
    """Closed loop: each reporter's request bodies, its launch's start and finish included."""
    streams = []
    for n in range(reporters):
        launch = f"{tag}-{n}"
        mine: list[dict[str, Any]] = [{"type": "launch.started", "launch": launch, "name": launch, "source": "pytest"}]
        for pair in pairs[n::reporters]:
            mine += [{**event, "launch": launch} for event in pair]
        mine.append({"type": "launch.finished", "launch": launch, "status": "completed"})
        streams.append([body(mine[i : i + batch]) for i in range(0, len(mine), batch)])
    return streams


def events_in(content: str) -> int:
    return len(json.loads(content)["events"])


@dataclass
class Stream:
    """One reporter's requests in a paced step (or a closed loop, without ``start``/``finish``)."""

    url: str
    bodies: list[str]
    start: str | None = None
    finish: str | None = None
    #: paced: the first batch's delay after the step's start (then one every interval)
    phase: float = 0.0


def paced_streams(
    pairs: list[list[dict[str, Any]]], urls: list[str], plan: Plan, interval: float, batches: int, tag: str
) -> tuple[list[Stream], int]:
    """A step's streams: ``batches`` requests of ``plan.batch`` events per reporter, each
    reporter its own launch, its own tests and a random phase within ``interval``; returns
    them with the number of tests they carry."""
    reporters, batch = plan.reporters, plan.batch
    per_reporter = math.ceil(batches * batch / 2)
    assert len(pairs) >= reporters * per_reporter, "the test pool is too small for this step"
    rng = random.Random(tag)
    streams = []
    for n in range(reporters):
        launch = f"{tag}-{n}"
        mine = [
            {**event, "launch": launch} for pair in pairs[n * per_reporter : (n + 1) * per_reporter] for event in pair
        ]
        start = {"type": "launch.started", "launch": launch, "name": launch, "source": "pytest"}
        streams.append(
            Stream(
                url=urls[n % len(urls)],
                bodies=[body(mine[i : i + batch]) for i in range(0, batches * batch, batch)],
                start=body([start]),
                finish=body([{"type": "launch.finished", "launch": launch, "status": "completed"}]),
                phase=rng.random() * interval,
            )
        )
    return streams, reporters * per_reporter


# ------------------------------------------------------------------------ the load generator


class Reporter:
    """One reporter's keep-alive connection. ``http.client`` costs the load generator less
    than half the CPU of ``httpx`` per request (0.4 vs 0.9 ms here)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
        self.headers = {**headers, **AS_JSON}

    def post(self, content: str) -> tuple[dict[str, Any] | None, str | None]:
        """The answer, or why the request failed (an error status or a refused event).

        A connection the server closed while it sat idle (keep-alive timeout) is opened
        again and the batch sent once more: events are idempotent."""
        for last_try in (False, True):
            try:
                self.conn.request("POST", EVENTS_URL, body=content.encode(), headers=self.headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if last_try:
                    raise
        if response.status != 200:
            return None, f"{response.status} {data[:300]!r}"
        answer: dict[str, Any] = json.loads(data)
        if answer["refused"]:
            return None, data[:300].decode()
        return answer, None

    def close(self) -> None:
        self.conn.close()


def _run_job(pipe: Connection, job: dict[str, Any]) -> dict[str, Any]:
    """One worker's share of a closed loop or a paced step (see ``LoadGenerator.run``): it
    starts its launches and says ``ready``; sends from the start time it is given; hands
    over what it measured; finishes its launches when told to; returns its failures."""
    streams: list[Stream] = job["streams"]
    interval: float | None = job["interval"]
    clients = [Reporter(s.url, job["headers"]) for s in streams]
    launch_ids: list[int] = []
    failures: list[str] = []
    for client, stream in zip(clients, streams, strict=True):
        if stream.start is not None:
            answer, failure = client.post(stream.start)
            if answer is None:
                failures.append(f"launch.started: {failure}")
            else:
                launch_ids.append(int(answer["results"][0]["launch_id"]))
    pipe.send("ready")
    t0 = time.monotonic() + (pipe.recv() - time.time())  # the step's start, on this process's clock
    latencies: list[list[float]] = [[] for _ in streams]
    lags: list[list[float]] = [[] for _ in streams]
    last: list[float] = [t0 for _ in streams]

    def reporter(n: int) -> None:
        client, stream = clients[n], streams[n]
        answered = t0
        for k, content in enumerate(stream.bodies):
            due = t0 if interval is None else t0 + stream.phase + k * interval
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            sent = time.monotonic()
            if interval is not None:
                lags[n].append(max(0.0, sent - max(due, answered)))
            _, failure = client.post(content)
            answered = time.monotonic()
            latencies[n].append(answered - (sent if interval is None else due))
            if failure is not None:
                failures.append(f"reporter {n}: {failure}")
                return
        last[n] = answered

    now = time.monotonic()
    if now < t0:
        time.sleep(t0 - now)
    cpu = time.process_time()
    threads = [threading.Thread(target=reporter, args=(n,)) for n in range(len(streams))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = time.process_time() - cpu
    measured = {
        "latencies": [x for xs in latencies for x in xs],
        "lags": [x for xs in lags for x in xs],
        "end": max(last) - t0,
        "cpu": cpu,
        "launch_ids": launch_ids,
    }
    # the launches finish once every worker is done, outside anyone's timed window
    pipe.send(measured)
    pipe.recv()
    for client, stream in zip(clients, streams, strict=True):
        if stream.finish is not None and not failures:
            _, failure = client.post(stream.finish)
            if failure is not None:
                failures.append(f"launch.finished: {failure}")
        client.close()
    return {"failures": failures}


def _worker(pipe: Connection) -> None:
    while True:
        job = pipe.recv()
        if job is None:
            return
        try:
            pipe.send(_run_job(pipe, job))
        except Exception:  # whatever it is, the parent stops with it
            pipe.send({"error": traceback.format_exc()})
            return


def _recv(pipe: Connection) -> Any:
    message = pipe.recv()
    if isinstance(message, dict) and "error" in message:
        raise SystemExit(f"a load generator process failed:\n{message['error']}")
    return message


class LoadGenerator:
    """Reporter threads in a few worker processes, started once and reused for every step."""

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.workers = []
        for _ in range(processes):
            ours, theirs = context.Pipe()
            worker = context.Process(target=_worker, args=(theirs,), daemon=True)
            worker.start()
            self.pipes.append(ours)
            self.workers.append(worker)

    def run(self, streams: list[Stream], headers: dict[str, str], interval: float | None) -> Load:
        """Send the streams (paced every ``interval`` seconds, or closed loop when ``None``);
        each worker starts its launches, then all begin at one moment."""
        shares = [streams[i :: len(self.pipes)] for i in range(len(self.pipes))]
        busy = [(pipe, share) for pipe, share in zip(self.pipes, shares, strict=True) if share]
        for pipe, share in busy:
            pipe.send({"streams": share, "headers": headers, "interval": interval})
        for pipe, _ in busy:
            assert _recv(pipe) == "ready"
        start = time.time() + 0.2
        for pipe, _ in busy:
            pipe.send(start)
        load = Load()
        for pipe, _ in busy:
            part = _recv(pipe)
            load.latencies += part["latencies"]
            load.lags += part["lags"]
            load.seconds = max(load.seconds, part["end"])
            load.client_cpu += part["cpu"]
            load.launch_ids += part["launch_ids"]
        for pipe, _ in busy:
            pipe.send("finish")
        for pipe, _ in busy:
            load.failures += _recv(pipe)["failures"]
        if interval is not None:  # the schedule's own span: achieved = target when every answer is on time
            load.seconds = max(load.seconds, max(len(s.bodies) for s in streams) * interval)
        load.requests = sum(len(s.bodies) for s in streams)
        load.events = sum(events_in(b) for s in streams for b in s.bodies)
        if load.failures:
            raise SystemExit("\n".join(load.failures[:5]))
        return load

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for worker in self.workers:
            worker.join(10)


# ------------------------------------------------------------------------ servers and runs


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
    name: str,
    env: dict[str, str],
    processes: int,
    report: Path,
    pairs: list[list[dict[str, Any]]],
    plan: Plan,
    generator: LoadGenerator,
) -> Figures:
    subprocess.run([*CASERUN, "project", "create", "bench"], env=env, check=True, capture_output=True)
    token = subprocess.run(
        [*CASERUN, "token", "create", "--project", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    servers, urls = start_servers(env, processes)
    tag = name.replace(" ", "-")
    try:
        with httpx.Client(base_url=urls[0], headers=headers, timeout=600) as api:
            # closed loop: the maximum throughput
            closed_streams = reporter_streams(pairs[: plan.tests], plan.reporters, plan.batch, tag)
            streams = [Stream(url=urls[n % len(urls)], bodies=b) for n, b in enumerate(closed_streams)]
            closed = generator.run(streams, headers, None)
            launches = api.get("/api/v1/projects/bench/launches", params={"limit": 200}).json()["items"]
            recorded = sum(launch["summary"]["total"] for launch in launches)
            assert recorded == plan.tests, f"{recorded} case runs recorded, {plan.tests} sent"
            assert all(launch["status"] == "completed" for launch in launches)
            # the baseline
            began_bulk = time.perf_counter()
            with report.open("rb") as stream:
                response = api.post("/api/v1/projects/bench/imports", files={"report": (report.name, stream)})
            response.raise_for_status()
            figures = Figures(name, processes, plan.tests, closed, time.perf_counter() - began_bulk)
            print(figures.row(), flush=True)
            # paced steps, each with fresh launches
            for step, rate in enumerate(plan.rates):
                interval = plan.batch * plan.reporters / rate
                batches = max(1, round(plan.step_seconds / interval))
                paced, tests = paced_streams(pairs, urls, plan, interval, batches, f"{tag}-s{step}")
                time.sleep(1)  # let the previous step's launch finishes settle
                load = generator.run(paced, headers, interval)
                figures.steps.append((rate, load))
                print(figures.step_row(rate, load), flush=True)
                check_launches(api, load.launch_ids, tests)
                if load.events_per_s < 0.8 * rate or percentile(load.latencies, 0.99) > 10 * P99_GOAL_S:
                    break  # saturated: higher rates only queue more
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(30)
    return figures


def check_launches(api: httpx.Client, launch_ids: list[int], tests: int) -> None:
    """Every case run of a step arrived and every launch was finished."""
    recorded = 0
    for launch_id in launch_ids:
        launch = api.get(f"/api/v1/launches/{launch_id}").json()
        assert launch["status"] == "completed", launch
        recorded += launch["summary"]["total"]
    assert recorded == tests, f"{recorded} case runs recorded, {tests} sent"


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--reporters", type=int, default=20)
    parser.add_argument("--tests", type=int, default=10_000, help="tests of the closed loop and the bulk import")
    parser.add_argument("--batch", type=int, default=20, help="events per request")
    parser.add_argument("--rate", type=float, help="one paced step at this many events/s (all reporters together)")
    parser.add_argument(
        "--sweep", nargs="?", const=SWEEP, help=f"paced steps at these rates, events/s (default {SWEEP})"
    )
    parser.add_argument("--step-seconds", type=float, default=20.0, help="how long each paced step sends")
    parser.add_argument("--client-processes", type=int, default=2, help="processes the reporter threads run in")
    parser.add_argument("--processes", default="1,2,4", help="server process counts to try on PostgreSQL")
    parser.add_argument("--postgres", help="URL of a PostgreSQL maintenance database (to create scratch ones)")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    rates = [float(r) for r in args.sweep.split(",")] if args.sweep else []
    if args.rate:
        rates = sorted({*rates, args.rate})
    plan = Plan(args.reporters, args.batch, args.tests, rates, args.step_seconds)

    folder = Path(tempfile.mkdtemp(prefix="caserun-load-"))
    report = folder / "tests.xml"
    generate(report, args.tests)
    # the paced steps' tests: the same test names, as many as the fastest step sends
    most = max([args.tests, *(math.ceil(r * args.step_seconds / 2) + args.reporters * args.batch for r in rates)])
    if most > args.tests:
        generate(folder / "pool.xml", most)
    pairs = event_pairs(folder / "pool.xml" if most > args.tests else report)

    generator = LoadGenerator(min(args.client_processes, args.reporters))
    results: list[Figures] = []
    try:
        if not args.no_sqlite:
            env = {**os.environ, "CASERUN_DATA_DIR": str(folder / "sqlite")}
            env.pop("CASERUN_DATABASE_URL", None)
            results.append(run_config("SQLite", env, 1, report, pairs, plan, generator))
        if args.postgres:
            for count in [int(p) for p in args.processes.split(",")]:
                scratch = f"caserun_live_load_{count}"
                url = fresh_postgres(args.postgres, scratch)
                env = {**os.environ, "CASERUN_DATA_DIR": str(folder / f"pg{count}"), "CASERUN_DATABASE_URL": url}
                try:
                    results.append(run_config("PostgreSQL", env, count, report, pairs, plan, generator))
                finally:
                    drop_postgres(args.postgres, scratch)
    finally:
        generator.close()

    print()
    print(
        f"{args.reporters} reporters in {len(generator.workers)} client processes, {args.tests:,} tests, "
        f"{args.batch} events per request, {os.cpu_count()} cores"
    )
    print()
    print("Closed loop (maximum throughput; latency is queueing) and the bulk import baseline:")
    print()
    print(
        "| database | server processes | events | time | events/s | tests/s | p50 request | p99 request "
        "| bulk import of the same tests (baseline) | live vs bulk | client |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for figures in results:
        print(figures.row())
    if rates:
        print()
        print(
            f"Paced (open loop, {args.step_seconds:g} s per step; latency from the scheduled send, "
            f"sustained = achieved ≥ {SUSTAINED:.0%} of the target and p99 < {P99_GOAL_S * 1000:.0f} ms):"
        )
        print()
        print(
            "| database | server processes | target events/s | achieved events/s | requests | p50 | p95 | p99 | max "
            "| sustained | client |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for figures in results:
            for target, load in figures.steps:
                print(figures.step_row(target, load))
        print()
        for figures in results:
            print(figures.verdict())
    latencies = [x for f in results for x in f.closed.latencies]
    if latencies:
        print()
        print(f"closed-loop request latency: mean {statistics.mean(latencies) * 1000:.0f} ms overall")


if __name__ == "__main__":
    main()
