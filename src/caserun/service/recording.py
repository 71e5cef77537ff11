"""Writing case runs into a launch, in bulk: the one path every way in goes through.

Results are written in chunks of ``chunks.CHUNK``: test cases are looked up, and the new
ones inserted, per chunk, and the case runs go to the driver column by column. Attempt
numbers continue across chunks (a test that appears twice in a report, or is retried in
a later batch, gets attempt 2, 3, …): a live launch remembers the attempts of the tests
it has seen; a fresh launch (a report import) remembers nothing past a chunk, so its
memory does not grow with its tests, and asks the database which of a chunk's tests
already have attempts in the launch. ``finish`` settles the final attempts of tests that
arrived in several pieces and recounts the launch summary in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from caserun.analysis import patterns
from caserun.domain import identity
from caserun.domain.model import TestResult
from caserun.service.attachments import AttachmentStore, content_type
from caserun.service.chunks import TAIL, Chunk, Extra, chunked, clip
from caserun.store import case_runs, launches, test_cases
from caserun.store.ids import IdSpans


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
        #: a live launch's attempts per test case so far (a fresh launch keeps none)
        self.attempts_seen: dict[int, int] = {}
        #: some test got attempts in more than one piece: ``finish`` settles them in SQL
        self.split_tests = False
        #: pattern assignment carried from chunk to chunk (chunks signed ahead only)
        self.patterns: patterns.Assigner | None = None
        self.count = 0

    def add(self, results: Iterable[TestResult], finished_at: Sequence[datetime | None] | None = None) -> Sequence[int]:
        """Write the results; returns the ids of the case runs written (all attempts), in
        order, kept as runs of consecutive ids (a few bytes for a whole import).

        ``finished_at`` (one per result, live events only) is stored on the result's rows;
        a report has no such time and leaves it empty."""
        return self.add_chunks(chunked(results, self.launch_started, finished_at))

    def add_chunks(self, chunks: Iterable[Chunk]) -> Sequence[int]:
        """``add`` for results already reduced to chunks (by :func:`chunked`, perhaps in
        another process: see ``service.parse_process``)."""
        ids = IdSpans()
        for chunk in chunks:
            ids.extend(self._write(chunk))
        return ids

    def _test_case_ids(self, chunk: Chunk) -> list[int]:
        """The test case of each result, inserting the ones seen for the first time."""
        distinct = list(dict.fromkeys(chunk.keys))
        ids = test_cases.existing(self.conn, self.project_id, distinct)
        if len(ids) < len(distinct):
            new: dict[str, dict[str, Any]] = {}  # a test named twice: its last file and line
            for key, (suite, name, parameters, given, file, line) in zip(chunk.keys, chunk.tests, strict=True):
                if key not in ids:
                    ident = (
                        identity.explicit(given, suite, name, parameters)
                        if given
                        else identity.identify(suite, name, parameters)
                    )
                    new[key] = {
                        "key": ident.key,
                        "scheme": ident.scheme,
                        "suite": ident.suite,
                        "name": ident.name,
                        "parameters": ident.parameters,
                        "full_name": ident.full_name,
                        "file": file,
                        "line": line,
                    }
            ids.update(test_cases.insert_new(self.conn, self.project_id, list(new.values())))
        return [ids[key] for key in chunk.keys]

    def _attempts_before(self, tc_ids: list[int]) -> dict[int, int]:
        """Attempts the launch already holds for these tests, to be counted on from."""
        if not self.fresh:
            unknown = list({tc for tc in tc_ids if tc not in self.attempts_seen})
            if unknown:
                self.attempts_seen.update(case_runs.max_attempts(self.conn, self.launch_id, unknown))
            return self.attempts_seen
        if not self.count:
            return {}  # nothing written yet
        return case_runs.max_attempts(self.conn, self.launch_id, list(set(tc_ids)))

    def _write(self, chunk: Chunk) -> Sequence[int]:
        tc_ids = self._test_case_ids(chunk)
        # a fresh launch's map lives for this chunk only: a test repeated later is found
        # in the database by the next chunk's lookup
        seen = self._attempts_before(tc_ids)
        tests: list[int] = []
        numbers: list[int] = []
        finals: list[bool] = []
        retried: list[bool] = []
        for tc_id, (count, passed_late) in zip(tc_ids, chunk.shapes, strict=True):
            before = seen.get(tc_id, 0)
            if before:
                self.split_tests = True
            last = before + count
            for number in range(before + 1, last + 1):
                tests.append(tc_id)
                numbers.append(number)
                finals.append(number == last)
                retried.append(passed_late and number == last)
            seen[tc_id] = last
        rows = len(tests)
        columns: dict[str, Sequence[Any]] = {
            "project_id": [self.project_id] * rows,
            "launch_id": [self.launch_id] * rows,
            "test_case_id": tests,
            "attempt": numbers,
            "is_final": finals,
            "passed_on_retry": retried,
        }
        if rows:
            columns.update(zip(TAIL, zip(*chunk.tails, strict=True), strict=True))
        new_ids = case_runs.insert_columns(self.conn, columns)
        self._write_extras(new_ids, chunk.extras)
        if chunk.signatures:  # signed ahead: patterns now, a chunk at a time, not in finish
            known = {new_ids[index]: signature for index, signature in chunk.signatures}
            self.patterns = patterns.assign(
                self.conn, self.project_id, self.launch_id, list(known), known=known, assigner=self.patterns
            )
        self.count += len(chunk)
        return new_ids

    def _write_extras(self, ids: Sequence[int], extras: list[Extra]) -> None:
        logs: list[tuple[int, str, str | None]] = []
        files: list[dict[str, Any]] = []
        warned: dict[int, list[str]] = {}
        for row, attempt, warnings in extras:
            run_id = ids[row]
            for stream, text in (("stdout", attempt.stdout), ("stderr", attempt.stderr), ("log", attempt.log)):
                if text:
                    logs.append((run_id, stream, clip(text)))
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
        case_runs.insert_log_tuples(self.conn, logs)
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
        patterns.assign(self.conn, self.project_id, self.launch_id, assigner=self.patterns)
