"""A project as JSON Lines: ``caserun export-project`` and ``caserun import-project``.

One JSON object a line, each with a ``type``, streamed in both directions:

1. ``{"type": "caserun-project", "version": 1}``, then ``{"type": "project", …}``;
2. one line a row for each section of ``store.project_dump.SECTIONS`` in turn: test cases,
   launches, defects, failure patterns, case runs, logs, attachments, defect links,
   status changes, quarantine entries and per-test statistics. Rows that other rows point
   at carry ``"id"``: their position in the section (1, 2, …); references carry that
   position too, never a database id;
3. blobs before the attachments: ``{"type": "blob", "sha256", "size", "created_at"}``
   followed by ``{"type": "blob_part", "data": <base64 of up to 1 MiB>}`` lines, or, with a
   side directory (``--blobs-dir``), the file ``DIR/<sha256>`` and no parts.

Tokens, sign-in sessions and share links are not exported: they are secrets of the
installation, not data of the project. Importing is one transaction (all or nothing) into
a new project, under the exported key or ``--as`` another.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection
from sqlalchemy.exc import DataError, IntegrityError

from caserun.errors import ConfigError, Conflict, InvalidInput
from caserun.service.projects import _KEY as KEY_PATTERN  # the one rule for project keys
from caserun.service.projects import lookup
from caserun.store import project_dump, projects
from caserun.store.blobs import BlobStore
from caserun.store.engine import Database
from caserun.store.tables import project

FORMAT = "caserun-project"
VERSION = 1
PART = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: rows inserted per statement while importing
BATCH = 500


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n"


# -- export --------------------------------------------------------------------------------


def export(db: Database, blobs: BlobStore, key: str, *, blobs_dir: Path | None = None) -> Iterator[str]:
    """The project's lines, read in one consistent transaction and produced as they are read."""
    with db.read() as conn:
        target = lookup(conn, key)
        row = projects.by_id(conn, target.id)
        assert row is not None
        yield _line({"type": FORMAT, "version": VERSION})
        yield _line(
            {
                "type": "project",
                "key": row["key"],
                "name": row["name"],
                "created_at": _json(row["created_at"]),
                "settings": row["settings"],
            }
        )
        refs = project_dump.RefMap(conn, target.id)
        for section in project_dump.SECTIONS:
            if section.name == "attachment":
                yield from _export_blobs(conn, blobs, target.id, blobs_dir)
            for values in project_dump.stream(conn, section.rows(target.id)):
                yield _line(_record(section, values, refs))


def _record(section: project_dump.Section, values: Any, refs: project_dump.RefMap) -> dict[str, Any]:
    out: dict[str, Any] = {"type": section.name}
    if section.referenced:
        out["id"] = refs.ref(section.name, int(values["id"]))
    for column in section.fields:
        value = values[column.name]
        target = section.refs.get(column.name)
        if target is not None:
            value = refs.ref(target, value)
        elif column.name == "recent" and section.name == "test_stats" and value:
            # [status, passed_on_retry, launch id, commit, duration]: the launch id becomes a ref
            value = [[*item[:2], refs.ref("launch", item[2]), *item[3:]] for item in value]
        out[column.name] = _json(value)
    return out


def _export_blobs(conn: Connection, blobs: BlobStore, project_id: int, blobs_dir: Path | None) -> Iterator[str]:
    for row in project_dump.stream(conn, project_dump.project_blobs(conn, project_id)):
        sha = str(row["sha256"])
        yield _line({"type": "blob", "sha256": sha, "size": int(row["size"]), "created_at": _json(row["created_at"])})
        try:
            source = blobs.open(sha)
        except FileNotFoundError:
            raise ConfigError(f"blob {sha} is missing from the blob store; the export stopped") from None
        with source:
            if blobs_dir is not None:
                blobs_dir.mkdir(parents=True, exist_ok=True)
                with (blobs_dir / sha).open("wb") as out:
                    while chunk := source.read(PART):
                        out.write(chunk)
                continue
            while chunk := source.read(PART):
                yield _line({"type": "blob_part", "data": base64.b64encode(chunk).decode()})


# -- import --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Imported:
    key: str
    counts: dict[str, int]


class _Importer:
    def __init__(self, conn: Connection, blobs: BlobStore, blobs_dir: Path | None) -> None:
        self.conn = conn
        self.blobs = blobs
        self.blobs_dir = blobs_dir
        self.project_id: int | None = None
        self.key = ""
        self.ids = project_dump.IdMap()
        self.pending: list[dict[str, Any]] = []
        self.pending_section: project_dump.Section | None = None
        #: forward references filled in at the end: (section, row id, column, target, ref)
        self.fixups: list[tuple[project_dump.Section, int, str, str, int]] = []
        self.later: list[list[tuple[str, str, int]]] = []
        self.counts: dict[str, int] = {}
        self.blob: dict[str, Any] | None = None
        self.blob_file: IO[bytes] | None = None
        self.blob_bytes = 0

    def add(self, record: dict[str, Any], line: int, new_key: str | None) -> None:
        kind = record.get("type")
        if kind == "blob_part":
            self._blob_part(record, line)
            return
        self._end_blob(line)
        if kind == FORMAT:
            if record.get("version") != VERSION:
                raise InvalidInput(f"line {line}: export version {record.get('version')!r} is not {VERSION}")
            return
        if kind == "project":
            self._project(record, line, new_key)
            return
        if self.project_id is None:
            raise InvalidInput(f"line {line}: a {kind!r} line before the project line")
        if kind == "blob":
            self._flush()
            self._blob(record, line)
            return
        section = project_dump.BY_NAME.get(str(kind))
        if section is None:
            raise InvalidInput(f"line {line}: unknown line type {kind!r}")
        if section is not self.pending_section or len(self.pending) >= BATCH:
            self._flush()
            self.pending_section = section
        self.pending.append(self._row(section, record, line))
        self.counts[section.name] = self.counts.get(section.name, 0) + 1

    def _project(self, record: dict[str, Any], line: int, new_key: str | None) -> None:
        if self.project_id is not None:
            raise InvalidInput(f"line {line}: a second project line")
        key = new_key or str(record.get("key", ""))
        if not KEY_PATTERN.match(key):
            raise InvalidInput(f"line {line}: {key!r} is not a valid project key")
        if projects.by_key(self.conn, key) is not None:
            raise Conflict(f"project {key!r} already exists; import under another key with --as NEWKEY")
        self.project_id = projects.create(self.conn, key, str(record.get("name") or key))
        values: dict[str, Any] = {"settings": record.get("settings")}
        if record.get("created_at"):
            values["created_at"] = _time(record["created_at"], line, "created_at")
        self.conn.execute(project.update().where(project.c.id == self.project_id).values(**values))
        self.key = key

    def _row(self, section: project_dump.Section, record: dict[str, Any], line: int) -> dict[str, Any]:
        row: dict[str, Any] = {}
        if "project_id" in section.table.c:
            row["project_id"] = self.project_id
        if section.referenced and record.get("id") != len(self.ids.ids[section.name]) + len(self.pending) + 1:
            raise InvalidInput(f"line {line}: {section.name} id {record.get('id')!r} is out of sequence")
        known = {c.name: c for c in section.fields}
        extra = set(record) - set(known) - {"type", "id"}
        if extra:
            raise InvalidInput(f"line {line}: unknown field {sorted(extra)[0]!r} in a {section.name} line")
        later: list[tuple[str, str, int]] = []
        for name, column in known.items():
            value = record.get(name)
            target = section.refs.get(name)
            if target is not None and value is not None:
                if not isinstance(value, int):
                    raise InvalidInput(f"line {line}: {name} must be a number")
                new = self.ids.get(target, value)
                if new is None:
                    later.append((name, target, value))
                value = new
            elif name == "recent" and section.name == "test_stats" and value:
                value = [[*item[:2], self.ids.get("launch", item[2]) if item[2] else None, *item[3:]] for item in value]
            elif project_dump.is_time(column) and value is not None:
                value = _time(value, line, name)
            row[name] = value
        if later and not section.referenced:
            raise InvalidInput(f"line {line}: {section.name} refers to {later[0][1]} {later[0][2]}, not defined")
        self.later.append(later)
        return row

    def _flush(self) -> None:
        section, rows, later = self.pending_section, self.pending, self.later
        self.pending, self.later = [], []
        if section is None or not rows:
            return
        new_ids = project_dump.insert_rows(self.conn, section, rows)
        if section.referenced:
            self.ids.ids[section.name].extend(new_ids)
            for row_id, refs in zip(new_ids, later, strict=True):
                self.fixups += [(section, row_id, name, target, ref) for name, target, ref in refs]

    def _blob(self, record: dict[str, Any], line: int) -> None:
        sha, size = record.get("sha256"), record.get("size")
        if not isinstance(sha, str) or not _SHA256.match(sha) or not isinstance(size, int):
            raise InvalidInput(f"line {line}: a blob line needs sha256 (64 hex digits) and size")
        self.blob = {"sha256": sha, "size": size, "created_at": _time(record.get("created_at"), line, "created_at")}
        if self.blobs_dir is not None:
            try:
                source = (self.blobs_dir / sha).open("rb")
            except FileNotFoundError:
                raise InvalidInput(f"line {line}: blob {sha} is not in {self.blobs_dir}") from None
            with source:
                self._store_blob(source, line)
            self.blob = None
            return
        self.blob_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _end_blob
        self.blob_bytes = 0

    def _blob_part(self, record: dict[str, Any], line: int) -> None:
        if self.blob_file is None:
            raise InvalidInput(f"line {line}: a blob_part line outside a blob")
        try:
            data = base64.b64decode(str(record.get("data", "")), validate=True)
        except ValueError:
            raise InvalidInput(f"line {line}: blob_part data is not base64") from None
        self.blob_file.write(data)

    def _end_blob(self, line: int) -> None:
        if self.blob_file is None:
            return
        with self.blob_file as source:
            source.seek(0)
            self._store_blob(source, line)
        self.blob_file, self.blob = None, None

    def _store_blob(self, source: IO[bytes], line: int) -> None:
        assert self.blob is not None
        sha, size = self.blobs.put(source)
        if sha != self.blob["sha256"] or size != self.blob["size"]:
            raise InvalidInput(f"line {line}: blob {self.blob['sha256']} content does not match its digest")
        project_dump.add_blob(self.conn, self.blob)

    def finish(self, line: int) -> None:
        self._end_blob(line)
        self._flush()
        if self.project_id is None:
            raise InvalidInput("no project line: this is not a caserun project export")
        for section, row_id, name, target, ref in self.fixups:
            new = self.ids.get(target, ref)
            if new is None:
                raise InvalidInput(f"{section.name} refers to {target} {ref}, which the file does not hold")
            project_dump.set_value(self.conn, section, row_id, name, new)


def _time(value: Any, line: int, name: str) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"line {line}: {name} {value!r} is not an ISO 8601 time") from None


def import_lines(
    db: Database, blobs: BlobStore, lines: Iterable[str], *, new_key: str | None = None, blobs_dir: Path | None = None
) -> Imported:
    """Import an export as a new project, in one transaction; nothing is written on error."""
    try:
        return _import(db, blobs, lines, new_key, blobs_dir)
    except (IntegrityError, DataError) as exc:
        # a value of the right JSON type that the database still refuses (a hand-edited file)
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        raise InvalidInput(f"the database refused a row of the file: {reason}") from None


def _import(
    db: Database, blobs: BlobStore, lines: Iterable[str], new_key: str | None, blobs_dir: Path | None
) -> Imported:
    with db.write() as conn:
        importer = _Importer(conn, blobs, blobs_dir)
        number = 0
        for number, text in enumerate(lines, 1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"line {number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise InvalidInput(f"line {number}: not a JSON object")
            importer.add(record, number, new_key)
        importer.finish(number)
    return Imported(key=importer.key, counts=importer.counts)
