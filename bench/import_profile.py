"""Where an import's time goes: a generated JUnit file imported twice in process (the
second import is the realistic one: its test cases exist), the second under cProfile.

    python -m bench.import_profile [--tests 100000] [--database URL] [--top 30]

Prints both imports' wall times (the baseline is the first, unprofiled) and the profile's
functions by cumulative time, so a change to one stage (parse, recording, statistics,
failure patterns) can be measured before and after in the same way.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from bench.junit_gen import generate
from caserun.domain.model import Role
from caserun.service import auth, imports, projects
from caserun.service.launches import LaunchParams
from caserun.store import migrate
from caserun.store.blobs import FileBlobStore
from caserun.store.engine import Database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=100_000)
    parser.add_argument("--database", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="caserun-profile-"))
    report = folder / "report.xml"
    generate(report, args.tests)
    db = Database.from_url(args.database or f"sqlite:///{folder / 'bench.db'}")
    migrate.upgrade(db.engine)
    projects.create(db, "bench")
    who = auth.Principal(token_id=0, role=Role.ADMIN, project_id=None)

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

    first = once("first")
    profile = cProfile.Profile()
    profile.enable()
    second = once("second")
    profile.disable()
    dialect = db.engine.dialect.name
    print(f"{args.tests:,} tests, {dialect}: first import {first:.2f} s, second (profiled) {second:.2f} s")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
