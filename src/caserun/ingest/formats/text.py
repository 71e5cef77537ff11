"""Text clean-up that several formats share: control-character escapes, exception types,
failure kinds, durations and inline attachment markers."""

from __future__ import annotations

import re
from datetime import datetime

from caserun.domain.model import AttachmentRef, FailureType

_PYTEST_ESCAPE = re.compile(r"#x([0-9A-Fa-f]{2})")
_ATTACHMENT_LINE = re.compile(r"\[\[ATTACHMENT\|([^\]\r\n]+)\]\]")
_EXCEPTION_LINE = re.compile(
    r"^\s*(?:E\s+)?(?P<type>(?:[A-Za-z_$][\w$]*[.$])*[\w$]*(?:Error|Exception|Failure|Panic|Fault))\b(?::|$)",
    re.MULTILINE,
)
# pytest's last traceback line: "tests/test_x.py:12: AssertionError"
_LOCATION_LINE = re.compile(r"^\S+:\d+: (?P<type>[A-Za-z_][\w.]*)\s*$", re.MULTILINE)
_TIMEOUT = re.compile(r"time(?:d)?\s?out|timeout|deadline exceeded", re.IGNORECASE)


def unescape_control(text: str) -> str:
    """pytest writes control characters (ESC of ANSI colours) as ``#x1B``; restore them."""

    def repl(match: re.Match[str]) -> str:
        code = int(match.group(1), 16)
        if code < 0x20 and code not in (0x09, 0x0A, 0x0D):
            return chr(code)
        return match.group(0)

    return _PYTEST_ESCAPE.sub(repl, text)


def attachment_refs(text: str | None) -> list[AttachmentRef]:
    """``[[ATTACHMENT|path]]`` lines (Jenkins JUnit attachments plugin convention)."""
    if not text or "[[ATTACHMENT|" not in text:
        return []
    refs = []
    for match in _ATTACHMENT_LINE.finditer(text):
        path = match.group(1).strip()
        refs.append(AttachmentRef(name=path.replace("\\", "/").rsplit("/", 1)[-1], path=path))
    return refs


def exception_type(declared: str | None, message: str | None, trace: str | None) -> str | None:
    """The exception class: the declared ``type``, else the first ``XxxError:`` line."""
    if declared and declared.strip():
        return declared.strip()
    if trace:
        located = _LOCATION_LINE.findall(trace)
        if located:
            return str(located[-1])
    for text in (trace, message):
        if text:
            match = _EXCEPTION_LINE.search(text)
            if match:
                return match.group("type")
    return None


_ASSERTION_EXCEPTION = re.compile(r"Assert|Comparison|Expectation|ExpectedException|^expect\.")
_ASSERTION_MESSAGE = re.compile(r"^\s*(?:Error: )?expect\(|\bExpected\b|\bassert\b")


def failure_type(kind: str, exception: str | None, message: str | None) -> FailureType:
    """``kind`` is ``failure`` or ``error`` as the report says; the exception decides when known.

    Runners disagree: pytest writes any exception in the test body as ``<failure>``, and
    JUnit 4 wrote ``<error>`` for them. So: a timeout exception is a timeout; an
    assertion-like exception is an assertion even when its message mentions a timeout
    (``AssertionError: gateway timed out``); otherwise a message about a timeout is a
    timeout; an assertion-like message is an assertion; another known exception is an
    error; else the report's kind.
    """
    if exception and _TIMEOUT.search(exception):
        return FailureType.TIMEOUT
    if exception and _ASSERTION_EXCEPTION.search(exception):
        return FailureType.ASSERTION
    if message and _TIMEOUT.search(message):
        return FailureType.TIMEOUT
    if message and _ASSERTION_MESSAGE.search(message) and (not exception or exception in ("Error", "AssertionError")):
        return FailureType.ASSERTION
    if exception:
        return FailureType.ERROR
    return FailureType.ERROR if kind == "error" else FailureType.ASSERTION


#: longer than any test could run (ten years): a larger duration is noise, not a time
MAX_SECONDS = 10 * 365 * 86400.0


def parse_seconds(value: str | None) -> int | None:
    """``"1.234"``, ``"1,234.5"`` (some .NET/Gradle locales) → milliseconds; None for
    what is not a duration (negative, NaN, infinite or over ``MAX_SECONDS``)."""
    if value is None or not value.strip():
        return None
    cleaned = value.strip().replace(",", "")
    try:
        seconds = float(cleaned)
    except ValueError:
        return None
    if not 0 <= seconds <= MAX_SECONDS:  # false for NaN too
        return None
    return round(seconds * 1000)


def decode_head(head: bytes) -> str:
    """The first bytes of a report as text, for sniffing: UTF-16 by its BOM, else UTF-8."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    return head.decode("utf-8", errors="ignore").lstrip("\ufeff")


_PROLOG = re.compile(r"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<(?P<name>[A-Za-z_][\w.\-:]*)", re.DOTALL)


def root_element(head: bytes) -> str | None:
    """The local name of an XML document's root element, read past the prolog and comments."""
    match = _PROLOG.match(decode_head(head))
    return match.group("name").rpartition(":")[2] if match else None


def parse_timestamp(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp as .NET and Java tools write it (``Z``, offsets, a space for
    ``T``, up to seven fractional digits); None when it cannot be read."""
    if not value or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
