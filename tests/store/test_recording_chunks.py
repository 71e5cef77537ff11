"""The recorder writes a report in chunks and keeps nothing per test between them: a test
whose entries fall in different chunks still becomes one test with attempts 1..n, only
the last final, passed on retry when a failure came before the final pass; the same as
when the whole report fits in one chunk."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from caserun.domain import identity
from caserun.domain.model import Attempt, LaunchStatus, Role, Status, TestResult
from caserun.service import chunks as chunking
from caserun.service import imports, projects, recording
from caserun.service.attachments import AttachmentStore
from caserun.service.auth import Principal
from caserun.service.launches import LaunchParams, insert_launch
from caserun.store import launches, test_cases
from caserun.store.blobs import FileBlobStore
from caserun.store.engine import Database
from caserun.store.tables import case_run, test_case

ADMIN = Principal(token_id=0, role=Role.ADMIN, project_id=None)

# ``a`` four times, never twice in a row (adjacent entries are merged by the parser);
# ``f`` again later with Surefire's earlier failed attempt; ``x`` twice within one chunk
REPORT = """<testsuites><testsuite name="S">
  <testcase classname="c" name="a"><failure message="one">t</failure></testcase>
  <testcase classname="c" name="f"/>
  <testcase classname="c" name="x"/>
  <testcase classname="c" name="y"/>
  <testcase classname="c" name="x"><failure message="two">t</failure></testcase>
  <testcase classname="c" name="a"/>
  <testcase classname="c" name="b"><system-out>out of b</system-out></testcase>
  <testcase classname="c" name="a"><failure message="three">t</failure></testcase>
  <testcase classname="c" name="f">
    <flakyFailure message="flaky" type="E"><stackTrace>st</stackTrace></flakyFailure>
  </testcase>
  <testcase classname="c" name="d"/>
  <testcase classname="c" name="a"><system-out>last of a</system-out></testcase>
</testsuite></testsuites>"""

Row = tuple[str, int, str, bool, bool]


def _import(db: Database, tmp_path: Path, name: str) -> int:
    report = tmp_path / "report.xml"
    report.write_text(REPORT)
    view, _ = imports.import_reports(
        db,
        FileBlobStore(tmp_path / "blobs"),
        ADMIN,
        "p",
        [imports.ReportFile(report, report.name)],
        {},
        LaunchParams(name=name),
        base_url="",
        max_attachment_bytes=1000,
    )
    return view.id


def _runs(db: Database, launch_id: int) -> list[Row]:
    query = (
        select(test_case.c.name, case_run.c.attempt, case_run.c.status, case_run.c.is_final, case_run.c.passed_on_retry)
        .join(test_case, test_case.c.id == case_run.c.test_case_id)
        .where(case_run.c.launch_id == launch_id)
        .order_by(test_case.c.name, case_run.c.attempt)
    )
    with db.read() as conn:
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def test_entries_of_one_test_in_different_chunks_are_its_attempts(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects.create(db, "p")
    whole = _import(db, tmp_path, "one chunk")
    monkeypatch.setattr(chunking, "CHUNK", 2)
    chunked = _import(db, tmp_path, "chunks of two")

    expected: list[Row] = [
        ("a", 1, "failed", False, False),
        ("a", 2, "passed", False, False),
        ("a", 3, "failed", False, False),
        ("a", 4, "passed", True, True),
        ("b", 1, "passed", True, False),
        ("d", 1, "passed", True, False),
        ("f", 1, "passed", False, False),
        ("f", 2, "failed", False, False),
        ("f", 3, "passed", True, True),
        ("x", 1, "passed", False, False),
        ("x", 2, "failed", True, False),
        ("y", 1, "passed", True, False),
    ]
    assert _runs(db, whole) == expected
    assert _runs(db, chunked) == expected
    with db.read() as conn:
        row = launches.get(conn, chunked)
        assert row is not None
        assert (row["total"], row["passed"], row["failed"]) == (6, 5, 1)


def test_a_fresh_launch_keeps_nothing_per_test(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = projects.create(db, "p")
    monkeypatch.setattr(chunking, "CHUNK", 3)
    results = [
        TestResult(suite="s", name=f"t{i % 7}", attempts=[Attempt(status=Status.PASSED, stdout=f"out {i}")])
        for i in range(20)
    ]
    with db.write() as conn:
        launch_id = insert_launch(conn, project.id, LaunchParams(name="l"), LaunchStatus.RUNNING)
        row = launches.get(conn, launch_id)
        assert row is not None
        recorder = recording.LaunchRecorder(
            conn,
            project_id=project.id,
            launch_id=launch_id,
            launch_started=row["started_at"],
            attachments=AttachmentStore(FileBlobStore(tmp_path / "blobs"), {}, max_bytes=1),
            fresh_launch=True,
        )
        ids = recorder.add(results)
        recorder.finish()
        assert recorder.attempts_seen == {}
        assert recorder.split_tests
        stored = conn.execute(
            select(case_run.c.id, case_run.c.attempt).where(case_run.c.launch_id == launch_id).order_by(case_run.c.id)
        ).all()
    assert list(ids) == [run_id for run_id, _ in stored]
    assert len(ids) == 20
    # t0 came at 0, 7 and 14: attempts 1, 2, 3 in the order written
    assert [attempt for _, attempt in stored][:15:7] == [1, 2, 3]


def test_a_live_launch_counts_on_from_the_attempts_it_has(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = projects.create(db, "p")
    monkeypatch.setattr(chunking, "CHUNK", 2)
    with db.write() as conn:
        launch_id = insert_launch(conn, project.id, LaunchParams(name="l"), LaunchStatus.RUNNING)
        row = launches.get(conn, launch_id)
        assert row is not None

        def recorder() -> recording.LaunchRecorder:
            return recording.LaunchRecorder(
                conn,
                project_id=project.id,
                launch_id=launch_id,
                launch_started=row["started_at"],
                attachments=AttachmentStore(FileBlobStore(tmp_path / "blobs"), {}, max_bytes=1),
                fresh_launch=False,
            )

        def result(name: str, status: Status) -> TestResult:
            return TestResult(suite="s", name=name, attempts=[Attempt(status=status)])

        first = recorder()
        first.add([result("a", Status.FAILED), result("b", Status.PASSED), result("c", Status.PASSED)])
        assert not first.split_tests
        second = recorder()  # a later batch: knows nothing yet, asks the database
        second.add([result("c", Status.FAILED), result("a", Status.PASSED), result("a", Status.FAILED)])
        second.finish()
        assert second.split_tests
        assert set(second.attempts_seen.values()) == {2, 3}
    runs = _runs(db, launch_id)
    assert [r for r in runs if r[0] == "a"] == [
        ("a", 1, "failed", False, False),
        ("a", 2, "passed", False, False),
        ("a", 3, "failed", True, False),
    ]
    assert [r for r in runs if r[0] == "c"] == [("c", 1, "passed", False, False), ("c", 2, "failed", True, False)]


def test_test_cases_are_found_by_any_key(db: Database) -> None:
    """Recorded keys are hex digests; a key of another shape (a comma in it) is found too."""
    project = projects.create(db, "p")
    keys = ["a,b", "plain", identity.key_of("s", "t")]
    rows = [{"key": k, "scheme": 1, "suite": "s", "name": k, "parameters": "", "full_name": k} for k in keys]
    with db.write() as conn:
        ids = test_cases.insert_new(conn, project.id, rows)
        assert sorted(ids) == sorted(keys)
        assert test_cases.existing(conn, project.id, [*keys, "missing"]) == ids
        assert test_cases.existing(conn, project.id, keys[1:]) == {k: ids[k] for k in keys[1:]}


def test_new_test_cases_get_their_ids_and_a_lost_race_reads_the_winners(db: Database) -> None:
    """``insert_new`` returns the allocated ids when every row went in; when another import
    inserted one of the keys first (here: before this call), the row is skipped and every
    key's id is read back, a merged test's under the test it was merged into."""
    project = projects.create(db, "p")

    def row(key: str) -> dict[str, object]:
        return {"key": key, "scheme": 1, "suite": "s", "name": key, "parameters": "", "full_name": key}

    with db.write() as conn:
        first = test_cases.insert_new(conn, project.id, [row("a"), row("b")])
        assert first == test_cases.existing(conn, project.id, ["a", "b"])
        conn.execute(update(test_case).where(test_case.c.id == first["b"]).values(alias_of_id=first["a"]))
        second = test_cases.insert_new(conn, project.id, [row("c"), row("b"), row("d")])
        assert second["b"] == first["a"]  # the existing test, through its alias
        assert second == test_cases.existing(conn, project.id, ["b", "c", "d"])
        assert {second["c"], second["d"]}.isdisjoint(first.values())  # two new tests
        stored = conn.execute(select(func.count()).select_from(test_case)).scalar_one()
        assert stored == 4
