"""``caserun upload`` of an Allure results directory against a live server: one report, one launch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from caserun.client import Client
from tests.cli import test_cli as live
from tests.cli.test_cli import Run

# the live-server fixtures of test_cli, used here as they are
live_url, cli, reporter = live.live_url, live.cli, live.reporter

BASIC = Path(__file__).resolve().parents[1] / "data" / "reports" / "allure" / "basic"


def results_copy(tmp_path: Path, name: str = "allure-results") -> Path:
    target = tmp_path / name
    shutil.copytree(BASIC, target)
    return target


def test_dry_run_shows_the_directory_as_one_report(cli: Run, reporter: str, tmp_path: Path) -> None:
    folder = results_copy(tmp_path)
    code, out, err = cli("upload", str(folder), "-p", "web", "--dry-run", "-o", "json")
    assert code == 0, err
    plan = json.loads(out)["dry_run"]
    [report] = plan["files"]
    assert (report["path"], report["directory"], report["format"]) == (str(folder), True, "allure")
    assert (report["tests"], report["attempts"]) == (10, 13)  # three tests were rerun
    assert "4b41e902-b43c-4ca2-91f4-78c7d51044be-attachment.png" in report["attachments"]
    assert plan["attachments"] == len(report["attachments"]) == 2
    assert plan["bytes"] == sum(p.stat().st_size for p in folder.iterdir())
    code, out, _ = cli("upload", str(folder), "-p", "web", "--dry-run")
    assert code == 0 and f"{folder} (directory): allure, 10 tests, 2 attachments" in out


def test_upload_sends_the_directory_as_one_launch_and_is_idempotent(cli: Run, reporter: str, tmp_path: Path) -> None:
    folder = results_copy(tmp_path)
    code, out, err = cli("upload", str(folder), "-p", "web", "--launch", "allure", "-o", "json")
    assert code == 0, err
    launch = json.loads(out)["launch"]
    assert launch["summary"]["total"] == 10
    assert (launch["summary"]["passed"], launch["summary"]["failed"], launch["summary"]["skipped"]) == (6, 2, 2)
    again = json.loads(cli("upload", str(folder), "-p", "web", "--launch", "allure", "-o", "json")[1])
    assert again["launch"]["id"] == launch["id"]
    extra = {"uuid": "x", "historyId": "x", "name": "test_extra", "status": "passed", "fullName": "m#test_extra"}
    (folder / "extra-result.json").write_text(json.dumps(extra))
    changed = json.loads(cli("upload", str(folder), "-p", "web", "--launch", "allure", "-o", "json")[1])
    assert changed["launch"]["id"] != launch["id"] and changed["launch"]["summary"]["total"] == 11


def test_a_results_directory_inside_a_folder_of_reports(cli: Run, reporter: str, tmp_path: Path) -> None:
    build = tmp_path / "build"
    results_copy(build, "allure-results")
    (build / "junit.xml").write_text('<testsuite><testcase classname="a" name="one"/></testsuite>')
    code, out, err = cli("upload", str(build), "-p", "web", "--dry-run", "-o", "json")
    assert code == 0, err
    files = json.loads(out)["dry_run"]["files"]
    assert [(Path(f["path"]).name, f["format"], f["tests"]) for f in files] == [
        ("allure-results", "allure", 10),
        ("junit.xml", "junit", 1),
    ]
    code, out, err = cli("upload", str(build), "-p", "web", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["launch"]["summary"]["total"] == 11


def test_format_allure_and_bad_directories(cli: Run, reporter: str, tmp_path: Path) -> None:
    folder = results_copy(tmp_path)
    code, out, err = cli("upload", str(folder), "-p", "web", "--format", "allure", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["launch"]["summary"]["total"] == 10

    empty = tmp_path / "empty-results"
    empty.mkdir()
    (empty / "x-container.json").write_text('{"uuid": "c"}')
    code, _, err = cli("upload", str(empty), "-p", "web", "--format", "allure")
    assert code == 1 and "no *-result.json files" in err and len(err.strip().splitlines()) == 1

    broken = results_copy(tmp_path, "broken-results")
    (broken / "zz-result.json").write_text('{"name": "x",\n"status": }')
    code, _, err = cli("upload", str(broken), "-p", "web")
    assert code == 1 and "broken-results/zz-result.json:2" in err


def test_an_attachment_outside_the_directory_warns_and_is_not_sent(
    cli: Run, reporter: str, live_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "allure-results"
    folder.mkdir()
    body = {
        "uuid": "u",
        "historyId": "h",
        "name": "test_x",
        "fullName": "m#test_x",
        "status": "passed",
        "attachments": [{"name": "passwd", "source": "../../etc/passwd", "type": "text/plain"}],
    }
    (folder / "u-result.json").write_text(json.dumps(body))
    code, out, err = cli("upload", str(folder), "-p", "web", "-o", "json")
    assert code == 0, err
    launch = json.loads(out)["launch"]
    assert launch["summary"]["total"] == 1
    with Client(live_url, reporter) as client:
        [run] = client.get(f"/api/v1/launches/{launch['id']}/case-runs")["items"]
        detail = client.get(f"/api/v1/case-runs/{run['id']}")
    assert detail["attachments"] == []
    assert any("../../etc/passwd" in w and "not read" in w for w in detail["warnings"])
