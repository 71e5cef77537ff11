"""Read models for the pages that explain one test or one failure.

``test_page`` gathers a test's history page, statistics, quarantine and the filter
choices; ``case_run_context`` gathers what explains a case run beside its detail (its
verdict, pattern, recent history and the defects it could be linked to);
``defect_draft`` is the prefilled defect for a failed run; ``launch_run_defects`` the
defects of one page of a launch's case runs; ``attachments_zip`` every attachment of a
run as one ZIP file. Rules stay in the services these call.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from caserun.analysis.history import HistoryFilter, TestStatistics
from caserun.domain.model import Role
from caserun.errors import NotFound
from caserun.service import case_runs, defects, history, patterns, projects
from caserun.service.auth import Principal
from caserun.service.defects import DefectFields, DefectView
from caserun.service.history import TestView
from caserun.service.patterns import PatternView
from caserun.service.projects import Project
from caserun.service.quarantine import QuarantineEntry
from caserun.store import case_runs as case_run_rows
from caserun.store import launches, page_reads, quarantine
from caserun.store.blobs import BlobStore
from caserun.store.defects import DefectFilter
from caserun.store.engine import Database

#: runs of recent history shown beside a case run
MINI_HISTORY = 20
ACTIVE_DEFECTS = ["open", "in_progress", "reopened"]
LINKABLE_DEFECTS = 100


@dataclass(slots=True)
class HistoryRunView:
    id: int
    launch_id: int
    launch_name: str
    environment: str | None
    branch: str | None
    commit: str | None
    status: str
    attempt: int
    passed_on_retry: bool
    duration_ms: int | None
    started_at: datetime
    signature: str | None
    verdict: str | None
    failure_message: str | None

    @classmethod
    def from_row(cls, row: Any) -> HistoryRunView:
        values = {name: row[name] for name in cls.__slots__ if name != "commit"}
        return cls(commit=row["commit_sha"], **values)


@dataclass(slots=True)
class TestPage:
    __test__ = False
    test: TestView
    statistics: TestStatistics
    runs: list[HistoryRunView]
    next: str | None
    quarantine: QuarantineEntry | None
    environments: list[str]
    branches: list[str]
    aliases: list[str]


def _quarantine_entry(conn: Any, project_id: int, test: TestView) -> QuarantineEntry | None:
    row = quarantine.active_entry(conn, project_id, test.id, datetime.now(UTC))
    if row is None:
        return None
    return QuarantineEntry(
        test_case_id=test.id,
        test_key=test.key,
        full_name=test.full_name,
        reason=row["reason"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


def test_page(
    db: Database,
    principal: Principal,
    test_case_id: int,
    flt: HistoryFilter,
    *,
    cursor: str | None,
    limit: int,
    window: int,
) -> TestPage:
    """Everything the test page shows; a merged test's id shows the test it was merged into."""
    test, statistics, page = history.history(
        db, principal, test_case_id, flt, cursor=cursor, limit=limit, window=window
    )
    with db.read() as conn:
        project_id = page_reads.project_of_test(conn, test.id)
        entry = _quarantine_entry(conn, project_id, test)
        envs, branches = page_reads.environments_and_branches(conn, test.id)
        merged = page_reads.aliases(conn, test.id)
    return TestPage(
        test=test,
        statistics=statistics,
        runs=[HistoryRunView.from_row(r) for r in page.rows],
        next=page.next,
        quarantine=entry,
        environments=envs,
        branches=branches,
        aliases=merged,
    )


@dataclass(slots=True)
class CaseRunContext:
    """What explains a case run, beside its detail."""

    test_case_id: int
    verdict: str | None
    pattern: PatternView | None
    statistics: TestStatistics
    recent: list[HistoryRunView]
    linkable_defects: list[DefectView] = field(default_factory=list)


def case_run_context(db: Database, principal: Principal, case_run_id: int, project_key: str) -> CaseRunContext:
    with db.read() as conn:
        row = case_run_rows.get(conn, case_run_id)
        if row is None:
            raise NotFound(f"case run {case_run_id} not found")
        principal.require(Role.VIEWER, int(row["project_id"]))
        verdict = page_reads.verdict(conn, case_run_id)
    test_id = int(row["test_case_id"])
    _, statistics, page = history.history(
        db, principal, test_id, HistoryFilter(), cursor=None, limit=MINI_HISTORY, window=MINI_HISTORY
    )
    pattern = None
    if row["pattern_id"] is not None:
        pattern, _, _ = patterns.get(db, principal, int(row["pattern_id"]), cursor=None, limit=1)
    linkable = linkable_defects(db, principal, project_key)
    recent = [HistoryRunView.from_row(r) for r in page.rows]
    recent.reverse()  # oldest first, as charts read
    return CaseRunContext(
        test_case_id=test_id,
        verdict=verdict,
        pattern=pattern,
        statistics=statistics,
        recent=recent,
        linkable_defects=linkable,
    )


def defect_draft(db: Database, principal: Principal, case_run_id: int) -> DefectFields:
    """The title, description, environment and launch a defect about this failed run starts with."""
    with db.read() as conn:
        run = case_run_rows.get(conn, case_run_id)
        if run is None:
            raise NotFound(f"case run {case_run_id} not found")
        principal.require(Role.VIEWER, int(run["project_id"]))
        launch = launches.get(conn, int(run["launch_id"]))
        assert launch is not None
        return defects.prefill(run, launch)


def launch_run_defects(
    db: Database, principal: Principal, launch_id: int, case_run_ids: list[int]
) -> dict[int, list[tuple[int, str, str]]]:
    """Linked defects of one page of a launch's case runs, by case run id."""
    with db.read() as conn:
        launch = launches.get(conn, launch_id)
        if launch is None:
            raise NotFound(f"launch {launch_id} not found")
        principal.require(Role.VIEWER, int(launch["project_id"]))
        return page_reads.defects_of_runs(conn, case_run_ids)


def attachments_zip(db: Database, blobs: BlobStore, principal: Principal, case_run_id: int) -> tuple[str, IO[bytes]]:
    """A ZIP of every attachment of the case run (a spooled file, rewound), and its file name."""
    detail = case_runs.detail(db, principal, case_run_id, "")
    if not detail.attachments:
        raise NotFound(f"case run {case_run_id} has no attachments")
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned open
    used: set[str] = set()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in detail.attachments:
            name = _entry_name(item.name, used)
            with blobs.open(item.sha256) as source, archive.open(name, "w") as target:
                while chunk := source.read(256 * 1024):
                    target.write(chunk)
    out.seek(0)
    return f"case-run-{case_run_id}-attachments.zip", out


def _entry_name(name: str, used: set[str]) -> str:
    """A safe, unique member name: no directories, no traversal, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable()).strip(". ") or "attachment"
    candidate, n = base, 1
    while candidate in used:
        n += 1
        stem, dot, ext = base.rpartition(".")
        candidate = f"{stem} ({n}).{ext}" if dot and stem else f"{base} ({n})"
    used.add(candidate)
    return candidate


def visible_project(db: Database, principal: Principal, key: str) -> Project:
    """The project, when the caller may read it (other projects are not found)."""
    project = projects.get(db, key)
    principal.require(Role.VIEWER, project.id)
    return project


def linkable_defects(db: Database, principal: Principal, project_key: str) -> list[DefectView]:
    """The project's defects still being worked on, newest first: what a failure is linked to."""
    found, _ = defects.list_page(
        db, principal, project_key, DefectFilter(status=ACTIVE_DEFECTS), cursor=None, limit=LINKABLE_DEFECTS
    )
    return found
