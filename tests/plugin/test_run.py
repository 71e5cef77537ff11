"""``caserun run -- COMMAND`` against a live server."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from tests.plugin.conftest import Server, free_port

from caserun.cli import main

JUNIT = (
    '<testsuite name="shop"><testcase classname="shop.Cart" name="test_total"/>'
    '<testcase classname="shop.Cart" name="test_discount"><failure message="off by one"/></testcase></testsuite>'
)


def caserun(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["caserun", "run", *args])
    capfd.readouterr()
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capfd.readouterr()
    return code, out + err


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "job.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_results_are_imported_as_they_appear_and_the_exit_code_is_kept(
    reporting: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    job = script(
        tmp_path,
        f"""
        import json, os, pathlib, sys, time, urllib.request
        print("job output passes through")
        pathlib.Path("out").mkdir()
        pathlib.Path("out/report.xml").write_text({JUNIT!r})
        url = os.environ["CASERUN_URL"] + "/api/v1/launches/" + os.environ["CASERUN_LAUNCH"] + "/case-runs"
        request = urllib.request.Request(url, headers={{"Authorization": "Bearer " + os.environ["CASERUN_TOKEN"]}})
        for _ in range(100):  # wait until caserun run has imported the report, while we still run
            if len(json.load(urllib.request.urlopen(request))["items"]) == 2:
                sys.exit(1)
            time.sleep(0.05)
        sys.exit(3)
        """,
    )
    code, out = caserun(
        monkeypatch, capfd, "-p", "web", "--launch", "CI #3", "--results", "out/*.xml", "--interval", "0.1",
        "--", sys.executable, job,
    )  # fmt: skip
    assert code == 1, out  # the command's own exit code: it saw its results arrive live
    assert "job output passes through" in out
    [launch] = reporting.launches()
    assert (launch["name"], launch["status"], launch["source"]) == ("CI #3", "completed", "cli")
    assert launch["summary"] == {**launch["summary"], "total": 2, "passed": 1, "failed": 1}
    assert f"caserun: launch {launch['id']}:" in out


def test_allow_quarantined_and_a_joined_pytest_session(
    pytester: pytest.Pytester,
    reporting: Server,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    pytester.makepyfile(test_q="def test_flaky(): assert False\ndef test_fine(): pass\n")
    monkeypatch.chdir(pytester.path)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--caserun", "test_q.py"]
    code, out = caserun(monkeypatch, capfd, "-p", "web", "--allow-quarantined", "--", *command)
    assert code == 1  # nothing is quarantined (the server has no quarantine list yet)
    [launch] = reporting.launches()  # pytest --caserun joined the launch caserun run made
    assert launch["status"] == "completed" and launch["summary"]["total"] == 2

    reporting.switch.quarantine = [{"full_name": "test_q.test_flaky"}]
    code, out = caserun(monkeypatch, capfd, "-p", "web", "--allow-quarantined", "--", *command)
    assert code == 0, out
    assert "every failure is of a quarantined test (1); exiting 0 instead of 1" in out


def test_a_command_that_cannot_start_fails_the_launch(
    reporting: Server, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    code, out = caserun(monkeypatch, capfd, "-p", "web", "--", "no-such-command-xyz")
    assert code == 127 and "cannot run no-such-command-xyz" in out
    assert reporting.launches()[0]["status"] == "failed"


def test_the_command_runs_when_the_server_is_down(
    reporting: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASERUN_URL", f"http://127.0.0.1:{free_port()}")
    job = script(tmp_path, "import sys; print('still ran'); sys.exit(4)")
    code, out = caserun(monkeypatch, capfd, "-p", "web", "--", sys.executable, job)
    assert code == 4 and "still ran" in out and "running the command anyway" in out
