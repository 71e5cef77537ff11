"""Reading case runs: a launch's list and one run with everything that explains it."""

from __future__ import annotations

from typing import IO

from caserun.domain.model import Role
from caserun.errors import NotFound
from caserun.service.auth import Principal
from caserun.service.views import (
    AttachmentView,
    AttemptView,
    CaseRunDetail,
    CaseRunRow,
    DefectRef,
    StatusChangeView,
)
from caserun.store import case_runs, defects, launches, pagination, patterns, projects, status_changes
from caserun.store.blobs import BlobStore
from caserun.store.case_runs import CaseRunFilter
from caserun.store.engine import Database


def list_page(
    db: Database,
    principal: Principal,
    launch_id: int,
    flt: CaseRunFilter,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[CaseRunRow], str | None]:
    pagination.check_limit(limit)
    with db.read() as conn:
        launch = launches.get(conn, launch_id)
        if launch is None:
            raise NotFound(f"launch {launch_id} not found")
        principal.require(Role.VIEWER, int(launch["project_id"]))
        page = case_runs.list_page(conn, launch_id, flt, cursor=cursor, limit=limit)
    return [CaseRunRow.from_row(r) for r in page.rows], page.next


def detail(db: Database, principal: Principal, case_run_id: int, base_url: str) -> CaseRunDetail:
    with db.read() as conn:
        row = case_runs.get(conn, case_run_id)
        if row is None:
            raise NotFound(f"case run {case_run_id} not found")
        principal.require(Role.VIEWER, int(row["project_id"]))
        project = projects.by_id(conn, int(row["project_id"]))
        assert project is not None
        attempts = case_runs.attempts(conn, int(row["launch_id"]), int(row["test_case_id"]))
        files = case_runs.attachments(conn, case_run_id)
        logs = case_runs.logs(conn, case_run_id)
        linked = defects.for_case_run(conn, case_run_id)
        changes = status_changes.for_case_run(conn, case_run_id)
        suggested = patterns.suggested_defects(conn, case_run_id)
    base = dict(row)
    base["attempts"] = len(attempts)
    return CaseRunDetail(
        run=CaseRunRow.from_row(base),  # type: ignore[arg-type]
        project_key=str(project["key"]),
        test_key=row["key"],
        file=row["file"],
        line=row["line"],
        finished_at=row["finished_at"],
        stack_trace=row["stack_trace"],
        logs=logs,
        metadata=row["metadata"] or {},
        warnings=row["warnings"] or [],
        retry_of_id=row["retry_of_id"],
        attachments=[
            AttachmentView(
                id=f["id"],
                name=f["name"],
                content_type=f["content_type"],
                size=f["size"],
                sha256=f["sha256"],
                url=f"{base_url}/api/v1/attachments/{f['id']}",
            )
            for f in files
        ],
        attempts=[AttemptView(**dict(a)) for a in attempts],
        defects=[DefectRef(**dict(d)) for d in linked],
        status_changes=[StatusChangeView(**dict(c)) for c in changes],
        signature=row["signature"],
        pattern_id=row["pattern_id"],
        new_failure=row["new_failure"],
        suggested_defects=[DefectRef(**dict(d)) for d in suggested],
    )


def open_attachment(
    db: Database, blobs: BlobStore, principal: Principal, attachment_id: int
) -> tuple[AttachmentView, IO[bytes]]:
    with db.read() as conn:
        row = case_runs.attachment_by_id(conn, attachment_id)
        if row is None:
            raise NotFound(f"attachment {attachment_id} not found")
        principal.require(Role.VIEWER, int(row["project_id"]))
    view = AttachmentView(
        id=row["id"],
        name=row["name"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        url="",
    )
    return view, blobs.open(row["sha256"])
