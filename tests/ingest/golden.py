"""Golden files: every report under tests/data/reports/<format>/ beside <case>.expected.json.

``python -m tests.ingest.golden [FORMAT...]`` rewrites the expected files from the current
parsers; read the diff before committing it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from caserun.domain.model import TestResult
from caserun.ingest import registry
from caserun.ingest.protocol import ReportSource

REPORTS = Path(__file__).resolve().parents[1] / "data" / "reports"
SUFFIX = ".expected.json"


def cases() -> list[tuple[str, Path]]:
    """(format, report path) for every report that has an expected file."""
    found = []
    for expected in sorted(REPORTS.rglob(f"*{SUFFIX}")):
        stem = expected.name[: -len(SUFFIX)]
        candidates = [p for p in expected.parent.iterdir() if p != expected and _stem(p) == stem]
        if len(candidates) != 1:
            raise RuntimeError(f"{expected}: expected exactly one report named {stem}.*, found {candidates}")
        found.append((expected.relative_to(REPORTS).parts[0], candidates[0]))
    return found


def _stem(path: Path) -> str:
    """``TEST-shop.CartTest.xml`` → ``TEST-shop.CartTest``; a directory keeps its name."""
    if path.is_dir():
        return path.name
    name = path.name
    for suffix in (".expected.json", ".xml", ".json", ".jsonl", ".ndjson", ".trx", ".tap", ".txt"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _attempt(data: dict[str, Any]) -> dict[str, Any]:
    for index, ref in enumerate(data["attachments"]):
        content = ref.pop("data")
        ref["sha256"] = hashlib.sha256(content).hexdigest() if content is not None else None
        data["attachments"][index] = _pruned(ref)
    if data["failure"]:
        data["failure"] = _pruned(data["failure"])
    if data["started_at"] is not None:
        data["started_at"] = data["started_at"].isoformat()
    return data


def _pruned(data: dict[str, Any]) -> dict[str, Any]:
    """Empty values say nothing; leaving them out keeps golden files stable when a field is added."""
    return {k: v for k, v in data.items() if v not in (None, [], {}, "")}


def snapshot(path: Path, fmt: str) -> dict[str, Any]:
    source = ReportSource(path, path.name)
    results: list[TestResult] = list(registry.get(fmt).parse(source))
    tests = []
    for result in results:
        data = asdict(result)
        data["attempts"] = [_pruned(_attempt(a)) for a in data["attempts"]]
        tests.append(_pruned(data))
    return {"format": fmt, "info": source.info, "tests": tests}


def expected_path(report: Path) -> Path:
    return report.parent / f"{_stem(report)}{SUFFIX}"


def _reports(folder: Path) -> list[Path]:
    """Report files (or, for Allure, result directories) in a format's folder, at any depth."""
    if folder.name == "allure":
        return sorted(p for p in folder.iterdir() if p.is_dir())
    skip = {"attachments", "node_modules"}
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not p.name.endswith((SUFFIX, ".md"))
        and not p.name.startswith(".")
        and not skip.intersection(p.relative_to(folder).parts)
    )


def main(formats: list[str]) -> None:
    targets = formats or sorted(p.name for p in REPORTS.iterdir() if p.is_dir())
    for fmt in targets:
        for report in _reports(REPORTS / fmt):
            try:
                data = snapshot(report, fmt)
            except Exception as exc:  # noqa: BLE001 - a developer tool: report and go on
                print(f"skip {report}: {exc}")
                continue
            expected_path(report).write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
            print(f"wrote {expected_path(report)} ({len(data['tests'])} tests)")


if __name__ == "__main__":
    main(sys.argv[1:])
