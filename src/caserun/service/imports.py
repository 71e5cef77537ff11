"""Importing report files into one new launch, all or nothing.

Every file is detected (or its ``--format`` taken) before anything is written; the
launch, its test cases and case runs are then written in one transaction. A parse error
anywhere, or a crash, rolls everything back: no partial launch is ever visible.

A report that is a directory (an Allure results directory) arrives as a zip archive. It
is unpacked into a scratch directory before anything is written, and refused with a 4xx
naming the archive when it is not plainly a directory of files: entries that climb out
(``../``), absolute names, symlinks and other special files, encrypted entries, more
entries or more unpacked bytes than allowed, or a compression ratio only a zip bomb has.
The sizes are counted while unpacking, not taken from the archive's own headers.
"""

from __future__ import annotations

import hashlib
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from caserun.analysis import stats
from caserun.domain.model import LaunchStatus, Role, TestResult
from caserun.errors import InvalidInput, PayloadTooLarge
from caserun.ingest import registry
from caserun.ingest.protocol import ReportParser, ReportSource
from caserun.service import parse_process, webhooks
from caserun.service.attachments import AttachmentStore
from caserun.service.auth import Principal
from caserun.service.launches import (
    LaunchParams,
    check_same_request,
    idempotent_winner,
    insert_launch,
    request_hash,
)
from caserun.service.projects import lookup
from caserun.service.recording import LaunchRecorder
from caserun.service.views import LaunchView
from caserun.store import launches
from caserun.store.blobs import BlobStore
from caserun.store.engine import Database


@dataclass(frozen=True, slots=True)
class ReportFile:
    path: Path
    name: str
    format: str | None = None
    #: the file is a zip of a report directory, unpacked before it is read
    archive: bool = False


#: an archive may hold at most this many entries
MAX_ARCHIVE_ENTRIES = 100_000
#: unpacked bytes per packed byte, past which an archive (or an entry over RATIO_FLOOR) is a zip bomb
MAX_ARCHIVE_RATIO = 200
RATIO_FLOOR = 1024 * 1024
_CHUNK = 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_bytes: int
    max_entries: int = MAX_ARCHIVE_ENTRIES
    max_ratio: int = MAX_ARCHIVE_RATIO


@dataclass(frozen=True, slots=True)
class Plan:
    """What an import would do: each file's detected format."""

    files: list[tuple[ReportFile, ReportParser]]


def plan(files: Sequence[ReportFile]) -> Plan:
    chosen = []
    for report in files:
        source = ReportSource(report.path, report.name)
        if not report.format and not report.path.is_dir() and source.head(len(_ZIP_MAGIC)) == _ZIP_MAGIC:
            raise InvalidInput(
                f"{report.name} is a zip archive: to import a results directory, name it in an 'archive' field"
            )
        parser = registry.get(report.format) if report.format else registry.detect(source)
        chosen.append((report, parser))
    return Plan(chosen)


def parse_all(planned: Plan, sources: list[ReportSource]) -> Iterator[TestResult]:
    for (_report, parser), source in zip(planned.files, sources, strict=True):
        yield from parser.parse(source)


def import_reports(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    project_key: str,
    files: Sequence[ReportFile],
    attachments: Mapping[str, Path],
    params: LaunchParams,
    *,
    base_url: str,
    max_attachment_bytes: int,
    archive_limits: ArchiveLimits | None = None,
) -> tuple[LaunchView, bool]:
    """Create one completed launch from the files; returns it and whether it is new
    (False when the idempotency key matched an earlier import, or a concurrent one that
    won the race; a key used before for a different request is refused with 409). Archives
    are unpacked first, into a scratch directory removed at the end."""
    if params.idempotency_key:
        params = replace(params, request_hash=import_hash(params, files, attachments))
    with ExitStack() as stack:
        if any(f.archive for f in files):
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="caserun-archive-")))
            limits = archive_limits or ArchiveLimits(max_bytes=4 * 1024**3)
            files, attachments = _unpack_all(files, attachments, scratch, limits)
        try:
            return _import(
                db,
                blobs,
                principal,
                project_key,
                files,
                attachments,
                params,
                base_url=base_url,
                max_attachment_bytes=max_attachment_bytes,
            )
        except IntegrityError:
            winner = idempotent_winner(db, project_key, params)
            if winner is None:
                raise
            return LaunchView.from_row(winner, project_key, base_url), False


def import_hash(params: LaunchParams, files: Sequence[ReportFile], attachments: Mapping[str, Path]) -> str:
    """The request fingerprint of an import: launch parameters, each report's format and
    archive flag and the sha256 of its bytes, and the sha256 of each attachment."""
    digests = [f"{f.format or ''}:{int(f.archive)}:{_file_sha256(f.path)}" for f in files]
    digests += sorted(f"attachment:{name}:{_file_sha256(path)}" for name, path in attachments.items())
    return request_hash(params, digests)


def _file_sha256(path: Path) -> str:
    if path.is_dir():  # a directory report given locally: its files, by name
        digest = hashlib.sha256()
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(f"{child.relative_to(path).as_posix()}\0{_file_sha256(child)}\0".encode())
        return digest.hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _import(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    project_key: str,
    files: Sequence[ReportFile],
    attachments: Mapping[str, Path],
    params: LaunchParams,
    *,
    base_url: str,
    max_attachment_bytes: int,
) -> tuple[LaunchView, bool]:
    planned = plan(files)
    sources = [ReportSource(report.path, report.name) for report, _ in planned.files]
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.REPORTER, project.id)
        if params.idempotency_key:
            existing = launches.by_idempotency_key(conn, project.id, params.idempotency_key)
            if existing is not None:
                check_same_request(existing, params)
                return LaunchView.from_row(existing, project.key, base_url), False
        launch_id = insert_launch(conn, project.id, params, LaunchStatus.RUNNING)
        row = launches.get(conn, launch_id)
        assert row is not None
        recorder = LaunchRecorder(
            conn,
            project_id=project.id,
            launch_id=launch_id,
            launch_started=row["started_at"],
            attachments=AttachmentStore(blobs, attachments, max_bytes=max_attachment_bytes),
            fresh_launch=True,
        )
        if parse_process.worth_it([report.path for report, _ in planned.files]):
            jobs = [(parser.name, str(report.path), report.name) for report, parser in planned.files]
            # closed at once if a write fails: the child is stopped then, not when the
            # error's traceback is let go of
            with closing(parse_process.chunks(jobs, sources, row["started_at"])) as chunks:
                recorder.add_chunks(chunks)
        else:
            recorder.add(parse_all(planned, sources))
        recorder.finish(retry_of=params.retry_of, duration_ms=_reported_duration(sources))
        launches.set_status(conn, launch_id, status=LaunchStatus.COMPLETED.value, finished_at=datetime.now(UTC))
        stats.update_for_launch(conn, launch_id)
        webhooks.enqueue_launch_events(conn, launch_id)  # the outbox: rows only, sent later
        done = launches.get(conn, launch_id)
        assert done is not None
        return LaunchView.from_row(done, project.key, base_url), True


def _reported_duration(sources: list[ReportSource]) -> int | None:
    """The sum of the durations the reports state for themselves, if every one does."""
    values = [s.info.get("duration_ms") for s in sources]
    if not values or any(v is None for v in values):
        return None
    return sum(int(v) for v in values if v is not None)


# --- directory archives ---------------------------------------------------------------


def _unpack_all(
    files: Sequence[ReportFile], attachments: Mapping[str, Path], scratch: Path, limits: ArchiveLimits
) -> tuple[list[ReportFile], dict[str, Path]]:
    """Each archive unpacked to a directory of its own; its files join the attachments
    under their names inside it (the paths a directory report's results use). An archive
    that holds one directory and nothing else (``zip -r r.zip allure-results``) stands
    for that directory."""
    unpacked: list[ReportFile] = []
    found = dict(attachments)
    for index, report in enumerate(files):
        if not report.archive:
            unpacked.append(report)
            continue
        name = report.name.removesuffix(".zip")
        target = scratch / str(index)  # the uploaded name is for messages only, never a path
        target.mkdir()
        written = unpack_archive(report.path, target, report.name, limits)
        inside = list(target.iterdir())
        if len(inside) == 1 and inside[0].is_dir():
            prefix = inside[0].name + "/"
            target, name = inside[0], f"{name}/{inside[0].name}"
            written = [(rel.removeprefix(prefix), local) for rel, local in written]
        for relative, local in written:
            found.setdefault(relative, local)
        unpacked.append(replace(report, path=target, name=name or "report", archive=False))
    return unpacked, found


def _entry_parts(info: zipfile.ZipInfo, archive: str) -> list[str]:
    """The path parts of an entry, or an error naming the archive and the entry."""
    raw = info.filename
    if "\x00" in raw:
        raise InvalidInput(f"archive {archive}: an entry name holds a NUL byte")
    name = raw.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        raise InvalidInput(f"archive {archive}: entry {raw!r} has an absolute name")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidInput(f"archive {archive}: entry {raw!r} points outside the directory")
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise InvalidInput(f"archive {archive}: entry {raw!r} is a symbolic link")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise InvalidInput(f"archive {archive}: entry {raw!r} is not a plain file")
    if info.flag_bits & 0x1:
        raise InvalidInput(f"archive {archive}: entry {raw!r} is encrypted")
    return parts


def _check_sizes(infos: list[zipfile.ZipInfo], packed: int, archive: str, limits: ArchiveLimits) -> None:
    if len(infos) > limits.max_entries:
        raise PayloadTooLarge(f"archive {archive} has {len(infos)} entries, over the limit of {limits.max_entries}")
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_bytes:
        raise PayloadTooLarge(f"archive {archive} unpacks to {declared} bytes, over the limit of {limits.max_bytes}")
    if declared > RATIO_FLOOR and declared > limits.max_ratio * max(packed, 1):
        raise PayloadTooLarge(f"archive {archive} is compressed {declared // max(packed, 1)}:1: refused as a zip bomb")
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise PayloadTooLarge(
                f"archive {archive}: entry {info.filename!r} is compressed "
                f"{info.file_size // max(info.compress_size, 1)}:1: refused as a zip bomb"
            )


def unpack_archive(path: Path, target: Path, archive: str, limits: ArchiveLimits) -> list[tuple[str, Path]]:
    """Unpack the zip at ``path`` into the empty directory ``target``, safely; returns
    ``(name inside the directory, local path)`` for every file written."""
    written: list[tuple[str, Path]] = []
    budget = limits.max_bytes
    root = target.resolve()
    try:
        with zipfile.ZipFile(path) as zipped:
            infos = zipped.infolist()
            _check_sizes(infos, path.stat().st_size, archive, limits)
            entries = [(info, _entry_parts(info, archive)) for info in infos]
            seen: set[str] = set()
            for info, parts in entries:
                if not parts:
                    continue
                relative = "/".join(parts)
                local = root.joinpath(*parts)
                if not local.is_relative_to(root):  # unreachable after the checks above; kept as a guard
                    raise InvalidInput(f"archive {archive}: entry {info.filename!r} points outside the directory")
                if info.is_dir():
                    local.mkdir(parents=True, exist_ok=True)
                    continue
                if relative in seen:
                    raise InvalidInput(f"archive {archive}: entry {relative!r} appears twice")
                seen.add(relative)
                local.parent.mkdir(parents=True, exist_ok=True)
                allowed = max(RATIO_FLOOR, limits.max_ratio * max(info.compress_size, 1))
                size = 0
                with zipped.open(info) as source, local.open("xb") as out:
                    while chunk := source.read(_CHUNK):
                        size += len(chunk)
                        budget -= len(chunk)
                        if budget < 0:
                            raise PayloadTooLarge(f"archive {archive} unpacks to more than {limits.max_bytes} bytes")
                        if size > allowed:
                            raise PayloadTooLarge(
                                f"archive {archive}: entry {info.filename!r} unpacks past {allowed} bytes: "
                                "refused as a zip bomb"
                            )
                        out.write(chunk)
                written.append((relative, local))
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"archive {archive} is not a readable zip file: {exc}") from None
    except (zlib.error, EOFError) as exc:
        raise InvalidInput(f"archive {archive} is damaged: {exc}") from None
    except NotImplementedError as exc:
        raise InvalidInput(f"archive {archive} uses a compression this server does not read: {exc}") from None
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        raise InvalidInput(f"archive {archive} has entries that are both a file and a directory") from None
    return written
