"""Send the webhook outbox: every due ``pending`` delivery is POSTed to its webhook's URL.

The body is the delivery's payload as JSON; headers ``X-Caserun-Event`` (the event),
``X-Caserun-Delivery`` (the delivery id, the same on every retry: receivers de-duplicate by
it) and ``X-Caserun-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body bytes with
the webhook's secret. A 2xx answer delivers it. Anything else (another status, a refused
connection, no answer within ``TIMEOUT_S``) is retried after ``BACKOFF_S × 2^(attempts-1)``
(30 s, 1 min, 2 min, … ) until ``MAX_ATTEMPTS``, when the delivery is ``failed``.

Each delivery is claimed with a conditional UPDATE (its next attempt moved ``LEASE_S`` ahead)
in a short transaction before it is sent, and its result written in another: no transaction
is held open across the network, and several server processes sending from one database
never send one delivery twice at once.

``caserun serve`` sends every ``POLL_INTERVAL_S`` in a background task; ``caserun webhooks
deliver`` sends once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import RowMapping

from caserun.settings import Settings
from caserun.store import webhooks as store
from caserun.store.engine import Database

log = logging.getLogger("caserun.webhooks")

TIMEOUT_S = 5.0
BACKOFF_S = 30.0
MAX_ATTEMPTS = 8
#: how long a claimed delivery is out of the others' reach (well over TIMEOUT_S)
LEASE_S = 60.0
#: deliveries sent per pass
BATCH = 100
#: seconds between passes of the server's background sender; 0 turns it off
POLL_INTERVAL_S = 5.0
_ERROR_MAX = 500

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def signature(secret: str, body: bytes) -> str:
    """The ``X-Caserun-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt."""
    return timedelta(seconds=BACKOFF_S * 2 ** max(0, attempts - 1))


@dataclass(slots=True)
class Pass:
    """What one pass did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def deliver_due(
    db: Database,
    *,
    clock: Clock = _now,
    timeout_s: float = TIMEOUT_S,
    transport: httpx.BaseTransport | None = None,
    limit: int = BATCH,
    stop: threading.Event | None = None,
) -> Pass:
    """Send every delivery due now (at most ``limit``), one after the other; ``stop`` set
    ends the pass after the delivery in flight."""
    done = Pass()
    now = clock()
    with db.read() as conn:
        rows = store.due(conn, now, limit)
    if not rows:
        return done
    with httpx.Client(timeout=timeout_s, transport=transport, follow_redirects=False) as client:
        for row in rows:
            if stop is not None and stop.is_set():
                break
            with db.write() as conn:
                if not store.claim(conn, int(row["id"]), row["next_attempt_at"], now + timedelta(seconds=LEASE_S)):
                    continue  # another sender took it
            outcome = _send(client, row)
            _record(db, row, outcome, clock())
            if outcome.ok:
                done.delivered += 1
            elif int(row["attempts"]) + 1 >= MAX_ATTEMPTS:
                done.failed += 1
            else:
                done.retrying += 1
    return done


@dataclass(frozen=True, slots=True)
class _Outcome:
    ok: bool
    status_code: int | None
    error: str | None


def _send(client: httpx.Client, row: RowMapping) -> _Outcome:
    body = body_of(row["payload"])
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "caserun-webhooks",
        "X-Caserun-Event": str(row["event"]),
        "X-Caserun-Delivery": str(row["id"]),
        "X-Caserun-Signature": signature(str(row["secret"]), body),
    }
    try:
        answer = client.post(str(row["url"]), content=body, headers=headers)
    except httpx.TimeoutException:
        return _Outcome(False, None, f"no answer within {client.timeout.read or TIMEOUT_S:g} s")
    except httpx.HTTPError as exc:
        return _Outcome(False, None, f"{type(exc).__name__}: {exc}"[:_ERROR_MAX])
    if 200 <= answer.status_code < 300:
        return _Outcome(True, answer.status_code, None)
    return _Outcome(False, answer.status_code, f"answered {answer.status_code}: {answer.text[:200]}"[:_ERROR_MAX])


def _record(db: Database, row: RowMapping, outcome: _Outcome, now: datetime) -> None:
    attempts = int(row["attempts"]) + 1
    values: dict[str, object] = {
        "attempts": attempts,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    if outcome.ok:
        values.update(status="delivered", delivered_at=now, next_attempt_at=None)
    elif attempts >= MAX_ATTEMPTS:
        values.update(status="failed", next_attempt_at=None)
        log.warning("webhook delivery %s failed for good after %s attempts: %s", row["id"], attempts, outcome.error)
    else:
        values.update(next_attempt_at=now + backoff(attempts))
    with db.write() as conn:
        store.record_attempt(conn, int(row["id"]), **values)


@asynccontextmanager
async def background(db: Database, settings: Settings) -> AsyncIterator[None]:
    """Send due deliveries every ``POLL_INTERVAL_S`` while the server runs. On exit a pass in
    progress ends after the delivery in flight (bounded by the timeout)."""
    every = float(getattr(settings, "webhook_interval_s", POLL_INTERVAL_S))
    if every <= 0:
        yield
        return
    stop = asyncio.Event()
    halt = threading.Event()
    task = asyncio.create_task(_loop(db, every, stop, halt))
    try:
        yield
    finally:
        halt.set()
        stop.set()
        await task


async def _loop(db: Database, every_s: float, stop: asyncio.Event, halt: threading.Event) -> None:
    while True:
        pause = every_s * random.uniform(0.9, 1.1)  # noqa: S311 - jitter, not security
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
        if stop.is_set():
            return
        try:
            await asyncio.to_thread(deliver_due, db, stop=halt)
        except Exception:  # a failed pass must not take the server down; the next one retries
            log.exception("sending webhooks failed")
