"""Reads for exports: every attempt of a launch in keyset pages (grouped by test), the logs
and images of one page of case runs, and a launch's slowest tests.

Each query is bounded by one page (ids or a limit), so an export of a huge launch never
holds more than a page of rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, RowMapping, and_, or_, select

from caserun.store.tables import attachment, case_run, case_run_log, test_case

_RUN_COLUMNS = (
    case_run.c.id,
    case_run.c.test_case_id,
    case_run.c.attempt,
    case_run.c.is_final,
    case_run.c.status,
    case_run.c.passed_on_retry,
    case_run.c.started_at,
    case_run.c.duration_ms,
    case_run.c.failure_type,
    case_run.c.failure_exception,
    case_run.c.failure_message,
    case_run.c.stack_trace,
    case_run.c.metadata,
    case_run.c.new_failure,
    test_case.c.suite,
    test_case.c.name,
    test_case.c.parameters,
    test_case.c.full_name,
    test_case.c.file,
    test_case.c.line,
)


def launch_attempts_page(
    conn: Connection, launch_id: int, *, after: tuple[int, int] | None, limit: int
) -> list[RowMapping]:
    """Case runs of a launch ordered by (test, attempt): a test's attempts come together.
    ``after`` is the (test_case_id, attempt) of the last row of the previous page; the
    ``uq_case_run_attempt`` index serves the order and the seek."""
    query = (
        select(*_RUN_COLUMNS)
        .join(test_case, test_case.c.id == case_run.c.test_case_id)
        .where(case_run.c.launch_id == launch_id)
    )
    if after is not None:
        test_id, attempt = after
        query = query.where(
            or_(
                case_run.c.test_case_id > test_id,
                and_(case_run.c.test_case_id == test_id, case_run.c.attempt > attempt),
            )
        )
    query = query.order_by(case_run.c.test_case_id, case_run.c.attempt).limit(limit)
    return list(conn.execute(query).mappings())


def logs_of_runs(conn: Connection, case_run_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """For each case run id of one page: its log streams (stdout, stderr, log)."""
    if not case_run_ids:
        return {}
    query = select(case_run_log.c.case_run_id, case_run_log.c.stream, case_run_log.c.content).where(
        case_run_log.c.case_run_id.in_(list(case_run_ids))
    )
    out: dict[int, dict[str, str]] = {}
    for run_id, stream, content in conn.execute(query):
        out.setdefault(int(run_id), {})[str(stream)] = str(content)
    return out


def images_of_runs(conn: Connection, case_run_ids: Sequence[int]) -> dict[int, list[RowMapping]]:
    """For each case run id of one page: its image attachments (name, type, sha256, size)."""
    if not case_run_ids:
        return {}
    query = (
        select(attachment)
        .where(attachment.c.case_run_id.in_(list(case_run_ids)), attachment.c.content_type.like("image/%"))
        .order_by(attachment.c.id)
    )
    out: dict[int, list[RowMapping]] = {}
    for row in conn.execute(query).mappings():
        out.setdefault(int(row["case_run_id"]), []).append(row)
    return out


def failed_finals(conn: Connection, launch_id: int, limit: int) -> list[RowMapping]:
    """The launch's failed tests (final attempts), in report order, at most ``limit``."""
    query = (
        select(*_RUN_COLUMNS)
        .join(test_case, test_case.c.id == case_run.c.test_case_id)
        .where(case_run.c.launch_id == launch_id, case_run.c.is_final, case_run.c.status == "failed")
        .order_by(case_run.c.started_at, case_run.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def slowest_finals(conn: Connection, launch_id: int, limit: int) -> list[RowMapping]:
    """The launch's slowest tests (final attempts with a duration), slowest first."""
    query = (
        select(*_RUN_COLUMNS)
        .join(test_case, test_case.c.id == case_run.c.test_case_id)
        .where(case_run.c.launch_id == launch_id, case_run.c.is_final, case_run.c.duration_ms.is_not(None))
        .order_by(case_run.c.duration_ms.desc(), case_run.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())
