"""``caserun upload``: send report files (and the attachments they reference) as one launch.

A directory that a format reads whole (an Allure results directory, found by content or
named with ``--format allure``) is one report: it is zipped into a temporary file and sent
as one ``report`` part named in the ``archive`` field; other directories are expanded
into their files."""

from __future__ import annotations

import glob
import hashlib
import json
import tempfile
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any, cast

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from caserun.cli import replay
from caserun.cli.options import OutputOpt, TokenOpt, UrlOpt
from caserun.cli.output import console, emit_json, errors, fail
from caserun.client import Client
from caserun.errors import ParseError
from caserun.ingest import registry
from caserun.ingest.protocol import ReportParser, ReportSource

PROGRESS_FROM_BYTES = 8 * 1024 * 1024
#: already compressed: stored in the archive as they are
_STORED = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".webm", ".mp4", ".zip", ".gz", ".br", ".zst"}


@dataclass
class LocalReport:
    path: Path
    parser: ReportParser
    tests: int = 0
    attempts: int = 0
    attachments: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def directory(self) -> bool:
        return self.path.is_dir()

    def files(self) -> list[Path]:
        """The report's own files: itself, or every regular file inside its directory."""
        return directory_files(self.path) if self.directory else [self.path]

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.files())


def directory_files(folder: Path) -> list[Path]:
    """Regular files inside ``folder`` (any depth); symlinks are left out."""
    root = folder.resolve()
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and p.resolve().is_relative_to(root)
    )


def _reads_directory(path: Path, fmt: str | None, named: bool) -> bool:
    """Whether a directory is one report: ``--format`` names a format that reads
    directories (and this is the directory named, or it holds that format's results),
    or, without ``--format``, a format claims the directory by its content."""
    source = ReportSource(path, str(path))
    if fmt:
        parser = registry.get(fmt)
        if not getattr(parser, "reads_directories", False):
            return False
        return named or parser.sniff(b"", source) >= registry.MIN_CONFIDENCE
    try:
        registry.detect(source)
    except ParseError:
        return False
    return True


def _expand_directory(path: Path, fmt: str | None) -> list[tuple[Path, bool]]:
    if _reads_directory(path, fmt, named=True):
        return [(path, True)]
    reports = [d for d in sorted(path.rglob("*")) if d.is_dir() and _reads_directory(d, fmt, named=False)]
    reports = [d for d in reports if not any(d != o and d.is_relative_to(o) for o in reports)]
    files = [p for p in sorted(path.rglob("*")) if p.is_file() and not any(p.is_relative_to(d) for d in reports)]
    return sorted([(p, False) for p in [*files, *reports]], key=lambda pair: pair[0])


def expand(args: list[str], fmt: str | None = None) -> list[tuple[Path, bool]]:
    """Files named, globbed or found in directories; the flag says whether it was named.
    A directory that is a report itself (see :func:`_reads_directory`) is kept whole."""
    found: list[tuple[Path, bool]] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found += _expand_directory(path, fmt)
        elif path.is_file():
            found.append((path, True))
        else:
            matches = sorted(Path(m) for m in glob.glob(arg, recursive=True))
            files = [m for m in matches if m.is_file()]
            if not files:
                raise ParseError("no such file, and no file matches this pattern", file=arg)
            found += [(m, False) for m in files]
    return found


def _resolve(report: Path, ref: str) -> Path | str:
    """The local file an attachment reference names, if it lies inside the report's folder
    (for a directory report: inside the directory itself)."""
    base = report.resolve() if report.is_dir() else report.resolve().parent
    given = Path(ref)
    target = (given if given.is_absolute() else base / given).resolve()
    if not target.is_relative_to(base):
        return f"attachment {ref!r} is outside the report's directory and was not sent"
    if not target.is_file():
        where = "in" if report.is_dir() else "next to"
        return f"attachment {ref!r} was not found {where} {report.name}"
    return target


def inspect(path: Path, fmt: str | None, named: bool, *, count: bool = True) -> LocalReport | None:
    """What the report holds; with ``count=False`` a format that can list the files it
    references without a full parse (JUnit) is not parsed here, only on the server."""
    source = ReportSource(path, str(path))
    if fmt:
        parser = registry.get(fmt)
    else:
        try:
            parser = registry.detect(source)
        except ParseError:
            if named:
                raise
            return None  # a file in a directory that is not a report (a screenshot, say)
    report = LocalReport(path=path, parser=parser)
    scan = getattr(parser, "referenced_paths", None) if not count else None
    paths = scan(source) if scan is not None else None
    if paths is not None:
        # the server parses (and refuses) the report; here only the files it names matter
        report.tests = report.attempts = -1
        for ref in paths:
            _attach(report, path, ref)
        return report
    for result in parser.parse(source):
        report.tests += 1
        report.attempts += len(result.attempts)
        for attempt in result.attempts:
            for ref in attempt.attachments:
                if ref.path is not None:
                    _attach(report, path, ref.path)
    return report


def _attach(report: LocalReport, path: Path, ref: str) -> None:
    if ref in report.attachments:
        return
    resolved = _resolve(path, ref)
    if isinstance(resolved, str):
        if resolved not in report.warnings:
            report.warnings.append(resolved)
    else:
        report.attachments[ref] = resolved


def idempotency_key(reports: list[LocalReport], fields: list[tuple[str, str]], project: str) -> str:
    digest = hashlib.sha256(json.dumps([project, sorted(fields)]).encode())
    for report in reports:
        for path in report.files():
            if report.directory:
                digest.update(path.relative_to(report.path).as_posix().encode() + b"\x00")
            with path.open("rb") as stream:
                while chunk := stream.read(1024 * 1024):
                    digest.update(chunk)
    return "cli-" + digest.hexdigest()[:48]


def zip_directory(report: LocalReport, into: IO[bytes]) -> None:
    """The directory's files as a zip, written (streamed, file by file) to ``into``."""
    with zipfile.ZipFile(into, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in report.files():
            stored = path.suffix.lower() in _STORED
            archive.write(
                path,
                arcname=path.relative_to(report.path).as_posix(),
                compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
            )


def part_names(reports: list[LocalReport]) -> list[str]:
    """The filename each report is sent under; a directory's is ``NAME.zip``, unique."""
    taken = {r.path.name for r in reports if not r.directory}
    names = []
    for report in reports:
        if not report.directory:
            names.append(report.path.name)
            continue
        stem = report.path.resolve().name or "report"
        name, n = f"{stem}.zip", 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}.zip"
        taken.add(name)
        names.append(name)
    return names


class _Counted:
    """A file whose reads advance a progress bar."""

    def __init__(self, stream: IO[bytes], progress: Progress, task: Any) -> None:
        self.stream, self.progress, self.task = stream, progress, task

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.progress.advance(self.task, len(chunk))
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def upload(
    files: Annotated[list[str], typer.Argument(help="Report files, globs or directories.")],
    project: Annotated[str, typer.Option("--project", "-p", help="Project key.")],
    launch: Annotated[str | None, typer.Option("--launch", help="Launch name, e.g. 'CI #12'.")] = None,
    environment: Annotated[str | None, typer.Option(help="Environment, e.g. staging.")] = None,
    branch: Annotated[str | None, typer.Option(help="Branch under test.")] = None,
    commit: Annotated[str | None, typer.Option(help="Commit under test.")] = None,
    build_url: Annotated[str | None, typer.Option(help="Link to the CI build.")] = None,
    attr: Annotated[list[str] | None, typer.Option("--attr", help="K=V launch attribute (repeatable).")] = None,
    format: Annotated[str | None, typer.Option("--format", help="Skip detection; see `caserun formats`.")] = None,
    retry_of: Annotated[int | None, typer.Option("--retry-of", help="The launch id these results retry.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be sent; send nothing.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "text",
) -> None:
    """Upload test reports as one launch, with the attachments they reference.

    caserun-events files (pytest plugin spools, --caserun-jsonl) are replayed to the
    event API instead, so they complete the launch they belong to."""
    fields: list[tuple[str, str]] = [("source", "cli")]
    for name, value in (
        ("name", launch),
        ("environment", environment),
        ("branch", branch),
        ("commit", commit),
        ("build_url", build_url),
        ("format", format),
        ("retry_of", str(retry_of) if retry_of is not None else None),
    ):
        if value is not None:
            fields.append((name, value))
    for item in attr or []:
        if "=" not in item:
            fail(f"--attr {item!r} is not K=V", 2)
        fields.append(("attr", item))

    reports = [
        r for path, named in expand(files, format) if (r := inspect(path, format, named, count=dry_run)) is not None
    ]
    if not reports:
        fail("no test reports found in " + ", ".join(files))
    for report in reports:
        for warning in report.warnings:
            errors.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if not dry_run and retry_of is None and all(r.parser.name == replay.FORMAT for r in reports):
        overrides = {k: v for k, v in fields if k in ("name", "environment", "branch", "commit", "build_url")}
        attributes = dict(item.split("=", 1) for item in attr or [])
        replay.upload([r.path for r in reports], project, {**overrides, "attributes": attributes}, url, token, output)
        return
    # a directory report's attachments travel inside its archive
    attachments = {ref: p for r in reports if not r.directory for ref, p in r.attachments.items()}
    key = idempotency_key(reports, fields, project)

    if dry_run:
        plan = {
            "project": project,
            "launch": dict(fields),
            "attributes": attr or [],
            "idempotency_key": key,
            "files": [
                {
                    "path": str(r.path),
                    "directory": r.directory,
                    "format": r.parser.name,
                    "tests": r.tests,
                    "attempts": r.attempts,
                    "attachments": sorted(r.attachments),
                    "warnings": r.warnings,
                }
                for r in reports
            ],
            "attachments": len(attachments) + sum(len(r.attachments) for r in reports if r.directory),
            "bytes": sum(r.size for r in reports) + sum(p.stat().st_size for p in attachments.values()),
        }
        if output == "json":
            emit_json({"dry_run": plan})
        else:
            for r in reports:
                kind = " (directory)" if r.directory else ""
                console.print(
                    f"{r.path}{kind}: {r.parser.name}, {r.tests} tests, {len(r.attachments)} attachments",
                    highlight=False,
                )
            console.print("dry run: nothing was sent")
        return

    names = part_names(reports)
    with ExitStack() as stack:
        handles: list[IO[bytes]] = []
        for report in reports:
            if report.directory:
                spooled = stack.enter_context(tempfile.TemporaryFile(prefix="caserun-upload-", suffix=".zip"))
                zip_directory(report, spooled)
                spooled.seek(0)
                handles.append(spooled)
            else:
                handles.append(stack.enter_context(report.path.open("rb")))
        total = sum(h.seek(0, 2) for h in handles)
        for handle in handles:
            handle.seek(0)
        archives = [name for name, r in zip(names, reports, strict=True) if r.directory]
        with (
            Client(url, token, timeout=answer_timeout(total)) as client,
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=errors,
                transient=True,
                disable=total < PROGRESS_FROM_BYTES or output == "json",
            ) as progress,
        ):
            task = progress.add_task("uploading", total=total)
            streams: list[tuple[str, IO[bytes]]] = [
                (name, cast(IO[bytes], _Counted(h, progress, task))) for name, h in zip(names, handles, strict=True)
            ]
            body = client.import_reports(project, streams, attachments, fields, idempotency_key=key, archives=archives)
    launch_body = body["launch"]
    if output == "json":
        emit_json({"launch": {"id": launch_body["id"], "url": launch_body["url"], "summary": launch_body["summary"]}})
        return
    s = launch_body["summary"]
    rate = f"{s['pass_rate']}%" if s["pass_rate"] is not None else "–"
    console.print(
        f"launch {launch_body['id']}: {s['total']} tests, {s['passed']} passed, {s['failed']} failed, "
        f"{s['skipped']} skipped, pass rate {rate}",
        highlight=False,
    )
    typer.echo(launch_body["url"])


#: the server parses and stores before it answers: allow it this long per byte sent
SECONDS_PER_MB = 1.0
MIN_TIMEOUT_S = 300.0


def answer_timeout(total_bytes: int) -> float:
    """How long to wait for the server's answer: five minutes, or a second per MB sent
    (a 1 GB report takes minutes to import, and the answer comes only at the end)."""
    return max(MIN_TIMEOUT_S, total_bytes / 1e6 * SECONDS_PER_MB)


def register(app: typer.Typer) -> None:
    app.command("upload")(upload)
