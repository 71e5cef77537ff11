"""``Idempotency-Key`` for every create request that has no key of its own.

Imports and ``POST …/launches`` keep their key on the launch, events carry client ids;
every other ``POST``/``PUT`` under ``/api/v1`` sent with an ``Idempotency-Key`` header
goes through here (``api/idempotency.py`` is the middleware): the first request claims
the key for its caller (a hash of the credentials, so two tokens never share keys), its
successful answer is stored, and the same request sent again gets that answer back
instead of creating a second defect, share link, token or webhook. The same key with a
different request is refused (409), as is a key whose first request is still being
answered. A failed answer (4xx, 5xx) releases the key, so a corrected retry may use it.
Records older than :data:`KEEP` are forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from caserun.errors import Conflict
from caserun.store import idempotency as records
from caserun.store.engine import Database

KEEP = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    content_type: str
    body: str


def claim(db: Database, caller: str, key: str, method: str, path: str, request_hash: str) -> Answer | None:
    """``None`` when this request may run (the key is now held for it); the stored answer
    when the same request was answered before; :class:`Conflict` otherwise."""
    try:
        with db.write() as conn:
            records.remove_older_than(conn, datetime.now(UTC) - KEEP)
            records.insert_pending(conn, caller, key, method, path, request_hash)
        return None
    except IntegrityError:
        pass
    with db.read() as conn:
        row = records.get(conn, caller, key)
    if row is None:  # released in between: let the caller retry
        raise Conflict(f"Idempotency-Key {key!r} is being released; send the request again")
    if (row["method"], row["path"], row["request_hash"]) != (method, path, request_hash):
        raise Conflict(f"Idempotency-Key {key!r} was used for a different request")
    if row["status_code"] is None:
        raise Conflict(f"a request with Idempotency-Key {key!r} is still being answered; retry shortly")
    return Answer(int(row["status_code"]), str(row["content_type"] or "application/json"), str(row["body"] or ""))


def complete(db: Database, caller: str, key: str, answer: Answer) -> None:
    with db.write() as conn:
        records.store_answer(conn, caller, key, answer.status_code, answer.content_type, answer.body)


def release(db: Database, caller: str, key: str) -> None:
    with db.write() as conn:
        records.remove(conn, caller, key)
