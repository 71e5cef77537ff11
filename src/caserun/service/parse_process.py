"""A large report parsed in a second process while this one writes it.

Parsing a report and reducing its results to the chunks the recorder writes
(:func:`chunks.chunked`) is about a third of an import's time, and all of it holds
the interpreter lock, so a thread would not overlap it with the writing. A child process
does: it parses, reduces, and sends each chunk (tuples of plain values: a pickle of a
chunk costs a tenth of what one of its parsed results would) through a pipe, while this
process looks up test cases and inserts case runs. The pipe holds a chunk or two, so
memory stays flat however long the report.

The child is forked from a fork server that has the parsers imported already, so it
starts in milliseconds, and only for reports of :data:`MIN_BYTES` or more, where that
pays. A :class:`~caserun.errors.ParseError` in the child is raised here with its file and
line; a child that fails otherwise, or dies, fails the import, which then writes nothing.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import cache
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from caserun.errors import CaserunError
from caserun.ingest import registry
from caserun.ingest.protocol import ReportSource
from caserun.service.chunks import Chunk, chunked

#: reports together smaller than this are parsed in process: a child costs ~20 ms to
#: start and its chunks a pickle each way, which a few thousand results do not repay
MIN_BYTES = 8 * 1024 * 1024

#: (parser name, path, the name it is known by in messages), per report file
Job = tuple[str, str, str]


class ParseProcessError(RuntimeError):
    """The parsing process failed for a reason that is not the report's (a bug, or it died)."""


def worth_it(paths: Sequence[Path]) -> bool:
    """Whether these reports are parsed in a child: regular files (a directory report is
    many small files, read in process), together at least :data:`MIN_BYTES`."""
    if not paths or any(not p.is_file() for p in paths):
        return False
    return sum(p.stat().st_size for p in paths) >= MIN_BYTES


def chunks(jobs: Sequence[Job], sources: Sequence[ReportSource], launch_started: datetime) -> Iterator[Chunk]:
    """The reports' results in chunks, parsed by a child process. When the last chunk has
    come, each source's ``info`` holds what its parse found (a report's own duration)."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_parse, args=(sender, list(jobs), launch_started), name="caserun-parse", daemon=True)
    child.start()
    sender.close()  # the child's end: once it exits, a read here ends instead of waiting
    try:
        while True:
            try:
                kind, payload = receiver.recv()
            except EOFError:
                child.join(timeout=5)
                raise ParseProcessError(f"the parsing process ended unexpectedly (exit {child.exitcode})") from None
            if kind == "chunk":
                yield payload
            elif kind == "done":
                for source, info in zip(sources, payload, strict=True):
                    source.info.update(info)
                return
            elif kind == "error":
                raise payload
            else:
                raise ParseProcessError(f"the parsing process failed: {payload}")
    finally:
        receiver.close()
        child.join(timeout=5)
        if child.is_alive():  # the import stopped early (a write failed): the rest is not wanted
            child.kill()
            child.join()


@cache
def _context() -> Any:
    """A fork server where the platform has one (children start from a process that has
    imported this module and the program's main module, not from the threaded server),
    else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["__main__", __name__])
        return context
    return multiprocessing.get_context("spawn")  # pragma: no cover - Linux has a fork server


def warm() -> None:
    """Start the fork server now (it imports the parsers once, a second or so), so that the
    first large import does not wait for it: ``caserun serve`` calls this in the background."""
    child = _context().Process(target=_nothing, name="caserun-parse-warm", daemon=True)
    child.start()
    child.join()


def _nothing() -> None:
    return None


def _parse(out: Connection, jobs: list[Job], launch_started: datetime) -> None:
    """The child: parse every report, send its chunks, then the sources' info."""
    try:
        sources = [ReportSource(Path(path), name) for _, path, name in jobs]
        parsers = [registry.get(parser) for parser, _, _ in jobs]

        def results() -> Iterator[Any]:
            for parser, source in zip(parsers, sources, strict=True):
                yield from parser.parse(source)

        for chunk in chunked(results(), launch_started):
            out.send(("chunk", chunk))
        out.send(("done", [source.info for source in sources]))
    except CaserunError as exc:
        try:
            out.send(("error", exc))
        except Exception:  # noqa: BLE001 - an error that does not pickle still has a message
            out.send(("failed", f"{type(exc).__name__}: {exc}"))
    except BaseException:  # noqa: BLE001 - whatever it was, the parent must hear of it
        out.send(("failed", traceback.format_exc(limit=5)))
    finally:
        out.close()
