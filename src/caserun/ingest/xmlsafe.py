"""Hardened streaming XML for untrusted reports.

Entities are not resolved, DTDs are neither loaded nor allowed, the network is off and
libxml2's default depth and size limits stay on (no ``huge_tree``). A document type
declaration is refused outright: no test report needs one, and it is what billion-laughs,
quadratic-blowup and XXE files are made of.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from lxml import etree

from caserun.errors import ParseError

Event = tuple[str, etree._Element]


def iterparse(stream: IO[bytes], *, file: str, format: str) -> Iterator[Event]:
    """Yield ``(event, element)`` for ``start`` and ``end``; errors become ParseError."""
    context = etree.iterparse(
        stream,
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
                    raise ParseError(
                        "document type declarations (DTD/entities) are not allowed in reports",
                        file=file,
                        line=line_of(element),
                        format=format,
                    )
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
