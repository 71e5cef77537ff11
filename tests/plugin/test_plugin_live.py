"""``pytest --caserun`` when things go wrong or are watched: tests seen running while they
run, internal and collection errors, ini options, the real quarantine list, a server that
goes away for good or is slow, a session cancelled with SIGTERM or killed outright."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from tests.plugin.conftest import Server
from tests.plugin.test_plugin import run, upload

from caserun.cli import replay
from caserun.client import Client
from caserun.errors import ParseError

WATCH_ITSELF = """
import json, os, time, urllib.request

def get(path):
    request = urllib.request.Request(
        os.environ["CASERUN_URL"] + path, headers={"Authorization": "Bearer " + os.environ["CASERUN_TOKEN"]}
    )
    return json.load(urllib.request.urlopen(request))

def seen_running(name):
    deadline = time.time() + 20
    while time.time() < deadline:
        for launch in get("/api/v1/projects/web/launches")["items"]:
            runs = get(f"/api/v1/launches/{launch['id']}/case-runs")["items"]
            if any(r["name"] == name and r["status"] == "running" for r in runs):
                return True
        time.sleep(0.05)
    return False
"""


def test_a_test_is_running_on_the_server_while_it_runs(pytester: pytest.Pytester, reporting: Server) -> None:
    pytester.makepyfile(
        test_watch=WATCH_ITSELF
        + """
def test_first():
    pass

def test_watch_me():
    assert seen_running("test_watch_me"), "the server never showed this test running"
"""
    )
    result = run(pytester, "--caserun", "-o", "caserun_batch_interval=0.05")
    result.assert_outcomes(passed=2)
    [launch] = reporting.launches()
    assert {r["name"]: r["status"] for r in reporting.runs(launch["id"])} == {
        "test_first": "passed",
        "test_watch_me": "passed",
    }


def test_an_internal_error_fails_the_launch(pytester: pytest.Pytester, reporting: Server) -> None:
    pytester.makeconftest("def pytest_collection_finish(session):\n    raise RuntimeError('plugin bug')\n")
    pytester.makepyfile(test_x="def test_x(): pass\n")
    result = run(pytester, "--caserun")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    [launch] = reporting.launches()
    assert launch["status"] == "failed"


def test_a_collection_error_fails_the_launch_and_is_recorded(pytester: pytest.Pytester, reporting: Server) -> None:
    pytester.makepyfile(test_ok="def test_ok(): pass\n", test_broken="import no_such_module_xyz\n")
    result = run(pytester, "--caserun")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    [launch] = reporting.launches()
    assert launch["status"] == "failed"
    [collect] = reporting.runs(launch["id"])
    assert collect["status"] == "failed" and collect["failure_type"] == "error"
    assert collect["failure_message"].startswith("collection failure: ImportError while importing test module")
    trace = reporting.get(f"/api/v1/case-runs/{collect['id']}")["failure"]["stack_trace"]
    assert "No module named 'no_such_module_xyz'" in trace


def test_ini_options_and_what_each_test_carries(
    pytester: pytest.Pytester, reporting: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CASERUN_URL", "CASERUN_TOKEN", "CASERUN_PROJECT"):
        monkeypatch.delenv(name)
    pytester.makeini(
        f"""
        [pytest]
        caserun = true
        caserun_url = {reporting.url}
        caserun_project = web
        caserun_token = {reporting.token}
        caserun_environment = staging
        caserun_attrs =
            team=shop
        """
    )
    (pytester.path / "shot.png").write_bytes(b"\x89PNG from a file")
    pytester.makepyfile(
        test_carry="""
        import sys, time

        def test_carry(caserun_attach):
            print("to stderr", file=sys.stderr)
            caserun_attach("shot.png")
            time.sleep(0.2)
        """
    )
    result = run(pytester)  # no --caserun: the ini file turns it on
    result.assert_outcomes(passed=1)
    [launch] = reporting.launches()
    assert launch["environment"] == "staging" and launch["attributes"]["team"] == "shop"
    [summary] = reporting.runs(launch["id"])
    carry = reporting.get(f"/api/v1/case-runs/{summary['id']}")
    assert carry["logs"]["stderr"] == "to stderr\n"
    assert carry["duration_ms"] >= 200
    assert carry["metadata"]["environment"] == "staging" and carry["metadata"]["platform"]
    [shot] = carry["attachments"]
    assert (shot["name"], shot["content_type"]) == ("shot.png", "image/png")
    assert reporting.http.get(shot["url"].replace("http://caserun.test", "")).content == b"\x89PNG from a file"


def test_quarantine_from_the_real_list_keeps_ci_green_and_shows_in_the_launch(
    pytester: pytest.Pytester, reporting: Server
) -> None:
    pytester.makepyfile(test_q="def test_flaky(): assert False\ndef test_fine(): pass\n")
    assert run(pytester, "--caserun").ret == 1
    [first] = reporting.launches()
    flaky = reporting.by_name(first["id"])["test_flaky"]
    quarantined = reporting.http.post(
        "/api/v1/projects/web/quarantine", json={"test_case_id": flaky["test_case_id"], "reason": "WEB-12"}
    )
    assert quarantined.status_code == 201, quarantined.text

    result = run(pytester, "--caserun", "--caserun-quarantine")
    assert result.ret == 0  # the quarantined test ran and failed; the session did not
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["caserun: 1 failing quarantined tests did not fail the session:", "    test_q.py::test_flaky"]
    )
    latest = reporting.launches()[0]
    detail = reporting.get(f"/api/v1/launches/{latest['id']}")
    assert detail["summary"]["failed"] == 1  # reported, not hidden
    assert detail["summary"]["quarantined_failures"] == 1 and detail["summary"]["verdict"] == "passed"
    run_of = reporting.by_name(latest["id"])["test_flaky"]
    assert reporting.get(f"/api/v1/case-runs/{run_of['id']}")["metadata"]["quarantined"] == "true"

    assert run(pytester, "--caserun").ret == 1  # without the flag, a failure is a failure


def test_a_server_that_goes_away_for_good_loses_nothing(
    pytester: pytest.Pytester,
    reporting: Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytester.makepyfile(
        test_gone="""
        import os, time, urllib.request

        def test_before():
            time.sleep(0.5)

        def test_goes_down():
            time.sleep(0.5)  # test_before's result is delivered
            urllib.request.urlopen(os.environ["CASERUN_URL"] + "/__switch__/down").read()

        def test_while_down():
            assert False, "a failure nobody saw live"
        """
    )
    result = run(pytester, "--caserun", "-o", "caserun_batch_interval=0.05")
    result.assert_outcomes(passed=2, failed=1)
    assert result.ret == 1  # the test's failure, nothing more
    [spool] = (pytester.path / ".caserun").glob("spool-*.jsonl")
    where = spool.relative_to(pytester.path)
    result.stdout.fnmatch_lines(
        ["caserun: * events were kept in *; upload them with:", f"    caserun upload {where} *"]
    )
    reporting.http.get("/__switch__/up")  # back, after the session ended
    [launch] = reporting.launches()  # the server took the start of the session
    assert launch["status"] == "running"
    assert reporting.by_name(launch["id"])["test_before"]["status"] == "passed"

    code, out = upload(str(spool), "--project", "web", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, out
    [after] = reporting.launches()  # the same launch, completed
    assert after["id"] == launch["id"] and after["status"] == "completed"
    statuses = {name: r["status"] for name, r in reporting.by_name(launch["id"]).items()}
    assert statuses == {"test_before": "passed", "test_goes_down": "passed", "test_while_down": "failed"}


def test_a_slow_server_does_not_slow_the_session(pytester: pytest.Pytester, reporting: Server) -> None:
    pytester.makepyfile(test_quick="import pytest\n@pytest.mark.parametrize('n', range(20))\ndef test_n(n): pass\n")
    reporting.switch.delay = 60.0  # every request hangs (the client gives up after 10 s)
    began = time.monotonic()
    result = run(pytester, "--caserun", "-o", "caserun_timeout=1")
    elapsed = time.monotonic() - began
    result.assert_outcomes(passed=20)
    assert result.ret == 0
    assert elapsed < 10, f"the session took {elapsed:.1f}s against a hanging server"
    [spool] = (pytester.path / ".caserun").glob("spool-*.jsonl")
    result.stdout.fnmatch_lines(
        ["caserun: the server did not take every event within 1s", "caserun: * events were kept*"]
    )
    kinds = [json.loads(line)["type"] for line in spool.read_text().splitlines()]
    assert kinds[0] == "launch.started" and kinds.count("case_run.finished") == 20 and kinds[-1] == "launch.finished"


def test_sigterm_stops_the_launch_and_still_ends_the_process(pytester: pytest.Pytester, reporting: Server) -> None:
    pytester.makepyfile(
        test_cancel="""
        import os, signal, time

        def test_done():
            pass

        def test_cancelled_by_ci():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
        """
    )
    began = time.monotonic()
    result = run(pytester, "--caserun")
    assert time.monotonic() - began < 25
    assert result.ret == -15  # died of the SIGTERM, as without the plugin
    [launch] = reporting.launches()
    assert launch["status"] == "stopped" and launch["summary"]["running"] == 0
    statuses = {name: r["status"] for name, r in reporting.by_name(launch["id"]).items()}
    assert statuses == {"test_done": "passed", "test_cancelled_by_ci": "skipped"}


def test_a_killed_session_leaves_a_stale_launch_that_can_be_finished(
    pytester: pytest.Pytester, reporting: Server
) -> None:
    pytester.makepyfile(
        test_killed=WATCH_ITSELF
        + """
import signal

def test_done():
    pass

def test_killed():
    assert seen_running("test_killed")
    os.kill(os.getpid(), signal.SIGKILL)
"""
    )
    result = run(pytester, "--caserun", "-o", "caserun_batch_interval=0.05")
    assert result.ret == -9
    [launch] = reporting.launches()
    assert launch["status"] == "running"  # nothing on the client side could finish it
    time.sleep(0.3)
    stream = reporting.http.get(
        f"/api/v1/launches/{launch['id']}/stream", params={"timeout": 0.3, "interval": 0.1, "stale_after": 0.2}
    ).text
    progress = _first_progress(stream)
    assert progress["stale"] is True and progress["summary"]["running"] == 1

    finish = {"type": "launch.finished", "launch_id": launch["id"], "status": "stopped"}
    answer = reporting.http.post("/api/v1/projects/web/events", json={"events": [finish]}).json()
    assert answer["results"][0]["code"] == "finished"
    [done] = reporting.launches()
    assert done["status"] == "stopped" and done["summary"]["running"] == 0


def _first_progress(stream: str) -> dict[str, Any]:
    for block in stream.split("\n\n"):
        if "event: progress" in block:
            data: dict[str, Any] = json.loads(block.split("data: ", 1)[1])
            return data
    raise AssertionError(stream)


def test_a_bad_line_in_a_spool_refuses_the_upload_and_sends_nothing(
    pytester: pytest.Pytester,
    reporting: Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytester.makepyfile(test_a="import pytest\n@pytest.mark.parametrize('n', range(150))\ndef test_n(n): pass\n")
    out_file = pytester.path / "events.jsonl"
    assert run(pytester, f"--caserun-jsonl={out_file}").ret == 0
    lines = out_file.read_text().splitlines()
    assert len(lines) > 300  # more than one batch of the upload comes before the bad line
    lines.insert(290, '{"type": "case_run.finished", "launch": oops}')
    out_file.write_text("\n".join(lines) + "\n")
    before = reporting.switch.requests
    code, out = upload(str(out_file), "--project", "web", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and "events.jsonl:291: not JSON" in out
    assert reporting.switch.requests == before
    with Client(reporting.url, reporting.token) as client, pytest.raises(ParseError, match="not JSON"):
        replay.replay(client, "web", [out_file], {})  # the replay checks the file itself, too
    assert reporting.switch.requests == before and reporting.launches() == []
