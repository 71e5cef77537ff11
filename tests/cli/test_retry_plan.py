"""``caserun retry-plan`` and ``caserun quarantine`` against a live server."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

import tests.cli.test_cli as shared

# the live server, the CLI runner and the README's reporter set-up, shared with test_cli
live_url = shared.live_url
cli = shared.cli
reporter = shared.reporter

REPORT = """<testsuite>
  <testcase classname="tests.test_cart.TestCart" name="test_total[2-eur]" file="tests/test_cart.py">
    <failure message="expected 13">trace</failure></testcase>
  <testcase classname="tests.test_cart" name="test_empty" file="tests/test_cart.py">
    <failure message="boom">trace</failure></testcase>
  <testcase classname="tests.test_cart" name="test_fine" file="tests/test_cart.py"/>
</testsuite>"""


def upload(cli: shared.Run, path: Path, xml: str) -> int:
    path.write_text(xml)
    code, out, err = cli("upload", str(path), "-p", "web", "-o", "json")
    assert code == 0, err
    return int(json.loads(out)["launch"]["id"])


def test_retry_plan_prints_node_ids_for_pytest(cli: shared.Run, reporter: str, tmp_path: Path) -> None:
    launch = upload(cli, tmp_path / "r.xml", REPORT)
    code, out, err = cli("retry-plan", str(launch), "--runner", "pytest")
    assert code == 0, err
    assert shlex.split(out) == ["tests/test_cart.py::TestCart::test_total[2-eur]", "tests/test_cart.py::test_empty"]

    code, out, _ = cli("retry-plan", str(launch), "--runner", "go", "-o", "json")
    body = json.loads(out)
    assert body["args"] == ["-run", "^(test_total|test_empty)$"]
    assert body["runner"] == "go" and body["tests"] == 2

    code, out, err = cli("retry-plan", str(launch), "--runner", "jest")
    assert code == 0 and shlex.split(out)[:2] == ["tests/test_cart.py", "-t"]


def test_retry_plan_without_failures_and_bad_input(cli: shared.Run, reporter: str, tmp_path: Path) -> None:
    green = upload(cli, tmp_path / "g.xml", '<testsuite><testcase classname="a" name="b"/></testsuite>')
    code, out, err = cli("retry-plan", str(green), "--runner", "pytest")
    assert code == 0 and out == "" and "no failed tests" in err
    code, _, err = cli("retry-plan", str(green), "--runner", "maven")
    assert code == 2
    code, _, err = cli("retry-plan", "999999", "--runner", "pytest")
    assert code == 1 and "not found" in err


@pytest.fixture
def maintainer(cli: shared.Run, reporter: str, monkeypatch: pytest.MonkeyPatch) -> str:
    code, out, _ = cli("token", "create", "--project", "web", "--role", "maintainer", "--name", "ana")
    assert code == 0
    return out.split()[-1]


def test_quarantine_add_list_remove(
    cli: shared.Run, reporter: str, maintainer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(cli, tmp_path / "r.xml", REPORT)
    code, _, err = cli("quarantine", "add", "tests.test_cart.test_empty", "-p", "web", "--reason", "flaky")
    assert code == 1 and "maintainer" in err  # the reporter token may read, not change

    monkeypatch.setenv("CASERUN_TOKEN", maintainer)
    code, out, err = cli(
        "quarantine", "add", "tests.test_cart.test_empty", "-p", "web", "--reason", "flaky", "--expires-days", "3"
    )
    assert code == 0, err
    assert "quarantined tests.test_cart.test_empty" in out and "until" in out
    code, out, err = cli("quarantine", "add", "test_total", "-p", "web", "--reason", "slow", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["created_by"] == "ana"
    code, _, err = cli("quarantine", "add", "test_", "-p", "web", "--reason", "x")
    assert code == 1 and "tests match" in err

    monkeypatch.setenv("CASERUN_TOKEN", reporter)
    code, out, _ = cli("quarantine", "list", "-p", "web", "-o", "json")
    items = json.loads(out)["items"]
    assert [i["full_name"] for i in items] == [
        "tests.test_cart.test_empty",
        "tests.test_cart.TestCart.test_total[2-eur]",
    ]
    code, out, _ = cli("quarantine", "list", "-p", "web")
    assert code == 0 and "flaky" in out and "ana" in out

    monkeypatch.setenv("CASERUN_TOKEN", maintainer)
    code, out, err = cli("quarantine", "remove", items[0]["test_key"], "-p", "web")
    assert code == 0, err
    code, out, err = cli("quarantine", "remove", str(items[1]["test_case_id"]), "-p", "web")
    assert code == 0, err
    code, _, err = cli("quarantine", "remove", str(items[1]["test_case_id"]), "-p", "web")
    assert code == 1 and "not quarantined" in err
    code, out, _ = cli("quarantine", "list", "-p", "web", "-o", "json")
    assert json.loads(out)["items"] == []
