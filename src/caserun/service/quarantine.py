"""Quarantine: maintainers set a test aside (reason, who, when, optional expiry) and lift it.

A quarantined test still runs and its failures are still recorded and shown; they are
left out of ``pass_rate_excluding_quarantined`` and of the launch ``verdict``. Reporters
read the active list (``GET /api/v1/projects/{key}/quarantine``) to decide in CI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping, select

from caserun.domain.model import Role
from caserun.domain.rules import Summary, pass_rate
from caserun.errors import Conflict, InvalidInput, NotFound
from caserun.service.auth import Principal, actor_name
from caserun.service.projects import lookup
from caserun.service.views import QuarantineImpact
from caserun.store import quarantine
from caserun.store.engine import Database
from caserun.store.tables import test_case

EDIT_ROLE = Role.MAINTAINER
MAX_LIMIT = 5000


@dataclass(slots=True)
class QuarantineEntry:
    test_case_id: int
    test_key: str
    full_name: str
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None


def _entry(row: RowMapping) -> QuarantineEntry:
    return QuarantineEntry(
        test_case_id=row["test_case_id"],
        test_key=row["test_key"],
        full_name=row["full_name"],
        reason=row["reason"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


def _test(conn: Connection, project_id: int, test_case_id: int | None, test_key: str | None) -> RowMapping:
    """The test to quarantine; a test merged into another stands for the one it was merged into."""
    if (test_case_id is None) == (test_key is None):
        raise InvalidInput("give test_case_id or test_key (one of them)")
    where = test_case.c.id == test_case_id if test_case_id is not None else test_case.c.key == test_key
    row = conn.execute(select(test_case).where(test_case.c.project_id == project_id, where)).mappings().first()
    if row is None:
        raise NotFound(f"test {test_case_id if test_case_id is not None else test_key!r} not found in this project")
    if row["alias_of_id"] is not None:
        target = conn.execute(select(test_case).where(test_case.c.id == row["alias_of_id"])).mappings().first()
        assert target is not None
        return target
    return row


def add(
    db: Database,
    principal: Principal,
    project_key: str,
    *,
    reason: str,
    test_case_id: int | None = None,
    test_key: str | None = None,
    expires_at: datetime | None = None,
) -> QuarantineEntry:
    now = datetime.now(UTC)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a quarantine needs a reason")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= now:
            raise InvalidInput("expires_at is in the past")
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(EDIT_ROLE, project.id)
        test = _test(conn, project.id, test_case_id, test_key)
        if quarantine.active_entry(conn, project.id, int(test["id"]), now) is not None:
            raise Conflict(f"test {test['full_name']} is already quarantined")
        created_by = actor_name(conn, principal)
        quarantine.insert_entry(
            conn,
            project_id=project.id,
            test_case_id=int(test["id"]),
            reason=reason,
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
    return QuarantineEntry(
        test_case_id=int(test["id"]),
        test_key=test["key"],
        full_name=test["full_name"],
        reason=reason,
        created_by=created_by,
        created_at=now,
        expires_at=expires_at,
    )


def lift(db: Database, principal: Principal, project_key: str, test_case_id: int) -> None:
    now = datetime.now(UTC)
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(EDIT_ROLE, project.id)
        entry = quarantine.active_entry(conn, project.id, test_case_id, now)
        if entry is None:
            raise NotFound(f"test {test_case_id} is not quarantined")
        quarantine.lift(conn, int(entry["id"]), now)


def list_active(
    db: Database, principal: Principal, project_key: str, *, cursor: str | None, limit: int
) -> tuple[list[QuarantineEntry], str | None]:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    with db.read() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.VIEWER, project.id)
        page = quarantine.list_active(conn, project.id, datetime.now(UTC), cursor=cursor, limit=limit)
    return [_entry(r) for r in page.rows], page.next


def launch_impact(conn: Connection, launch: RowMapping, summary: Summary) -> QuarantineImpact:
    """The launch's numbers with the tests that are quarantined now left out (computed in SQL)."""
    counts = quarantine.impact(conn, int(launch["id"]), int(launch["project_id"]), datetime.now(UTC))
    failed = summary.failed - counts.failed
    if failed > 0:
        verdict: str | None = "failed"
    elif summary.running > 0:
        verdict = None
    else:
        verdict = "passed"
    return QuarantineImpact(
        quarantined_tests=counts.tests,
        quarantined_failures=counts.failed,
        pass_rate_excluding_quarantined=pass_rate(summary.passed - counts.passed, failed),
        verdict=verdict,
    )
