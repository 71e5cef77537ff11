"""Retention queries: what is old enough to go, deleted in bounded batches, and the blob
rows no attachment references any more.

"Old" means the launch was *recorded* (``launch.created_at``) before the cutoff, so an
import of last year's report is not deleted the day it arrives. Kept launches
(``launch.kept``) and running ones are never picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, exists, func, select, update

from caserun.store.tables import attachment, blob, case_run, case_run_log, launch, project


def project_settings(conn: Connection, project_id: int) -> dict[str, Any]:
    value = conn.execute(select(project.c.settings).where(project.c.id == project_id)).scalar_one_or_none()
    return dict(value) if isinstance(value, dict) else {}


def save_project_settings(conn: Connection, project_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(project).where(project.c.id == project_id).values(settings=values))


def set_kept(conn: Connection, launch_id: int, kept: bool) -> None:
    conn.execute(update(launch).where(launch.c.id == launch_id).values(kept=kept))


def _expired(project_id: int, cutoff: datetime) -> list[ColumnElement[bool]]:
    return [
        launch.c.project_id == project_id,
        launch.c.created_at < cutoff,
        launch.c.kept.is_(False),
        launch.c.status != "running",
    ]


def expired_launches(conn: Connection, project_id: int, cutoff: datetime, limit: int) -> list[int]:
    """The oldest launches past the cutoff (served by ``ix_launch_project_created``)."""
    query = (
        select(launch.c.id).where(*_expired(project_id, cutoff)).order_by(launch.c.created_at, launch.c.id).limit(limit)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def count_expired_launches(conn: Connection, project_id: int, cutoff: datetime) -> int:
    return int(conn.execute(select(func.count()).where(*_expired(project_id, cutoff))).scalar_one())


def _old_runs(project_id: int, cutoff: datetime) -> Any:
    return select(case_run.c.id).join(launch, launch.c.id == case_run.c.launch_id).where(*_expired(project_id, cutoff))


def old_logs(conn: Connection, project_id: int, cutoff: datetime, limit: int) -> list[int]:
    """Ids of log rows of case runs in launches past the cutoff."""
    runs = _old_runs(project_id, cutoff)
    query = (
        select(case_run_log.c.id).where(case_run_log.c.case_run_id.in_(runs)).order_by(case_run_log.c.id).limit(limit)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def count_old_logs(conn: Connection, project_id: int, cutoff: datetime) -> int:
    runs = _old_runs(project_id, cutoff)
    return int(conn.execute(select(func.count()).where(case_run_log.c.case_run_id.in_(runs))).scalar_one())


def delete_logs(conn: Connection, ids: Sequence[int]) -> None:
    conn.execute(delete(case_run_log).where(case_run_log.c.id.in_(list(ids))))


def old_attachments(conn: Connection, project_id: int, cutoff: datetime, limit: int) -> list[int]:
    runs = _old_runs(project_id, cutoff)
    query = select(attachment.c.id).where(attachment.c.case_run_id.in_(runs)).order_by(attachment.c.id).limit(limit)
    return [int(i) for i in conn.execute(query).scalars()]


def count_old_attachments(conn: Connection, project_id: int, cutoff: datetime) -> tuple[int, int]:
    """How many attachment rows are past the cutoff, and their total size."""
    runs = _old_runs(project_id, cutoff)
    n, size = conn.execute(
        select(func.count(), func.coalesce(func.sum(attachment.c.size), 0)).where(attachment.c.case_run_id.in_(runs))
    ).one()
    return int(n), int(size)


def delete_attachments(conn: Connection, ids: Sequence[int]) -> None:
    conn.execute(delete(attachment).where(attachment.c.id.in_(list(ids))))


def _unreferenced() -> ColumnElement[bool]:
    return ~exists().where(attachment.c.sha256 == blob.c.sha256)


def unreferenced_blobs(conn: Connection, limit: int, after: str = "") -> list[tuple[str, int]]:
    """Blob rows no attachment references, in digest order after ``after``."""
    query = (
        select(blob.c.sha256, blob.c.size)
        .where(blob.c.sha256 > after, _unreferenced())
        .order_by(blob.c.sha256)
        .limit(limit)
    )
    return [(str(sha), int(size)) for sha, size in conn.execute(query)]


def delete_blob_rows(conn: Connection, shas: Sequence[str]) -> None:
    """Delete the rows of these blobs that are still unreferenced (checked in the statement)."""
    conn.execute(delete(blob).where(blob.c.sha256.in_(list(shas)), _unreferenced()))


def known_blobs(conn: Connection, shas: Sequence[str]) -> set[str]:
    return set(conn.execute(select(blob.c.sha256).where(blob.c.sha256.in_(list(shas)))).scalars())
