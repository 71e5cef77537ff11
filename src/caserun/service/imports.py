"""Importing report files into one new launch, all or nothing.

Every file is detected (or its ``--format`` taken) before anything is written; the
launch, its test cases and case runs are then written in one transaction. A parse error
anywhere, or a crash, rolls everything back: no partial launch is ever visible.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from caserun.analysis import stats
from caserun.domain.model import LaunchStatus, Role, TestResult
from caserun.ingest import registry
from caserun.ingest.protocol import ReportParser, ReportSource
from caserun.service.attachments import AttachmentStore
from caserun.service.auth import Principal
from caserun.service.launches import LaunchParams, insert_launch
from caserun.service.projects import lookup
from caserun.service.recording import LaunchRecorder
from caserun.service.views import LaunchView
from caserun.store import launches
from caserun.store.blobs import BlobStore
from caserun.store.engine import Database


@dataclass(frozen=True, slots=True)
class ReportFile:
    path: Path
    name: str
    format: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """What an import would do: each file's detected format."""

    files: list[tuple[ReportFile, ReportParser]]


def plan(files: Sequence[ReportFile]) -> Plan:
    chosen = []
    for report in files:
        source = ReportSource(report.path, report.name)
        parser = registry.get(report.format) if report.format else registry.detect(source)
        chosen.append((report, parser))
    return Plan(chosen)


def parse_all(planned: Plan, sources: list[ReportSource]) -> Iterator[TestResult]:
    for (_report, parser), source in zip(planned.files, sources, strict=True):
        yield from parser.parse(source)


def import_reports(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    project_key: str,
    files: Sequence[ReportFile],
    attachments: Mapping[str, Path],
    params: LaunchParams,
    *,
    base_url: str,
    max_attachment_bytes: int,
) -> tuple[LaunchView, bool]:
    """Create one completed launch from the files; returns it and whether it is new
    (False when the idempotency key matched an earlier import)."""
    planned = plan(files)
    sources = [ReportSource(report.path, report.name) for report, _ in planned.files]
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.REPORTER, project.id)
        if params.idempotency_key:
            existing = launches.by_idempotency_key(conn, project.id, params.idempotency_key)
            if existing is not None:
                return LaunchView.from_row(existing, project.key, base_url), False
        launch_id = insert_launch(conn, project.id, params, LaunchStatus.RUNNING)
        row = launches.get(conn, launch_id)
        assert row is not None
        recorder = LaunchRecorder(
            conn,
            project_id=project.id,
            launch_id=launch_id,
            launch_started=row["started_at"],
            attachments=AttachmentStore(blobs, attachments, max_bytes=max_attachment_bytes),
            fresh_launch=True,
        )
        recorder.add(parse_all(planned, sources))
        recorder.finish(retry_of=params.retry_of, duration_ms=_reported_duration(sources))
        launches.set_status(conn, launch_id, status=LaunchStatus.COMPLETED.value, finished_at=datetime.now(UTC))
        stats.update_for_launch(conn, launch_id)
        done = launches.get(conn, launch_id)
        assert done is not None
        return LaunchView.from_row(done, project.key, base_url), True


def _reported_duration(sources: list[ReportSource]) -> int | None:
    """The sum of the durations the reports state for themselves, if every one does."""
    values = [s.info.get("duration_ms") for s in sources]
    if not values or any(v is None for v in values):
        return None
    return sum(int(v) for v in values if v is not None)
