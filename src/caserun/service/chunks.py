"""Results reduced to the chunks :class:`~caserun.service.recording.LaunchRecorder` writes.

Kept apart from the recorder (and from the database) so that the process a large report
is parsed in (``service.parse_process``) imports only this, the parsers and the domain.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from caserun.analysis import signatures
from caserun.analysis.signatures import Signature
from caserun.domain import identity
from caserun.domain.model import Attempt, TestResult
from caserun.domain.rules import passed_on_retry

CHUNK = 2000
MAX_TEXT = 1_000_000  # characters kept of one log or stack trace


def clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"\n… [{len(text) - MAX_TEXT} characters cut]"


#: (index of its case run in the chunk, the attempt, its result's warnings): attempts
#: with logs or attachments, written once their case runs have ids
Extra = tuple[int, Attempt, list[str]]

#: a case run's values besides its test, attempt number and finality, as a chunk keeps them
TAIL = (
    "status",
    "started_at",
    "finished_at",
    "duration_ms",
    "failure_type",
    "failure_exception",
    "failure_message",
    "stack_trace",
    "metadata",
    "warnings",
    "client_id",
)


_STATUS, _EXCEPTION, _MESSAGE, _TRACE = (
    TAIL.index(name) for name in ("status", "failure_exception", "failure_message", "stack_trace")
)


class Chunk:
    """Results waiting to be written, reduced on arrival to tuples of plain values.

    The garbage collector stops tracking a tuple of strings, numbers and timestamps, so a
    waiting chunk gives it next to nothing to scan. Held as parsed, a chunk's results
    outlived two collections and were promoted to the oldest generation, several objects
    a test, which set off a full collection of the whole heap every few chunks."""

    __slots__ = ("extras", "keys", "shapes", "signatures", "tails", "tests")

    def __init__(self) -> None:
        #: per result: its identity key
        self.keys: list[str] = []
        #: per result: (suite, name, parameters, explicit key, file, line), for a new test
        self.tests: list[tuple[str, str, str | None, str | None, str | None, int | None]] = []
        #: per result: how many attempts, and whether the last passed after a failure
        self.shapes: list[tuple[int, bool]] = []
        #: per attempt: its values of TAIL
        self.tails: list[tuple[Any, ...]] = []
        self.extras: list[Extra] = []
        #: (index in ``tails``, signature) of each failed attempt, when computed ahead
        #: (:meth:`sign`); None leaves the signatures to pattern assignment
        self.signatures: list[tuple[int, Signature]] | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, result: TestResult, finished_at: datetime | None, launch_started: datetime) -> None:
        r = result
        self.keys.append(identity.explicit_key(r.key) if r.key else identity.key_of(r.suite, r.name, r.parameters))
        self.tests.append((r.suite, r.name, r.parameters, r.key, r.file, r.line))
        attempts = r.attempts
        self.shapes.append((len(attempts), len(attempts) > 1 and passed_on_retry([a.status for a in attempts])))
        warnings = tuple(r.warnings) or None  # stored as a JSON array, as a list is
        shared = r.metadata
        tails = self.tails
        for attempt in attempts:
            failure = attempt.failure
            properties = attempt.properties
            if attempt.stdout or attempt.stderr or attempt.log or attempt.attachments:
                self.extras.append((len(tails), attempt, list(r.warnings)))
            tails.append(
                (
                    attempt.status._value_,  # not .value: a descriptor call per row
                    attempt.started_at or launch_started,
                    finished_at,
                    attempt.duration_ms,
                    failure.type._value_ if failure else None,
                    failure.exception if failure else None,
                    clip(failure.message) if failure else None,
                    clip(failure.trace) if failure else None,
                    {**shared, **properties} if shared or properties else None,
                    warnings,
                    attempt.client_id,
                )
            )

    def sign(self) -> None:
        """Compute the signature of each failed attempt, from the values stored for it
        (what ``analysis.patterns`` would compute from the rows once written)."""
        self.signatures = [
            (index, signatures.compute(tail[_EXCEPTION], tail[_MESSAGE], tail[_TRACE]))
            for index, tail in enumerate(self.tails)
            if tail[_STATUS] == "failed"
        ]


def chunked(
    results: Iterable[TestResult], launch_started: datetime, finished_at: Sequence[datetime | None] | None = None
) -> Iterator[Chunk]:
    """The results reduced to chunks of :data:`CHUNK` results, as ``LaunchRecorder`` writes them."""
    ends = iter(finished_at) if finished_at is not None else None
    chunk = Chunk()
    for result in results:
        chunk.take(result, next(ends) if ends is not None else None, launch_started)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = Chunk()
    if len(chunk):
        yield chunk
