"""``caserun export`` and ``caserun summary`` against a real server, as a CI job runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.store.engine import Database
from tests.cli.test_cli import Run, cli, live_url  # noqa: F401 - fixtures
from tests.web.conftest import BASELINE, CURRENT, junit


def test_export_and_summary_commands(
    cli: Run,  # noqa: F811
    live_url: str,  # noqa: F811
    db: Database,
    tmp_path: Path,
    monkeypatch: object,
) -> None:
    projects.create(db, "web", "Web shop")
    token = auth.create_token(db, project_key="web", role=Role.REPORTER).token
    monkeypatch.setenv("CASERUN_URL", live_url)  # type: ignore[attr-defined]
    monkeypatch.setenv("CASERUN_TOKEN", token)  # type: ignore[attr-defined]
    for name, cases in (("Nightly 1", BASELINE), ("Nightly 2", CURRENT)):
        path = junit(tmp_path / f"{name[-1]}.xml", cases)
        code, out, err = cli("upload", str(path), "--project", "web", "--launch", name, "--branch", "main")
        assert code == 0, err

    code, out, err = cli("export", "launches", "--project", "web", "--format", "csv")
    assert code == 0, err
    assert [r["name"] for r in csv.DictReader(io.StringIO(out))] == ["Nightly 2", "Nightly 1"]

    target = tmp_path / "runs.jsonl"
    code, out, err = cli("export", "case-runs", "2", "--format", "jsonl", "--status", "failed", "-o", str(target))
    assert code == 0, err
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["full_name"] for r in rows] == ["shop.Cart.test_checkout"]

    code, out, err = cli("export", "launch", "2", "--format", "junit", "-o", str(tmp_path / "again.xml"))
    assert code == 0, err
    assert (tmp_path / "again.xml").read_text().startswith("<?xml")

    code, out, err = cli("summary", "2", "--format", "markdown")
    assert code == 0, err
    assert out.startswith("### ❌ Nightly 2 \\#2\n")
    assert "#### New failures (1)" in out and "(http://caserun.test/launches/2)" in out  # the public URL

    code, out, err = cli("export", "case-runs", "99", "-o", str(tmp_path / "nothing.csv"))
    assert code == 1 and "launch 99 not found" in err
    assert not (tmp_path / "nothing.csv").exists()  # nothing half-written
    code, out, err = cli("export", "launches", "--project", "web", "--format", "xlsx")
    assert code == 1 and "xlsx" in err
