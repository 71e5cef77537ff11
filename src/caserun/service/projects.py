"""Projects: create and look up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from caserun.errors import Conflict, InvalidInput, NotFound
from caserun.store import projects
from caserun.store.engine import Database

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    key: str
    name: str
    created_at: datetime


def _project(row: object) -> Project:
    data = dict(row)  # type: ignore[call-overload]
    return Project(id=data["id"], key=data["key"], name=data["name"], created_at=data["created_at"])


def create(db: Database, key: str, name: str | None = None) -> Project:
    if not _KEY.match(key):
        raise InvalidInput(
            "a project key is 1–64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        )
    try:
        with db.write() as conn:
            if projects.by_key(conn, key) is not None:
                raise Conflict(f"project {key!r} already exists")
            project_id = projects.create(conn, key, name or key)
            row = projects.by_id(conn, project_id)
    except IntegrityError:
        raise Conflict(f"project {key!r} already exists") from None
    return _project(row)


def lookup(conn: Connection, key: str) -> Project:
    row = projects.by_key(conn, key)
    if row is None:
        raise NotFound(f"project {key!r} not found")
    return _project(row)


def get(db: Database, key: str) -> Project:
    with db.read() as conn:
        return lookup(conn, key)


def visible(db: Database, project_id: int | None) -> list[Project]:
    """Every project for an instance token, else only the token's own."""
    with db.read() as conn:
        rows = projects.all_projects(conn)
    return [_project(r) for r in rows if project_id is None or r["id"] == project_id]
