"""Webhook rows, their delivery outbox (one ``webhook_delivery`` row per event and webhook),
and the reads that find what a finished launch has to announce."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from caserun.store.tables import case_run, defect, failure_pattern, test_case, test_stats, webhook, webhook_delivery


def insert_webhook(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(webhook).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def by_id(conn: Connection, webhook_id: int) -> RowMapping | None:
    return conn.execute(select(webhook).where(webhook.c.id == webhook_id)).mappings().first()


def for_project(conn: Connection, project_id: int) -> list[RowMapping]:
    query = select(webhook).where(webhook.c.project_id == project_id).order_by(webhook.c.id)
    return list(conn.execute(query).mappings())


def active_for_project(conn: Connection, project_id: int) -> list[RowMapping]:
    query = select(webhook).where(webhook.c.project_id == project_id, webhook.c.active.is_(True))
    return list(conn.execute(query.order_by(webhook.c.id)).mappings())


def delete_webhook(conn: Connection, webhook_id: int) -> None:
    conn.execute(delete(webhook_delivery).where(webhook_delivery.c.webhook_id == webhook_id))
    conn.execute(delete(webhook).where(webhook.c.id == webhook_id))


# -- the outbox -------------------------------------------------------------------------


def insert_deliveries(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(webhook_delivery), list(rows))


def deliveries(
    conn: Connection, project_id: int, *, webhook_id: int | None, before_id: int | None, limit: int
) -> list[RowMapping]:
    """The project's deliveries, newest first, ``limit + 1`` rows (the extra one says more exist)."""
    query = (
        select(webhook_delivery, webhook.c.url)
        .join(webhook, webhook.c.id == webhook_delivery.c.webhook_id)
        .where(webhook.c.project_id == project_id)
    )
    if webhook_id is not None:
        query = query.where(webhook_delivery.c.webhook_id == webhook_id)
    if before_id is not None:
        query = query.where(webhook_delivery.c.id < before_id)
    return list(conn.execute(query.order_by(webhook_delivery.c.id.desc()).limit(limit + 1)).mappings())


def due(conn: Connection, now: datetime, limit: int) -> list[RowMapping]:
    """Pending deliveries whose time has come, oldest first, with their webhook's url and secret."""
    query = (
        select(webhook_delivery, webhook.c.url, webhook.c.secret)
        .join(webhook, webhook.c.id == webhook_delivery.c.webhook_id)
        .where(webhook_delivery.c.status == "pending", webhook_delivery.c.next_attempt_at <= now)
        .order_by(webhook_delivery.c.next_attempt_at, webhook_delivery.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def claim(conn: Connection, delivery_id: int, seen_next: datetime, lease_until: datetime) -> bool:
    """Take a due delivery for one attempt: moves its next attempt to ``lease_until`` only if
    nobody else did since it was read, so two senders never send it at once."""
    result = conn.execute(
        update(webhook_delivery)
        .where(
            webhook_delivery.c.id == delivery_id,
            webhook_delivery.c.status == "pending",
            webhook_delivery.c.next_attempt_at == seen_next,
        )
        .values(next_attempt_at=lease_until)
    )
    return result.rowcount == 1


def record_attempt(conn: Connection, delivery_id: int, **values: Any) -> None:
    conn.execute(update(webhook_delivery).where(webhook_delivery.c.id == delivery_id).values(**values))


def delivery(conn: Connection, delivery_id: int) -> RowMapping | None:
    return conn.execute(select(webhook_delivery).where(webhook_delivery.c.id == delivery_id)).mappings().first()


# -- what a launch announces --------------------------------------------------------------


def new_patterns(conn: Connection, launch_id: int) -> list[RowMapping]:
    """Failure patterns first seen in the launch (their example run, the first, belongs to it)."""
    query = (
        select(
            failure_pattern.c.id,
            failure_pattern.c.exception,
            failure_pattern.c.template,
            failure_pattern.c.first_seen,
            failure_pattern.c.count,
        )
        .join(case_run, case_run.c.id == failure_pattern.c.example_case_run_id)
        .where(case_run.c.launch_id == launch_id)
        .order_by(failure_pattern.c.id)
    )
    return list(conn.execute(query).mappings())


def defects_failing_again(conn: Connection, launch_id: int, done: Sequence[str]) -> list[RowMapping]:
    """Resolved or closed defects flagged for reopening whose pattern failed in the launch."""
    patterns_hit = select(case_run.c.pattern_id).where(
        case_run.c.launch_id == launch_id, case_run.c.pattern_id.is_not(None)
    )
    query = (
        select(defect.c.id, defect.c.title, defect.c.status, failure_pattern.c.id.label("pattern_id"))
        .join(failure_pattern, failure_pattern.c.defect_id == defect.c.id)
        .where(
            failure_pattern.c.id.in_(patterns_hit),
            defect.c.status.in_(list(done)),
            defect.c.reopen_suggested.is_(True),
        )
        .order_by(defect.c.id, failure_pattern.c.id)
    )
    return list(conn.execute(query).mappings())


def flaky_tests_in_launch(conn: Connection, launch_id: int, threshold: int) -> list[RowMapping]:
    """Statistics of the launch's tests whose flakiness score is at or above ``threshold``."""
    in_launch = select(case_run.c.test_case_id).where(case_run.c.launch_id == launch_id, case_run.c.is_final)
    query = (
        select(test_stats.c.test_case_id, test_stats.c.flaky_score, test_stats.c.recent, test_case.c.full_name)
        .join(test_case, test_case.c.id == test_stats.c.test_case_id)
        .where(test_stats.c.test_case_id.in_(in_launch), test_stats.c.flaky_score >= threshold)
    )
    return list(conn.execute(query.order_by(test_stats.c.test_case_id)).mappings())
