"""caserun beside Allure 2: the same generated JUnit file through ``caserun upload`` (to a
running server, SQLite) and through ``allure generate`` (allure-commandline from npm, on the
machine's Java).

    (cd bench/allure && npm ci)   # once: Allure 2 commandline, pinned in package-lock.json
    python -m bench.allure_compare [--tests 100000]

Prints both wall times, their ratio, and the peak RSS of the caserun server and of Allure.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.import_junit import caserun_upload
from bench.junit_gen import generate

ALLURE = Path(__file__).resolve().parent / "allure" / "node_modules" / ".bin" / "allure"


def allure_generate(results: Path, out: Path) -> tuple[float, float]:
    """Seconds for ``allure generate`` and the peak RSS (MiB) of its processes."""
    started = time.perf_counter()
    subprocess.run([str(ALLURE), "generate", str(results), "-o", str(out), "--clean"], check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=100_000)
    args = parser.parse_args()
    if not ALLURE.exists():
        raise SystemExit(f"{ALLURE} is missing: run (cd bench/allure && npm ci) first")
    if shutil.which("java") is None:
        raise SystemExit("Allure needs Java on the PATH")
    folder = Path(tempfile.mkdtemp(prefix="caserun-allure-"))
    results = folder / "results"
    results.mkdir()
    report = results / "TEST-big.xml"
    generate(report, args.tests)
    print(f"report: {args.tests:,} test cases, {report.stat().st_size / 1e6:.1f} MB")
    # Allure first: RUSAGE_CHILDREN then holds only its processes' peak
    allure_s, allure_rss = allure_generate(results, folder / "allure-report")
    print(f"allure generate: {allure_s:.1f} s, peak RSS {allure_rss:.0f} MiB")
    caserun_s, caserun_rss = caserun_upload(report, folder)
    print(f"caserun upload:  {caserun_s:.1f} s, server peak RSS {caserun_rss:.0f} MiB")
    print(f"caserun is {allure_s / caserun_s:.1f}× faster")


if __name__ == "__main__":
    main()
