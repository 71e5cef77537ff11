"""Token, one-time login code, web session and failed sign-in rows. Only hashes are stored."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping, delete, func, insert, or_, select, update

from caserun.store.tables import login_code, project, signin_failure, token, web_session


def create(
    conn: Connection,
    *,
    project_id: int | None,
    name: str,
    role: str,
    token_hash: str,
    prefix: str,
    expires_at: datetime | None,
) -> int:
    result = conn.execute(
        insert(token).values(
            project_id=project_id,
            name=name,
            role=role,
            token_hash=token_hash,
            prefix=prefix,
            created_at=datetime.now(UTC),
            expires_at=expires_at,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def by_hash(conn: Connection, token_hash: str) -> RowMapping | None:
    return conn.execute(select(token).where(token.c.token_hash == token_hash)).mappings().first()


def by_id(conn: Connection, token_id: int) -> RowMapping | None:
    return conn.execute(select(token).where(token.c.id == token_id)).mappings().first()


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(token)).scalar_one())


def touch(conn: Connection, token_id: int, when: datetime, stale_before: datetime) -> None:
    """Record a use, unless another request (or process) recorded one since ``stale_before``."""
    conn.execute(
        update(token)
        .where(token.c.id == token_id)
        .where(or_(token.c.last_used_at.is_(None), token.c.last_used_at < stale_before))
        .values(last_used_at=when)
    )


_LISTED = (
    token.c.id,
    token.c.name,
    token.c.role,
    token.c.prefix,
    token.c.project_id,
    project.c.key.label("project_key"),
    token.c.created_at,
    token.c.expires_at,
    token.c.last_used_at,
    token.c.revoked_at,
)


def listing(conn: Connection, project_id: int | None, *, instance_only: bool = False) -> list[RowMapping]:
    """Tokens (never their hashes), newest first: of one project, instance tokens only, or all."""
    query = select(*_LISTED).select_from(token.outerjoin(project, project.c.id == token.c.project_id))
    if project_id is not None:
        query = query.where(token.c.project_id == project_id)
    elif instance_only:
        query = query.where(token.c.project_id.is_(None))
    return list(conn.execute(query.order_by(token.c.id.desc())).mappings())


def listed(conn: Connection, token_id: int) -> RowMapping | None:
    query = select(*_LISTED).select_from(token.outerjoin(project, project.c.id == token.c.project_id))
    return conn.execute(query.where(token.c.id == token_id)).mappings().first()


def revoke(conn: Connection, token_id: int, when: datetime) -> None:
    """Revoke a token and end its web sessions; revoking twice keeps the first time."""
    conn.execute(update(token).where(token.c.id == token_id, token.c.revoked_at.is_(None)).values(revoked_at=when))
    conn.execute(delete(web_session).where(web_session.c.token_id == token_id))
    conn.execute(delete(login_code).where(login_code.c.token_id == token_id, login_code.c.used_at.is_(None)))


def create_login_code(conn: Connection, token_id: int, code_hash: str, expires_at: datetime) -> None:
    conn.execute(
        insert(login_code).values(
            token_id=token_id,
            code_hash=code_hash,
            created_at=datetime.now(UTC),
            expires_at=expires_at,
        )
    )


def use_login_code(conn: Connection, code_hash: str, now: datetime) -> int | None:
    """Mark an unused, unexpired code used and return its token id."""
    row = conn.execute(select(login_code).where(login_code.c.code_hash == code_hash)).mappings().first()
    if row is None or row["used_at"] is not None or row["expires_at"] < now:
        return None
    conn.execute(update(login_code).where(login_code.c.id == row["id"]).values(used_at=now))
    return int(row["token_id"])


def create_session(conn: Connection, token_id: int, session_hash: str, expires_at: datetime) -> None:
    conn.execute(
        insert(web_session).values(
            token_id=token_id,
            session_hash=session_hash,
            created_at=datetime.now(UTC),
            expires_at=expires_at,
        )
    )


def session_token(conn: Connection, session_hash: str, now: datetime) -> int | None:
    row = conn.execute(select(web_session).where(web_session.c.session_hash == session_hash)).mappings().first()
    if row is None or row["expires_at"] < now:
        return None
    return int(row["token_id"])


def delete_session(conn: Connection, session_hash: str) -> None:
    conn.execute(web_session.delete().where(web_session.c.session_hash == session_hash))


def count_signin_failures(conn: Connection, client: str, since: datetime) -> tuple[int, datetime | None]:
    """How many sign-ins from ``client`` failed since ``since``, and the oldest of them."""
    row = conn.execute(
        select(func.count(), func.min(signin_failure.c.at)).where(
            signin_failure.c.client == client, signin_failure.c.at >= since
        )
    ).one()
    oldest: datetime | None = row[1]  # min() keeps the column's type: timezone-aware
    return int(row[0]), oldest


def add_signin_failure(conn: Connection, client: str, when: datetime, forget_before: datetime) -> None:
    """Record one failed sign-in and forget this client's failures older than the window."""
    conn.execute(delete(signin_failure).where(signin_failure.c.client == client, signin_failure.c.at < forget_before))
    conn.execute(insert(signin_failure).values(client=client, at=when))
