"""Keyset (cursor) pagination: the cursor holds the last row's sort value and id."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, DateTime, and_, or_

from caserun.errors import InvalidInput
from caserun.store.tables import UTCDateTime

MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    next: str | None


def encode(values: list[Any], row_id: int) -> str:
    cleaned = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([cleaned, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[list[Any], int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list):
            raise ValueError("cursor values")
        return values, int(row_id)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidInput("invalid cursor") from None


@dataclass(frozen=True, slots=True)
class Key:
    """One sort key: an expression and its direction."""

    expr: ColumnElement[Any]
    descending: bool = False

    def order(self) -> ColumnElement[Any]:
        return self.expr.desc() if self.descending else self.expr.asc()

    def coerce(self, value: Any) -> Any:
        """Cursor values travel as JSON; timestamps come back as datetimes."""
        if isinstance(value, str) and isinstance(self.expr.type, DateTime | UTCDateTime):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                raise InvalidInput("invalid cursor") from None
        return value

    def beyond(self, value: Any) -> ColumnElement[bool]:
        clause: ColumnElement[bool] = self.expr < value if self.descending else self.expr > value
        return clause


def order_by(keys: list[Key], ident: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """ORDER BY the keys, then the id in the direction of the last key (a total order)."""
    last_desc = keys[-1].descending if keys else False
    return [k.order() for k in keys] + [ident.desc() if last_desc else ident.asc()]


def after(keys: list[Key], ident: ColumnElement[Any], cursor: str) -> ColumnElement[bool]:
    """The WHERE clause that continues after ``cursor`` in the keys' lexicographic order."""
    values, row_id = decode(cursor)
    if len(values) != len(keys):
        raise InvalidInput("invalid cursor for this sort")
    last_desc = keys[-1].descending if keys else False
    id_key = Key(ident, last_desc)
    all_keys = [*keys, id_key]
    all_values = [key.coerce(v) for key, v in zip(all_keys, [*values, row_id], strict=True)]
    clauses = []
    for i, key in enumerate(all_keys):
        equal = [all_keys[j].expr == all_values[j] for j in range(i)]
        clauses.append(and_(*equal, key.beyond(all_values[i])))
    return or_(*clauses)


def page(rows: list[Any], limit: int, key_names: list[str]) -> Page:
    """Trim the limit+1 fetched rows to a page and build the next cursor from the last row."""
    if len(rows) <= limit:
        return Page(rows=rows, next=None)
    rows = rows[:limit]
    last = rows[-1]
    return Page(rows=rows, next=encode([last[name] for name in key_names], int(last["id"])))


def check_limit(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    return limit
