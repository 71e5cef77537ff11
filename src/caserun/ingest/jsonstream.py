"""Untrusted JSON reports, streamed: the JSON counterpart of ``xmlsafe``.

ijson (yajl) reads a document as a stream of events; only the values a parser asks for
are built (one test, one spec, one test file), so memory is bounded by the largest of
those, not by the file. UTF-8 with or without a BOM and UTF-16 with a BOM are read. A
broken document becomes a :class:`ParseError` naming the file and, where it can be
found, the line. Reading stops at the end of the top-level value, so text a tool prints
after its report (a console line after mocha's JSON) is ignored.

Also here: :func:`head_shape` (what a sniffer sees of a document's structure in its
first bytes), the small coercions every JSON format needs (milliseconds, epoch and ISO
times, strings, ANSI colour codes, base64, nested metadata) and
:func:`unreported_attempts` for reports that count retries without describing them.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

import ijson  # type: ignore[import-untyped]  # ijson ships no type information

from caserun.domain.model import Attempt, Failure, FailureType, Status
from caserun.errors import ParseError
from caserun.ingest.formats.text import MAX_SECONDS, exception_type, failure_type
from caserun.ingest.protocol import ReportSource

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
#: a located syntax error is searched for again only in this much of the file
_LOCATE_LIMIT = 16 * 1024 * 1024
_CONTAINER_START = {"start_map", "start_array"}
_CONTAINER_END = {"end_map", "end_array"}


def loads(data: str | bytes) -> Any:
    """``json.loads`` for untrusted text: nesting too deep for the decoder's recursion is a
    ``ValueError``, like any other JSON that cannot be read."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def decode_head(head: bytes) -> str:
    """The first bytes of a report as text, whatever its Unicode encoding."""
    if head.startswith(_UTF16_BOMS):
        return head.decode("utf-16", errors="ignore")
    return head.removeprefix(_UTF8_BOM).decode("utf-8", errors="ignore")


class _Utf16AsUtf8(io.RawIOBase):
    """A UTF-16 byte stream re-encoded as UTF-8, which is what yajl reads."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._text = codecs.getreader("utf-16")(raw, "strict")  # errors is positional-only
        self._pending = b""

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Closing the stream closes the file under it."""
        if not self.closed:
            self._raw.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = self._text.read(16 * 1024)
            if not chunk:
                return 0
            self._pending = chunk.encode("utf-8")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _Counting(io.RawIOBase):
    """Counts the lines read so far, to say where a truncated document ends."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.newlines = 0
        self.size = 0
        self.last = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        if not data:
            return 0
        size = len(data)
        buffer[:size] = data
        self.newlines += data.count(b"\n")
        self.size += size
        self.last = data[-1:]
        return size

    @property
    def last_line(self) -> int:
        """The line holding the last byte read (a final newline ends, not starts, a line)."""
        return max(1, self.newlines + (0 if self.last == b"\n" else 1))


def open_utf8(source: ReportSource, start: int = 0) -> IO[bytes]:
    """The report as UTF-8 bytes from byte ``start`` on (after any BOM)."""
    raw = source.open()
    lead = raw.read(3)
    if lead.startswith(_UTF16_BOMS):
        raw.seek(0)
        return io.BufferedReader(_Utf16AsUtf8(raw))
    offset = len(_UTF8_BOM) if lead == _UTF8_BOM else 0
    raw.seek(offset + start)
    return raw


class JsonWalk:
    """Walks one JSON document and yields ``(prefix, value)`` for each value whose ijson
    prefix (``results.tests.item``) ``wanted`` accepts, in document order: containers
    built whole when they end, scalars as they come. Nothing inside a wanted container is
    offered again.

    ``seen`` maps each prefix of ``landmarks`` that occurred to its first event
    (``start_array``, ``start_map``, ``string``…), so a parser can tell "no tests" from
    "not this shape".
    """

    def __init__(
        self,
        source: ReportSource,
        *,
        format: str,
        wanted: Callable[[str], bool],
        landmarks: tuple[str, ...] = (),
        start: int = 0,
    ) -> None:
        self.source = source
        self.format = format
        self.wanted = wanted
        self.landmarks = frozenset(landmarks)
        self.start = start
        self.seen: dict[str, str] = {}

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        with open_utf8(self.source, self.start) as raw:
            counting = _Counting(raw)
            reader = io.BufferedReader(counting, buffer_size=64 * 1024)
            try:
                yield from self._walk(ijson.parse(reader, use_float=True))
            except (ijson.JSONError, UnicodeDecodeError) as exc:
                raise self._error(exc, counting) from None

    def _walk(self, events: Iterator[tuple[str, str, Any]]) -> Iterator[tuple[str, Any]]:
        builder: ijson.ObjectBuilder | None = None
        target = ""
        depth = 0  # of the value being built
        level = 0  # of the document
        for prefix, event, value in events:
            if event in _CONTAINER_START:
                level += 1
            elif event in _CONTAINER_END:
                level -= 1
            if builder is not None:
                builder.event(event, value)
                if event in _CONTAINER_START:
                    depth += 1
                elif event in _CONTAINER_END:
                    depth -= 1
                    if depth == 0:
                        yield target, builder.value
                        builder = None
            elif event != "map_key":
                if prefix in self.landmarks and prefix not in self.seen and event not in _CONTAINER_END:
                    self.seen[prefix] = event
                if event not in _CONTAINER_END and self.wanted(prefix):
                    if event in _CONTAINER_START:
                        builder = ijson.ObjectBuilder()
                        builder.event(event, value)
                        target, depth = prefix, 1
                    else:
                        yield prefix, value
            if level == 0 and event != "map_key":
                return  # the top-level value is complete; what follows is not ours

    def _error(self, exc: Exception, counting: _Counting) -> ParseError:
        file, fmt = self.source.display_name, self.format
        if isinstance(exc, UnicodeDecodeError):
            return ParseError(f"not valid UTF-8/UTF-16 text: {exc.reason}", file=file, format=fmt)
        raw = exc.args[0] if exc.args else ""
        message = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        reason = message.strip().splitlines()[0] if message.strip() else "malformed JSON"
        if "invalid bytes in UTF8" in reason:
            return ParseError("not valid UTF-8 text", file=file, line=self._locate(counting.size), format=fmt)
        if "premature EOF" in reason or "Incomplete" in reason:
            return ParseError(
                "the JSON document ends early (truncated file?)", file=file, line=counting.last_line, format=fmt
            )
        line = self._locate(counting.size) if counting.size <= _LOCATE_LIMIT else None
        return ParseError(f"not valid JSON: {reason}", file=file, line=line, format=fmt)

    def _locate(self, size: int) -> int | None:
        """The line of a syntax error, found again with ijson's pure-Python parser (which
        reports the character offset that yajl does not)."""
        python = ijson.get_backend("python")
        try:
            with open_utf8(self.source, self.start) as stream:
                limited = io.BytesIO(stream.read(size))
                for _ in python.basic_parse(limited):
                    pass
        except ijson.JSONError as exc:
            found = re.search(r" at (\d+)", str(exc))
            if found is None:
                return None
            offset = int(found.group(1))
            with open_utf8(self.source, self.start) as stream:
                text = stream.read(size).decode("utf-8", errors="replace")
            return self._lines_before_start() + text.count("\n", 0, offset) + 1
        except (UnicodeDecodeError, ValueError):
            return None
        return None

    def _lines_before_start(self) -> int:
        if not self.start:
            return 0
        with open_utf8(self.source) as stream:
            return stream.read(self.start).count(b"\n")


def head_shape(head: bytes, max_depth: int = 4) -> dict[str, Any]:
    """What the first bytes of a JSON document show of its structure, for sniffing:
    ijson prefix (``results.tests``, ``suites.item.specs``) → ``"start_map"`` or
    ``"start_array"`` for a container, the value itself for a scalar; the first
    occurrence of each prefix up to ``max_depth`` levels. A truncated head gives what
    came before the cut; anything that is not JSON gives ``{}``."""
    text = decode_head(head)
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return {}
    shape: dict[str, Any] = {}
    try:
        for prefix, event, value in ijson.parse(io.BytesIO(stripped.encode("utf-8")), use_float=True):
            if event in _CONTAINER_END or event == "map_key" or prefix in shape:
                continue
            if prefix.count(".") >= max_depth:
                continue
            shape[prefix] = event if event in _CONTAINER_START else value
    except (ijson.JSONError, UnicodeDecodeError, ValueError):
        pass  # the head ends mid-document (or turns out not to be JSON): keep what was seen
    return shape


def frames(prefix: str, container: str) -> list[str]:
    """The prefixes of the nested ``container`` items that enclose ``prefix``:
    ``frames("suites.item.suites.item.specs.item", "suites")`` →
    ``["suites.item", "suites.item.suites.item"]``."""
    parts = prefix.split(".")
    return [".".join(parts[: i + 1]) for i in range(1, len(parts)) if parts[i] == "item" and parts[i - 1] == container]


# --- values -------------------------------------------------------------------------------


def text(value: Any) -> str | None:
    """A string as written; numbers and booleans as JSON writes them; anything else None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return None


#: past any epoch time or duration in milliseconds a report carries (~31,000 years)
MAX_MILLIS = 1e15


def millis(value: Any) -> int | None:
    """Milliseconds (possibly fractional: a duration or an epoch time), rounded; None when
    not a number from 0 to ``MAX_MILLIS`` (NaN, infinite or absurd)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 <= value <= MAX_MILLIS:  # false for NaN too
        return None
    return round(value)


def seconds_to_millis(value: Any) -> int | None:
    """``millis`` for a duration given in seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_SECONDS:
        return None
    return round(value * 1000)


def epoch(value: Any) -> datetime | None:
    """Epoch milliseconds (or seconds, which some writers give: anything before 1973 in
    milliseconds is taken as seconds) as an aware UTC datetime."""
    ms = millis(value)
    if not ms:
        return None
    if ms < 100_000_000_000:
        ms *= 1000
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def iso(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` accepted) as a datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def joined(chunks: Any) -> str | None:
    """Output captured as a list of strings (lines or chunks) as one text."""
    if isinstance(chunks, str):
        return chunks or None
    if not isinstance(chunks, list):
        return None
    parts = [c for c in chunks if isinstance(c, str)]
    if not parts:
        return None
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def strip_ansi(value: str | None) -> str | None:
    """Text without the ANSI colour and cursor codes a writer added for a terminal."""
    if not value or "\x1b" not in value:
        return value
    return _ANSI.sub("", value)


def base64_bytes(value: Any) -> bytes | None:
    """Standard base64 text as bytes; None when it is not a string of valid base64."""
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def flatten(value: Any, prefix: str = "", out: dict[str, str] | None = None, *, depth: int = 3) -> dict[str, str]:
    """Nested JSON as ``str → str`` metadata: maps become dotted keys, lists of scalars a
    comma-separated text, anything deeper (or a list of objects) compact JSON; null and
    empty values are left out."""
    found: dict[str, str] = {} if out is None else out
    if isinstance(value, dict) and (depth > 0 or not prefix):
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else str(key), found, depth=depth - 1)
        return found
    if not prefix:
        return found
    scalar = text(value)
    if scalar is not None:
        if scalar:
            found[prefix] = scalar
    elif isinstance(value, list) and value:
        parts = [text(item) for item in value]
        if all(part is not None for part in parts):
            found[prefix] = ", ".join(p for p in parts if p)
        else:
            found[prefix] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    elif isinstance(value, dict) and value:
        found[prefix] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return found


def file_label(path: str | None) -> str:
    """A test file as part of a test's identity: a relative path as the tool wrote it, an
    absolute one by its base name (the checkout directory differs from machine to
    machine, so it must not be part of a test's identity)."""
    if not path:
        return ""
    cleaned = path.replace("\\", "/").removeprefix("file://")
    if cleaned.startswith("/") or re.match(r"^[A-Za-z]:/", cleaned):
        return cleaned.rsplit("/", 1)[-1]
    return cleaned.removeprefix("./")


def annotation_metadata(value: Any) -> dict[str, str]:
    """Playwright-style ``[{type, description}]`` annotations as metadata (``issue`` →
    ``SHOP-42``); several of one type are joined."""
    found: dict[str, str] = {}
    if not isinstance(value, list):
        return found
    for item in value:
        if not isinstance(item, dict):
            continue
        kind = text(item.get("type"))
        if not kind:
            continue
        description = text(item.get("description")) or ""
        found[kind] = (
            f"{found[kind]}, {description}" if found.get(kind) and description else description or found.get(kind, "")
        )
    return found


_ASSERTION_CLASS = re.compile(r"Assert|Expectation|Comparison")
#: a JavaScript error's first line: ``TypeError: …``, ``AssertionError [ERR_ASSERTION]: …``, ``Error: …``
_JS_ERROR_LINE = re.compile(
    r"^\s*(?:Uncaught\s+)?(?P<type>[A-Za-z_$][\w$.]*(?:Error|Exception)|Error)(?:\s\[[A-Z0-9_]+\])?:"
)


def failure_of(
    message: str | None,
    trace: str | None,
    *,
    exception: str | None = None,
    timed_out: bool = False,
    assertion: bool = False,
) -> Failure:
    """A failure from a JavaScript-style error: the message (else the first line of the
    trace), the exception class (declared, else read from the text: ``Error`` counts, as
    JavaScript throws it bare), and its kind. An assertion class wins over a message that
    merely mentions a timeout ("gateway timed out" in an ``AssertionError``); ``timed_out``
    is the runner's own verdict."""
    message = message.strip("\n") if message else None
    if not message and trace and trace.strip():
        message = trace.strip().splitlines()[0]
    exc = exception_type(exception, message, trace)
    if exc is None:
        for candidate in (trace, message):
            found = _JS_ERROR_LINE.match(candidate or "")
            if found:
                exc = found.group("type")
                break
    if timed_out:
        kind = FailureType.TIMEOUT
    elif assertion or (exc and _ASSERTION_CLASS.search(exc)):
        kind = FailureType.ASSERTION
    elif not message:
        kind = FailureType.UNKNOWN
    else:
        kind = failure_type("failure", exc, message)
    return Failure(message=message or "failed", type=kind, exception=exc, trace=trace or None)


UNREPORTED = "failed; the report counts this attempt but keeps no details of it"


def unreported_attempts(count: int) -> list[Attempt]:
    """Earlier attempts a report counts (``retries: 2``, ``currentRetry: 1``) without
    describing them: they failed, or the test would not have been retried."""
    return [Attempt(status=Status.FAILED, failure=Failure(UNREPORTED, FailureType.UNKNOWN)) for _ in range(count)]
