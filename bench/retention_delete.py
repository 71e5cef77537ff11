"""Retention speed: deleting old launches with ``caserun retention run``'s service, against
writing the same launches in the same run (the baseline).

    python -m bench.retention_delete [--tests 100] [--launches 200] [--database URL]

Writes LAUNCHES launches of TESTS case runs each (created one day apart), keeps the newest
ten days, and times the retention run that deletes the rest.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.analysis_scale import WHO, populate
from caserun.service import retention
from caserun.store import migrate
from caserun.store.blobs import FileBlobStore
from caserun.store.engine import Database
from caserun.store.tables import case_run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=100)
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="caserun-retention-"))
    db = Database.from_url(args.database or f"sqlite:///{folder / 'bench.db'}")
    migrate.upgrade(db.engine)
    started = time.perf_counter()
    populate(db, folder / "blobs", args.tests, args.launches)
    written = time.perf_counter() - started
    retention.set_policy(db, WHO, "scale", retention.Policy(retention_days=10))
    started = time.perf_counter()
    retention.run(db, FileBlobStore(folder / "blobs"), WHO, project_key="scale")
    deleted = time.perf_counter() - started
    with db.read() as conn:
        left = conn.execute(select(func.count()).select_from(case_run)).scalar_one()
    gone = args.tests * args.launches - left
    print(f"baseline: writing {args.launches} launches x {args.tests} tests: {written:.2f} s")
    print(f"retention run: {deleted:.2f} s for ~{gone:,} case runs ({left:,} left)")
    print(f"ratio: {deleted / written:.2f} x the time it took to write them")


if __name__ == "__main__":
    main()
