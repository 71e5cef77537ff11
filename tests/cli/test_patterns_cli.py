"""``caserun patterns`` against a live server."""

from __future__ import annotations

import json
from pathlib import Path

import tests.cli.test_cli as shared

live_url = shared.live_url
cli = shared.cli
reporter = shared.reporter


def failure(test: str, host: str) -> str:
    trace = f"shop/client.py:57: in _send\nE   ConnectionError: could not connect to {host}"
    return (
        f'<testcase classname="tests.test_orders" name="{test}">'
        f'<failure type="ConnectionError" message="ConnectionError: could not connect to {host}">{trace}</failure>'
        "</testcase>"
    )


def test_patterns_lists_a_projects_failure_patterns(cli: shared.Run, reporter: str, tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(
        f"<testsuite>{failure('test_a', '10.0.0.1:5432')}{failure('test_b', '10.0.0.2:5432')}</testsuite>"
    )
    code, _, err = cli("upload", str(report), "-p", "web")
    assert code == 0, err

    code, out, err = cli("patterns", "--project", "web", "--output", "json")
    assert code == 0, err
    [item] = json.loads(out)["items"]
    assert (item["exception"], item["count"], item["tests_affected"]) == ("ConnectionError", 2, 2)

    code, out, _ = cli("patterns", "-p", "web", "--since", "2000-01-01", "--min-count", "2")
    assert code == 0
    assert "ConnectionError" in out and "could not connect" in out

    code, out, _ = cli("patterns", "-p", "web", "--since", "2999-01-01", "-o", "json")
    assert json.loads(out)["items"] == []

    code, _, err = cli("patterns", "-p", "web", "--sort", "name")
    assert code == 1 and "cannot sort" in err
