"""Failure signatures: a failure with everything volatile taken out. Pure: no I/O.

A signature has three parts, joined one per line into its *template*:

1. the **exception type**, as the report gave it (else read from a ``Type: message``
   first line; ``panic`` for a Go panic);
2. the **message**, its first ``MESSAGE_LINES`` non-empty lines joined by `` | `` with the
   volatile parts masked (see ``MASKS``: UUIDs, timestamps and dates, temp paths, e-mails, IPs and host:port, hex
   addresses and ids, durations, quoted values, numbers), whitespace collapsed;
3. the **top frames** of the stack that belong to the code under test, innermost first,
   at most ``SIGNATURE_FRAMES``: runner, framework, standard-library and third-party
   frames of Python, Java/JVM, JavaScript, Go and .NET are dropped (see ``_FRAMEWORK``),
   and a frame is ``file:function`` (Python, JS, Go without function) or the qualified
   function (Java, .NET, Go) — never a line number.

The signature is the sha256 of the template. Two failures with equal templates are one
pattern; ``similarity`` scores near-duplicates (used by :mod:`caserun.analysis.patterns`).

Cost: the failures of a launch repeat themselves (runner frames in every trace, one message
across a test's parameters), so each distinct frame line, frame and message line is read
once and memoised (at most ``MEMO_SIZE`` of each, none longer than ``MEMO_TEXT``
characters); ``compute`` memoises whole failures. The memos change no result.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

SIGNATURE_FRAMES = 3
MESSAGE_LINES = 4
MESSAGE_CHARS = 400
#: a trace longer than this is read as its head and tail (innermost Python frames are last)
TRACE_WINDOW = 64_000
#: frame lines and frames recur across a launch's traces: up to this many distinct ones of
#: at most ``MEMO_TEXT`` characters are parsed and judged once (longer ones every time)
MEMO_SIZE = 8192
MEMO_TEXT = 1000

Mask = tuple[re.Pattern[str], str]


def _rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
#: applied in this order; each replacement is a placeholder no later rule rewrites
MASKS: list[Mask] = [
    (_rx(r"\x1b\[[0-9;]*[A-Za-z]"), ""),  # ANSI colours
    (_rx(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<uuid>"),
    (_rx(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b"), "<host>"),
    # host:port, but not file:line
    (
        _rx(
            r"\b(?![\w.-]*\.(?:py|go|js|mjs|cjs|ts|tsx|jsx|java|kt|cs|rb|php|rs|c|cc|cpp|h|swift|scala):)"
            r"(?:localhost|[A-Za-z][\w-]*(?:\.[\w-]+)+):\d{2,5}\b"
        ),
        "<host>",
    ),
    (
        _rx(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2}|\s?UTC|\s?GMT)?)?\b"),
        "<time>",
    ),
    (_rx(rf"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? \d{{1,2}} {_MONTH} \d{{4}}"), "<time>"),
    (_rx(rf"\b{_MONTH} \d{{1,2}},? \d{{4}}"), "<time>"),
    (_rx(r"\b\d{1,4}[/.]\d{1,2}[/.]\d{2,4}\b"), "<time>"),
    (_rx(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?:\s?[AP]M)?\b"), "<time>"),
    (_rx(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
    (
        _rx(
            r"(?:/private)?(?:/tmp|/var/tmp|/var/folders|/dev/shm)(?:/[^\s'\"`:,;()\[\]{}<>]*)?"
            r"|[A-Za-z]:\\(?:[^\s\\'\"]+\\)*?(?:Temp|tmp)(?:\\[^\s'\"`:,;()\[\]{}<>]*)*",
            re.IGNORECASE,
        ),
        "<tmp>",
    ),
    (_rx(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b"), "<host>"),
    (_rx(r"\b0x[0-9a-fA-F]+\b"), "<addr>"),
    (_rx(r"@[0-9a-fA-F]{4,}\b"), "@<addr>"),
    (_rx(r"\b(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b"), "<hex>"),
    (_rx(r"\b(?=[\w-]*\d[\w-]*\d)(?=[\w-]*[A-Za-z][\w-]*[A-Za-z])[A-Za-z0-9_-]{12,}\b"), "<id>"),
    (
        _rx(
            r"\b(?:\d+(?:\.\d+)?(?:h|m|s|ms|us|µs|ns)){2,}\b"
            r"|\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?)\b"
        ),
        "<duration>",
    ),
    # JUnit/TestNG "expected:<x> but was:<y>", .NET "Expected:<x>. Actual:<y>."
    (_rx(r"((?:expected|but was|actual)\s*:\s*)<[^<>\n]*>", re.IGNORECASE), r"\1<value>"),
    (_rx(r"(?<![\w\\])'[^'\n]{0,300}'(?!\w)"), "'<str>'"),
    (_rx(r'(?<![\w\\])"[^"\n]{0,300}"(?!\w)'), '"<str>"'),
    (_rx(r"(?<![\w\\])`[^`\n]{0,300}`(?!\w)"), "`<str>`"),
    (_rx(r"\d+(?:[.,]\d+)*"), "<n>"),
    (_rx(r"[ \t]+"), " "),
]

_PREFIX = re.compile(r"^\s*(?:E\s+)?(?P<type>[A-Za-z_$][\w$]*(?:[.$][A-Za-z_$][\w$]*)*)(?: \[[\w-]+\])?:(?:\s|$)")
_PYTEST_PHASE = re.compile(r'^failed on (setup|teardown) with "(.*)"\s*$', re.DOTALL)
_TYPE_LIKE = re.compile(r"(?:Error|Exception|Failure|Panic|Fault|Exit|Interrupt|Warning)$")


def mask(text: str) -> str:
    """The text with its volatile parts replaced by placeholders (``<n>``, ``<uuid>``…)."""
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text.strip()


def exception_of(declared: str | None, message: str | None, trace: str | None) -> str:
    """The exception type: as declared, else from a ``Type: …`` first line, else ``""``."""
    if declared and declared.strip():
        return _short(declared.strip())
    if message and message.lstrip().startswith("assert "):
        return "AssertionError"  # pytest's rewritten assert, when the report lost the type
    for text in (message, trace):
        if not text:
            continue
        first = text.lstrip().split("\n", 1)[0]
        if first.startswith("panic: "):
            return "panic"
        match = _PREFIX.match(first)
        if match and _TYPE_LIKE.search(match.group("type")):
            return _short(match.group("type"))
    return ""


def _mask_line(line: str) -> str:
    """``mask``, once per distinct line (a broken test's message recurs across its runs)."""
    return _mask_once(line) if len(line) <= MEMO_TEXT else mask(line)


_mask_once = lru_cache(maxsize=MEMO_SIZE)(mask)


def _short(name: str) -> str:
    """``java.lang.AssertionError`` and ``AssertionError`` are one type: keep the last name."""
    return name.rsplit(".", 1)[-1] or name


def normalise_message(message: str | None, exception: str) -> str:
    """The masked message: its first lines, without a leading ``Type:`` that repeats the exception."""
    if not message:
        return ""
    wrapped = _PYTEST_PHASE.match(message)
    if wrapped:  # pytest: failed on setup with "RuntimeError: …"
        message = f"failed on {wrapped.group(1)}: {wrapped.group(2)}"
    lines = [line.strip() for line in message[:20_000].splitlines() if line.strip()]
    if lines and exception:
        head = re.sub(r"^failed on \w+: ", "", lines[0])
        match = _PREFIX.match(head)
        if match and _short(match.group("type")) == exception:
            lines[0] = (lines[0][: len(lines[0]) - len(head)] + head[match.end() :]).strip()
            if not lines[0]:
                lines.pop(0)
    text = " | ".join(_mask_line(line) for line in lines[:MESSAGE_LINES])
    return text[:MESSAGE_CHARS]


# ---------------------------------------------------------------------------- frames


@dataclass(frozen=True, slots=True)
class Frame:
    language: str
    file: str
    function: str

    @property
    def key(self) -> str:
        """The frame as it enters a signature: no line numbers, no machine-specific path."""
        function = _DIGITS.sub("<n>", self.function)
        if self.language in ("java", "dotnet") or (self.language == "go" and function):
            return function
        tail = _basename(self.file)
        return f"{tail}:{function}" if function else tail


_DIGITS = re.compile(r"\d+")
_PY_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line \d+, in (?P<fn>\S+)')
_PYTEST_LOCATION = re.compile(r"^(?P<file>[^\s:][^:\n]*\.py):\d+:(?: in (?P<fn>[\w<>.]+))?")
_PY_DEF = re.compile(r"^\s*(?:async\s+)?def (?P<fn>\w+)\s*\(")
#: ``rest`` is the text after ``at`` up to its last non-blank (``.*\S``; a blank ``.`` if none):
#: what a lazy ``.+?\s*$`` matches, without retrying the end at every character
_AT = re.compile(r"^\s*at (?P<rest>.*\S|.)\s*$")
_JS_CALL = re.compile(r"^(?:async )?(?:(?P<fn>.+?) \((?P<loc>[^()]*(?:\([^()]*\))?[^()]*)\)|(?P<bare>\S+))$")
_JS_LOC = re.compile(r"^(?P<file>.+?):\d+(?::\d+)?$")
_JS_LINE_COLUMN = re.compile(r":\d+:\d+$")
_JS_AT_END = re.compile(r":\d+:\d+\)?$")
_NOT_JS_FILE = re.compile(r"\.(?:java|kt|cs)$")
_VITEST = re.compile(r"^\s*\u276f (?:(?P<fn>[^\s:]+) )?(?P<file>\S+?):\d+:\d+\s*$")
_JS_FIREFOX = re.compile(r"^\s*(?P<fn>[^@\s]*)@(?P<file>\S+?):\d+:\d+\s*$")
_JAVA_CALL = re.compile(r"^(?:[\w.\-]+/+)?(?P<fn>[\w$.<>\[\]/-]+)\((?P<src>[^()]*)\)$")
_JAVA_SRC = re.compile(
    r"^(?:[\w$.-]+\.(?:java|kt|kts|scala|groovy|clj|aj)(?::\d+)?|Native Method|Unknown Source|Compiled Code)$"
)
_DOTNET_CALL = re.compile(r"^(?P<fn>[^\s(]+)\((?P<args>[^)]*)\)(?: in (?P<file>.+?):line \d+)?$")
_GO_FUNC = re.compile(r"^(?:panic\(|(?P<fn>(?:[\w.\-/]|\(\*?\w+\))+)\().*\)$")
_GO_FILE = re.compile(r"^\s+(?P<file>\S+\.go):\d+(?: \+0x[0-9a-f]+)?\s*$")
_GO_LOCATION = re.compile(r"(?P<file>[\w./\\-]+\.go):\d+")
_URL_SCHEME = re.compile(r"^(?:file|webpack(?:-internal)?)://+")


def _basename(path: str) -> str:
    """Checkouts differ between machines (``/home/runner/work/…``, ``C:\\build\\…``): keep the file name."""
    cleaned = _URL_SCHEME.sub("", path).split("?", 1)[0].replace("\\", "/")
    return cleaned.rstrip("/").rsplit("/", 1)[-1]


def _js_frame(rest: str) -> Frame | None:
    match = _JS_CALL.match(rest)
    if not match:
        return None
    loc = match.group("loc") if match.group("fn") is not None else match.group("bare")
    if loc in ("<anonymous>", "native", "native code"):
        return Frame("js", loc, match.group("fn") or "")
    located = _JS_LOC.match(loc or "")
    if not located or (match.group("bare") and not _JS_LINE_COLUMN.search(loc or "")):
        return None
    file = located.group("file")
    if _NOT_JS_FILE.search(file):
        return None
    return Frame("js", file, match.group("fn") or "")


def _at_frame(rest: str) -> Frame | None:
    """``_read_at_frame``, read once per distinct line (runner frames recur in every trace)."""
    return _read_at_frame_once(rest) if len(rest) <= MEMO_TEXT else _read_at_frame(rest)


def _read_at_frame(rest: str) -> Frame | None:
    """A line ``at …``: JavaScript (V8), Java/JVM or .NET, told apart by what is in the parentheses."""
    if _JS_AT_END.search(rest) or rest.endswith(("(<anonymous>)", "(native)")):
        return _js_frame(rest)
    if " in " in rest and ":line " in rest:
        dotnet = _DOTNET_CALL.match(rest)
        return Frame("dotnet", dotnet.group("file") or "", dotnet.group("fn")) if dotnet else None
    java = _JAVA_CALL.match(rest)
    if java and _JAVA_SRC.match(java.group("src")):
        return Frame("java", java.group("src"), java.group("fn"))
    dotnet = _DOTNET_CALL.match(rest)
    if dotnet:
        return Frame("dotnet", "", dotnet.group("fn"))
    return _js_frame(rest)


_read_at_frame_once = lru_cache(maxsize=MEMO_SIZE)(_read_at_frame)


def _window(trace: str) -> str:
    if len(trace) <= TRACE_WINDOW:
        return trace
    half = TRACE_WINDOW // 2
    return trace[:half] + "\n" + trace[-half:]


def _scan(window: str) -> Iterator[Frame]:
    """Frames in the order the trace lists them (Python's outermost first). Each pattern is
    tried only on a line holding the text it needs (most lines of a trace are no frame)."""
    last_def = ""
    previous = ""
    for line in window.splitlines():
        if not line.strip():
            continue
        if 'File "' in line and (match := _PY_FRAME.match(line)):
            yield Frame("python", match.group("file"), match.group("fn"))
        elif ".py:" in line and (match := _PYTEST_LOCATION.match(line)):
            yield Frame("python", match.group("file"), match.group("fn") or last_def)
            last_def = ""
        elif "def " in line and (match := _PY_DEF.match(line)):
            last_def = match.group("fn")
        elif "at " in line and (match := _AT.match(line)):
            frame = _at_frame(match.group("rest"))
            if frame:
                yield frame
        elif ("\u276f" in line and (match := _VITEST.match(line))) or (
            "@" in line and (match := _JS_FIREFOX.match(line))
        ):
            yield Frame("js", match.group("file"), match.group("fn") or "")
        elif ".go:" in line and (match := _GO_FILE.match(line)):
            caller = _GO_FUNC.match(previous.strip())
            function = (caller.group("fn") or "panic") if caller else ""
            yield Frame("go", match.group("file"), function.rsplit("/", 1)[-1])
        elif ".go:" in line and (match := _GO_LOCATION.search(line)):
            yield Frame("go", match.group("file"), "")
        previous = line


def parse_frames(trace: str) -> list[Frame]:
    """Every stack frame recognised in the trace, innermost first (Python's are reversed)."""
    frames = list(_scan(_window(trace)))
    python = [f for f in frames if f.language == "python"]
    return list(reversed(python)) + [f for f in frames if f.language != "python"]


def _innermost_first(trace: str) -> Iterable[Frame]:
    """``parse_frames``, lazily when the trace can hold no Python frame (those come
    outermost first, so they need the whole trace): a signature needs only the first few
    application frames, and a 2 KB JVM trace is mostly runner frames below them."""
    window = _window(trace)
    if 'File "' in window or ".py:" in window:
        return parse_frames(trace)
    return _scan(window)


_FRAMEWORK = {
    "python": re.compile(
        r"[/\\](?:_pytest|pytest|pluggy|unittest|asyncio|trio|anyio|concurrent|importlib|nose2?)[/\\]"
        r"|[/\\](?:runpy|threading|contextlib|functools|case|main)\.py$"
        r"|site-packages|dist-packages|[/\\]lib[/\\]python\d|^<frozen|^<string>"
    ),
    "java": re.compile(
        r"^(?:java|javax|jdk|sun|com\.sun|org\.junit|junit|org\.testng|org\.apache\.maven|org\.gradle|"
        r"worker\.org\.gradle|org\.hamcrest|org\.assertj|org\.opentest4j|org\.mockito|kotlin|kotlinx|scala|"
        r"org\.scalatest|org\.spockframework|org\.codehaus\.groovy|groovy|com\.intellij|org\.eclipse\.jdt|"
        r"org\.springframework|net\.bytebuddy|org\.jetbrains|io\.kotest|org\.jboss|jakarta)\."
    ),
    "js": re.compile(
        r"node_modules|^node:|^internal/|^<anonymous>$|^native|^\[native code\]|^bun:|^deno:|"
        r"jest-circus|jest-jasmine|jest-runner|@playwright|playwright-core|@vitest"
    ),
    "go": re.compile(
        r"/src/(?:runtime|testing|reflect|sync|internal)/|/pkg/mod/|github\.com/stretchr/testify|"
        r"^(?:testing|runtime|reflect|sync)\.|^panic$"
    ),
    "dotnet": re.compile(
        r"^(?:System|Microsoft\.VisualStudio\.TestTools|Microsoft\.VisualStudio\.TestPlatform|Microsoft\.TestPlatform|"
        r"NUnit|Xunit|xunit|FluentAssertions|Moq|Castle|Shouldly|NSubstitute)\."
    ),
}
_JS_BUILTIN_FUNCTIONS = re.compile(r"^(?:new Promise|Promise\.|Array\.|processTicksAndRejections|process\.)")


def is_framework(frame: Frame) -> bool:
    """A frame of a test runner, framework, the standard library or a third-party package."""
    rule = _FRAMEWORK[frame.language]
    if frame.language in ("java", "dotnet"):
        return bool(rule.search(frame.function))
    if frame.language == "go":
        return bool(rule.search(frame.file) or rule.search(frame.function))
    if frame.language == "js" and _JS_BUILTIN_FUNCTIONS.match(frame.function) and not frame.file.startswith("/"):
        return True
    return bool(rule.search(frame.file))


def _app_key(frame: Frame) -> str | None:
    """The frame's key, ``None`` for a framework frame; judged once per distinct frame."""
    if len(frame.file) + len(frame.function) <= MEMO_TEXT:
        return _judge_once(frame)
    return _judge(frame)


def _judge(frame: Frame) -> str | None:
    """``None`` for a framework frame, else its key."""
    return None if is_framework(frame) else frame.key


_judge_once = lru_cache(maxsize=MEMO_SIZE)(_judge)


def app_frames(trace: str | None, limit: int = SIGNATURE_FRAMES) -> list[str]:
    """The keys of the innermost ``limit`` frames that belong to the code under test."""
    if not trace:
        return []
    keys: list[str] = []
    for frame in _innermost_first(trace):
        key = _app_key(frame)
        if key is None:
            continue
        if key and (not keys or keys[-1] != key):
            keys.append(key)
        if len(keys) >= limit:
            break
    return keys


# ---------------------------------------------------------------------------- signature


@dataclass(frozen=True, slots=True)
class Signature:
    exception: str
    message: str
    frames: tuple[str, ...]

    @property
    def template(self) -> str:
        """Exception, masked message, then one ``at FRAME`` line per frame."""
        lines = [self.exception or "-", self.message or "-", *(f"at {f}" for f in self.frames)]
        return "\n".join(lines)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.template.encode()).hexdigest()

    @property
    def top_frame(self) -> str:
        return self.frames[0] if self.frames else ""


@lru_cache(maxsize=4096)
def compute(exception: str | None, message: str | None, trace: str | None) -> Signature:
    """The signature of one failure, from what a case run stores (pure, so repeated
    failures in a launch, e.g. every parameter of one broken test, are computed once)."""
    kind = exception_of(exception, message, trace)
    text = normalise_message(message, kind)
    frames = app_frames(trace)
    if not frames and message and not trace:
        frames = app_frames(message)
    return Signature(exception=kind, message=text, frames=tuple(frames))


def parse_template(template: str) -> Signature:
    """A stored template back into its parts."""
    lines = template.split("\n")
    exception = "" if lines[0] == "-" else lines[0]
    message = lines[1] if len(lines) > 1 and lines[1] != "-" else ""
    frames = tuple(line[3:] for line in lines[2:] if line.startswith("at "))
    return Signature(exception=exception, message=message, frames=frames)


_TOKENS = re.compile(r"<\w+>|\w+|[^\w\s]")


def tokens(message: str) -> list[str]:
    return _TOKENS.findall(message)


def similarity(a: str, b: str) -> float:
    """How alike two masked messages are: difflib's ratio over their tokens (0…1)."""
    if a == b:
        return 1.0
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return 0.0
    return SequenceMatcher(None, ta, tb, autojunk=False).ratio()
