"""Idempotency records: one row per (caller, key), pending until the answer is stored."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from caserun.store.tables import idempotency_record


def insert_pending(conn: Connection, caller: str, key: str, method: str, path: str, request_hash: str) -> None:
    conn.execute(
        insert(idempotency_record).values(
            caller=caller, key=key, method=method, path=path, request_hash=request_hash, created_at=datetime.now(UTC)
        )
    )


def get(conn: Connection, caller: str, key: str) -> RowMapping | None:
    query = select(idempotency_record).where(idempotency_record.c.caller == caller, idempotency_record.c.key == key)
    return conn.execute(query).mappings().first()


def store_answer(conn: Connection, caller: str, key: str, status_code: int, content_type: str, body: str) -> None:
    conn.execute(
        update(idempotency_record)
        .where(idempotency_record.c.caller == caller, idempotency_record.c.key == key)
        .values(status_code=status_code, content_type=content_type, body=body)
    )


def remove(conn: Connection, caller: str, key: str) -> None:
    conn.execute(
        delete(idempotency_record).where(idempotency_record.c.caller == caller, idempotency_record.c.key == key)
    )


def remove_older_than(conn: Connection, cutoff: datetime) -> int:
    result = conn.execute(delete(idempotency_record).where(idempotency_record.c.created_at < cutoff))
    return int(result.rowcount or 0)
