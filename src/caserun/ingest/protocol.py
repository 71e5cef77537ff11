"""The seam every report format plugs into, built-in or third-party.

A parser is registered under the entry-point group ``caserun.formats``; the entry point
names an object (usually a module-level instance) with this shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from caserun.domain.model import TestResult

HEAD_BYTES = 64 * 1024


@dataclass
class ReportSource:
    """One report as the parser sees it: a local path (a file or, for Allure, a directory)
    and the name to use in messages. Parsers put launch-level facts they find (tool,
    environment, start time) into ``info``."""

    path: Path
    display_name: str
    info: dict[str, str] = field(default_factory=dict)

    def open(self) -> IO[bytes]:
        return self.path.open("rb")

    def head(self, size: int = HEAD_BYTES) -> bytes:
        if self.path.is_dir():
            return b""
        with self.open() as stream:
            return stream.read(size)


@runtime_checkable
class ReportParser(Protocol):
    """``sniff`` returns a confidence 0–1 from the first bytes; ``parse`` streams tests."""

    name: str
    title: str

    def sniff(self, head: bytes, source: ReportSource) -> float: ...

    def parse(self, source: ReportSource) -> Iterator[TestResult]: ...
