"""History use cases: a test's timeline and statistics, flaky/broken/slow lists, merging tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from caserun.analysis import history as queries
from caserun.analysis import stats
from caserun.analysis.history import BrokenTest, HistoryFilter, RankedTest, SlowTest, TestStatistics
from caserun.domain.model import Role
from caserun.errors import Conflict, InvalidInput, NotFound
from caserun.service.auth import Principal
from caserun.service.projects import lookup
from caserun.store import pagination, projects
from caserun.store.engine import Database
from caserun.store.tables import case_run, test_case, test_stats


@dataclass(slots=True)
class TestView:
    __test__ = False
    id: int
    project_key: str
    key: str
    suite: str
    name: str
    parameters: str
    full_name: str
    file: str | None
    line: int | None
    alias_of_id: int | None


def _test(conn: Any, principal: Principal, test_case_id: int, needed: Role = Role.VIEWER) -> TestView:
    row = conn.execute(select(test_case).where(test_case.c.id == test_case_id)).mappings().first()
    if row is None:
        raise NotFound(f"test {test_case_id} not found")
    principal.require(needed, int(row["project_id"]))
    project = projects.by_id(conn, int(row["project_id"]))
    assert project is not None
    return TestView(
        id=row["id"],
        project_key=project["key"],
        key=row["key"],
        suite=row["suite"],
        name=row["name"],
        parameters=row["parameters"],
        full_name=row["full_name"],
        file=row["file"],
        line=row["line"],
        alias_of_id=row["alias_of_id"],
    )


def get_test(db: Database, principal: Principal, test_case_id: int) -> TestView:
    with db.read() as conn:
        return _test(conn, principal, test_case_id)


def find_tests(db: Database, principal: Principal, project_key: str, text: str, limit: int = 50) -> list[TestView]:
    """Tests whose full name contains the text (a test's own history hangs off its id)."""
    with db.read() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.VIEWER, project.id)
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = conn.execute(
            select(test_case)
            .where(
                test_case.c.project_id == project.id,
                test_case.c.alias_of_id.is_(None),
                func.lower(test_case.c.full_name).like(pattern, escape="\\"),
            )
            .order_by(test_case.c.full_name)
            .limit(limit)
        ).mappings()
        return [
            TestView(
                id=r["id"],
                project_key=project.key,
                key=r["key"],
                suite=r["suite"],
                name=r["name"],
                parameters=r["parameters"],
                full_name=r["full_name"],
                file=r["file"],
                line=r["line"],
                alias_of_id=r["alias_of_id"],
            )
            for r in rows
        ]


def history(
    db: Database,
    principal: Principal,
    test_case_id: int,
    flt: HistoryFilter,
    *,
    cursor: str | None,
    limit: int,
    window: int,
) -> tuple[TestView, TestStatistics, pagination.Page]:
    pagination.check_limit(limit)
    _check_window(window)
    with db.read() as conn:
        test = _test(conn, principal, test_case_id)
        if test.alias_of_id is not None:
            test = _test(conn, principal, test.alias_of_id)
        statistics = queries.statistics(conn, test.id, flt, window)
        page = queries.timeline(conn, test.id, flt, cursor=cursor, limit=limit)
    return test, statistics, page


def _check_window(window: int) -> None:
    if not 2 <= window <= 50:
        raise InvalidInput("window must be between 2 and 50 runs")


def _project_id(db: Database, principal: Principal, project_key: str) -> int:
    with db.read() as conn:
        project = lookup(conn, project_key)
    principal.require(Role.VIEWER, project.id)
    return project.id


def flaky(
    db: Database, principal: Principal, project_key: str, flt: HistoryFilter, *, min_score: int, window: int
) -> list[RankedTest]:
    _check_window(window)
    project_id = _project_id(db, principal, project_key)
    with db.read() as conn:
        if flt.environment or flt.branch:
            return queries.flaky_in_launches(conn, project_id, flt, min_score, window)
        return queries.flaky_from_stats(conn, project_id, min_score, window)


def broken(db: Database, principal: Principal, project_key: str) -> list[BrokenTest]:
    project_id = _project_id(db, principal, project_key)
    with db.read() as conn:
        return queries.broken(conn, project_id)


def slow(db: Database, principal: Principal, project_key: str) -> list[SlowTest]:
    project_id = _project_id(db, principal, project_key)
    with db.read() as conn:
        return queries.slow(conn, project_id)


def merge(db: Database, principal: Principal, source_id: int, target_id: int) -> TestView:
    """Merge a test's history into another (a rename): its case runs move, and future
    results under its old identity are recorded under the target."""
    if source_id == target_id:
        raise InvalidInput("a test cannot be merged into itself")
    with db.write() as conn:
        source = _test(conn, principal, source_id, Role.MAINTAINER)
        target = _test(conn, principal, target_id, Role.MAINTAINER)
        if source.project_key != target.project_key:
            raise InvalidInput("tests of different projects cannot be merged")
        if target.alias_of_id is not None:
            raise InvalidInput(f"test {target_id} was itself merged into {target.alias_of_id}; merge into that one")
        both = (
            select(case_run.c.launch_id)
            .where(case_run.c.test_case_id == source_id)
            .intersect(select(case_run.c.launch_id).where(case_run.c.test_case_id == target_id))
        )
        overlap = sorted(int(x) for x in conn.execute(both).scalars())
        if overlap:
            raise Conflict(f"both tests ran in launch {overlap[0]}: they are different tests, not a rename")
        conn.execute(update(case_run).where(case_run.c.test_case_id == source_id).values(test_case_id=target_id))
        conn.execute(
            update(test_case)
            .where((test_case.c.id == source_id) | (test_case.c.alias_of_id == source_id))
            .values(alias_of_id=target_id)
        )
        conn.execute(test_stats.delete().where(test_stats.c.test_case_id == source_id))
        project_id = conn.execute(select(test_case.c.project_id).where(test_case.c.id == target_id)).scalar_one()
        stats.rebuild(conn, int(project_id), [target_id])
        return _test(conn, principal, target_id)
