"""Hardened streaming XML for untrusted reports.

Entities are not resolved, DTDs are neither loaded nor allowed, the network is off and
libxml2's default depth and size limits stay on (no ``huge_tree``). A document type
declaration is refused outright: no test report needs one, and it is what billion-laughs,
quadratic-blowup and XXE files are made of. The prolog is read for one before libxml2
sees a byte: libxml2 expands (and caps) entities as it reads a chunk, so a check of the
parsed tree would come after its own error, whose wording varies between versions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from lxml import etree

from caserun.errors import ParseError

Event = tuple[str, etree._Element]

#: bytes read ahead for the prolog (XML declaration, comments, a DOCTYPE before the root)
PROLOG_BYTES = 64 * 1024
_ROOT_START = re.compile(rb"<[^?!]")
_DTD_MESSAGE = "document type declarations (DTD/entities) are not allowed in reports"


class _Replay:
    """A byte stream that gives back what was read ahead before reading on."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.rest.read(size)
        if size < 0:
            out, self.head = self.head + self.rest.read(), b""
            return out
        out, self.head = self.head[:size], self.head[size:]
        return out


def _doctype_line(head: bytes) -> int | None:
    """The line of a DOCTYPE in the prolog, if there is one. NUL bytes are dropped first,
    so UTF-16 and UTF-32 prologs read as ASCII too."""
    text = head.replace(b"\0", b"")
    root = _ROOT_START.search(text)
    prolog = text[: root.start()] if root else text
    at = prolog.find(b"<!DOCTYPE")
    return prolog.count(b"\n", 0, at) + 1 if at >= 0 else None


def iterparse(stream: IO[bytes], *, file: str, format: str) -> Iterator[Event]:
    """Yield ``(event, element)`` for ``start`` and ``end``; errors become ParseError."""
    head = stream.read(PROLOG_BYTES)
    line = _doctype_line(head)
    if line is not None:
        raise ParseError(_DTD_MESSAGE, file=file, line=line, format=format)
    context = etree.iterparse(
        _Replay(head, stream),
        events=("start", "end"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    checked = False
    try:
        for event, element in context:
            if not checked:
                checked = True
                docinfo = element.getroottree().docinfo
                if docinfo.doctype or docinfo.internalDTD is not None:
                    raise ParseError(_DTD_MESSAGE, file=file, line=line_of(element), format=format)
            yield event, element
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        message = (exc.msg or "malformed XML").split(", line")[0]
        raise ParseError(f"not well-formed XML: {message}", file=file, line=line, format=format) from None


def text_of(element: etree._Element | None) -> str | None:
    """The element's text content, or None when it has none."""
    if element is None:
        return None
    text = "".join(t if isinstance(t, str) else t.decode() for t in element.itertext())
    return text if text.strip() else None


def local_name(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def line_of(element: etree._Element) -> int | None:
    line: object = element.sourceline
    return line if isinstance(line, int) else None
