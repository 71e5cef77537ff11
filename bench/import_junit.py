"""Import throughput: a generated JUnit file with N test cases (10% failing with ~2 KB
stack traces, system-out on some) uploaded with ``caserun upload`` to a running server.

    python bench/import_junit.py [--tests 100000] [--database URL]

Baselines measured in the same run (the floor): stream-parsing the file with lxml
(iterparse, clearing each testcase) plus a raw DB-API ``executemany`` of the same number
of rows of the same width into one table, in one transaction.
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from lxml import etree

from bench.junit_gen import generate


def floor_parse(path: Path) -> float:
    started = time.perf_counter()
    for _event, element in etree.iterparse(str(path), events=("end",), tag="testcase"):
        element.clear()
    return time.perf_counter() - started


def floor_insert(path: Path, count: int) -> float:
    rows = [
        (
            i,
            1,
            1,
            i,
            1,
            True,
            "failed" if i % 10 == 3 else "passed",
            "2026-01-01 00:00:00.000000",
            i % 2000,
            "expected:<42> but was:<41>" if i % 10 == 3 else None,
        )
        for i in range(count)
    ]
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE r (id INTEGER PRIMARY KEY, project_id, launch_id, test_case_id, attempt, is_final,"
        " status, started_at, duration_ms, failure_message)"
    )
    started = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO r VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:  # the process has ended
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """The process and its descendants (the server, its fork server, a parsing child)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:  # each thread lists the children it started (the server starts them from a worker thread)
            tasks = list(Path(f"/proc/{current}/task").iterdir())
            todo += [int(c) for task in tasks for c in (task / "children").read_text().split()]
        except OSError:  # the process or a thread has ended
            pass
    return found


class TreeRss(threading.Thread):
    """Samples the resident memory of a process and its descendants every 20 ms while it
    runs: ``peak`` is the largest sum seen, in MiB (a child's own peak is gone with it)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, sum(_status_kib(p, "VmRSS") for p in _tree(self.pid)) / 1024)

    def stop(self) -> float:
        self.done.set()
        self.join()
        # the server's own high-water mark catches a peak between two samples
        return max(self.peak, _status_kib(self.pid, "VmHWM") / 1024)


def precompile() -> None:
    """Byte-compile caserun as installing a wheel does: a checkout run with
    PYTHONDONTWRITEBYTECODE would compile its modules again in every ``caserun`` command."""
    import caserun

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(caserun.__file__).parent)], check=True)


def caserun_upload(report: Path, folder: Path, database: str | None = None) -> tuple[float, float]:
    """Seconds for ``caserun upload`` of the report to a fresh server, and the peak RSS of
    the server's processes together."""
    precompile()
    env = {**os.environ, "CASERUN_DATA_DIR": str(folder / "data")}
    if database:
        env["CASERUN_DATABASE_URL"] = database
    caserun = [sys.executable, "-m", "caserun"]
    subprocess.run([*caserun, "project", "create", "bench"], env=env, check=True, capture_output=True)
    token = subprocess.run(
        [*caserun, "token", "create", "--project", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    port = free_port()
    server = subprocess.Popen(
        [*caserun, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        memory = TreeRss(server.pid)
        memory.start()
        started = time.perf_counter()
        upload = subprocess.run(
            [*caserun, "upload", str(report), "--project", "bench", "--output", "json"],
            env={**env, "CASERUN_URL": f"http://127.0.0.1:{port}", "CASERUN_TOKEN": token},
            capture_output=True,
            text=True,
        )
        total = time.perf_counter() - started
        rss = memory.stop()
        if upload.returncode != 0:
            raise SystemExit(f"caserun upload failed after {total:.0f} s: {upload.stderr.strip()}")
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return total, rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=100_000)
    parser.add_argument("--database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="caserun-import-"))
    report = folder / "big.xml"
    generate(report, args.tests)
    print(f"report: {args.tests:,} test cases, {report.stat().st_size / 1e6:.1f} MB")
    parse_s = floor_parse(report)
    insert_s = floor_insert(folder / "floor.db", args.tests)
    floor = parse_s + insert_s
    print(f"floor: lxml stream parse {parse_s:.2f} s + raw executemany {insert_s:.2f} s = {floor:.2f} s")
    total, rss = caserun_upload(report, folder, args.database)
    print(f"caserun upload end to end: {total:.2f} s, {args.tests / total:,.0f} case runs/s")
    print(f"server peak RSS (its processes together): {rss:.0f} MiB")
    print(f"ratio to the floor: {total / floor:.1f}×")


if __name__ == "__main__":
    main()
