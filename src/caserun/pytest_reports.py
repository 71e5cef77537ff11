"""How pytest's per-phase reports become one case run per attempt (the plugin's rules).

pytest reports a test three times (setup, call, teardown); caserun records one result.
The phases are combined as pytest's junitxml does: a setup error fails the test with a
failure of type ``error``; a teardown error after a pass fails the same test (it is not
a second result) and its message is kept as ``teardown_error``; xfail is ``skipped``
with ``xfail=true``, a strict XPASS ``failed``, a non-strict one ``passed`` with
``xpass=true``; pytest-rerunfailures' ``rerun`` outcome is a failed attempt followed by
another; xdist's ``???`` phase (its worker crashed) is a failure of type ``crash``.

Imports only pytest and the standard library at module level, like the plugin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

LOG_KEYS = ("stdout", "stderr", "log")
MAX_MESSAGE = 1_000_000
MAX_TEXT = 5_000_000


def iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else None


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_nodeid(nodeid: str) -> tuple[str, str]:
    """``tests/test_a.py::TestA::test_b[1-x]`` → (``tests/test_a.py::TestA``, ``test_b[1-x]``)."""
    base, bracket, params = nodeid.partition("[")
    suite, _, name = base.rpartition("::")
    return suite, name + bracket + params


def section(report: pytest.TestReport, key: str) -> str | None:
    """This phase's captured ``key`` (the last such section: reruns repeat them)."""
    title = f"Captured {key} {report.when}"
    found = [content for name, content in report.sections if name == title]
    return found[-1] if found else None


def failure_of(report: pytest.TestReport | pytest.CollectReport, kind: str, prefix: str = "") -> dict[str, Any]:
    """A failure from a report: message, exception type, traceback; ``kind`` error or failure."""
    from caserun.ingest.formats.text import exception_type, failure_type

    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        message = str(crash.message)
    elif isinstance(longrepr, tuple) and len(longrepr) == 3:
        message = str(longrepr[2])
    else:
        message = str(longrepr).strip().splitlines()[0] if longrepr else kind
    trace = report.longreprtext or None
    exc = exception_type(None, message, trace)
    ftype = failure_type(kind, exc, message).value
    if kind == "error":
        ftype = "error" if ftype == "assertion" else ftype
    elif exc == "Failed":  # pytest.fail(): the test said it failed
        ftype = "assertion"
    failure: dict[str, Any] = {"message": short(prefix + message, MAX_MESSAGE), "type": ftype}
    if exc:
        failure["exception"] = exc[:500]
    if trace:
        failure["trace"] = short(trace, MAX_TEXT)
    return failure


@dataclass
class Attempt:
    """One run of one test (reruns are further attempts), built up phase by phase."""

    nodeid: str
    number: int
    client_id: str
    location: tuple[str, int | None, str] | None = None
    started: bool = False
    status: str | None = None
    failure: dict[str, Any] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    logs: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in LOG_KEYS})
    attachments: list[dict[str, Any]] = field(default_factory=list)
    #: attachments the test tried to add that were too large to send
    too_large: list[str] = field(default_factory=list)

    def test(self) -> dict[str, Any]:
        suite, name = split_nodeid(self.nodeid)
        test: dict[str, Any] = {"suite": suite, "name": name}
        if self.location:
            test["file"] = self.location[0]
            if self.location[1] is not None:
                test["line"] = self.location[1] + 1  # pytest counts lines from 0
        return test

    def add(self, report: pytest.TestReport) -> None:
        """Take one phase's report: what it carries, then what it means for the outcome."""
        self.duration += float(getattr(report, "duration", 0.0) or 0.0)
        for key in LOG_KEYS:
            text = section(report, key)
            if text:
                self.logs[key].append(text)
        for entry in getattr(report, "caserun_attachments", None) or []:
            if "too_large" in entry:
                self.too_large.append(f"{entry['name']} ({entry['too_large']} bytes) of {report.nodeid}")
            else:
                self.attachments.append(entry)
        self.metadata.update(getattr(report, "caserun_meta", None) or {})
        worker = getattr(report, "worker_id", None)
        if worker:
            self.metadata["worker"] = str(worker)
        self.metadata["nodeid"] = report.nodeid
        self._phase(report)

    def _phase(self, report: pytest.TestReport) -> None:
        when, outcome = report.when, report.outcome
        failed = outcome in ("failed", "rerun")
        xfail = getattr(report, "wasxfail", None)
        if when == "setup":
            if failed:
                self.status, self.failure = "failed", failure_of(report, "error", "error at setup: ")
            elif outcome == "skipped":
                self._skipped(report, xfail)
        elif when == "call":
            if outcome == "passed":
                self.status = "passed"
                if xfail is not None:
                    self.metadata.update(xpass="true", xfail_reason=str(xfail))
            elif failed:
                self.status, self.failure = "failed", failure_of(report, "failure")
                if str(report.longrepr).startswith("[XPASS(strict)]"):
                    self.metadata["xpass"] = "strict"
            else:
                self._skipped(report, xfail)
        elif when == "teardown":
            if failed:
                failure = failure_of(report, "error", "error at teardown: ")
                self.metadata["teardown_error"] = failure["message"][:2000]
                if self.status != "failed":
                    self.status, self.failure = "failed", failure
        elif failed:  # xdist: the worker running this test crashed
            self.status, self.failure = "failed", {**failure_of(report, "error"), "type": "crash"}

    def _skipped(self, report: pytest.TestReport, xfail: object) -> None:
        self.status = "skipped"
        if xfail is not None:
            self.metadata.update(xfail="true", skip_reason=f"xfail: {xfail}" if xfail else "xfail")
        elif isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
            self.metadata["skip_reason"] = str(report.longrepr[2]).removeprefix("Skipped: ")

    def started_event(self, metadata: dict[str, str]) -> dict[str, Any]:
        return {
            "type": "case_run.started",
            "id": self.client_id,
            "test": self.test(),
            "started_at": iso(self.started_at),
            "metadata": {**metadata, **self.metadata},
        }

    def finished_event(self, metadata: dict[str, str]) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "case_run.finished",
            "id": self.client_id,
            "status": self.status or "passed",
            "test": self.test(),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "duration_ms": int(self.duration * 1000),
            "failure": self.failure,
            "metadata": {**metadata, **self.metadata},
            "attachments": self.attachments or None,
        }
        for key, parts in self.logs.items():
            if parts:
                event[key] = short("".join(parts), MAX_TEXT)
        return {k: v for k, v in event.items() if v is not None}
