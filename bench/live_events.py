"""Live reporting throughput, against a baseline measured in the same run: the same N tests
(a generated JUnit file, 10% failing with ~2 KB stack traces) recorded three ways through
one ``caserun serve``:

* **bulk** (the baseline): the JUnit file posted once to ``/imports``;
* **live, batched**: what ``pytest --caserun`` sends, ``launch.started``, a
  ``case_run.started`` and a ``case_run.finished`` per test, ``launch.finished``, in
  batches of 200 events (the plugin's batch size), one request after another;
* **live, one event per request**: a runner that does not batch (on ``--single`` tests).

And the plugin's cost to a session: ``pytest`` over ``--pytest-tests`` trivial tests
plain, with ``--caserun`` against the server, and with ``--caserun-jsonl``.

    python -m bench.live_events [--tests 20000] [--single 1000] [--pytest-tests 2000] [--database URL]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.junit_gen import generate
from caserun.ingest import events, registry
from caserun.ingest.protocol import ReportSource

BATCH = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def live_events(report: Path, launch: str) -> list[dict[str, Any]]:
    """The report's tests as the plugin would stream them: started, then finished."""
    out: list[dict[str, Any]] = [{"type": "launch.started", "launch": launch, "name": launch, "source": "pytest"}]
    parser = registry.get("junit")
    for result in parser.parse(ReportSource(report, report.name)):
        for finished in events.result_events(result, launch=launch, id_seed=launch):
            test = finished.pop("test")
            out.append({"type": "case_run.started", "launch": launch, "id": finished["id"], "test": test})
            out.append(finished)
    out.append({"type": "launch.finished", "launch": launch, "status": "completed"})
    return out


def post_events(http: httpx.Client, lines: list[str], batch: int) -> float:
    started = time.perf_counter()
    for i in range(0, len(lines), batch):
        body = ('{"events":[' + ",".join(lines[i : i + batch]) + "]}").encode()
        response = http.post(
            "/api/v1/projects/bench/events", content=body, headers={"content-type": "application/json"}
        )
        response.raise_for_status()
        refused = response.json()["refused"]
        assert refused == 0, response.text
    return time.perf_counter() - started


def pytest_session(folder: Path, env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_many.py"],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=20_000)
    parser.add_argument("--single", type=int, default=1_000)
    parser.add_argument("--pytest-tests", type=int, default=2_000)
    parser.add_argument("--database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="caserun-live-"))
    report, small = folder / "big.xml", folder / "small.xml"
    generate(report, args.tests)
    generate(small, args.single, seed=2)
    batched = [json.dumps(e) for e in live_events(report, "batched")]
    single = [json.dumps(e) for e in live_events(small, "single")]

    env = {**os.environ, "CASERUN_DATA_DIR": str(folder / "data")}
    if args.database:
        env["CASERUN_DATABASE_URL"] = args.database
    caserun = [sys.executable, "-m", "caserun"]
    subprocess.run([*caserun, "project", "create", "bench"], env=env, check=True, capture_output=True)
    token = subprocess.run(
        [*caserun, "token", "create", "--project", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*caserun, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=600) as http:
            for _ in range(300):
                try:
                    http.get("/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            began = time.perf_counter()
            with report.open("rb") as stream:
                response = http.post("/api/v1/projects/bench/imports", files={"report": (report.name, stream)})
            response.raise_for_status()
            bulk = time.perf_counter() - began
            live = post_events(http, batched, BATCH)
            one = post_events(http, single, 1)

            tests_folder = folder / "suite"
            tests_folder.mkdir()
            (tests_folder / "test_many.py").write_text(
                f"import pytest\n@pytest.mark.parametrize('n', range({args.pytest_tests}))\ndef test_n(n): pass\n"
            )
            run_env = {**env, "CASERUN_URL": url, "CASERUN_TOKEN": token, "CASERUN_PROJECT": "bench"}
            plain = pytest_session(tests_folder, run_env)
            reported = pytest_session(tests_folder, run_env, "--caserun")
            jsonl = pytest_session(tests_folder, run_env, "--caserun-jsonl", str(folder / "events.jsonl"))
            launches = http.get("/api/v1/projects/bench/launches").json()["items"]
            # a server too slow for caserun_timeout leaves the rest in the spool (not lost, not here)
            reached = launches[0]["summary"]["total"]
    finally:
        server.terminate()
        server.wait(30)

    database = "PostgreSQL" if args.database and args.database.startswith("postgresql") else "SQLite"
    print(f"database: {database}; {args.tests:,} tests ({len(batched):,} events), {args.single:,} one by one")
    print(f"bulk import (baseline):     {bulk:6.2f} s  {args.tests / bulk:8,.0f} tests/s")
    print(
        f"live, batches of {BATCH}:     {live:6.2f} s  {args.tests / live:8,.0f} tests/s"
        f"  {len(batched) / live:8,.0f} events/s  = {bulk / live:.2f}× bulk speed"
    )
    print(
        f"live, 1 event per request:  {one:6.2f} s  {args.single / one:8,.0f} tests/s"
        f"  {len(single) / one:8,.0f} events/s  = {(args.single / one) / (args.tests / bulk):.2f}× bulk speed"
    )
    print(f"pytest, {args.pytest_tests:,} tests: plain {plain:.2f} s")
    print(
        f"  --caserun (live to the server): {reported:.2f} s = {reported / plain:.2f}× plain"
        f" ({reached:,} of {args.pytest_tests:,} tests reached the server before the session ended)"
    )
    print(f"  --caserun-jsonl (file only):    {jsonl:.2f} s = {jsonl / plain:.2f}× plain")


if __name__ == "__main__":
    main()
