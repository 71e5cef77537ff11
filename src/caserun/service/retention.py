"""Per-project retention: delete old launches, logs and attachments; keep what is marked
kept; garbage-collect blobs nothing references any more.

A project's policy lives in ``project.settings`` as three numbers of days, each optional
(absent or null: keep for ever):

- ``retention_days``: launches recorded longer ago are deleted with their case runs,
  logs, attachment rows, defect links and audit rows;
- ``logs_days``: captured stdout/stderr of older launches is deleted, the results stay;
- ``attachments_days``: attachments of older launches are deleted, the results stay.

Launches marked **kept** and launches still running are never touched. Work happens in
bounded batches, one transaction each, so a big first run neither holds a lock for
minutes nor loses all progress when interrupted (each batch is all-or-nothing).

Per-test statistics (``test_stats``) are **kept** as they are: they summarise the whole
history of a test, including launches deleted since; a deleted launch still counts in a
test's runs, pass/fail counts and its recent results. (Rebuilding them from what remains
would make a test's flakiness forget everything older than the retention window.)

Blobs are collected after the deletions have committed: a blob row no attachment
references is deleted, then its file, unless the file was written or reused within the
grace period (``Settings.blob_grace_s``), which protects uploads in progress. Blob files
without any row (left by an upload whose transaction rolled back) go the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy.exc import IntegrityError

from caserun.domain.model import Role
from caserun.errors import InvalidInput, NotFound
from caserun.service.auth import Principal
from caserun.service.projects import Project, lookup
from caserun.store import launches, projects, retention
from caserun.store.blobs import BlobStore
from caserun.store.engine import Database

#: launches deleted per transaction
LAUNCH_BATCH = 50
#: log or attachment rows deleted per transaction
ROW_BATCH = 1000
#: blobs examined per step of garbage collection
BLOB_BATCH = 500
MAX_DAYS = 36500
SETTING_KEYS = ("retention_days", "logs_days", "attachments_days")
MANAGE_ROLE = Role.MAINTAINER

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Policy:
    retention_days: int | None = None
    logs_days: int | None = None
    attachments_days: int | None = None

    @classmethod
    def from_settings(cls, values: dict[str, Any]) -> Policy:
        return cls(**{k: _days(k, values.get(k)) for k in SETTING_KEYS})

    def as_dict(self) -> dict[str, int | None]:
        return {k: getattr(self, k) for k in SETTING_KEYS}


def _days(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise InvalidInput(f"{name} must be a whole number of days from 1 to {MAX_DAYS}, or null to keep for ever")
    return value


@dataclass(slots=True)
class ProjectResult:
    project: str
    policy: Policy
    launches: int = 0
    logs: int = 0
    attachments: int = 0
    attachment_bytes: int = 0


@dataclass(slots=True)
class RetentionResult:
    dry_run: bool
    projects: list[ProjectResult] = field(default_factory=list)
    #: blobs deleted (or, in a dry run, unreferenced now and old enough to delete)
    blobs: int = 0
    blob_bytes: int = 0


# -- settings and keep -------------------------------------------------------------------


def get_policy(db: Database, principal: Principal, project_key: str) -> Policy:
    with db.read() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.VIEWER, project.id)
        return Policy.from_settings(retention.project_settings(conn, project.id))


def set_policy(db: Database, principal: Principal, project_key: str, policy: Policy) -> Policy:
    """Replace the project's retention settings (maintainer); other settings stay."""
    Policy.from_settings(policy.as_dict())  # validates
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(MANAGE_ROLE, project.id)
        values = retention.project_settings(conn, project.id)
        values.update(policy.as_dict())
        retention.save_project_settings(conn, project.id, values)
    return policy


@dataclass(frozen=True, slots=True)
class KeptState:
    id: int
    name: str
    kept: bool


def set_kept(db: Database, principal: Principal | None, launch_id: int, kept: bool) -> KeptState:
    """Mark a launch kept (retention never deletes it) or not (maintainer; ``None`` is the
    operator working on the database directly)."""
    with db.write() as conn:
        row = launches.get(conn, launch_id)
        if row is None:
            raise NotFound(f"launch {launch_id} not found")
        if principal is not None:
            principal.require(MANAGE_ROLE, int(row["project_id"]))
        retention.set_kept(conn, launch_id, kept)
        return KeptState(id=launch_id, name=str(row["name"]), kept=kept)


# -- the run -------------------------------------------------------------------------------


def run(
    db: Database,
    blobs: BlobStore,
    principal: Principal | None,
    *,
    project_key: str | None = None,
    dry_run: bool = False,
    blob_grace_s: float = 6 * 3600,
    clock: Clock = _now,
) -> RetentionResult:
    """Apply the retention policy of one project (or, for the operator, of every project),
    then collect unreferenced blobs. ``principal`` None is the operator (CLI on the database)."""
    now = clock()
    with db.read() as conn:
        if project_key is not None:
            targets = [lookup(conn, project_key)]
        else:
            if principal is not None and not principal.instance_admin:
                raise InvalidInput("name the project whose retention to run")
            targets = [
                Project(id=int(r["id"]), key=str(r["key"]), name=str(r["name"]), created_at=r["created_at"])
                for r in projects.all_projects(conn)
            ]
    for target in targets:
        if principal is not None:
            principal.require(MANAGE_ROLE, target.id)
    result = RetentionResult(dry_run=dry_run)
    for target in targets:
        result.projects.append(_apply(db, target, now, dry_run))
    result.blobs, result.blob_bytes = collect_blobs(db, blobs, now - timedelta(seconds=blob_grace_s), dry_run=dry_run)
    return result


def _apply(db: Database, target: Project, now: datetime, dry_run: bool) -> ProjectResult:
    with db.read() as conn:
        policy = Policy.from_settings(retention.project_settings(conn, target.id))
    out = ProjectResult(project=target.key, policy=policy)
    if policy.retention_days:
        cutoff = now - timedelta(days=policy.retention_days)
        out.launches = _count_or_delete_launches(db, target.id, cutoff, dry_run)
    if policy.logs_days:
        cutoff = now - timedelta(days=policy.logs_days)
        if dry_run:
            with db.read() as conn:
                out.logs = retention.count_old_logs(conn, target.id, cutoff)
        else:
            out.logs = _drain(db, lambda c: retention.old_logs(c, target.id, cutoff, ROW_BATCH), retention.delete_logs)
    if policy.attachments_days:
        cutoff = now - timedelta(days=policy.attachments_days)
        with db.read() as conn:
            out.attachments, out.attachment_bytes = retention.count_old_attachments(conn, target.id, cutoff)
        if not dry_run:
            out.attachments = _drain(
                db, lambda c: retention.old_attachments(c, target.id, cutoff, ROW_BATCH), retention.delete_attachments
            )
    return out


def _count_or_delete_launches(db: Database, project_id: int, cutoff: datetime, dry_run: bool) -> int:
    if dry_run:
        with db.read() as conn:
            return retention.count_expired_launches(conn, project_id, cutoff)
    deleted = 0
    while True:
        with db.write() as conn:
            ids = retention.expired_launches(conn, project_id, cutoff, LAUNCH_BATCH)
            for launch_id in ids:
                launches.delete_launch(conn, launch_id)  # test_stats stay: see the module doc
        deleted += len(ids)
        if len(ids) < LAUNCH_BATCH:
            return deleted


def _drain(db: Database, pick: Callable[[Any], list[int]], remove: Callable[[Any, list[int]], None]) -> int:
    done = 0
    while True:
        with db.write() as conn:
            ids = pick(conn)
            if ids:
                remove(conn, ids)
        done += len(ids)
        if len(ids) < ROW_BATCH:
            return done


def collect_blobs(db: Database, blobs: BlobStore, untouched_since: datetime, *, dry_run: bool) -> tuple[int, int]:
    """Delete blobs no attachment references and not written or reused since
    ``untouched_since``: first their rows (one transaction per batch), then, once that has
    committed, their files; then files that have no row at all. Returns (count, bytes)."""
    count = size = 0
    after = ""
    while True:
        with db.read() as conn:
            rows = retention.unreferenced_blobs(conn, BLOB_BATCH, after)
        if not rows:
            break
        after = rows[-1][0]
        sizes = {sha: n for sha, n in rows if blobs.is_stale(sha, untouched_since)}
        if not sizes:
            continue
        if dry_run:
            count, size = count + len(sizes), size + sum(sizes.values())
            continue
        try:
            with db.write() as conn:
                retention.delete_blob_rows(conn, list(sizes))
        except IntegrityError:
            continue  # an upload linked one of them meanwhile; the next run tries again
        with db.read() as conn:
            survivors = retention.known_blobs(conn, list(sizes))
        for sha, n in sizes.items():
            if sha not in survivors and blobs.delete(sha, untouched_since=untouched_since):
                count, size = count + 1, size + n
    if not dry_run:
        count += _collect_orphan_files(db, blobs, untouched_since)
    return count, size


def _collect_orphan_files(db: Database, blobs: BlobStore, untouched_since: datetime) -> int:
    removed = 0
    for chunk in _chunks(blobs.stale(untouched_since), BLOB_BATCH):
        with db.read() as conn:
            known = retention.known_blobs(conn, chunk)
        removed += sum(1 for sha in chunk if sha not in known and blobs.delete(sha, untouched_since=untouched_since))
    return removed


def _chunks(items: Iterator[str], n: int) -> Iterator[list[str]]:
    while chunk := list(islice(items, n)):
        yield chunk
