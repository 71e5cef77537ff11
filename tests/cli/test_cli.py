"""The caserun command against a real server on a free port, as a user runs it."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from caserun.app import create_app
from caserun.cli import main
from caserun.settings import Settings
from caserun.store.engine import Database


@pytest.fixture
def live_url(settings: Settings, db: Database) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings, database=db), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


class Run:
    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
        self.capsys = capsys
        monkeypatch.setenv("CASERUN_DATABASE_URL", settings.db_url)
        monkeypatch.setenv("CASERUN_DATA_DIR", str(settings.data_dir))
        monkeypatch.setenv("COLUMNS", "200")
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        self.monkeypatch.setattr(sys, "argv", ["caserun", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Run:
    return Run(capsys, monkeypatch, settings)


@pytest.fixture
def reporter(cli: Run, live_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The README's steps: create the project and a reporter token on the database."""
    code, out, _ = cli("project", "create", "web")
    assert code == 0 and "created project web" in out
    code, out, _ = cli("token", "create", "--project", "web", "--role", "reporter")
    assert code == 0
    secret = out.split()[-1]
    assert secret.startswith("crn_")
    monkeypatch.setenv("CASERUN_URL", live_url)
    monkeypatch.setenv("CASERUN_TOKEN", secret)
    return secret


def test_readme_upload_flow(cli: Run, reporter: str, junit_report: Path, live_url: str) -> None:
    code, out, err = cli(
        "upload",
        str(junit_report),
        "--project",
        "web",
        "--launch",
        "CI #12",
        "--environment",
        "staging",
        "--branch",
        "main",
        "--commit",
        "abc123",
    )
    assert code == 0, err
    assert "6 tests, 3 passed, 2 failed, 1 skipped" in out
    url = out.strip().splitlines()[-1]
    assert url == f"http://caserun.test/launches/{url.rsplit('/', 1)[-1]}"  # the public URL setting

    code, out, _ = cli(
        "upload",
        str(junit_report),
        "--project",
        "web",
        "--launch",
        "CI #13",
        "--output",
        "json",
        "--environment",
        "staging",
        "--branch",
        "main",
    )
    body = json.loads(out)
    assert set(body["launch"]) == {"id", "url", "summary"}
    assert body["launch"]["summary"]["total"] == 6

    code, out, _ = cli("launches", "list", "--project", "web")
    assert code == 0 and "CI #12" in out and "CI #13" in out
    code, out, _ = cli("launch", "show", str(body["launch"]["id"]))
    assert code == 0
    assert "2 failed" in out and "still failing" in out and "test_fails" in out


def test_upload_is_idempotent_for_the_same_files(cli: Run, reporter: str, junit_report: Path) -> None:
    first = json.loads(cli("upload", str(junit_report), "-p", "web", "--launch", "x", "-o", "json")[1])
    again = json.loads(cli("upload", str(junit_report), "-p", "web", "--launch", "x", "-o", "json")[1])
    other = json.loads(cli("upload", str(junit_report), "-p", "web", "--launch", "y", "-o", "json")[1])
    assert first["launch"]["id"] == again["launch"]["id"] != other["launch"]["id"]


def test_directories_globs_and_dry_run(cli: Run, reporter: str, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    (reports / "shots").mkdir(parents=True)
    (reports / "shots" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nxx")
    (reports / "one.xml").write_text(
        '<testsuite><testcase classname="a" name="one"><failure message="m"/>'
        "<system-out>[[ATTACHMENT|shots/a.png]]</system-out></testcase></testsuite>"
    )
    (reports / "two.xml").write_text('<testsuite><testcase classname="a" name="two"/></testsuite>')
    code, out, _ = cli("upload", str(reports), "-p", "web", "--dry-run", "-o", "json")
    assert code == 0
    plan = json.loads(out)["dry_run"]
    assert [(Path(f["path"]).name, f["format"], f["tests"]) for f in plan["files"]] == [
        ("one.xml", "junit", 1),
        ("two.xml", "junit", 1),
    ]
    assert plan["files"][0]["attachments"] == ["shots/a.png"]
    code, out, _ = cli("upload", str(reports / "*.xml"), "-p", "web", "-o", "json")
    launch = json.loads(out)["launch"]
    assert launch["summary"]["total"] == 2


def test_errors_are_one_line_with_exit_codes(
    cli: Run, reporter: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "broken.xml"
    bad.write_text("<testsuite>\n<testcase name='x'>\n")
    code, _, err = cli("upload", str(bad), "-p", "web")
    assert code == 1 and "broken.xml:3" in err and len(err.strip().splitlines()) == 1
    good = tmp_path / "ok.xml"
    good.write_text('<testsuite><testcase classname="a" name="b"/></testsuite>')
    code, _, err = cli("upload", str(good), "-p", "nope")
    assert code == 1 and "project 'nope' not found" in err
    code, _, err = cli("upload", str(tmp_path / "missing-*.xml"), "-p", "web")
    assert code == 1 and "missing-*.xml" in err
    code, _, _ = cli("upload", str(good))
    assert code == 2
    monkeypatch.setenv("CASERUN_TOKEN", "crn_wrong")
    code, _, err = cli("upload", str(good), "-p", "web")
    assert code == 1 and "invalid token" in err
    monkeypatch.setenv("CASERUN_URL", "http://127.0.0.1:9")
    code, _, err = cli("upload", str(good), "-p", "web")
    assert code == 1 and "cannot reach" in err


def test_formats_and_db_commands(cli: Run) -> None:
    code, out, _ = cli("formats", "-o", "json")
    assert code == 0 and "junit" in [f["name"] for f in json.loads(out)]
    assert cli("db", "upgrade")[0] == 0
    code, out, _ = cli("db", "check")
    assert code == 0 and "current" in out


def test_token_rules(cli: Run) -> None:
    cli("project", "create", "web")
    assert cli("token", "create", "--project", "web", "--role", "boss")[0] == 1
    assert cli("token", "create", "--role", "viewer")[0] == 2
    assert cli("token", "create", "--project", "ghost")[0] == 1
    code, _, err = cli("project", "create", "web")
    assert code == 1 and "already exists" in err


def test_commands_that_talk_to_a_server_start_without_the_store() -> None:
    """``caserun upload`` and the other client commands load neither SQLAlchemy, Alembic,
    the web app nor the services: each upload from CI pays for what it imports."""
    import subprocess

    probe = (
        "import sys; import caserun.cli; from caserun.ingest import registry; registry.parsers();"
        " print(sorted(m for m in ('sqlalchemy', 'alembic', 'fastapi', 'caserun.service', 'caserun.store')"
        " if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_deliver_commands_default_wait_is_the_servers() -> None:
    from caserun.cli import webhooks
    from caserun.service import webhook_sender

    assert webhooks.DEFAULT_TIMEOUT_S == webhook_sender.TIMEOUT_S
