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

from sqlalchemy import Connection, and_, exists, select
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
    #: the test's run in this launch (for missing tests: in the baseline)
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
    """Two reads — the launch's final runs joined to the baseline's, and the baseline's
    tests that did not run now — then every category is sorted out in one pass."""
    cur = aliased(case_run, name="cur")
    base = aliased(case_run, name="base")
    rows = conn.execute(
        select(
            cur.c.test_case_id,
            test_case.c.full_name,
            cur.c.id,
            cur.c.status,
            cur.c.passed_on_retry,
            cur.c.duration_ms,
            base.c.id,
            base.c.status,
            base.c.duration_ms,
        )
        .select_from(cur)
        .join(test_case, test_case.c.id == cur.c.test_case_id)
        .outerjoin(
            base, and_(base.c.launch_id == baseline_id, base.c.test_case_id == cur.c.test_case_id, base.c.is_final)
        )
        .where(cur.c.launch_id == launch_id, cur.c.is_final)
    ).all()
    missing = conn.execute(
        select(base.c.test_case_id, test_case.c.full_name, base.c.id)
        .select_from(base)
        .join(test_case, test_case.c.id == base.c.test_case_id)
        .where(
            base.c.launch_id == baseline_id,
            base.c.is_final,
            ~exists().where(cur.c.launch_id == launch_id, cur.c.test_case_id == base.c.test_case_id),
        )
    ).all()
    buckets: dict[str, list[TestRef]] = {name: [] for name in _BUCKETS}
    for tc, name, run_id, status, retried, duration, base_id, base_status, base_duration in rows:
        ref = TestRef(test_case_id=tc, full_name=name, case_run_id=run_id)
        if status == "failed":
            buckets["still_failing" if base_status == "failed" else "new_failures"].append(ref)
        elif status == "passed" and base_status == "failed":
            buckets["fixed"].append(ref)
        if base_id is None:
            buckets["new_tests"].append(ref)
        if retried:
            buckets["flaky"].append(ref)
        if (
            status == "passed"
            and base_status == "passed"
            and duration is not None
            and base_duration is not None
            and duration >= base_duration * SLOWER_RATIO
            and duration - base_duration >= SLOWER_MIN_MS
        ):
            buckets["slower"].append(ref)
    buckets["missing_tests"] = [TestRef(test_case_id=tc, full_name=name, case_run_id=rid) for tc, name, rid in missing]
    return Comparison(baseline_id=baseline_id, **{name: _bucket(refs) for name, refs in buckets.items()})


_BUCKETS = ("new_failures", "still_failing", "fixed", "new_tests", "missing_tests", "flaky", "slower")


def _bucket(refs: list[TestRef]) -> Bucket:
    return Bucket(count=len(refs), items=sorted(refs, key=lambda r: r.full_name)[:LIST_LIMIT])
