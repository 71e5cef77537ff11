"""Case run rows: bulk inserts for imports, the launch's list, one run with its details."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    case,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from caserun.errors import InvalidInput
from caserun.store import bulk, pagination
from caserun.store.ids import allocate
from caserun.store.launches import STATUS_RANK
from caserun.store.tables import attachment, case_run, case_run_log, test_case

SORTS: dict[str, Any] = {
    "status": STATUS_RANK,
    "duration": func.coalesce(case_run.c.duration_ms, -1),
    "name": test_case.c.full_name,
    "started": case_run.c.started_at,
}


#: built once: building an alias per call cost ~7 ms in the live-events profile
_LATER = aliased(case_run, name="later")
_EARLIER = aliased(case_run, name="earlier")


@dataclass(frozen=True, slots=True)
class CaseRunFilter:
    status: list[str] | None = None
    text: str | None = None
    #: the test's suite, exactly (as the table shows it)
    suite: str | None = None
    #: only runs that took at least this long
    min_duration_ms: int | None = None
    #: "started" keeps report order; "status" with failed first is the triage view
    sort: str = "started"
    failed_first: bool = False
    all_attempts: bool = False


def insert_many(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert case runs (dicts) with one executemany and return their ids in order."""
    if not rows:
        return []
    ids = allocate(conn, case_run, len(rows))
    bulk.insert_rows(conn, case_run, [{**row, "id": ident} for row, ident in zip(rows, ids, strict=True)])
    return list(ids)


def insert_columns(conn: Connection, columns: Mapping[str, Sequence[Any]]) -> Sequence[int]:
    """Insert case runs given column by column, every column as long (the import path: no
    dict or tuple per row); returns their ids in order."""
    count = len(next(iter(columns.values()), ()))
    if not count:
        return []
    ids = allocate(conn, case_run, count)
    bulk.insert_columns(conn, case_run, ["id", *columns], [ids, *columns.values()])
    return ids


def insert_logs(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    bulk.insert_rows(conn, case_run_log, rows)


def insert_log_tuples(conn: Connection, rows: Sequence[tuple[int, str, str | None]]) -> None:
    """Insert logs given as ``(case_run_id, stream, content)``."""
    if rows:
        bulk.insert_columns(conn, case_run_log, ("case_run_id", "stream", "content"), list(zip(*rows, strict=True)))


def insert_attachments(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(attachment), list(rows))


def max_attempts(conn: Connection, launch_id: int, test_case_ids: Sequence[int]) -> dict[int, int]:
    """The highest attempt each of these tests has in the launch (tests without one are
    left out).

    Asked for thousands of tests at a time, mid-import, when PostgreSQL's statistics do
    not know the launch yet: written so that each test is one probe of the attempt index
    whatever the planner believes (an ``IN`` list let it scan the launch once per chunk)."""
    driver: Any = conn.connection.driver_connection
    found: dict[int, int] = {}
    postgres = conn.dialect.name == "postgresql"
    for start in range(0, len(test_case_ids), _LOOKUP_CHUNK):
        chunk = [int(ident) for ident in test_case_ids[start : start + _LOOKUP_CHUNK]]
        if postgres:  # the ids as one text, split by the server: cheaper to send than an array
            rows = driver.execute(_MAX_ATTEMPTS_PG, (",".join(map(str, chunk)), launch_id))
        else:
            marks = ",".join("?" * len(chunk))
            rows = driver.execute(_MAX_ATTEMPTS_SQLITE.format(marks=marks), (launch_id, *chunk))
        found.update(rows)
    return found


_LOOKUP_CHUNK = 5000
_MAX_ATTEMPTS_PG = (
    "SELECT t.id, last.attempt FROM unnest(string_to_array(%s, ',')::bigint[]) AS t(id) CROSS JOIN LATERAL"
    " (SELECT attempt FROM case_run WHERE launch_id = %s AND test_case_id = t.id ORDER BY attempt DESC LIMIT 1) AS last"
)
_MAX_ATTEMPTS_SQLITE = (
    "SELECT test_case_id, max(attempt) FROM case_run WHERE launch_id = ? AND test_case_id IN ({marks})"
    " GROUP BY test_case_id"
)


def settle_attempts(conn: Connection, launch_id: int) -> None:
    """Mark only the last attempt of each test final, and flag passes that followed a failure.

    Needed only when one test arrived in several pieces (pytest's duplicate testcases, a
    retry streamed later); a single multi-attempt result is settled in memory.
    """
    later = _LATER
    conn.execute(
        update(case_run)
        .where(
            case_run.c.launch_id == launch_id,
            case_run.c.is_final,
            exists().where(
                later.c.launch_id == case_run.c.launch_id,
                later.c.test_case_id == case_run.c.test_case_id,
                later.c.attempt > case_run.c.attempt,
            ),
        )
        .values(is_final=False)
    )
    earlier = _EARLIER
    conn.execute(
        update(case_run)
        .where(
            case_run.c.launch_id == launch_id,
            case_run.c.is_final,
            case_run.c.status == "passed",
            exists().where(
                earlier.c.launch_id == case_run.c.launch_id,
                earlier.c.test_case_id == case_run.c.test_case_id,
                earlier.c.attempt < case_run.c.attempt,
                earlier.c.status == "failed",
            ),
        )
        .values(passed_on_retry=True)
    )


def link_retries(conn: Connection, launch_id: int, retried_launch_id: int) -> None:
    """Point each first attempt at the final run of the same test in the retried launch."""
    prior = aliased(case_run)
    target = (
        select(prior.c.id)
        .where(
            prior.c.launch_id == retried_launch_id,
            prior.c.test_case_id == case_run.c.test_case_id,
            prior.c.is_final,
        )
        .limit(1)
        .scalar_subquery()
    )
    conn.execute(
        update(case_run).where(case_run.c.launch_id == launch_id, case_run.c.attempt == 1).values(retry_of_id=target)
    )


_LIST_COLUMNS = (
    case_run.c.id,
    case_run.c.launch_id,
    case_run.c.test_case_id,
    case_run.c.attempt,
    case_run.c.is_final,
    case_run.c.status,
    case_run.c.passed_on_retry,
    case_run.c.started_at,
    case_run.c.finished_at,
    case_run.c.duration_ms,
    case_run.c.failure_type,
    case_run.c.failure_exception,
    case_run.c.failure_message,
    test_case.c.suite,
    test_case.c.name,
    test_case.c.parameters,
    test_case.c.full_name,
)


def list_page(
    conn: Connection, launch_id: int, flt: CaseRunFilter, *, cursor: str | None, limit: int
) -> pagination.Page:
    sort_name = flt.sort.lstrip("-+")
    if sort_name not in SORTS:
        raise InvalidInput(f"cannot sort case runs by {sort_name!r}; use one of {', '.join(SORTS)}")
    keys = [pagination.Key(SORTS[sort_name], flt.sort.startswith("-"))]
    if flt.failed_first:
        keys.insert(0, pagination.Key(case((case_run.c.status == "failed", 0), else_=1)))
    labels = [key.expr.label(f"k{i}") for i, key in enumerate(keys)]
    query = (
        select(*_LIST_COLUMNS, attempts_column().label("attempts"), *labels)
        .join(test_case, test_case.c.id == case_run.c.test_case_id)
        .where(case_run.c.launch_id == launch_id)
    )
    if not flt.all_attempts:
        query = query.where(case_run.c.is_final)
    if flt.status:
        query = query.where(case_run.c.status.in_(flt.status))
    if flt.suite is not None:
        query = query.where(test_case.c.suite == flt.suite)
    if flt.min_duration_ms is not None:
        query = query.where(case_run.c.duration_ms >= flt.min_duration_ms)
    if flt.text:
        pattern = f"%{_escape_like(flt.text.lower())}%"
        query = query.where(
            or_(
                func.lower(test_case.c.full_name).like(pattern, escape="\\"),
                func.lower(case_run.c.failure_message).like(pattern, escape="\\"),
            )
        )
    if cursor:
        query = query.where(pagination.after(keys, case_run.c.id, cursor))
    query = query.order_by(*pagination.order_by(keys, case_run.c.id)).limit(limit + 1)
    rows = list(conn.execute(query).mappings())
    return pagination.page(rows, limit, [f"k{i}" for i in range(len(keys))])


def attempts_column() -> Any:
    sibling = aliased(case_run)
    return (
        select(func.count())
        .where(
            sibling.c.launch_id == case_run.c.launch_id,
            sibling.c.test_case_id == case_run.c.test_case_id,
        )
        .scalar_subquery()
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get(conn: Connection, case_run_id: int) -> RowMapping | None:
    query = (
        select(
            case_run,
            test_case.c.suite,
            test_case.c.name,
            test_case.c.parameters,
            test_case.c.full_name,
            test_case.c.key,
            test_case.c.file,
            test_case.c.line,
        )
        .join(test_case, test_case.c.id == case_run.c.test_case_id)
        .where(case_run.c.id == case_run_id)
    )
    return conn.execute(query).mappings().first()


def attempts(conn: Connection, launch_id: int, test_case_id: int) -> list[RowMapping]:
    query = (
        select(
            case_run.c.id,
            case_run.c.attempt,
            case_run.c.status,
            case_run.c.duration_ms,
            case_run.c.started_at,
            case_run.c.failure_message,
            case_run.c.is_final,
        )
        .where(and_(case_run.c.launch_id == launch_id, case_run.c.test_case_id == test_case_id))
        .order_by(case_run.c.attempt)
    )
    return list(conn.execute(query).mappings())


def logs(conn: Connection, case_run_id: int) -> dict[str, str]:
    query = select(case_run_log.c.stream, case_run_log.c.content).where(case_run_log.c.case_run_id == case_run_id)
    return {str(k): str(v) for k, v in conn.execute(query).all()}


def attachments(conn: Connection, case_run_id: int) -> list[RowMapping]:
    query = select(attachment).where(attachment.c.case_run_id == case_run_id).order_by(attachment.c.id)
    return list(conn.execute(query).mappings())


def attachment_by_id(conn: Connection, attachment_id: int) -> RowMapping | None:
    query = (
        select(attachment, case_run.c.project_id)
        .join(case_run, case_run.c.id == attachment.c.case_run_id)
        .where(attachment.c.id == attachment_id)
    )
    return conn.execute(query).mappings().first()


def set_warnings(conn: Connection, case_run_id: int, warnings: list[str]) -> None:
    conn.execute(update(case_run).where(case_run.c.id == case_run_id).values(warnings=warnings))
