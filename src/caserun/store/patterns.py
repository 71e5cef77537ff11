"""Failure pattern rows: what assignment at ingest reads and writes, and what the lists read.

Writes are bulk (executemany); reads that feed pages go through ``ix_case_run_pattern``
(pattern, started_at) and the ``(project_id, signature)`` unique index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from caserun.errors import InvalidInput
from caserun.store import pagination
from caserun.store.tables import Time, case_run, defect, defect_link, failure_pattern, launch, test_case

CHUNK = 1000
#: near-duplicate candidates read per exception type (most recently seen first)
CANDIDATES = 500
ACTIVE_DEFECT = ("open", "in_progress", "reopened")
DONE_DEFECT = ("resolved", "closed")

_example = aliased(case_run, name="example")


# ---------------------------------------------------------------------------- assignment


def unsigned_failures(
    conn: Connection, launch_id: int, case_run_ids: Sequence[int] | None, *, after_id: int, limit: int = CHUNK
) -> list[RowMapping]:
    """Failed runs of the launch without a signature yet, in id order, one chunk after ``after_id``."""
    query = (
        select(
            case_run.c.id,
            case_run.c.started_at,
            case_run.c.failure_exception,
            case_run.c.failure_message,
            case_run.c.stack_trace,
        )
        .where(
            case_run.c.launch_id == launch_id,
            case_run.c.status == "failed",
            case_run.c.signature.is_(None),
            case_run.c.id > after_id,
        )
        .order_by(case_run.c.id)
        .limit(limit)
    )
    if case_run_ids is not None:
        query = query.where(case_run.c.id.in_(list(case_run_ids)))
    return list(conn.execute(query).mappings())


_PATTERN_COLUMNS = (
    failure_pattern.c.id,
    failure_pattern.c.signature,
    failure_pattern.c.exception,
    failure_pattern.c.template,
    failure_pattern.c.defect_id,
    _example.c.launch_id.label("example_launch_id"),
)


def by_signatures(conn: Connection, project_id: int, signatures: Sequence[str]) -> list[RowMapping]:
    query = (
        select(*_PATTERN_COLUMNS)
        .outerjoin(_example, _example.c.id == failure_pattern.c.example_case_run_id)
        .where(failure_pattern.c.project_id == project_id, failure_pattern.c.signature.in_(list(signatures)))
    )
    return list(conn.execute(query).mappings())


def candidates(conn: Connection, project_id: int, exception: str | None) -> list[RowMapping]:
    """Patterns of one exception type, most recently seen first, bounded by ``CANDIDATES``."""
    same = failure_pattern.c.exception.is_(None) if exception is None else failure_pattern.c.exception == exception
    query = (
        select(*_PATTERN_COLUMNS)
        .outerjoin(_example, _example.c.id == failure_pattern.c.example_case_run_id)
        .where(failure_pattern.c.project_id == project_id, same)
        .order_by(failure_pattern.c.last_seen.desc(), failure_pattern.c.id.desc())
        .limit(CANDIDATES)
    )
    return list(conn.execute(query).mappings())


def insert_patterns(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new patterns; one another writer inserted meanwhile is kept (no error)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(failure_pattern).on_conflict_do_nothing(constraint="uq_failure_pattern_signature")
    elif conn.dialect.name == "sqlite":
        stmt = sqlite.insert(failure_pattern).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported engines
        stmt = insert(failure_pattern)
    conn.execute(stmt, list(rows))


def set_run_patterns(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """rows: ``rid``, ``sig``, ``pid``, ``new``."""
    if rows:
        conn.execute(
            update(case_run)
            .where(case_run.c.id == bindparam("rid"))
            .values(signature=bindparam("sig"), pattern_id=bindparam("pid"), new_failure=bindparam("new")),
            list(rows),
        )


def bump_patterns(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """rows: ``pid``, ``n``, ``first``, ``last``: add to the count and widen first/last seen."""
    if not rows:
        return
    first = bindparam("first", type_=Time)
    last = bindparam("last", type_=Time)
    conn.execute(
        update(failure_pattern)
        .where(failure_pattern.c.id == bindparam("pid"))
        .values(
            count=failure_pattern.c.count + bindparam("n"),
            first_seen=case((failure_pattern.c.first_seen > first, first), else_=failure_pattern.c.first_seen),
            last_seen=case((failure_pattern.c.last_seen < last, last), else_=failure_pattern.c.last_seen),
        ),
        list(rows),
    )


def defect_statuses(conn: Connection, defect_ids: Sequence[int]) -> dict[int, str]:
    if not defect_ids:
        return {}
    query = select(defect.c.id, defect.c.status).where(defect.c.id.in_(list(defect_ids)))
    return {int(i): str(s) for i, s in conn.execute(query)}


def link_defects(conn: Connection, pairs: Sequence[tuple[int, int]], at: datetime, actor: str) -> None:
    """Link (defect, case run) pairs that are not linked yet, origin ``auto``."""
    if not pairs:
        return
    runs = sorted({run for _, run in pairs})
    existing = set()
    for start in range(0, len(runs), CHUNK):
        query = select(defect_link.c.defect_id, defect_link.c.case_run_id).where(
            defect_link.c.case_run_id.in_(runs[start : start + CHUNK])
        )
        existing |= {(int(d), int(r)) for d, r in conn.execute(query)}
    rows = [
        {"defect_id": d, "case_run_id": r, "created_at": at, "created_by": actor, "origin": "auto"}
        for d, r in pairs
        if (d, r) not in existing
    ]
    if rows:
        conn.execute(insert(defect_link), rows)


def flag_reopen(conn: Connection, defect_ids: Sequence[int], at: datetime) -> None:
    if defect_ids:
        conn.execute(
            update(defect)
            .where(defect.c.id.in_(list(defect_ids)), defect.c.reopen_suggested.is_(False))
            .values(reopen_suggested=True, updated_at=at)
        )


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class PatternFilter:
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    min_count: int = 1
    #: count or last_seen; prefix - for descending
    sort: str = "-last_seen"


SORTS: dict[str, Any] = {"count": failure_pattern.c.count, "last_seen": failure_pattern.c.last_seen}

_DETAIL_COLUMNS = (
    failure_pattern,
    _example.c.failure_message.label("example_message"),
    _example.c.stack_trace.label("example_trace"),
    _example.c.launch_id.label("example_launch_id"),
    defect.c.title.label("defect_title"),
    defect.c.status.label("defect_status"),
)


def _detail_query() -> Any:
    return (
        select(*_DETAIL_COLUMNS)
        .outerjoin(_example, _example.c.id == failure_pattern.c.example_case_run_id)
        .outerjoin(defect, defect.c.id == failure_pattern.c.defect_id)
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_page(
    conn: Connection, project_id: int, flt: PatternFilter, *, cursor: str | None, limit: int
) -> pagination.Page:
    """A project's patterns: active in the window (seen since ``since``, first seen by ``until``)."""
    name = flt.sort.lstrip("-+")
    if name not in SORTS:
        raise InvalidInput(f"cannot sort failure patterns by {name!r}; use one of {', '.join(SORTS)}")
    keys = [pagination.Key(SORTS[name], flt.sort.startswith("-"))]
    query = _detail_query().add_columns(keys[0].expr.label("k0")).where(failure_pattern.c.project_id == project_id)
    if flt.since is not None:
        query = query.where(failure_pattern.c.last_seen >= flt.since)
    if flt.until is not None:
        query = query.where(failure_pattern.c.first_seen < flt.until)
    if flt.min_count > 1:
        query = query.where(failure_pattern.c.count >= flt.min_count)
    if flt.text:
        pattern = f"%{_escape_like(flt.text.lower())}%"
        query = query.where(
            or_(
                func.lower(failure_pattern.c.template).like(pattern, escape="\\"),
                func.lower(_example.c.failure_message).like(pattern, escape="\\"),
            )
        )
    if cursor:
        query = query.where(pagination.after(keys, failure_pattern.c.id, cursor))
    query = query.order_by(*pagination.order_by(keys, failure_pattern.c.id)).limit(limit + 1)
    return pagination.page(list(conn.execute(query).mappings()), limit, ["k0"])


def get(conn: Connection, pattern_id: int) -> RowMapping | None:
    return conn.execute(_detail_query().where(failure_pattern.c.id == pattern_id)).mappings().first()


def spread(conn: Connection, pattern_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """pattern → (tests affected, launches affected)."""
    if not pattern_ids:
        return {}
    query = (
        select(
            case_run.c.pattern_id,
            func.count(func.distinct(case_run.c.test_case_id)),
            func.count(func.distinct(case_run.c.launch_id)),
        )
        .where(case_run.c.pattern_id.in_(list(pattern_ids)))
        .group_by(case_run.c.pattern_id)
    )
    return {int(p): (int(t), int(n)) for p, t, n in conn.execute(query)}


def _day(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)


def daily_counts(conn: Connection, pattern_ids: Sequence[int], since: datetime) -> dict[int, dict[str, int]]:
    """pattern → {"YYYY-MM-DD": failures that day} from ``since`` on (UTC days)."""
    if not pattern_ids:
        return {}
    day = _day(conn, case_run.c.started_at).label("day")
    query = (
        select(case_run.c.pattern_id, day, func.count())
        .where(case_run.c.pattern_id.in_(list(pattern_ids)), case_run.c.started_at >= since)
        .group_by(case_run.c.pattern_id, day)
    )
    out: dict[int, dict[str, int]] = {}
    for pid, when, n in conn.execute(query):
        out.setdefault(int(pid), {})[str(when)] = int(n)
    return out


def runs_page(conn: Connection, pattern_id: int, *, cursor: str | None, limit: int) -> pagination.Page:
    """A pattern's case runs, newest first."""
    keys = [pagination.Key(case_run.c.started_at, descending=True)]
    query = (
        select(
            case_run.c.id,
            case_run.c.launch_id,
            launch.c.name.label("launch_name"),
            case_run.c.test_case_id,
            test_case.c.full_name,
            case_run.c.status,
            case_run.c.attempt,
            case_run.c.started_at,
            case_run.c.failure_message,
            case_run.c.new_failure,
            case_run.c.started_at.label("k0"),
        )
        .join(test_case, test_case.c.id == case_run.c.test_case_id)
        .join(launch, launch.c.id == case_run.c.launch_id)
        .where(case_run.c.pattern_id == pattern_id)
    )
    if cursor:
        query = query.where(pagination.after(keys, case_run.c.id, cursor))
    query = query.order_by(*pagination.order_by(keys, case_run.c.id)).limit(limit + 1)
    return pagination.page(list(conn.execute(query).mappings()), limit, ["k0"])


def launch_page(conn: Connection, launch_id: int, *, cursor: str | None, limit: int) -> pagination.Page:
    """The patterns of one launch's failed runs, most failures in this launch first."""
    grouped = (
        select(
            case_run.c.pattern_id.label("id"),
            func.count().label("launch_count"),
            func.count(func.distinct(case_run.c.test_case_id)).label("launch_tests"),
        )
        .where(case_run.c.launch_id == launch_id, case_run.c.status == "failed", case_run.c.pattern_id.isnot(None))
        .group_by(case_run.c.pattern_id)
        .subquery()
    )
    keys = [pagination.Key(grouped.c.launch_count, descending=True)]
    query = (
        select(grouped.c.launch_count, grouped.c.launch_tests, *_DETAIL_COLUMNS)
        .select_from(grouped.join(failure_pattern, failure_pattern.c.id == grouped.c.id))
        .outerjoin(_example, _example.c.id == failure_pattern.c.example_case_run_id)
        .outerjoin(defect, defect.c.id == failure_pattern.c.defect_id)
        .add_columns(grouped.c.launch_count.label("k0"))
    )
    if cursor:
        query = query.where(pagination.after(keys, failure_pattern.c.id, cursor))
    query = query.order_by(*pagination.order_by(keys, failure_pattern.c.id)).limit(limit + 1)
    return pagination.page(list(conn.execute(query).mappings()), limit, ["k0"])


def set_defect(conn: Connection, pattern_id: int, defect_id: int | None) -> None:
    conn.execute(update(failure_pattern).where(failure_pattern.c.id == pattern_id).values(defect_id=defect_id))


def defect_row(conn: Connection, defect_id: int) -> RowMapping | None:
    return conn.execute(select(defect).where(defect.c.id == defect_id)).mappings().first()


def suggested_defects(conn: Connection, case_run_id: int) -> list[RowMapping]:
    """Open defects linked to the run's pattern that the run is not linked to yet."""
    linked = select(defect_link.c.defect_id).where(defect_link.c.case_run_id == case_run_id)
    query = (
        select(defect.c.id, defect.c.title, defect.c.status, defect.c.severity)
        .select_from(case_run)
        .join(failure_pattern, failure_pattern.c.id == case_run.c.pattern_id)
        .join(defect, defect.c.id == failure_pattern.c.defect_id)
        .where(
            case_run.c.id == case_run_id,
            case_run.c.status == "failed",
            defect.c.status.in_(ACTIVE_DEFECT),
            defect.c.id.not_in(linked),
        )
    )
    return list(conn.execute(query).mappings())
