"""Small reads that pages need beside the main lists: a test's environments and branches,
the tests merged into it, a case run's verdict, and the defects of a page of case runs.

Each query is bounded by one test's history or by the ids of one page of rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from caserun.store.tables import case_run, defect, defect_link, launch, test_case


def environments_and_branches(conn: Connection, test_case_id: int) -> tuple[list[str], list[str]]:
    """The distinct environments and branches this test ran on (its history only)."""
    query = (
        select(launch.c.environment, launch.c.branch)
        .join(case_run, case_run.c.launch_id == launch.c.id)
        .where(case_run.c.test_case_id == test_case_id, case_run.c.is_final)
        .distinct()
    )
    envs: set[str] = set()
    branches: set[str] = set()
    for env, branch in conn.execute(query):
        if env:
            envs.add(str(env))
        if branch:
            branches.add(str(branch))
    return sorted(envs), sorted(branches)


def project_of_test(conn: Connection, test_case_id: int) -> int:
    value = conn.execute(select(test_case.c.project_id).where(test_case.c.id == test_case_id)).scalar_one()
    return int(value)


def aliases(conn: Connection, test_case_id: int) -> list[str]:
    """Full names of the tests merged into this one."""
    query = select(test_case.c.full_name).where(test_case.c.alias_of_id == test_case_id).order_by(test_case.c.full_name)
    return [str(name) for name in conn.execute(query).scalars()]


def verdict(conn: Connection, case_run_id: int) -> str | None:
    value = conn.execute(select(case_run.c.verdict).where(case_run.c.id == case_run_id)).scalar()
    return str(value) if value is not None else None


def defects_of_runs(conn: Connection, case_run_ids: Sequence[int]) -> dict[int, list[tuple[int, str, str]]]:
    """For each case run id: its linked defects as (id, title, status)."""
    if not case_run_ids:
        return {}
    query = (
        select(defect_link.c.case_run_id, defect.c.id, defect.c.title, defect.c.status)
        .join(defect, defect.c.id == defect_link.c.defect_id)
        .where(defect_link.c.case_run_id.in_(list(case_run_ids)))
        .order_by(defect.c.id)
    )
    out: dict[int, list[tuple[int, str, str]]] = {}
    for run_id, defect_id, title, status in conn.execute(query):
        out.setdefault(int(run_id), []).append((int(defect_id), str(title), str(status)))
    return out
