"""Project rows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping, insert, select

from caserun.store.tables import project


def by_key(conn: Connection, key: str) -> RowMapping | None:
    return conn.execute(select(project).where(project.c.key == key)).mappings().first()


def by_id(conn: Connection, project_id: int) -> RowMapping | None:
    return conn.execute(select(project).where(project.c.id == project_id)).mappings().first()


def create(conn: Connection, key: str, name: str) -> int:
    result = conn.execute(insert(project).values(key=key, name=name, created_at=datetime.now(UTC)))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def all_projects(conn: Connection) -> list[RowMapping]:
    return list(conn.execute(select(project).order_by(project.c.key)).mappings())
