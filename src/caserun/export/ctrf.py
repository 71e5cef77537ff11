"""A launch as CTRF JSON (https://ctrf.io/docs/specification/overview), streamed.

One object per test in ``results.tests`` (its final attempt) with ``retries`` and
``retryAttempts`` for the attempts before it and ``flaky: true`` when it passed after
failing. ``blocked`` and ``running`` are not CTRF statuses: they are written as ``other``
with ``rawStatus`` saying which. Durations are milliseconds, ``start`` epoch milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from caserun import __version__
from caserun.export.model import AttemptOut, LaunchFacts, TestOut

SPEC_VERSION = "0.0.0"
_STATUS = {"passed": "passed", "failed": "failed", "skipped": "skipped"}


def _epoch_ms(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def _attempt(attempt: AttemptOut, number: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": _STATUS.get(attempt.status, "other"), "duration": attempt.duration_ms or 0}
    if attempt.status not in _STATUS:
        out["rawStatus"] = attempt.status
    if number is not None:
        out["attempt"] = number
    start = _epoch_ms(attempt.started_at)
    if start is not None:
        out["start"] = start
        out["stop"] = start + (attempt.duration_ms or 0)
    if attempt.status == "failed":
        out["message"] = attempt.failure_message or "failed"
        if attempt.stack_trace:
            out["trace"] = attempt.stack_trace
    if attempt.stdout:
        out["stdout"] = attempt.stdout.splitlines(keepends=True)
    if attempt.stderr:
        out["stderr"] = attempt.stderr.splitlines(keepends=True)
    return out


def _test(test: TestOut) -> dict[str, Any]:
    out: dict[str, Any] = {"name": test.name, **_attempt(test.final)}
    if test.suite:
        out["suite"] = [test.suite]
    if test.parameters:
        out["parameters"] = test.parameters
    if test.file:
        out["filePath"] = test.file
    if test.line:
        out["line"] = test.line
    earlier = test.attempts[:-1]
    if earlier:
        out["retries"] = len(earlier)
        out["retryAttempts"] = [_attempt(a, i) for i, a in enumerate(earlier, start=1)]
        if test.final.status == "passed" and any(a.status == "failed" for a in earlier):
            out["flaky"] = True
    return out


def write_ctrf(launch: LaunchFacts, tests: Iterable[TestOut]) -> Iterator[str]:
    s = launch.summary
    start = _epoch_ms(launch.started_at) or 0
    summary = {
        "tests": s.total,
        "passed": s.passed,
        "failed": s.failed,
        "skipped": s.skipped,
        "pending": 0,
        "other": s.blocked + s.running,
        "start": start,
        "stop": _epoch_ms(launch.finished_at) or start + s.duration_ms,
        "duration": s.duration_ms,
    }
    environment = {
        k: v
        for k, v in (
            ("reportName", launch.name),
            ("testEnvironment", launch.environment),
            ("branchName", launch.branch),
            ("commit", launch.commit),
            ("buildUrl", launch.build_url),
        )
        if v
    }
    head = {
        "reportFormat": "CTRF",
        "specVersion": SPEC_VERSION,
        "generatedBy": f"caserun {__version__}",
        "timestamp": launch.started_at.isoformat(),
    }
    yield json.dumps(head, ensure_ascii=False)[:-1]
    results_head = {"tool": {"name": "caserun", "version": __version__}, "summary": summary, "environment": environment}
    yield ', "results": ' + json.dumps(results_head, ensure_ascii=False)[:-1] + ', "tests": ['
    for i, test in enumerate(tests):
        yield ("," if i else "") + "\n" + json.dumps(_test(test), ensure_ascii=False)
    yield "\n]}}\n"
