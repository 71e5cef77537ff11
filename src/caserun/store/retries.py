"""What a retry needs from a launch: its failed tests, with the parts that name them."""

from __future__ import annotations

from sqlalchemy import Connection, RowMapping, select

from caserun.store.tables import case_run, test_case


def failed_runs(conn: Connection, launch_id: int) -> list[RowMapping]:
    """The final failed runs of a launch (one per test), in report order."""
    query = (
        select(
            case_run.c.id,
            case_run.c.test_case_id,
            case_run.c.metadata,
            test_case.c.suite,
            test_case.c.name,
            test_case.c.parameters,
            test_case.c.full_name,
            test_case.c.file,
        )
        .join(test_case, test_case.c.id == case_run.c.test_case_id)
        .where(case_run.c.launch_id == launch_id, case_run.c.is_final, case_run.c.status == "failed")
        .order_by(case_run.c.started_at, case_run.c.id)
    )
    return list(conn.execute(query).mappings())
