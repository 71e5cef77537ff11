"""Token, one-time login code and web session rows. Only hashes are stored."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping, func, insert, select, update

from caserun.store.tables import login_code, token, web_session


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


def touch(conn: Connection, token_id: int, when: datetime) -> None:
    conn.execute(update(token).where(token.c.id == token_id).values(last_used_at=when))


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
