"""Launch comparison: a launch against its baseline, test by test, in SQL.

Only final attempts count. Categories:

* **new failures**: failed now, not failed in the baseline (passed, skipped or absent);
* **still failing**: failed in both;
* **fixed**: failed in the baseline, passed now;
* **new tests**: run now, absent from the baseline;
* **missing tests**: in the baseline, absent now;
* **flaky this time**: passed only on a retry in this launch;
* **slower**: passed in both, now at least ``SLOWER_RATIO`` × and ``SLOWER_MIN_MS`` slower.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.orm import aliased

from caserun.store.tables import case_run, test_case

LIST_LIMIT = 50
SLOWER_RATIO = 1.5
SLOWER_MIN_MS = 100


@dataclass(frozen=True, slots=True)
class TestRef:
    __test__ = False
    test_case_id: int
    full_name: str
    case_run_id: int | None


@dataclass(slots=True)
class Bucket:
    count: int = 0
    items: list[TestRef] = field(default_factory=list)


@dataclass(slots=True)
class Comparison:
    baseline_id: int
    new_failures: Bucket
    still_failing: Bucket
    fixed: Bucket
    new_tests: Bucket
    missing_tests: Bucket
    flaky: Bucket
    slower: Bucket


def compare(conn: Connection, launch_id: int, baseline_id: int) -> Comparison:
    cur = aliased(case_run, name="cur")
    base = aliased(case_run, name="base")
    joined = cur.outerjoin(
        base,
        and_(base.c.launch_id == baseline_id, base.c.test_case_id == cur.c.test_case_id, base.c.is_final),
    )
    now_only = and_(cur.c.launch_id == launch_id, cur.c.is_final)

    def bucket(condition: object, from_base: bool = False) -> Bucket:
        if from_base:
            source = base.outerjoin(
                cur,
                and_(cur.c.launch_id == launch_id, cur.c.test_case_id == base.c.test_case_id, cur.c.is_final),
            )
            where = and_(base.c.launch_id == baseline_id, base.c.is_final, condition)  # type: ignore[arg-type]
            run = base
        else:
            source = joined
            where = and_(now_only, condition)  # type: ignore[arg-type]
            run = cur
        total = conn.execute(select(func.count()).select_from(source).where(where)).scalar_one()
        rows = conn.execute(
            select(run.c.test_case_id, test_case.c.full_name, run.c.id)
            .select_from(source.join(test_case, test_case.c.id == run.c.test_case_id))
            .where(where)
            .order_by(test_case.c.full_name)
            .limit(LIST_LIMIT)
        )
        items = [
            TestRef(test_case_id=tc, full_name=name, case_run_id=None if from_base else rid) for tc, name, rid in rows
        ]
        return Bucket(count=int(total), items=items)

    return Comparison(
        baseline_id=baseline_id,
        new_failures=bucket(and_(cur.c.status == "failed", (base.c.id.is_(None)) | (base.c.status != "failed"))),
        still_failing=bucket(and_(cur.c.status == "failed", base.c.status == "failed")),
        fixed=bucket(and_(cur.c.status == "passed", base.c.status == "failed")),
        new_tests=bucket(base.c.id.is_(None)),
        missing_tests=bucket(cur.c.id.is_(None), from_base=True),
        flaky=bucket(cur.c.passed_on_retry.is_(True)),
        slower=bucket(
            and_(
                cur.c.status == "passed",
                base.c.status == "passed",
                cur.c.duration_ms >= base.c.duration_ms * SLOWER_RATIO,
                cur.c.duration_ms - base.c.duration_ms >= SLOWER_MIN_MS,
            )
        ),
    )
