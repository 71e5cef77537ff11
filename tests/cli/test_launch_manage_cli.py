"""``caserun launch archive|unarchive|delete`` and the new ``launches list`` filters against a
live server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tests.cli.test_cli as shared
from tests.cli.test_retry_plan import REPORT, upload

live_url = shared.live_url
cli = shared.cli
reporter = shared.reporter


def listed(cli: shared.Run, *args: str) -> list[str]:
    code, out, err = cli("launches", "list", "-p", "web", "-o", "json", *args)
    assert code == 0, err
    return [item["name"] for item in json.loads(out)["items"]]


def test_archive_and_delete_need_a_maintainer_and_the_name(
    cli: shared.Run, reporter: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch = upload(cli, tmp_path / "r.xml", REPORT)
    name = listed(cli)[0]
    code, _, err = cli("launch", "archive", str(launch))
    assert code == 1 and "maintainer" in err  # a reporter may not

    code, out, _ = cli("token", "create", "--project", "web", "--role", "maintainer")
    monkeypatch.setenv("CASERUN_TOKEN", out.split()[-1])
    code, out, err = cli("launch", "archive", str(launch))
    assert code == 0, err
    assert f"launch {launch} ({name}) is archived" in out
    assert listed(cli) == [] and listed(cli, "--archived") == [name]
    code, out, err = cli("launch", "unarchive", str(launch), "-o", "json")
    assert code == 0 and json.loads(out)["archived"] is False
    assert listed(cli, "--min-pass-rate", "50") == []  # 1 of 3 passed
    assert listed(cli, "--max-pass-rate", "50", "--source", "cli") == [name]

    code, _, err = cli("launch", "delete", str(launch), "--confirm", "something else")
    assert code == 1 and "confirm with its exact name" in err
    code, _, err = cli("launch", "delete", str(launch))
    assert code == 2  # --confirm is required
    assert listed(cli) == [name]
    code, out, err = cli("launch", "delete", str(launch), "--confirm", name)
    assert code == 0, err
    assert f"deleted launch {launch}" in out and "3 tests rebuilt" in out
    assert listed(cli) == []
