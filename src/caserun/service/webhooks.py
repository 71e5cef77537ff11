"""Webhooks: per-project HTTP callbacks for what happens to launches, and their outbox.

Maintainers (and admins) create, list and delete a project's webhooks and read their
delivery history. Events:

- ``launch.finished``: a launch closed (an import, ``POST …/finish``, a ``launch_finished``
  event, the stale-launch sweeper);
- ``pattern.new``: a failure pattern first seen in that launch;
- ``test.flaky``: a test of that launch whose flakiness score reached the verdict threshold
  (``FLAKY_VERDICT_SCORE``) with it, from below;
- ``defect.reopen``: a resolved or closed defect flagged for reopening because its pattern
  failed again in that launch.

**Outbox.** :func:`enqueue_launch_events` runs inside the transaction that finishes the
launch and only writes ``pending`` rows in ``webhook_delivery``, one per event and active
webhook subscribed to it: no network is touched there, so a hanging or failing receiver can
never slow down or roll back ingestion, and an event is queued exactly when the launch it
speaks of is committed. :mod:`caserun.service.webhook_sender` sends the rows later.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, RowMapping

from caserun.analysis.flakiness import FLAKY_VERDICT_SCORE, Run, score
from caserun.domain.model import Role
from caserun.errors import InvalidInput, NotFound
from caserun.service.auth import Principal, actor_name
from caserun.service.projects import lookup
from caserun.store import launches, projects
from caserun.store import webhooks as store
from caserun.store.engine import Database

EVENTS = ("launch.finished", "pattern.new", "test.flaky", "defect.reopen")
MANAGE_ROLE = Role.MAINTAINER
SECRET_MIN, SECRET_MAX = 16, 200
URL_MAX = 2000
#: events of one kind queued per launch and webhook at most (a launch with 10,000 new patterns
#: announces the first ones; the launch.finished payload still counts them all)
MAX_PER_KIND = 100
_DONE_DEFECT = ("resolved", "closed")


@dataclass(frozen=True, slots=True)
class WebhookView:
    id: int
    project_key: str
    url: str
    events: list[str]
    active: bool
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    webhook: WebhookView
    #: the signing secret, shown this once
    secret: str


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    webhook_id: int
    url: str
    event: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _view(row: RowMapping, project_key: str) -> WebhookView:
    return WebhookView(
        id=int(row["id"]),
        project_key=project_key,
        url=str(row["url"]),
        events=list(row["events"]),
        active=bool(row["active"]),
        created_by=str(row["created_by"]),
        created_at=row["created_at"],
    )


def _delivery(row: RowMapping) -> DeliveryView:
    return DeliveryView(
        id=int(row["id"]),
        webhook_id=int(row["webhook_id"]),
        url=str(row["url"]),
        event=str(row["event"]),
        payload=dict(row["payload"]),
        status=str(row["status"]),
        attempts=int(row["attempts"]),
        next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        delivered_at=row["delivered_at"],
    )


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"webhook url {url[:200]!r} must be an absolute http:// or https:// URL")
    if len(url) > URL_MAX:
        raise InvalidInput(f"webhook url is longer than {URL_MAX} characters")
    if parts.username or parts.password:
        raise InvalidInput("webhook url must not carry a user name or password; the signature authenticates")
    return url


def check_events(events: list[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise InvalidInput(f"unknown webhook event {unknown[0]!r}; use some of {', '.join(EVENTS)}")
    if not events:
        raise InvalidInput(f"a webhook needs at least one event: {', '.join(EVENTS)}")
    return [e for e in EVENTS if e in events]


def create(
    db: Database,
    principal: Principal,
    project_key: str,
    *,
    url: str,
    events: list[str],
    secret: str | None = None,
    active: bool = True,
) -> CreatedWebhook:
    """A new webhook on the project (maintainer). Without a ``secret`` one is generated;
    either way it is returned this once."""
    url = check_url(url)
    chosen = check_events(events)
    if secret is not None and not SECRET_MIN <= len(secret) <= SECRET_MAX:
        raise InvalidInput(f"a webhook secret has {SECRET_MIN} to {SECRET_MAX} characters")
    secret = secret or secrets.token_hex(32)
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(MANAGE_ROLE, project.id)
        webhook_id = store.insert_webhook(
            conn,
            project_id=project.id,
            url=url,
            secret=secret,
            events=chosen,
            active=active,
            created_by=actor_name(conn, principal),
            created_at=datetime.now(UTC),
        )
        row = store.by_id(conn, webhook_id)
        assert row is not None
        return CreatedWebhook(webhook=_view(row, project.key), secret=secret)


def list_webhooks(db: Database, principal: Principal, project_key: str) -> list[WebhookView]:
    with db.read() as conn:
        project = lookup(conn, project_key)
        principal.require(MANAGE_ROLE, project.id)
        return [_view(r, project.key) for r in store.for_project(conn, project.id)]


def delete(db: Database, principal: Principal, project_key: str, webhook_id: int) -> WebhookView:
    """Delete a webhook and its delivery history (maintainer of its project)."""
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(MANAGE_ROLE, project.id)
        row = store.by_id(conn, webhook_id)
        if row is None or int(row["project_id"]) != project.id:
            raise NotFound(f"webhook {webhook_id} not found in project {project.key!r}")
        gone = _view(row, project.key)
        store.delete_webhook(conn, webhook_id)
        return gone


def list_deliveries(
    db: Database,
    principal: Principal,
    project_key: str,
    *,
    webhook_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[DeliveryView], str | None]:
    """The project's deliveries, newest first (maintainer): what was sent, how often, the
    last answer or error."""
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500")
    before: int | None = None
    if cursor is not None:
        if not cursor.isdigit():
            raise InvalidInput(f"cursor {cursor[:40]!r} is not one this list gave")
        before = int(cursor)
    with db.read() as conn:
        project = lookup(conn, project_key)
        principal.require(MANAGE_ROLE, project.id)
        rows = store.deliveries(conn, project.id, webhook_id=webhook_id, before_id=before, limit=limit)
    items = [_delivery(r) for r in rows[:limit]]
    return items, (str(items[-1].id) if len(rows) > limit else None)


# -- the outbox -------------------------------------------------------------------------


def enqueue_launch_events(conn: Connection, launch_id: int) -> int:
    """Queue the events of a launch that has just finished, in the caller's transaction;
    returns the number of deliveries queued. Costs one read when the project has no webhook."""
    row = launches.get(conn, launch_id)
    assert row is not None
    project_id = int(row["project_id"])
    hooks = store.active_for_project(conn, project_id)
    if not hooks:
        return 0
    wanted = {e for h in hooks for e in h["events"]}
    project = projects.by_id(conn, project_id)
    assert project is not None
    launch_ref = {"id": launch_id, "name": str(row["name"]), "url": f"/launches/{launch_id}"}
    base = {"project": str(project["key"])}
    events: list[tuple[str, dict[str, Any]]] = []
    new_patterns = store.new_patterns(conn, launch_id)
    if "launch.finished" in wanted:
        events.append(("launch.finished", {**base, "launch": _launch_payload(row), "new_patterns": len(new_patterns)}))
    if "pattern.new" in wanted:
        for p in new_patterns[:MAX_PER_KIND]:
            pattern = {
                "id": int(p["id"]),
                "exception": p["exception"],
                "template": str(p["template"])[:2000],
                "count": int(p["count"]),
                "url": f"/patterns/{int(p['id'])}",
            }
            events.append(("pattern.new", {**base, "launch": launch_ref, "pattern": pattern}))
    if "test.flaky" in wanted:
        for test in became_flaky(conn, launch_id)[:MAX_PER_KIND]:
            events.append(("test.flaky", {**base, "launch": launch_ref, "test": test}))
    if "defect.reopen" in wanted:
        for d in store.defects_failing_again(conn, launch_id, _DONE_DEFECT)[:MAX_PER_KIND]:
            found = {
                "id": int(d["id"]),
                "title": str(d["title"]),
                "status": str(d["status"]),
                "url": f"/defects/{d['id']}",
            }
            events.append(
                ("defect.reopen", {**base, "launch": launch_ref, "defect": found, "pattern_id": d["pattern_id"]})
            )
    now = datetime.now(UTC)
    rows = [
        {
            "webhook_id": int(h["id"]),
            "event": event,
            "payload": {"event": event, "occurred_at": now.isoformat(), **payload},
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event, payload in events
        for h in hooks
        if event in h["events"]
    ]
    store.insert_deliveries(conn, rows)
    return len(rows)


def _launch_payload(row: RowMapping) -> dict[str, Any]:
    decided = int(row["passed"]) + int(row["failed"])
    return {
        "id": int(row["id"]),
        "name": str(row["name"]),
        "status": str(row["status"]),
        "source": str(row["source"]),
        "environment": row["environment"],
        "branch": row["branch"],
        "commit": row["commit_sha"],
        "url": f"/launches/{int(row['id'])}",
        "summary": {
            "total": int(row["total"]),
            "passed": int(row["passed"]),
            "failed": int(row["failed"]),
            "skipped": int(row["skipped"]),
            "blocked": int(row["blocked"]),
            "pass_rate": round(100 * int(row["passed"]) / decided, 2) if decided else None,
            "duration_ms": row["duration_ms"],
        },
    }


def became_flaky(conn: Connection, launch_id: int) -> list[dict[str, Any]]:
    """Tests of the launch at or above the flaky threshold now and below it before the launch.

    The score before is recomputed from the kept recent results without this launch's, which
    is the score the statistics held before (the window is shorter than what is kept)."""
    crossed = []
    for r in store.flaky_tests_in_launch(conn, launch_id, FLAKY_VERDICT_SCORE):
        before = [Run.from_json(item) for item in (r["recent"] or []) if int(item[2]) != launch_id]
        if score(before).score < FLAKY_VERDICT_SCORE:
            crossed.append(
                {
                    "id": int(r["test_case_id"]),
                    "name": str(r["full_name"]),
                    "flaky_score": int(r["flaky_score"]),
                    "threshold": FLAKY_VERDICT_SCORE,
                    "url": f"/tests/{int(r['test_case_id'])}",
                }
            )
    return crossed
