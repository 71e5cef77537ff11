"""A launch as a file for other tools or people: JUnit XML, CTRF JSON, a Markdown summary,
a single-file HTML report and its PDF.

The JUnit and CTRF exports stream: the launch's case runs are read in keyset pages
ordered by (test, attempt), each test's attempts gathered as they go by, and handed to
the writer one test at a time. Summaries and reports read bounded lists only (the
comparison's buckets, the slowest tests, the first failures).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, RowMapping

from caserun.domain.model import Role
from caserun.domain.rules import Summary
from caserun.errors import NotFound
from caserun.export.ctrf import write_ctrf
from caserun.export.html_report import render_report
from caserun.export.junit import write_junit
from caserun.export.markdown import LIST_LIMIT, summary_markdown
from caserun.export.model import AttemptOut, Digest, FailureOut, ImageOut, LaunchFacts, TestLink, TestOut
from caserun.export.pdf import html_to_pdf
from caserun.service import launches as launch_service
from caserun.service.auth import Principal
from caserun.store import case_runs, exports, launches, projects
from caserun.store.blobs import BlobStore
from caserun.store.engine import Database
from caserun.store.launches import LaunchFilter

PAGE_SIZE = 200
SLOWEST = 5
TREND_LAUNCHES = 20


@dataclass(frozen=True, slots=True)
class ReportLimits:
    """How much the HTML report embeds: failures shown, and screenshot bytes (each, total)."""

    failures: int = 200
    image_bytes: int = 2 * 1024 * 1024
    total_image_bytes: int = 20 * 1024 * 1024


#: raster types only: an SVG "screenshot" is a document, not a picture
EMBEDDABLE = ("image/png", "image/jpeg", "image/gif", "image/webp")


def facts(row: RowMapping, project_key: str, base_url: str) -> LaunchFacts:
    return LaunchFacts(
        id=int(row["id"]),
        project_key=project_key,
        name=str(row["name"]),
        status=str(row["status"]),
        environment=row["environment"],
        branch=row["branch"],
        commit=row["commit_sha"],
        build_url=row["build_url"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        summary=Summary(
            total=row["total"],
            passed=row["passed"],
            failed=row["failed"],
            skipped=row["skipped"],
            blocked=row["blocked"],
            running=row["running"],
            duration_ms=row["duration_ms"],
        ),
        url=f"{base_url}/launches/{row['id']}",
    )


def _load(conn: Connection, principal: Principal, launch_id: int, base_url: str) -> tuple[RowMapping, LaunchFacts]:
    row = launches.get(conn, launch_id)
    if row is None:
        raise NotFound(f"launch {launch_id} not found")
    principal.require(Role.VIEWER, int(row["project_id"]))
    project = projects.by_id(conn, int(row["project_id"]))
    assert project is not None
    return row, facts(row, str(project["key"]), base_url)


def _attempt(row: RowMapping, logs: dict[str, str]) -> AttemptOut:
    return AttemptOut(
        attempt=int(row["attempt"]),
        status=str(row["status"]),
        duration_ms=row["duration_ms"],
        started_at=row["started_at"],
        failure_type=row["failure_type"],
        failure_exception=row["failure_exception"],
        failure_message=row["failure_message"],
        stack_trace=row["stack_trace"],
        stdout=logs.get("stdout"),
        stderr=logs.get("stderr"),
    )


def _test(row: RowMapping) -> TestOut:
    return TestOut(
        suite=str(row["suite"]),
        name=str(row["name"]),
        parameters=str(row["parameters"] or ""),
        full_name=str(row["full_name"]),
        file=row["file"],
        line=row["line"],
        metadata=dict(row["metadata"] or {}),
    )


def iter_tests(db: Database, launch_id: int, page_size: int = PAGE_SIZE) -> Iterator[TestOut]:
    """Every test of the launch with all its attempts, one page of case runs at a time."""
    after: tuple[int, int] | None = None
    current: TestOut | None = None
    current_id: int | None = None
    while True:
        with db.read() as conn:
            rows = exports.launch_attempts_page(conn, launch_id, after=after, limit=page_size)
            logs = exports.logs_of_runs(conn, [int(r["id"]) for r in rows])
        for row in rows:
            test_id = int(row["test_case_id"])
            if test_id != current_id:
                if current is not None:
                    yield current
                current, current_id = _test(row), test_id
            assert current is not None
            current.attempts.append(_attempt(row, logs.get(int(row["id"]), {})))
        if len(rows) < page_size:
            break
        after = (int(rows[-1]["test_case_id"]), int(rows[-1]["attempt"]))
    if current is not None:
        yield current


def junit(db: Database, principal: Principal, launch_id: int, base_url: str) -> Iterator[bytes]:
    with db.read() as conn:
        _, launch = _load(conn, principal, launch_id, base_url)
    return write_junit(launch, iter_tests(db, launch_id))


def ctrf(db: Database, principal: Principal, launch_id: int, base_url: str) -> Iterator[str]:
    with db.read() as conn:
        _, launch = _load(conn, principal, launch_id, base_url)
    return write_ctrf(launch, iter_tests(db, launch_id))


# -- summaries and reports -------------------------------------------------------------


def _run_url(base_url: str, run_id: int | None) -> str:
    return f"{base_url}/case-runs/{run_id}" if run_id is not None else ""


def _trend(conn: Connection, row: RowMapping) -> list[tuple[str, float | None]]:
    flt = LaunchFilter(
        environment=row["environment"], branch=row["branch"], until=row["created_at"] + timedelta(microseconds=1)
    )
    page = launches.list_page(conn, int(row["project_id"]), flt, cursor=None, limit=TREND_LAUNCHES)
    rates = [(str(r["name"]), Summary(passed=r["passed"], failed=r["failed"]).pass_rate) for r in page.rows]
    return list(reversed(rates))


def digest(
    db: Database,
    principal: Principal,
    launch_id: int,
    base_url: str,
    *,
    blobs: BlobStore | None = None,
    limits: ReportLimits | None = None,
) -> Digest:
    """The launch's counts, comparison with its baseline, flaky and slowest tests; with
    ``limits``, also its first failures with traces (and screenshots, given ``blobs``)."""
    view = launch_service.get(db, principal, launch_id, base_url)
    with db.read() as conn:
        row, launch = _load(conn, principal, launch_id, base_url)
        out = Digest(launch=launch)
        comparison = view.comparison
        if comparison is not None and view.baseline is not None:
            out.baseline = TestLink(f"{view.baseline.name} #{view.baseline.id}", view.baseline.url)
            out.new_failures_count = comparison.new_failures.count
            out.still_failing_count = comparison.still_failing.count
            out.fixed_count = comparison.fixed.count
            for ref in comparison.new_failures.items[:LIST_LIMIT]:
                run = case_runs.get(conn, ref.case_run_id) if ref.case_run_id is not None else None
                note = str(run["failure_message"] or "") if run is not None else ""
                out.new_failures.append(TestLink(ref.full_name, _run_url(base_url, ref.case_run_id), note))
            out.flaky_count = comparison.flaky.count
            out.flaky = [
                TestLink(ref.full_name, _run_url(base_url, ref.case_run_id))
                for ref in comparison.flaky.items[:LIST_LIMIT]
            ]
        out.slowest = [
            TestLink(str(r["full_name"]), _run_url(base_url, int(r["id"])), duration_ms=r["duration_ms"])
            for r in exports.slowest_finals(conn, launch_id, SLOWEST)
        ]
        if limits is not None:
            out.trend = _trend(conn, row)
            failed = exports.failed_finals(conn, launch_id, limits.failures)
            ids = [int(r["id"]) for r in failed]
            logs = exports.logs_of_runs(conn, ids)
            images = exports.images_of_runs(conn, ids) if blobs is not None else {}
            out.failures = [FailureOut(_with_attempt(r, logs), _run_url(base_url, int(r["id"]))) for r in failed]
    if blobs is not None and limits is not None:
        _embed(out.failures, [images.get(int(r["id"]), []) for r in failed], blobs, limits)
    return out


def _with_attempt(row: RowMapping, logs: dict[int, dict[str, str]]) -> TestOut:
    test = _test(row)
    test.attempts.append(_attempt(row, logs.get(int(row["id"]), {})))
    return test


def _embed(failures: list[FailureOut], images: list[list[RowMapping]], blobs: BlobStore, limits: ReportLimits) -> None:
    budget = limits.total_image_bytes
    for failure, files in zip(failures, images, strict=True):
        for f in files:
            size, kind = int(f["size"]), str(f["content_type"]).split(";")[0].strip().lower()
            if kind not in EMBEDDABLE:
                continue
            uri = None
            if size <= limits.image_bytes and size <= budget:
                with blobs.open(str(f["sha256"])) as stream:
                    data = stream.read(limits.image_bytes + 1)
                if len(data) <= limits.image_bytes:
                    uri = f"data:{kind};base64,{base64.b64encode(data).decode()}"
                    budget -= len(data)
            failure.images.append(ImageOut(str(f["name"]), kind, size, uri))


def markdown(db: Database, principal: Principal, launch_id: int, base_url: str) -> str:
    return summary_markdown(digest(db, principal, launch_id, base_url))


def html(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    launch_id: int,
    base_url: str,
    limits: ReportLimits | None = None,
) -> str:
    return render_report(digest(db, principal, launch_id, base_url, blobs=blobs, limits=limits or ReportLimits()))


def pdf(db: Database, blobs: BlobStore, principal: Principal, launch_id: int, base_url: str) -> bytes:
    return html_to_pdf(html(db, blobs, principal, launch_id, base_url))


def report_name(launch_id: int, ext: str) -> str:
    return f"launch-{launch_id}.{ext}"
