"""Triage use cases: bulk status changes with an audit trail, retry launches, retry plans.

A bulk status change needs the maintainer role and a comment; every run whose status
actually changes gets one ``status_change`` row (who, when, old → new, comment), and the
launch summary is recounted in the same transaction. Creating a retry launch is creating
a launch, so it needs the reporter role like any other launch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping

from caserun.analysis import stats
from caserun.domain.model import LaunchSource, LaunchStatus, Role, Status
from caserun.domain.retries import FailedTest, RetryPlan, Runner, plan
from caserun.domain.rules import Summary
from caserun.errors import Conflict, InvalidInput, NotFound
from caserun.service.auth import Principal, actor_name
from caserun.service.launches import LaunchParams, insert_launch
from caserun.service.views import LaunchView
from caserun.store import case_runs, launches, projects, retries, selected_runs, status_changes
from caserun.store.engine import Database

EDIT_ROLE = Role.MAINTAINER
MAX_IDS = 5000
SETTABLE = (Status.PASSED, Status.FAILED, Status.SKIPPED, Status.BLOCKED)


@dataclass(frozen=True, slots=True)
class BulkResult:
    changed: int
    unchanged: int
    summary: Summary


def _launch(conn: Connection, launch_id: int, principal: Principal, needed: Role, *, lock: bool = False) -> RowMapping:
    row = launches.get(conn, launch_id, lock=lock)
    if row is None:
        raise NotFound(f"launch {launch_id} not found")
    principal.require(needed, int(row["project_id"]))
    return row


def _summary(conn: Connection, launch_id: int) -> Summary:
    row = launches.get(conn, launch_id)
    assert row is not None
    return Summary(**{name: int(row[name]) for name in Summary.__slots__})


def change_status(
    db: Database, principal: Principal, launch_id: int, case_run_ids: Sequence[int], status: str, comment: str
) -> BulkResult:
    """Set the status of some of a launch's case runs, auditing each change."""
    try:
        new = Status(status)
    except ValueError:
        new = None
    if new not in SETTABLE:
        raise InvalidInput(f"status must be one of {', '.join(s.value for s in SETTABLE)}")
    comment = comment.strip()
    if not comment:
        raise InvalidInput("a status change needs a comment")
    ids = list(dict.fromkeys(case_run_ids))
    if not ids or len(ids) > MAX_IDS:
        raise InvalidInput(f"give between 1 and {MAX_IDS} case run ids")
    with db.write() as conn:
        launch = _launch(conn, launch_id, principal, EDIT_ROLE, lock=True)
        runs = status_changes.runs_of_launch(conn, launch_id, ids)
        found = {int(r["id"]) for r in runs}
        missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(str(i) for i in missing[:10])
            raise NotFound(f"case runs not in launch {launch_id}: {shown}{'…' if len(missing) > 10 else ''}")
        changing = [r for r in runs if r["status"] != new.value]
        now = datetime.now(UTC)
        actor = actor_name(conn, principal)
        status_changes.set_statuses(conn, [int(r["id"]) for r in changing], new.value, now)
        status_changes.record(
            conn,
            [
                {
                    "project_id": int(r["project_id"]),
                    "case_run_id": int(r["id"]),
                    "actor": actor,
                    "at": now,
                    "old_status": r["status"],
                    "new_status": new.value,
                    "comment": comment,
                }
                for r in changing
            ],
        )
        tests = sorted({int(r["test_case_id"]) for r in changing})
        status_changes.settle_passed_on_retry(conn, launch_id, tests)
        launches.refresh_summary(conn, launch_id)
        if LaunchStatus(launch["status"]).finished and any(r["is_final"] for r in changing):
            # the per-test statistics already hold this launch's old results
            stats.rebuild(conn, int(launch["project_id"]), tests)
        return BulkResult(changed=len(changing), unchanged=len(runs) - len(changing), summary=_summary(conn, launch_id))


def create_retry(
    db: Database,
    principal: Principal,
    launch_id: int,
    base_url: str,
    *,
    name: str | None = None,
    case_run_ids: Sequence[int] | None = None,
) -> LaunchView:
    """A ``running`` manual launch holding tests of ``launch_id`` as ``running`` runs, each
    pointing at the run it retries; finish them by hand (PATCH or a bulk status change).

    Without ``case_run_ids`` it holds the launch's failed tests; with them, exactly the
    tests of those runs (whatever their status: "retry selected"), each once."""
    with db.write() as conn:
        original = _launch(conn, launch_id, principal, Role.REPORTER)
        if original["status"] == LaunchStatus.RUNNING.value:
            raise Conflict(f"launch {launch_id} is still running; retry it once it has finished")
        if case_run_ids is None:
            failed = retries.failed_runs(conn, launch_id)
            if not failed:
                raise Conflict(f"launch {launch_id} has no failed tests to retry")
        else:
            failed = _selected_runs(conn, launch_id, case_run_ids)
        project_id = int(original["project_id"])
        params = LaunchParams(
            name=name or f"Retry of {original['name']}"[:300],
            environment=original["environment"],
            branch=original["branch"],
            commit=original["commit_sha"],
            build_url=original["build_url"],
            attributes=original["attributes"] or {},
            retry_of=launch_id,
            source=LaunchSource.MANUAL,
        )
        retry_id = insert_launch(conn, project_id, params, LaunchStatus.RUNNING)
        now = datetime.now(UTC)
        case_runs.insert_many(
            conn,
            [
                {
                    "project_id": project_id,
                    "launch_id": retry_id,
                    "test_case_id": int(run["test_case_id"]),
                    "attempt": 1,
                    "is_final": True,
                    "retry_of_id": int(run["id"]),
                    "status": Status.RUNNING.value,
                    "passed_on_retry": False,
                    "started_at": now,
                    "metadata": run["metadata"],
                }
                for run in failed
            ],
        )
        launches.refresh_summary(conn, retry_id, 0)
        row = launches.get(conn, retry_id)
        assert row is not None
        project = projects.by_id(conn, project_id)
        assert project is not None
        return LaunchView.from_row(row, str(project["key"]), base_url)


def _selected_runs(conn: Connection, launch_id: int, case_run_ids: Sequence[int]) -> list[RowMapping]:
    """The chosen runs of the launch, one per test (the first chosen wins), in the order given."""
    ids = list(dict.fromkeys(case_run_ids))
    if not ids or len(ids) > MAX_IDS:
        raise InvalidInput(f"give between 1 and {MAX_IDS} case run ids")
    found = {int(r["id"]): r for r in selected_runs.of_launch(conn, launch_id, ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        shown = ", ".join(str(i) for i in missing[:10])
        raise NotFound(f"case runs not in launch {launch_id}: {shown}{'…' if len(missing) > 10 else ''}")
    chosen: dict[int, RowMapping] = {}
    for i in ids:
        chosen.setdefault(int(found[i]["test_case_id"]), found[i])
    return list(chosen.values())


def parse_runner(value: str) -> Runner:
    try:
        return Runner(value)
    except ValueError:
        raise InvalidInput(f"unknown runner {value!r}; use one of {', '.join(r.value for r in Runner)}") from None


def retry_plan(db: Database, principal: Principal, launch_id: int, runner: Runner) -> RetryPlan:
    """The arguments that make ``runner`` re-run exactly the launch's failed tests."""
    with db.read() as conn:
        _launch(conn, launch_id, principal, Role.VIEWER)
        failed = retries.failed_runs(conn, launch_id)
    tests = [FailedTest(suite=r["suite"], name=r["name"], parameters=r["parameters"], file=r["file"]) for r in failed]
    return plan(runner, tests)
