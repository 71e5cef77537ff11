"""Where an import's time goes: a generated JUnit file imported twice in process (the
first import creates its test cases, the second finds them, as a CI job's next run does).

    python -m bench.import_profile [--tests 100000] [--database URL] [--stages] [--in-process] [--top 30]

By default the second import runs under cProfile and the profile's functions are printed
by cumulative time (the first, unprofiled, is the baseline). With ``--stages`` neither is
profiled: both print their wall time and the wall time of each stage (test cases looked
up and inserted, case runs inserted, statistics and their steps, failure patterns, the
wait for the parsing process's chunks), measured by wrapping those functions.
``--in-process`` parses in this process whatever the report's size (the path below
``parse_process.MIN_BYTES``), so the second process's share is measured by running the
script with and without it.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import pstats
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.junit_gen import generate
from caserun.analysis import stats
from caserun.domain.model import Role
from caserun.service import auth, imports, parse_process, projects, recording
from caserun.service.launches import LaunchParams
from caserun.store import case_runs, migrate, test_cases
from caserun.store.blobs import FileBlobStore
from caserun.store.engine import Database

#: (module or class, function name, label) of each stage timed with --stages
STAGES = [
    (test_cases, "existing", "test cases: look up"),
    (test_cases, "insert_new", "test cases: insert new"),
    (case_runs, "insert_columns", "case runs: insert"),
    (recording.patterns, "assign", "failure patterns"),
    (imports.stats, "update_for_launch", "statistics"),
    (stats, "_fold", "statistics: fold"),
    (stats, "_add_new_tests", "statistics: new tests"),
    (stats, "_rescore", "statistics: rescore"),
]


def _timed(spent: Counter[str], label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - started

    return wrapper


def _waited(spent: Counter[str], chunks: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """``parse_process.chunks`` that counts the time the writer waits for each chunk."""

    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        source = chunks(*args, **kwargs)
        try:
            while True:
                started = time.perf_counter()
                try:
                    chunk = next(source)
                finally:
                    spent["waiting for the parsing process"] += time.perf_counter() - started
                yield chunk
        except StopIteration:
            return
        finally:
            source.close()

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=100_000)
    parser.add_argument("--database", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--stages", action="store_true", help="time stages instead of profiling")
    parser.add_argument("--in-process", action="store_true", help="no second process, whatever the size")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="caserun-profile-"))
    report = folder / "report.xml"
    generate(report, args.tests)
    db = Database.from_url(args.database or f"sqlite:///{folder / 'bench.db'}")
    migrate.upgrade(db.engine)
    projects.create(db, "bench")
    who = auth.Principal(token_id=0, role=Role.ADMIN, project_id=None)
    if args.in_process:
        parse_process.MIN_BYTES = 2**62
    spent: Counter[str] = Counter()
    if args.stages:
        for owner, name, label in STAGES:
            setattr(owner, name, _timed(spent, label, getattr(owner, name)))
        parse_process.chunks = _waited(spent, parse_process.chunks)  # type: ignore[assignment]

    def once(name: str) -> float:
        started = time.perf_counter()
        imports.import_reports(
            db,
            FileBlobStore(folder / "blobs"),
            who,
            "bench",
            [imports.ReportFile(report, report.name)],
            {},
            LaunchParams(name=name),
            base_url="",
            max_attachment_bytes=1000,
        )
        return time.perf_counter() - started

    dialect = db.engine.dialect.name
    where = "in process" if args.in_process or not parse_process.worth_it([report]) else "in a second process"
    if args.stages:
        for name in ("first", "second"):
            spent.clear()
            total = once(name)
            print(f"{args.tests:,} tests, {dialect}, parsed {where}: {name} import {total:.2f} s")
            for label, seconds in sorted(spent.items()):
                print(f"  {label:<34} {seconds:6.2f} s")
        return
    first = once("first")
    profile = cProfile.Profile()
    profile.enable()
    second = once("second")
    profile.disable()
    print(
        f"{args.tests:,} tests, {dialect}, parsed {where}: first import {first:.2f} s, second (profiled) {second:.2f} s"
    )
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
