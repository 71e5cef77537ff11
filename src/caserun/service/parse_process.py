"""A large report parsed in a second process while this one writes it.

Parsing a report, reducing its results to the chunks the recorder writes
(:func:`chunks.chunked`) and computing their failure signatures is about a third of an
import's time, and all of it holds the interpreter lock, so a thread would not overlap it
with the writing. A child process does: it parses, reduces, signs, and writes each chunk
(tuples of plain values: a pickle of a chunk costs a tenth of what one of its parsed
results would) to its standard output, while this process looks up test cases, inserts
case runs and assigns failure patterns. A thread here reads the pipe a few chunks ahead
of the writer, so memory stays flat however long the report.

The child is a fresh ``python -m caserun.service.parse_process`` (it imports the parsers
and the domain, not the database: about 0.2 s to start, 40 MB), started only for reports
of :data:`MIN_BYTES` or more, where that pays. Its job (the files, their formats) comes
on its standard input as JSON; its chunks come back as pickles, trusted as both ends are
this program. A
:class:`~caserun.errors.ParseError` in the child is raised here with its file and line; a
child that fails otherwise, or dies, fails the import, which then writes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pickle
import queue
import subprocess
import sys
import threading
import traceback
from collections.abc import Generator, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from caserun.errors import CaserunError
from caserun.ingest import registry
from caserun.ingest.protocol import ReportSource
from caserun.service.chunks import Chunk, chunked

#: reports together smaller than this are parsed in process: a child costs ~0.2 s to
#: start and its chunks a pickle each way, which a few thousand results do not repay
MIN_BYTES = 8 * 1024 * 1024
#: chunks read ahead of the writer, at most
AHEAD = 4
#: the pipe's capacity asked for: two or three chunks of 2,000 results
PIPE_BYTES = 1024 * 1024

#: (parser name, path, the name it is known by in messages), per report file
Job = tuple[str, str, str]


class ParseProcessError(RuntimeError):
    """The parsing process failed for a reason that is not the report's (a bug, or it died)."""


def worth_it(paths: Sequence[Path]) -> bool:
    """Whether these reports (files, or directories of results such as Allure's) are parsed
    in a child: together at least :data:`MIN_BYTES`. An embedded interpreter, with no
    executable to start a child with, parses in process."""
    if not sys.executable or not paths:
        return False
    return sum(_size(p) for p in paths) >= MIN_BYTES


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return path.stat().st_size


def chunks(
    jobs: Sequence[Job], sources: Sequence[ReportSource], launch_started: datetime
) -> Generator[Chunk, None, None]:
    """The reports' results in chunks, parsed by a child process. When the last chunk has
    come, each source's ``info`` holds what its parse found (a report's own duration)."""
    child = subprocess.Popen(  # noqa: S603 - this interpreter, this module: no input in the command
        [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True
    )
    assert child.stdin is not None and child.stdout is not None
    _widen(child.stdout)
    inbox = _Inbox(child.stdout)
    finished = False
    try:
        try:
            child.stdin.write(json.dumps({"jobs": list(jobs), "started": launch_started.isoformat()}).encode())
            child.stdin.close()
        except BrokenPipeError:
            pass  # the child died at once: the inbox reports it
        while True:
            kind, payload = inbox.get()
            if kind == "chunk":
                yield payload
            elif kind == "done":
                for source, info in zip(sources, payload, strict=True):
                    source.info.update(info)
                finished = True
                return
            elif kind == "error":
                raise payload
            elif kind == "ended":
                raise ParseProcessError(f"the parsing process ended unexpectedly (exit {child.wait()})")
            else:
                raise ParseProcessError(f"the parsing process failed: {payload}")
    finally:
        inbox.stop()
        if not finished:  # an error, or the import stopped early: the rest is not wanted
            child.kill()
        child.wait()
        inbox.join()
        child.stdout.close()


def _widen(pipe: IO[bytes]) -> None:
    """Let the pipe hold a few chunks (Linux: up to ``fs.pipe-max-size``, 1 MiB unless
    changed) instead of 64 KiB: a chunk then goes across in one write and one read, not in
    a dozen that each wait for the busy writer's interpreter lock to be handed over."""
    size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if size is None:  # pragma: no cover - not Linux
        return
    with contextlib.suppress(OSError):  # a lower limit set by the administrator: 64 KiB works too
        fcntl.fcntl(pipe.fileno(), size, PIPE_BYTES)


class _Inbox:
    """Messages read from the child by a thread, up to :data:`AHEAD` of the writer, so the
    child never waits for a write here to finish before it can send, and the read overlaps
    the writing."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=AHEAD)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="caserun-parse-inbox", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                item = pickle.load(self._pipe)  # noqa: S301 - written by our own child (``_child``)
            except (EOFError, OSError, pickle.UnpicklingError, ValueError):
                item = ("ended", None)  # the child died mid-message, or was killed
            self._put(item)
            if item[0] != "chunk":
                return

    def _put(self, item: tuple[str, Any]) -> None:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self) -> tuple[str, Any]:
        return self._queue.get()

    def stop(self) -> None:
        self._stopped.set()

    def join(self) -> None:
        self._thread.join()


def _child(stdin: IO[bytes], out: IO[bytes]) -> None:
    """The child: read the job, parse every report, send its chunks, then the sources' info."""

    def send(message: tuple[str, Any]) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    try:
        job = json.load(stdin)
        jobs, launch_started = job["jobs"], datetime.fromisoformat(job["started"])
        sources = [ReportSource(Path(path), name) for _, path, name in jobs]
        parsers = [registry.load(parser) for parser, _, _ in jobs]

        def results() -> Iterator[Any]:
            for parser, source in zip(parsers, sources, strict=True):
                yield from parser.parse(source)

        for chunk in chunked(results(), launch_started):
            chunk.sign()  # failure signatures are pure too: computed here, not there
            send(("chunk", chunk))
        send(("done", [source.info for source in sources]))
    except CaserunError as exc:
        try:
            send(("error", exc))
        except Exception:  # noqa: BLE001 - an error that does not pickle still has a message
            send(("failed", f"{type(exc).__name__}: {exc}"))
    except BaseException:  # noqa: BLE001 - whatever it was, the parent must hear of it
        send(("failed", traceback.format_exc(limit=5)))


def _main() -> None:
    # the protocol gets its own copy of standard output; what a parser might print goes
    # to standard error instead of into the stream of pickles
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    with protocol:
        _child(sys.stdin.buffer, protocol)


if __name__ == "__main__":
    _main()
