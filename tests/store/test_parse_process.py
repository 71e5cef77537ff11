"""A large report is parsed in a second process (``service.parse_process``): what it stores
is exactly what parsing in process stores, its errors name the file and line as before,
and an import that fails leaves neither rows nor a process behind."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bench.junit_gen import generate
from sqlalchemy import event, func, select

from caserun.domain.model import Role
from caserun.errors import ParseError
from caserun.ingest.protocol import ReportSource
from caserun.service import auth, imports, parse_process, projects, recording
from caserun.service.launches import LaunchParams
from caserun.settings import Settings
from caserun.store.blobs import FileBlobStore
from caserun.store.engine import Database
from caserun.store.tables import attachment, case_run, case_run_log, failure_pattern, launch, project, test_case

REPORTS = Path(__file__).parents[1] / "data" / "reports" / "junit"
ALLURE = Path(__file__).parents[1] / "data" / "reports" / "allure" / "basic"
WHO = auth.Principal(token_id=0, role=Role.ADMIN, project_id=None)


def _parsing_children() -> list[int]:
    """This process's children that parse (none must outlive an import)."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"caserun.service.parse_process" in cmdline:
                found.append(int(pid))
    return found


def _import(
    db: Database,
    settings: Settings,
    files: list[Path] | list[imports.ReportFile],
    name: str,
    *,
    project: str = "web",
    attachments: dict[str, Path] | None = None,
) -> int:
    reports = [f if isinstance(f, imports.ReportFile) else imports.ReportFile(f, f.name) for f in files]
    view, _ = imports.import_reports(
        db,
        FileBlobStore(settings.blob_dir),
        WHO,
        project,
        reports,
        attachments or {},
        LaunchParams(name=name),
        base_url="",
        max_attachment_bytes=100_000,
    )
    return view.id


def _stored(db: Database, launch_id: int) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]], tuple[Any, ...]]:
    # what a parse decides (not ids, nor what history decides: a verdict, a new failure)
    skip = ("id", "launch_id", "project_id", "started_at", "pattern_id", "new_failure", "verdict")
    values = [c for c in case_run.c if c.name not in skip]
    with db.read() as conn:
        runs = conn.execute(
            select(test_case.c.key, *values)
            .join(test_case, test_case.c.id == case_run.c.test_case_id)
            .where(case_run.c.launch_id == launch_id)
            .order_by(test_case.c.key, case_run.c.attempt)
        ).mappings()
        runs = [dict(r) for r in runs]
        logs = conn.execute(
            select(test_case.c.key, case_run.c.attempt, case_run_log.c.stream, case_run_log.c.content)
            .join(case_run, case_run.c.id == case_run_log.c.case_run_id)
            .join(test_case, test_case.c.id == case_run.c.test_case_id)
            .where(case_run.c.launch_id == launch_id)
            .order_by(test_case.c.key, case_run.c.attempt, case_run_log.c.stream)
        ).all()
        summary = conn.execute(
            select(launch.c.duration_ms, launch.c.total, launch.c.failed, launch.c.skipped).where(
                launch.c.id == launch_id
            )
        ).one()
    return runs, [tuple(r) for r in logs], tuple(summary)


def test_a_report_parsed_in_a_child_is_stored_as_one_parsed_in_process(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects.create(db, "web")
    big = tmp_path / "big.xml"
    generate(big, 4500)  # three chunks, failures with traces, system-out
    files = [big, REPORTS / "surefire-flaky.xml", REPORTS / "surefire-rerun.xml", REPORTS / "pytest-xunit2.xml"]
    monkeypatch.setattr(parse_process, "MIN_BYTES", 10**12)
    assert not parse_process.worth_it(files)
    in_process = _stored(db, _import(db, settings, files, "in process"))
    monkeypatch.setattr(parse_process, "MIN_BYTES", 1)
    assert parse_process.worth_it(files)
    in_child = _stored(db, _import(db, settings, files, "in a child"))
    runs, logs, summary = in_child
    # the comparison compares something: failures with traces, retries, logs, a summary
    assert len(runs) > 4500 and summary[2] > 0 and logs
    assert any(r["attempt"] > 1 for r in runs) and any(r["passed_on_retry"] for r in runs)
    assert sum(1 for r in runs if r["stack_trace"]) >= 450
    assert in_child == in_process
    assert not _parsing_children()


def test_a_parse_error_in_the_child_names_the_file_and_line_and_writes_nothing(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects.create(db, "web")
    report = tmp_path / "cut.xml"
    generate(report, 5000)
    text = report.read_text()
    report.write_text(text[: int(len(text) * 0.8)])  # fails after two chunks were written
    monkeypatch.setattr(parse_process, "MIN_BYTES", 1)
    with pytest.raises(ParseError) as caught:
        _import(db, settings, [report], "cut")
    assert caught.value.file == "cut.xml" and caught.value.line is not None and caught.value.line > 1000
    with db.read() as conn:
        assert [conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (launch, case_run)] == [0, 0]
    assert not _parsing_children()


def test_a_child_that_fails_for_another_reason_fails_the_import(tmp_path: Path) -> None:
    """Not the report's fault (here: a directory where a file was expected, an OSError in
    the child): an error of the server's, with the child's traceback in it."""
    source = ReportSource(tmp_path, "results")
    chunks = parse_process.chunks([("junit", str(tmp_path), "results")], [source], datetime.now(UTC))
    with pytest.raises(parse_process.ParseProcessError, match="IsADirectoryError"):
        list(chunks)
    assert not _parsing_children()


def test_an_import_that_stops_early_stops_the_child(tmp_path: Path) -> None:
    report = tmp_path / "big.xml"
    generate(report, 20_000)
    source = ReportSource(report, report.name)
    chunks = parse_process.chunks([("junit", str(report), report.name)], [source], datetime.now(UTC))
    first = next(chunks)
    assert len(first) == 2000 and first.keys[0] != first.keys[1]
    chunks.close()  # as when writing a chunk fails: the generator is closed
    assert not _parsing_children()


def test_small_reports_are_parsed_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = REPORTS / "pytest-xunit2.xml"
    assert not parse_process.worth_it([small])
    assert not parse_process.worth_it([ALLURE])
    assert not parse_process.worth_it([])
    monkeypatch.setattr(parse_process, "MIN_BYTES", small.stat().st_size + 1)  # sizes add up
    assert parse_process.worth_it([small, small]) and not parse_process.worth_it([small])
    files = sum(p.stat().st_size for p in ALLURE.iterdir())
    monkeypatch.setattr(parse_process, "MIN_BYTES", files)
    assert parse_process.worth_it([ALLURE])  # a directory counts what it holds


def test_a_results_directory_parsed_in_a_child_is_stored_as_in_process(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Allure results directory, its retries, logs and attachments, both ways."""
    projects.create(db, "web")
    attachments = {p.name: p for p in ALLURE.iterdir() if "-attachment" in p.name}
    stored = []
    for least in (10**12, 1):
        monkeypatch.setattr(parse_process, "MIN_BYTES", least)
        launch_id = _import(
            db,
            settings,
            [imports.ReportFile(ALLURE, "allure-results", format="allure")],
            str(least),
            attachments=attachments,
        )
        with db.read() as conn:
            files = conn.execute(
                select(test_case.c.key, case_run.c.attempt, attachment.c.name, attachment.c.sha256)
                .join(case_run, case_run.c.id == attachment.c.case_run_id)
                .join(test_case, test_case.c.id == case_run.c.test_case_id)
                .where(case_run.c.launch_id == launch_id)
                .order_by(test_case.c.key, case_run.c.attempt, attachment.c.name)
            ).all()
        stored.append((_stored(db, launch_id), [tuple(f) for f in files]))
    (runs, logs, _summary), files = stored[0]
    assert any(r["attempt"] > 1 for r in runs) and files  # retries and attachments were compared
    assert stored[1] == stored[0]


def test_what_the_child_learns_of_a_report_reaches_the_launch(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's own duration (its testsuites time, not the sum of its tests') is found
    by the parse, in the child, and is the launch's duration."""
    projects.create(db, "web")
    report = tmp_path / "timed.xml"
    report.write_text(
        '<testsuites time="12.5"><testsuite name="s" tests="1" time="12.5">'
        '<testcase classname="c" name="a" time="1.0"/></testsuite></testsuites>'
    )
    monkeypatch.setattr(parse_process, "MIN_BYTES", 1)
    launch_id = _import(db, settings, [report], "timed")
    assert _stored(db, launch_id)[2][0] == 12_500


def _patterns(db: Database, project_key: str) -> list[tuple[Any, ...]]:
    """A project's failure patterns: signature, template, count, the key of the test of
    its example run, and the keys of its runs' tests."""
    with db.read() as conn:
        rows = conn.execute(
            select(
                failure_pattern.c.id,
                failure_pattern.c.signature,
                failure_pattern.c.template,
                failure_pattern.c.count,
                test_case.c.key,
            )
            .join(case_run, case_run.c.id == failure_pattern.c.example_case_run_id)
            .join(test_case, test_case.c.id == case_run.c.test_case_id)
            .join(project, project.c.id == failure_pattern.c.project_id)
            .where(project.c.key == project_key)
        ).all()
        members = conn.execute(
            select(case_run.c.pattern_id, case_run.c.signature, test_case.c.key).join(
                test_case, test_case.c.id == case_run.c.test_case_id
            )
        ).all()
    runs: dict[int, set[tuple[str, str]]] = {}
    for pattern_id, signature, key in members:
        runs.setdefault(pattern_id, set()).add((signature, key))
    return sorted((sig, template, count, example, sorted(runs[pid])) for pid, sig, template, count, example in rows)


def test_failures_signed_in_the_child_make_the_patterns_signed_in_process_make(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two projects import the same reports, one parsed (and its failures signed) in a
    child, the other in process: they end with the same patterns, counts, example runs and
    members, though the child's are assigned a chunk at a time as they are written."""
    big = tmp_path / "big.xml"
    generate(big, 4500)
    files = [big, REPORTS / "surefire-flaky.xml", REPORTS / "pytest-xunit2.xml", REPORTS / "jest-junit.xml"]
    for key, least in (("web", 10**12), ("api", 1)):
        projects.create(db, key)
        monkeypatch.setattr(parse_process, "MIN_BYTES", least)
        _import(db, settings, files, key, project=key)
    in_process, in_child = _patterns(db, "web"), _patterns(db, "api")
    assert len(in_process) > 3 and sum(p[2] for p in in_process) >= 450
    assert in_child == in_process


def test_a_write_that_fails_stops_the_child_at_once(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import's error (here: the second chunk's write) stops the child before the
    error reaches the caller, though the caller still holds the error's traceback."""
    projects.create(db, "web")
    report = tmp_path / "big.xml"
    generate(report, 20_000)
    monkeypatch.setattr(parse_process, "MIN_BYTES", 1)
    written = 0
    real_write = recording.LaunchRecorder._write

    def failing_write(self: recording.LaunchRecorder, chunk: Any) -> Any:
        nonlocal written
        written += 1
        if written == 2:
            raise RuntimeError("disk full")
        return real_write(self, chunk)

    monkeypatch.setattr(recording.LaunchRecorder, "_write", failing_write)
    with pytest.raises(RuntimeError, match="disk full") as caught:
        _import(db, settings, [report], "fails")
    assert caught.traceback and not _parsing_children()
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(case_run)).scalar_one() == 0


def test_a_chunk_with_more_failed_attempts_than_sqlite_takes_parameters(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,000 tests failing 17 times each (Surefire reruns) are 34,000 failed case runs in
    one chunk, more than SQLite's default 32,766 parameters of one statement (Debian's
    build allows 250,000: the limit is set to the default here): their patterns are
    assigned in bounded pieces."""
    projects.create(db, "web")
    if db.engine.dialect.name == "sqlite":
        db.dispose()

        @event.listens_for(db.engine, "connect")
        def _default_limit(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32_766)

    report = tmp_path / "reruns.xml"
    rerun = '<rerunFailure message="boom" type="java.lang.AssertionError">at a.B.c(B.java:{n})</rerunFailure>'
    with report.open("w") as out:
        out.write('<testsuite name="s">')
        for i in range(2000):
            out.write(f'<testcase classname="a.B" name="t{i}" time="0.1">')
            out.write('<failure message="boom" type="java.lang.AssertionError">at a.B.c(B.java:1)</failure>')
            out.write("".join(rerun.format(n=n) for n in range(16)))
            out.write("</testcase>")
        out.write("</testsuite>")
    monkeypatch.setattr(parse_process, "MIN_BYTES", 1)
    launch_id = _import(db, settings, [report], "reruns")
    with db.read() as conn:
        failed = select(func.count()).where(case_run.c.launch_id == launch_id, case_run.c.status == "failed")
        assert conn.execute(failed).scalar_one() == 34_000
        signed = failed.where(case_run.c.pattern_id.is_not(None))
        assert conn.execute(signed).scalar_one() == 34_000
