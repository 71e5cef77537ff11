"""``caserun run`` cancelled by CI (SIGTERM), and ``--allow-quarantined`` against the
server's real quarantine list."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.plugin.conftest import Server
from tests.plugin.test_run import caserun


def test_sigterm_is_passed_on_and_the_launch_is_stopped(reporting: Server, tmp_path: Path) -> None:
    (tmp_path / "test_long.py").write_text(
        "import time\n\ndef test_quick():\n    pass\n\ndef test_long():\n    time.sleep(60)\n"
    )
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--caserun",
        "-o",
        "caserun_batch_interval=0.1",
        "test_long.py",
    ]
    proc = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "caserun", "run", "-p", "web", "--launch", "cancelled", "--", *command],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            launches = reporting.launches()
            if launches and any(r["status"] == "running" for r in reporting.runs(launches[0]["id"])):
                break
            assert time.monotonic() < deadline and proc.poll() is None, "test_long never showed as running"
            time.sleep(0.1)
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert time.monotonic() - began < 20
    assert proc.returncode == 143, out.decode()
    assert b"SIGTERM: the command was stopped; so is the launch" in out
    [launch] = reporting.launches()
    assert (launch["name"], launch["status"]) == ("cancelled", "stopped")
    statuses = {name: r["status"] for name, r in reporting.by_name(launch["id"]).items()}
    assert statuses == {"test_quick": "passed", "test_long": "skipped"}


def test_allow_quarantined_reads_the_real_quarantine_list(
    pytester: pytest.Pytester,
    reporting: Server,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    pytester.makepyfile(test_q="def test_flaky(): assert False\ndef test_fine(): pass\n")
    monkeypatch.chdir(pytester.path)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--caserun", "test_q.py"]
    code, _ = caserun(monkeypatch, capfd, "-p", "web", "--allow-quarantined", "--", *command)
    assert code == 1
    [launch] = reporting.launches()
    flaky = reporting.by_name(launch["id"])["test_flaky"]
    added = reporting.http.post(
        "/api/v1/projects/web/quarantine", json={"test_case_id": flaky["test_case_id"], "reason": "WEB-7"}
    )
    assert added.status_code == 201, added.text

    code, out = caserun(monkeypatch, capfd, "-p", "web", "--allow-quarantined", "--", *command)
    assert code == 0, out
    assert "every failure is of a quarantined test (1); exiting 0 instead of 1" in out
    code, _ = caserun(monkeypatch, capfd, "-p", "web", "--", *command)
    assert code == 1  # only when asked
