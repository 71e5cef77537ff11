"""Share-link rows (only the hash of a link's secret is stored) and the failed password
attempts against them (kept in ``signin_failure`` under a ``share:`` client key, so the
limit holds across server processes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, func, insert, select, update

from caserun.store.tables import share_link, signin_failure


def insert_link(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(share_link).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def by_id(conn: Connection, link_id: int) -> RowMapping | None:
    return conn.execute(select(share_link).where(share_link.c.id == link_id)).mappings().first()


def by_hash(conn: Connection, token_hash: str) -> RowMapping | None:
    return conn.execute(select(share_link).where(share_link.c.token_hash == token_hash)).mappings().first()


def for_launch(conn: Connection, launch_id: int) -> list[RowMapping]:
    query = select(share_link).where(share_link.c.launch_id == launch_id).order_by(share_link.c.id.desc())
    return list(conn.execute(query).mappings())


def revoke(conn: Connection, link_id: int, at: datetime) -> None:
    conn.execute(
        update(share_link).where(share_link.c.id == link_id, share_link.c.revoked_at.is_(None)).values(revoked_at=at)
    )


def count_view(conn: Connection, link_id: int, at: datetime) -> None:
    conn.execute(
        update(share_link)
        .where(share_link.c.id == link_id)
        .values(view_count=share_link.c.view_count + 1, last_viewed_at=at)
    )


def failures_since(conn: Connection, client: str, since: datetime) -> int:
    query = select(func.count()).where(signin_failure.c.client == client, signin_failure.c.at >= since)
    return int(conn.execute(query).scalar_one())


def record_failure(conn: Connection, client: str, at: datetime, forget_before: datetime) -> None:
    """Note one failed attempt, and drop this client's attempts too old to matter."""
    conn.execute(delete(signin_failure).where(signin_failure.c.client == client, signin_failure.c.at < forget_before))
    conn.execute(insert(signin_failure).values(client=client[:128], at=at))
