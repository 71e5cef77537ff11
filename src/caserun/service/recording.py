"""Writing case runs into a launch, in bulk: the one path every way in goes through.

Results are written in chunks with executemany; test cases are upserted per chunk;
attempt numbers continue across chunks (a test that appears twice in a report, or is
retried in a later batch, gets attempt 2, 3, …). ``finish`` settles final attempts and
recounts the launch summary in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from caserun.analysis import patterns
from caserun.domain import identity
from caserun.domain.model import Attempt, TestResult
from caserun.domain.rules import passed_on_retry
from caserun.service.attachments import AttachmentStore, content_type
from caserun.store import case_runs, launches, test_cases

CHUNK = 2000
MAX_TEXT = 1_000_000  # characters kept of one log or stack trace


def clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"\n… [{len(text) - MAX_TEXT} characters cut]"


class LaunchRecorder:
    def __init__(
        self,
        conn: Connection,
        *,
        project_id: int,
        launch_id: int,
        launch_started: datetime,
        attachments: AttachmentStore,
        fresh_launch: bool,
    ) -> None:
        self.conn = conn
        self.project_id = project_id
        self.launch_id = launch_id
        self.launch_started = launch_started
        self.attachments = attachments
        self.fresh = fresh_launch
        self.attempts_seen: dict[int, int] = {}
        self.split_tests = False
        self.count = 0

    def add(self, results: Iterable[TestResult], finished_at: Sequence[datetime | None] | None = None) -> list[int]:
        """Write the results; returns the ids of the case runs written (all attempts).

        ``finished_at`` (one per result, live events only) is stored on the result's rows;
        a report has no such time and leaves it empty."""
        ids: list[int] = []
        chunk: list[TestResult] = []
        ends = iter(finished_at) if finished_at is not None else None
        moments: list[datetime | None] = []
        for result in results:
            chunk.append(result)
            moments.append(next(ends) if ends is not None else None)
            if len(chunk) >= CHUNK:
                ids += self._write(chunk, moments)
                chunk, moments = [], []
        if chunk:
            ids += self._write(chunk, moments)
        return ids

    def _write(self, chunk: list[TestResult], moments: list[datetime | None]) -> list[int]:
        idents = [
            identity.explicit(r.key, r.suite, r.name, r.parameters)
            if r.key
            else identity.identify(r.suite, r.name, r.parameters)
            for r in chunk
        ]
        rows = {
            ident.key: {
                "key": ident.key,
                "scheme": ident.scheme,
                "suite": ident.suite,
                "name": ident.name,
                "parameters": ident.parameters,
                "full_name": ident.full_name,
                "file": result.file,
                "line": result.line,
            }
            for ident, result in zip(idents, chunk, strict=True)
        }
        ids = test_cases.ensure(self.conn, self.project_id, list(rows.values()))
        if not self.fresh:
            unknown = [ids[i.key] for i in idents if ids[i.key] not in self.attempts_seen]
            if unknown:
                self.attempts_seen.update(case_runs.max_attempts(self.conn, self.launch_id, unknown))

        run_rows: list[dict[str, Any]] = []
        extras: list[tuple[Attempt, list[str]]] = []
        for ident, result, finished_at in zip(idents, chunk, moments, strict=True):
            tc_id = ids[ident.key]
            before = self.attempts_seen.get(tc_id, 0)
            if before:
                self.split_tests = True
            statuses = [a.status for a in result.attempts]
            last = len(result.attempts) - 1
            for index, attempt in enumerate(result.attempts):
                failure = attempt.failure
                metadata = {**result.metadata, **attempt.properties}
                run_rows.append(
                    {
                        "project_id": self.project_id,
                        "launch_id": self.launch_id,
                        "test_case_id": tc_id,
                        "attempt": before + index + 1,
                        "is_final": index == last,
                        "status": attempt.status.value,
                        "passed_on_retry": index == last and passed_on_retry(statuses),
                        "started_at": attempt.started_at or self.launch_started,
                        "finished_at": finished_at,
                        "duration_ms": attempt.duration_ms,
                        "failure_type": failure.type.value if failure else None,
                        "failure_exception": failure.exception if failure else None,
                        "failure_message": clip(failure.message) if failure else None,
                        "stack_trace": clip(failure.trace) if failure else None,
                        "metadata": metadata or None,
                        "warnings": list(result.warnings) or None,
                        "client_id": attempt.client_id,
                        "retry_of_id": None,
                    }
                )
                extras.append((attempt, list(result.warnings)))
            self.attempts_seen[tc_id] = before + len(result.attempts)
        new_ids = case_runs.insert_many(self.conn, run_rows)
        self._write_extras(new_ids, extras)
        self.count += len(chunk)
        return new_ids

    def _write_extras(self, ids: list[int], extras: list[tuple[Attempt, list[str]]]) -> None:
        logs: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        warned: dict[int, list[str]] = {}
        for run_id, (attempt, warnings) in zip(ids, extras, strict=True):
            for stream, text in (("stdout", attempt.stdout), ("stderr", attempt.stderr), ("log", attempt.log)):
                if text:
                    logs.append({"case_run_id": run_id, "stream": stream, "content": clip(text)})
            for ref in attempt.attachments:
                stored = self.attachments.store(ref)
                if isinstance(stored, str):
                    warned[run_id] = [*warnings, stored]
                    warnings = warned[run_id]
                    continue
                sha, size = stored
                files.append(
                    {
                        "case_run_id": run_id,
                        "name": ref.name[:500],
                        "content_type": content_type(ref.name, ref.content_type),
                        "sha256": sha,
                        "size": size,
                    }
                )
        case_runs.insert_logs(self.conn, logs)
        if files:
            self.attachments.register(self.conn)
            case_runs.insert_attachments(self.conn, files)
        for run_id, warnings in warned.items():
            case_runs.set_warnings(self.conn, run_id, warnings)

    def finish(self, *, retry_of: int | None = None, duration_ms: int | None = None) -> None:
        if self.split_tests or not self.fresh:
            case_runs.settle_attempts(self.conn, self.launch_id)
        if retry_of is not None:
            case_runs.link_retries(self.conn, self.launch_id, retry_of)
        if duration_ms is None:
            duration_ms = launches.sum_durations(self.conn, self.launch_id)
        launches.refresh_summary(self.conn, self.launch_id, duration_ms)
        patterns.assign(self.conn, self.project_id, self.launch_id)
