"""Case runs a user picked by id in one launch (the "retry selected" bulk action)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, RowMapping, select

from caserun.store.tables import case_run, test_case

CHUNK = 1000


def of_launch(conn: Connection, launch_id: int, case_run_ids: Sequence[int]) -> list[RowMapping]:
    """Those of ``case_run_ids`` that belong to ``launch_id``, with what a retry copies
    (test, metadata) and the parts that name the test; ids of other launches are left out."""
    ids = list(case_run_ids)
    found: list[RowMapping] = []
    for start in range(0, len(ids), CHUNK):
        query = (
            select(
                case_run.c.id,
                case_run.c.test_case_id,
                case_run.c.status,
                case_run.c.metadata,
                test_case.c.suite,
                test_case.c.name,
                test_case.c.parameters,
                test_case.c.full_name,
                test_case.c.file,
            )
            .join(test_case, test_case.c.id == case_run.c.test_case_id)
            .where(case_run.c.launch_id == launch_id, case_run.c.id.in_(ids[start : start + CHUNK]))
        )
        found += list(conn.execute(query).mappings())
    return found
