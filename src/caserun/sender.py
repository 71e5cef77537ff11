"""Delivering events in the background, in batches, with a JSONL spool for what the server
did not take. Used by the pytest plugin; nothing here may fail or block the caller.

The caller ``put``s JSON-encoded events and returns at once. A thread sends them in
order, in batches (by count, size or age). While the server cannot be reached (refused
connection, timeout, 5xx) every pending event is appended to the spool file and kept in
memory; sending resumes with backoff, so a server that comes back gets everything and
the spool is deleted at the end. What is still unsent at ``close`` (the server stayed
down, or was too slow for the time allowed) stays in the spool: a ``caserun-events`` file
that ``caserun upload`` replays. Client ids make the replay of events that did arrive
harmless. A whole request refused with a 4xx (bad token, unknown project) stops sending:
everything goes to the spool and the reason is reported once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from caserun.client import Unreachable
from caserun.errors import CaserunError, PayloadTooLarge

Deliver = Callable[[Sequence[str]], list[dict[str, Any]]]

BATCH_EVENTS = 200
BATCH_BYTES = 8 * 1024**2
#: while the server is down, events beyond this many stay only in the spool
MAX_PENDING = 20_000
MAX_BACKOFF_S = 5.0


class Spool:
    """An append-only JSONL file, created on the first write; ``header`` (the launch's
    ``launch.started``) goes first so the file stands on its own."""

    def __init__(self, path: Path, header: str | None = None) -> None:
        self.path = path
        self.header = header
        self.count = 0
        self._file: IO[str] | None = None
        self._lock = threading.Lock()

    def write(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8", newline="\n")
                if self.header is not None and (not lines or lines[0] != self.header):
                    self._file.write(self.header + "\n")
            for line in lines:
                self._file.write(line + "\n")
            self._file.flush()
            self.count += len(lines)

    def close(self, *, remove: bool = False) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
                if remove:
                    self.path.unlink(missing_ok=True)


@dataclass
class Report:
    """What happened, for the terminal summary."""

    sent: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    #: the spool holds events the server may not have: upload it
    spool: Path | None = None
    spooled: int = 0
    #: why the server was not reached (the last reason), or why it refused the whole request
    problem: str | None = None
    #: times the server stopped answering (it may have come back)
    outages: int = 0
    launch_id: int | None = None
    launch_url: str | None = None


class Sender:
    def __init__(
        self,
        deliver: Deliver,
        spool: Spool,
        *,
        interval: float = 0.5,
        batch_events: int = BATCH_EVENTS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.deliver = deliver
        self.spool = spool
        self.interval = interval
        self.batch_events = batch_events
        self.max_pending = max_pending
        self.report = Report()
        self._queue: deque[str] = deque()
        #: how many events at the head of the queue are already in the spool
        self._spooled = 0
        self._oldest = 0.0
        self._down = False
        self._dead = False
        self._stopping = False
        self._retry_at = 0.0
        self._failures = 0
        self._gave_up = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="caserun-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, line: str) -> None:
        with self._cond:
            if self._dead:
                self.spool.write([line])
                return
            if not self._queue:
                self._oldest = time.monotonic()
            self._queue.append(line)
            if self._down:
                self._spool_pending()
                if len(self._queue) > self.max_pending:
                    self._give_up(self.report.problem)
                return
            if len(self._queue) == 1 or len(self._queue) >= self.batch_events:
                self._cond.notify()

    def close(self, timeout: float) -> Report:
        """Send what is left within ``timeout`` seconds (less when the server is down),
        then spool the rest. Returns the report."""
        with self._cond:
            self._stopping = True
            if self._down:  # one more try, at once, and not for long
                timeout = min(timeout, 2.0)
                self._retry_at = 0.0
            self._cond.notify()
        if self._thread.ident is not None:
            self._thread.join(timeout)
        with self._cond:
            if self._queue:
                self._give_up(self.report.problem or f"the server did not take every event within {timeout:g}s")
            self._dead = True
            keep = self.spool.count > 0 and (self._gave_up or bool(self._queue))
            self.spool.close(remove=not keep)
            if keep:
                self.report.spool = self.spool.path
                self.report.spooled = self.spool.count
        return self.report

    # inside the lock

    def _spool_pending(self) -> None:
        pending = list(self._queue)[self._spooled :]
        self.spool.write(pending)
        self._spooled = len(self._queue)

    def _give_up(self, problem: str | None) -> None:
        self._spool_pending()
        self._queue.clear()
        self._spooled = 0
        self._dead = True
        self._gave_up = True
        self.report.problem = problem

    def _batch(self) -> list[str] | None:
        """The next batch to send, once one is due; None to stop."""
        while True:
            if self._dead or (self._stopping and not self._queue):
                return None
            now = time.monotonic()
            if self._queue and now >= self._retry_at:
                due = self._stopping or len(self._queue) >= self.batch_events or now - self._oldest >= self.interval
                if due:
                    batch: list[str] = []
                    size = 0
                    for line in self._queue:
                        if batch and (len(batch) >= self.batch_events or size + len(line) > BATCH_BYTES):
                            break
                        batch.append(line)
                        size += len(line)
                    return batch
            wake = self._retry_at if now < self._retry_at else self._oldest + self.interval
            self._cond.wait(max(0.01, min(wake - now, self.interval)) if self._queue else None)

    # the thread

    def _run(self) -> None:
        while True:
            with self._cond:
                batch = self._batch()
            if batch is None:
                return
            try:
                results = self.deliver(batch)
            except Unreachable as exc:
                self._unreachable(exc)
                continue
            except PayloadTooLarge as exc:
                if len(batch) > 1:
                    self.batch_events = max(1, len(batch) // 2)
                    continue
                self._delivered(batch, [{"status": 413, "code": exc.code, "message": exc.message}])
                continue
            except CaserunError as exc:
                with self._cond:
                    self._give_up(f"the server refused the events: {exc.message}")
                return
            except Exception as exc:  # noqa: BLE001 - a reporter must never break the session
                with self._cond:
                    self._give_up(f"sending failed: {type(exc).__name__}: {exc}")
                return
            self._delivered(batch, results)

    def _unreachable(self, exc: CaserunError) -> None:
        with self._cond:
            if not self._down:
                self.report.outages += 1
            self._down = True
            self._failures += 1
            self.report.problem = exc.message
            self._spool_pending()
            if self._stopping:  # the session is over: no more waiting for the server
                self._give_up(exc.message)
                return
            self._retry_at = time.monotonic() + min(MAX_BACKOFF_S, 0.25 * 2**self._failures)
            if len(self._queue) > self.max_pending:
                self._give_up(exc.message)

    def _delivered(self, batch: list[str], results: list[dict[str, Any]]) -> None:
        with self._cond:
            for _ in batch:
                if self._queue:
                    self._queue.popleft()
            self._spooled = max(0, self._spooled - len(batch))
            self._oldest = time.monotonic()
            self._down = False
            self._failures = 0
            self._retry_at = 0.0
            for result in results:
                status = int(result.get("status", 0))
                if status >= 400:
                    self.report.refused[f"{status} {result.get('code')}: {result.get('message')}"] += 1
                else:
                    self.report.sent += 1
                    if result.get("url") and self.report.launch_url is None:
                        self.report.launch_id = result.get("launch_id")
                        self.report.launch_url = result.get("url")
            self._cond.notify_all()
