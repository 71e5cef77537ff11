"""A project exported as JSON Lines and imported elsewhere loses nothing: export, import
into a fresh database (and under another key), export again: equal files, equal answers."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caserun.app import create_app
from caserun.domain.model import Role
from caserun.errors import Conflict, InvalidInput
from caserun.service import auth, project_io
from caserun.settings import Settings
from caserun.store.blobs import FileBlobStore
from caserun.store.engine import Database
from tests.ops.helpers import send

SCREENSHOT = bytes(range(256)) * 5000  # 1.28 MB: more than one blob_part line


def build_history(client: TestClient, maintainer: dict[str, str]) -> None:
    """Eight launches where one test flips, one fails steadily, one passes; a retry launch,
    a defect with links, a quarantine entry, a status change and an attachment."""
    for i in range(8):
        lid = f"ci-{i}"
        events: list[dict[str, Any]] = [
            {"type": "launch.started", "launch": lid, "name": f"CI #{i}", "branch": "main", "attributes": {"n": i}}
        ]
        for name, status in (("steady", "passed"), ("flips", "failed" if i % 2 else "passed"), ("broken", "failed")):
            run = f"{lid}-{name}"
            events.append({"type": "case_run.started", "launch": lid, "id": run, "test": {"suite": "s", "name": name}})
            done: dict[str, Any] = {"type": "case_run.finished", "launch": lid, "id": run, "status": status}
            if status == "failed":
                done["failure"] = {"message": f"timeout after {i}s at 0x{i:04x}", "type": "assertion"}
                done["stdout"] = f"line one ü\nrun {i}\n"
            if name == "broken" and i == 7:
                done["attachments"] = [
                    {"name": "shot.png", "content_type": "image/png", "data": _b64(SCREENSHOT)},
                    {"name": "log.txt", "content_type": "text/plain", "data": _b64(b"tiny")},
                ]
            events.append(done)
        events.append({"type": "launch.finished", "launch": lid, "status": "completed"})
        send(client, *events)
    launches = client.get("/api/v1/projects/web/launches").json()["items"]
    last = launches[0]["id"]
    assert client.post(f"/api/v1/launches/{last}/retry", json={"name": "retry"}).status_code == 201
    runs = client.get(f"/api/v1/launches/{last}/case-runs").json()["items"]
    failed = [r["id"] for r in runs if r["status"] == "failed"]
    defect = client.post(
        "/api/v1/projects/web/defects", json={"title": "Cart times out", "launch_id": last}, headers=maintainer
    ).json()
    client.post(f"/api/v1/defects/{defect['id']}/links", json={"case_run_ids": failed}, headers=maintainer)
    steady = next(r for r in runs if r["name"] == "steady")
    changed = client.post(
        f"/api/v1/launches/{last}/case-runs/status",
        json={"case_run_ids": [steady["id"]], "status": "blocked", "comment": "env down"},
        headers=maintainer,
    )
    assert changed.status_code == 200, changed.text
    quarantined = client.post(
        "/api/v1/projects/web/quarantine",
        json={"test_case_id": steady["test_case_id"], "reason": "flaky env"},
        headers=maintainer,
    )
    assert quarantined.status_code == 201, quarantined.text


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def export_text(db: Database, blobs: FileBlobStore, key: str, blobs_dir: Path | None = None) -> str:
    return "".join(project_io.export(db, blobs, key, blobs_dir=blobs_dir))


@contextmanager
def fresh_install(tmp_path: Path, sqlite_template: Path, name: str) -> Iterator[tuple[Settings, Database]]:
    path = tmp_path / f"{name}.db"
    shutil.copy(sqlite_template, path)
    cfg = Settings(data_dir=tmp_path / name, database_url=f"sqlite:///{path}", public_url="http://caserun.test")
    database = Database.from_url(cfg.db_url)
    try:
        yield cfg, database
    finally:
        database.dispose()


def answers(cfg: Settings, db: Database, key: str) -> dict[str, Any]:
    """What a user asks of the project: flaky tests, each test's history, the launches."""
    token = auth.create_token(db, project_key=key, role=Role.VIEWER).token
    with TestClient(create_app(cfg, database=db), base_url="http://caserun.test") as client:
        client.headers["Authorization"] = f"Bearer {token}"
        tests = client.get(f"/api/v1/projects/{key}/tests", params={"q": "s."}).json()
        assert len(tests) == 3, tests
        out: dict[str, Any] = {"flaky": client.get(f"/api/v1/projects/{key}/flaky", params={"min_score": 0}).json()}
        out["broken"] = client.get(f"/api/v1/projects/{key}/broken").json()
        out["launches"] = client.get(f"/api/v1/projects/{key}/launches").json()
        out["history"] = {t["full_name"]: client.get(f"/api/v1/tests/{t['id']}/history").json() for t in tests}
        out["patterns"] = client.get(f"/api/v1/projects/{key}/failure-patterns").json()
        out["defects"] = client.get(f"/api/v1/projects/{key}/defects").json()
        attachment = None
        for launch in out["launches"]["items"]:
            for run in client.get(f"/api/v1/launches/{launch['id']}/case-runs").json()["items"]:
                for item in client.get(f"/api/v1/case-runs/{run['id']}").json()["attachments"]:
                    if item["name"] == "shot.png":
                        attachment = client.get(item["url"]).content
        out["screenshot_ok"] = attachment == SCREENSHOT
    cleaned: dict[str, Any] = _without_ids(out)
    return cleaned


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_ids(v)
            for k, v in value.items()
            if not (k == "id" or k.endswith("_id") or k.endswith("url") or k in ("next", "project_key", "key"))
        }
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def test_export_import_export_round_trips_without_loss(
    client: TestClient,
    db: Database,
    settings: Settings,
    tokens: dict[str, str],
    tmp_path: Path,
    sqlite_template: Path,
) -> None:
    build_history(client, {"Authorization": f"Bearer {tokens['maintainer']}"})
    first = export_text(db, FileBlobStore(settings.blob_dir), "web")
    kinds = {json.loads(line)["type"] for line in first.splitlines()}
    assert kinds >= {
        "project",
        "test_case",
        "launch",
        "case_run",
        "log",
        "blob",
        "blob_part",
        "attachment",
        "defect",
        "defect_link",
        "failure_pattern",
        "quarantine",
        "status_change",
        "test_stats",
    }

    with fresh_install(tmp_path, sqlite_template, "fresh") as (cfg, fresh):
        done = project_io.import_lines(fresh, FileBlobStore(cfg.blob_dir), first.splitlines(keepends=True))
        assert done.key == "web" and done.counts["launch"] == 9
        second = export_text(fresh, FileBlobStore(cfg.blob_dir), "web")
        assert second == first
        original = answers(settings, db, "web")
        assert answers(cfg, fresh, "web") == original
    assert original["screenshot_ok"] is True
    assert [(t["full_name"], t["score"] > 0) for t in original["flaky"]["items"]] == [("s.flips", True)]
    assert all(len(h["items"]) >= 8 for h in original["history"].values())
    assert original["defects"]["items"] and original["patterns"]["items"]

    # the same database, under another key: ids differ, the data does not
    copy = project_io.import_lines(db, FileBlobStore(settings.blob_dir), first.splitlines(), new_key="web-copy")
    third = export_text(db, FileBlobStore(settings.blob_dir), copy.key)
    assert third.replace('"key":"web-copy"', '"key":"web"', 1) == first
    assert answers(settings, db, "web-copy") == answers(settings, db, "web")


def test_attachments_can_travel_in_a_side_directory(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path, sqlite_template: Path
) -> None:
    send(
        client,
        {"type": "launch.started", "launch": "L"},
        {"type": "case_run.started", "launch": "L", "id": "r", "test": {"suite": "s", "name": "t"}},
        {
            "type": "case_run.finished",
            "launch": "L",
            "id": "r",
            "status": "failed",
            "attachments": [{"name": "shot.png", "data": _b64(SCREENSHOT)}],
        },
    )
    side = tmp_path / "blobs-out"
    text = export_text(db, FileBlobStore(settings.blob_dir), "web", blobs_dir=side)
    assert "blob_part" not in text and len(text) < 10_000
    with fresh_install(tmp_path, sqlite_template, "side") as (cfg, fresh):
        project_io.import_lines(fresh, FileBlobStore(cfg.blob_dir), text.splitlines(), blobs_dir=side)
        assert export_text(fresh, FileBlobStore(cfg.blob_dir), "web") == export_text(
            db, FileBlobStore(settings.blob_dir), "web"
        )


def test_bad_files_are_refused_whole_with_the_line_named(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    send(
        client,
        {"type": "launch.started", "launch": "L", "name": "only"},
        {"type": "launch.finished", "launch": "L", "status": "completed"},
    )
    good = export_text(db, FileBlobStore(settings.blob_dir), "web").splitlines()
    blobs = FileBlobStore(tmp_path / "b")
    with pytest.raises(Conflict, match="already exists.*--as"):
        project_io.import_lines(db, blobs, good)
    broken = [*good[:-1], "{not json"]
    with pytest.raises(InvalidInput, match=f"line {len(good)}: not JSON"):
        project_io.import_lines(db, blobs, broken, new_key="other")
    unknown = [*good, json.dumps({"type": "launch", "id": 2, "colour": "red"})]
    with pytest.raises(InvalidInput, match="unknown field 'colour'"):
        project_io.import_lines(db, blobs, unknown, new_key="other")
    dangling = [
        *good,
        json.dumps(
            {
                "type": "quarantine",
                "test_case_id": 42,
                "reason": "x",
                "created_by": "me",
                "created_at": "2024-01-01T00:00:00+00:00",
            }
        ),
    ]
    with pytest.raises(InvalidInput, match="refers to test_case 42"):
        project_io.import_lines(db, blobs, dangling, new_key="other")
    nameless = [line.replace('"name":"only"', '"name":null') for line in good]
    with pytest.raises(InvalidInput, match="the database refused a row"):
        project_io.import_lines(db, blobs, nameless, new_key="other")
    escaping = [*good, json.dumps({"type": "blob", "sha256": "../../etc/passwd", "size": 1})]
    with pytest.raises(InvalidInput, match="64 hex digits"):
        project_io.import_lines(db, blobs, escaping, new_key="other", blobs_dir=tmp_path)
    with pytest.raises(InvalidInput, match="not a caserun project export"):
        project_io.import_lines(db, blobs, ["", "  "], new_key="other")
    # nothing was half-written
    visible = client.get(
        "/api/v1/projects",
        headers={"Authorization": "Bearer " + auth.create_token(db, project_key=None, role=Role.ADMIN).token},
    ).json()["items"]
    assert [p["key"] for p in visible] == ["web"]
