"""``pytest --caserun`` against a live server, in a subprocess, as a CI job runs it."""

from __future__ import annotations

import json
import sys

import pytest
from tests.plugin.conftest import Server, free_port

from caserun.cli import main

OUTCOMES = """
import logging
import pytest

def test_passes():
    print("hello out")
    logging.getLogger("shop").warning("a log line")

def test_fails():
    assert {"total": 3} == {"total": 4}

def test_errors():
    raise ValueError("bad value 42")

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False

@pytest.mark.xfail(reason="fixed?", strict=True)
def test_xpass_strict():
    pass

@pytest.mark.xfail(reason="maybe", strict=False)
def test_xpass():
    pass

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown went wrong")

def test_teardown_error(broken_teardown):
    pass

@pytest.fixture
def broken_setup():
    raise OSError("no database")

def test_setup_error(broken_setup):
    pass

@pytest.mark.slow
@pytest.mark.parametrize("n", [1, 2])
def test_param(n, caserun_attach):
    caserun_attach(b"shot-%d" % n, name="shot.png")
    assert n > 0
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


def test_outcomes_are_recorded_as_pytest_reports_them(pytester: pytest.Pytester, reporting: Server) -> None:
    pytester.makepyfile(test_shop=OUTCOMES)
    pytester.makeini("[pytest]\nmarkers =\n    slow: a slow test\n")
    result = run(pytester, "--caserun", "--caserun-launch-name", "CI #7", "--caserun-attr", "team=shop")
    result.assert_outcomes(passed=4, failed=3, skipped=1, xfailed=1, xpassed=1, errors=2)
    result.stdout.fnmatch_lines(["caserun: launch *: http://*/launches/* (* events sent)"])
    [launch] = reporting.launches()
    assert (launch["name"], launch["status"], launch["source"]) == ("CI #7", "completed", "pytest")
    assert launch["attributes"]["team"] == "shop" and "python" in launch["attributes"]
    assert launch["summary"]["total"] == 11
    runs = reporting.by_name(launch["id"])
    statuses = {name: run["status"] for name, run in runs.items()}
    assert statuses == {
        "test_passes": "passed",
        "test_fails": "failed",
        "test_errors": "failed",
        "test_skipped": "skipped",
        "test_xfail": "skipped",
        "test_xpass_strict": "failed",
        "test_xpass": "passed",
        "test_teardown_error": "failed",
        "test_setup_error": "failed",
        "test_param[1]": "passed",
        "test_param[2]": "passed",
    }
    assert runs["test_fails"]["failure_type"] == "assertion"
    assert runs["test_errors"]["failure_exception"] == "ValueError"
    assert runs["test_errors"]["failure_type"] == "error"
    assert runs["test_setup_error"]["failure_message"].startswith("error at setup: OSError")
    assert runs["test_teardown_error"]["failure_type"] == "error"
    assert runs["test_xpass_strict"]["failure_message"].startswith("[XPASS(strict)]")

    def detail(name: str) -> dict:  # type: ignore[type-arg]
        return reporting.get(f"/api/v1/case-runs/{runs[name]['id']}")  # type: ignore[no-any-return]

    passes = detail("test_passes")
    assert passes["logs"]["stdout"] == "hello out\n"
    assert "a log line" in passes["logs"]["log"]
    assert passes["metadata"]["nodeid"] == "test_shop.py::test_passes"
    assert passes["metadata"]["team"] == "shop" and passes["metadata"]["python"]
    assert (passes["file"], passes["line"]) == ("test_shop.py", 4)
    assert passes["full_name"] == "test_shop.test_passes"  # the same test key a JUnit import gives
    fails = detail("test_fails")
    assert "assert {'total': 3} == {'total': 4}" in fails["failure"]["stack_trace"]
    assert detail("test_xfail")["metadata"]["xfail"] == "true"
    assert detail("test_xfail")["metadata"]["skip_reason"] == "xfail: known bug"
    assert detail("test_xpass")["metadata"]["xpass"] == "true"
    assert detail("test_skipped")["metadata"]["skip_reason"] == "not today"
    teardown = detail("test_teardown_error")
    assert "teardown went wrong" in teardown["metadata"]["teardown_error"]
    assert len(teardown["attempt_list"]) == 1  # a teardown error is not a second result
    param = detail("test_param[2]")
    assert param["metadata"]["markers"] == "slow" and param["metadata"]["param.n"] == "2"
    [shot] = param["attachments"]
    assert (shot["name"], shot["content_type"], shot["size"]) == ("shot.png", "image/png", 6)
    assert reporting.http.get(shot["url"].replace("http://caserun.test", "")).content == b"shot-2"
    assert not (pytester.path / ".caserun").exists() or not list((pytester.path / ".caserun").glob("*.jsonl"))


def test_rerunfailures_reruns_become_attempts(pytester: pytest.Pytester, reporting: Server) -> None:
    pytester.makepyfile(
        test_flaky="""
        import itertools
        calls = itertools.count()

        def test_flaky():
            assert next(calls) >= 1

        def test_broken():
            assert False
        """
    )
    result = run(pytester, "--caserun", "--reruns", "2")
    assert result.parseoutcomes() == {"passed": 1, "failed": 1, "rerun": 3}
    [launch] = reporting.launches()
    runs = reporting.runs(launch["id"], attempts="all")
    attempts = sorted((r["name"], r["attempt"], r["status"], r["is_final"]) for r in runs)
    assert attempts == [
        ("test_broken", 1, "failed", False),
        ("test_broken", 2, "failed", False),
        ("test_broken", 3, "failed", True),
        ("test_flaky", 1, "failed", False),
        ("test_flaky", 2, "passed", True),
    ]
    flaky = next(r for r in runs if r["name"] == "test_flaky" and r["is_final"])
    assert flaky["passed_on_retry"]
    assert launch["summary"]["total"] == 2 and launch["summary"]["passed"] == 1


def test_xdist_reports_once_from_the_controller(pytester: pytest.Pytester, reporting: Server) -> None:
    pytester.makepyfile(
        test_many="""
        import pytest

        @pytest.mark.parametrize("n", range(8))
        def test_n(n, caserun_attach):
            caserun_attach(b"x", name=f"n{n}.txt")
            assert n != 3
        """
    )
    result = run(pytester, "--caserun", "-n", "2")
    result.assert_outcomes(passed=7, failed=1)
    [launch] = reporting.launches()
    runs = reporting.runs(launch["id"], attempts="all")
    assert len(runs) == 8 and all(r["attempt"] == 1 for r in runs)
    detail = reporting.get(f"/api/v1/case-runs/{runs[0]['id']}")
    assert detail["metadata"]["worker"] in ("gw0", "gw1")
    assert len(detail["attachments"]) == 1
    assert launch["summary"] == {**launch["summary"], "total": 8, "passed": 7, "failed": 1}


def upload(*args: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["caserun", "upload", *args])
    capsys.readouterr()
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out + err


def test_server_down_from_the_start_spools_and_upload_completes_it(
    pytester: pytest.Pytester,
    reporting: Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytester.makepyfile(test_a="def test_one(): pass\ndef test_two(): assert False\n")
    monkeypatch.setenv("CASERUN_URL", f"http://127.0.0.1:{free_port()}")
    result = run(pytester, "--caserun")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1  # the reporter changed nothing
    [spool] = (pytester.path / ".caserun").glob("spool-*.jsonl")
    result.stdout.fnmatch_lines(
        [
            "caserun: cannot reach http://127.0.0.1:*",
            f"caserun: 6 events were kept in {spool.relative_to(pytester.path)}; upload them with:",
            f"    caserun upload {spool.relative_to(pytester.path)} --project web",
        ]
    )
    assert (pytester.path / ".caserun" / ".gitignore").exists()
    assert reporting.launches() == []

    monkeypatch.setenv("CASERUN_URL", reporting.url)
    code, out = upload(
        str(spool), "--project", "web", "--launch", "from the spool", monkeypatch=monkeypatch, capsys=capsys
    )
    assert code == 0, out
    [launch] = reporting.launches()
    assert (launch["name"], launch["status"], launch["summary"]["total"]) == ("from the spool", "completed", 2)
    code, out = upload(str(spool), "--project", "web", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and len(reporting.launches()) == 1  # replaying again records nothing twice


def test_server_that_goes_away_mid_run_and_comes_back_gets_everything(
    pytester: pytest.Pytester, reporting: Server
) -> None:
    pytester.makepyfile(
        test_outage="""
        import os, time, urllib.request

        def switch(state):
            urllib.request.urlopen(os.environ["CASERUN_URL"] + "/__switch__/" + state).read()

        def test_before():
            time.sleep(0.3)

        def test_goes_down():
            switch("down")
            time.sleep(1.0)

        def test_while_down():
            time.sleep(1.0)

        def test_comes_back():
            switch("up")

        def test_after():
            pass
        """
    )
    result = run(pytester, "--caserun", "-o", "caserun_batch_interval=0.1")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["caserun: the server was unreachable for a while; every event was delivered*"])
    [launch] = reporting.launches()
    assert launch["status"] == "completed"
    assert {r["name"]: r["status"] for r in reporting.runs(launch["id"])} == dict.fromkeys(
        ("test_before", "test_goes_down", "test_while_down", "test_comes_back", "test_after"), "passed"
    )
    assert not list((pytester.path / ".caserun").glob("*.jsonl"))  # delivered: no spool left behind


def test_jsonl_without_a_server_then_upload(
    pytester: pytest.Pytester,
    reporting: Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytester.makepyfile(test_b="import pytest\n@pytest.mark.parametrize('x', 'ab')\ndef test_x(x): assert x == 'a'\n")
    for name in ("CASERUN_URL", "CASERUN_TOKEN", "CASERUN_PROJECT"):
        monkeypatch.delenv(name)
    out_file = pytester.path / "out" / "events.jsonl"
    result = run(pytester, f"--caserun-jsonl={out_file}")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["caserun: 6 events written to out/events.jsonl"])
    kinds = [json.loads(line)["type"] for line in out_file.read_text().splitlines()]
    assert kinds[0] == "launch.started" and kinds[-1] == "launch.finished"
    assert reporting.switch.requests == 0  # nothing was sent

    monkeypatch.setenv("CASERUN_URL", reporting.url)
    monkeypatch.setenv("CASERUN_TOKEN", reporting.token)
    code, out = upload(str(out_file), "-p", "web", "--output", "json", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, out
    launch = json.loads(out)["launch"]
    assert launch["summary"]["total"] == 2 and launch["summary"]["failed"] == 1


def test_quarantined_failures_do_not_fail_the_session(pytester: pytest.Pytester, reporting: Server) -> None:
    pytester.makepyfile(test_q="def test_flaky(): assert False\ndef test_fine(): pass\n")
    reporting.switch.quarantine = [{"full_name": "test_q.test_flaky", "test_key": "0" * 64}]
    result = run(pytester, "--caserun", "--caserun-quarantine")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["caserun: 1 failing quarantined tests did not fail the session:", "    test_q.py::test_flaky"]
    )
    [launch] = reporting.launches()
    flaky = reporting.by_name(launch["id"])["test_flaky"]
    assert reporting.get(f"/api/v1/case-runs/{flaky['id']}")["metadata"]["quarantined"] == "true"

    reporting.switch.quarantine = []
    assert run(pytester, "--caserun", "--caserun-quarantine").ret == 1


def test_no_quarantine_feature_means_nothing_is_quarantined(pytester: pytest.Pytester, reporting: Server) -> None:
    pytester.makepyfile(test_q="def test_flaky(): assert False\n")
    reporting.switch.quarantine = None
    result = run(pytester, "--caserun", "--caserun-quarantine", "--caserun-project", "nope")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["caserun: the server refused the events: project 'nope' not found"])


def test_ctrl_c_stops_the_launch(pytester: pytest.Pytester, reporting: Server) -> None:
    pytester.makepyfile(test_c="def test_one(): pass\ndef test_interrupted(): raise KeyboardInterrupt\n")
    result = run(pytester, "--caserun")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    [launch] = reporting.launches()
    assert launch["status"] == "stopped"
    assert reporting.by_name(launch["id"])["test_one"]["status"] == "passed"


def test_shards_join_a_launch_and_refusals_are_reported_once(
    pytester: pytest.Pytester, reporting: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = reporting.http.post("/api/v1/projects/web/launches", json={"name": "shared"}).json()
    monkeypatch.setenv("CASERUN_LAUNCH", str(created["id"]))
    for shard in ("a", "b"):
        pytester.makepyfile(**{f"test_{shard}": "def test_one(): pass\n"})
        assert run(pytester, "--caserun", f"test_{shard}.py").ret == 0
    [launch] = reporting.launches()
    assert launch["status"] == "running"  # a joined launch is left to its owner
    assert sorted(r["full_name"] for r in reporting.runs(created["id"])) == ["test_a.test_one", "test_b.test_one"]

    reporting.http.post(f"/api/v1/launches/{created['id']}/finish", json={"status": "completed"})
    result = run(pytester, "--caserun", "test_a.py")
    assert result.ret == 0  # refused events never fail the session
    result.stdout.fnmatch_lines(
        [
            "caserun: the server refused 2 events:",
            "    409 conflict: launch * is completed; it accepts no more results (2×)",
        ]
    )


def test_shards_sharing_a_client_id_make_one_launch(
    pytester: pytest.Pytester, reporting: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASERUN_LAUNCH", "build-1234")
    for shard in ("a", "b"):
        pytester.makepyfile(**{f"test_{shard}": "def test_one(): pass\n"})
        assert run(pytester, "--caserun", f"test_{shard}.py").ret == 0
    [launch] = reporting.launches()
    assert launch["status"] == "running" and launch["summary"]["total"] == 2
