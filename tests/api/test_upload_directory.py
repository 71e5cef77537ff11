"""A report directory (Allure results) uploaded as a zip archive: one report, unpacked safely."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caserun.errors import InvalidInput, PayloadTooLarge
from caserun.service.imports import ArchiveLimits, unpack_archive
from caserun.store.engine import Database
from caserun.store.tables import case_run, launch, test_case

REPORTS = Path(__file__).resolve().parents[1] / "data" / "reports"
BASIC = REPORTS / "allure" / "basic"


def zipped(entries: dict[str, bytes] | None = None, *, folder: Path | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if folder is not None:
            for path in sorted(folder.iterdir()):
                archive.write(path, arcname=path.name)
        for name, data in (entries or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_symlink(name: str, target: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a-result.json", json.dumps(_result()))
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, target)
    return buffer.getvalue()


def _result(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uuid": "u1",
        "historyId": "h1",
        "fullName": "shop#test_pay",
        "name": "test_pay",
        "status": "passed",
        "start": 1_700_000_000_000,
        "stop": 1_700_000_000_100,
        "labels": [{"name": "suite", "value": "shop"}],
    }
    body.update(extra)
    return body


def post_archive(client: TestClient, data: bytes, name: str = "allure-results.zip", **fields: Any) -> Any:
    fields.setdefault("archive", name)
    files = [("report", (name, data, "application/zip"))]
    return client.post("/api/v1/projects/web/imports", files=files, data=fields)


def count(db: Database, table: object) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def assert_nothing_written(db: Database) -> None:
    assert (count(db, launch), count(db, test_case), count(db, case_run)) == (0, 0, 0)


def test_an_allure_directory_is_one_report_with_retries_logs_and_attachments(client: TestClient) -> None:
    response = post_archive(client, zipped(folder=BASIC), name="basic.zip")
    assert response.status_code == 201, response.text
    body = response.json()["launch"]
    assert body["summary"]["total"] == 10
    assert (body["summary"]["passed"], body["summary"]["failed"], body["summary"]["skipped"]) == (6, 2, 2)

    runs = client.get(f"/api/v1/launches/{body['id']}/case-runs", params={"q": "flaky"}).json()["items"]
    assert len(runs) == 1 and runs[0]["passed_on_retry"] and runs[0]["attempts"] == 2

    shot = client.get(f"/api/v1/launches/{body['id']}/case-runs", params={"q": "receipt"}).json()["items"][0]
    detail = client.get(f"/api/v1/case-runs/{shot['id']}").json()
    assert sorted((a["name"], a["content_type"]) for a in detail["attachments"]) == [
        ("receipt screenshot", "image/png"),
        ("receipt.txt", "text/plain"),
    ]
    png = client.get(next(a["url"] for a in detail["attachments"] if a["name"] == "receipt screenshot"))
    assert png.content == (BASIC / "4b41e902-b43c-4ca2-91f4-78c7d51044be-attachment.png").read_bytes()
    assert detail["logs"]["stdout"] == "attached screenshot.png\n"
    assert not detail["warnings"]


def test_format_field_and_files_beside_the_archive_make_one_launch(client: TestClient, tmp_path: Path) -> None:
    junit = b'<testsuite><testcase classname="a" name="one"/></testsuite>'
    files = [
        ("report", ("junit.xml", junit, "application/xml")),
        ("report", ("results.zip", zipped({"a-result.json": json.dumps(_result()).encode()}), "application/zip")),
    ]
    response = client.post("/api/v1/projects/web/imports", files=files, data={"archive": "results.zip"})
    assert response.status_code == 201, response.text
    assert response.json()["launch"]["summary"]["total"] == 2
    forced = post_archive(client, zipped({"a-result.json": json.dumps(_result()).encode()}), format="allure")
    assert forced.status_code == 201, forced.text


def test_an_attachment_outside_the_directory_is_a_warning(client: TestClient) -> None:
    body = _result(attachments=[{"name": "passwd", "source": "../../etc/passwd", "type": "text/plain"}])
    response = post_archive(client, zipped({"a-result.json": json.dumps(body).encode()}))
    assert response.status_code == 201, response.text
    launch_id = response.json()["launch"]["id"]
    run = client.get(f"/api/v1/launches/{launch_id}/case-runs").json()["items"][0]
    detail = client.get(f"/api/v1/case-runs/{run['id']}").json()
    assert detail["attachments"] == []
    assert any("../../etc/passwd" in w for w in detail["warnings"])


@pytest.mark.parametrize(
    ("archive", "status", "words"),
    [
        (zipped({"../evil-result.json": b"{}"}), 422, "points outside the directory"),
        (zipped({"sub/../../evil-result.json": b"{}"}), 422, "points outside the directory"),
        (zipped({"/etc/evil-result.json": b"{}"}), 422, "absolute name"),
        (zipped({"C:/evil-result.json": b"{}"}), 422, "absolute name"),
        (with_symlink("link-attachment.txt", "/etc/passwd"), 422, "symbolic link"),
        (zipped({"bomb-attachment.txt": b"\0" * (8 * 1024 * 1024)}), 413, "zip bomb"),
        (b"PK\x03\x04 this is not really a zip", 422, "not a readable zip"),
        (zipped({"x-container.json": b'{"uuid": "c"}'}), 422, "not a report in any known format"),
        (zipped({"a-result.json": b'{"name": "x",\n"status": }'}), 422, "allure-results/a-result.json:2"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "drive", "symlink", "bomb", "not-zip", "no-results", "broken-json"],
)
def test_unsafe_or_broken_archives_are_4xx_and_write_nothing(
    client: TestClient, db: Database, archive: bytes, status: int, words: str
) -> None:
    response = post_archive(client, archive)
    assert response.status_code == status, response.text
    message = response.json()["error"]["message"]
    assert words in message
    assert "allure-results" in message  # names the archive (or the directory it holds)
    assert_nothing_written(db)


def test_archive_field_mistakes_are_4xx(client: TestClient, db: Database) -> None:
    data = zipped({"a-result.json": json.dumps(_result()).encode()})
    files = [("report", ("results.zip", data, "application/zip"))]
    unnamed = client.post("/api/v1/projects/web/imports", files=files)
    assert unnamed.status_code == 422 and "archive" in unnamed.json()["error"]["message"]
    wrong = client.post("/api/v1/projects/web/imports", files=files, data={"archive": "other.zip"})
    assert wrong.status_code == 422 and "other.zip" in wrong.json()["error"]["message"]
    empty = post_archive(client, zipped({"x-container.json": b'{"uuid": "c"}'}), format="allure")
    assert empty.status_code == 422
    assert "allure-results: no *-result.json files" in empty.json()["error"]["message"]
    assert_nothing_written(db)


def test_unpacking_caps_entries_and_bytes_and_never_writes_outside(tmp_path: Path) -> None:
    many = tmp_path / "many.zip"
    many.write_bytes(zipped({f"{n}-attachment.txt": b"x" for n in range(5)}))
    with pytest.raises(PayloadTooLarge, match="many.zip has 5 entries"):
        unpack_archive(many, _empty(tmp_path / "a"), "many.zip", ArchiveLimits(max_bytes=10**6, max_entries=4))
    big = tmp_path / "big.zip"
    big.write_bytes(zipped({"a-attachment.bin": bytes(range(256)) * 64}))
    with pytest.raises(PayloadTooLarge, match="big.zip unpacks to 16384 bytes"):
        unpack_archive(big, _empty(tmp_path / "b"), "big.zip", ArchiveLimits(max_bytes=1000))
    evil = tmp_path / "evil.zip"
    evil.write_bytes(zipped({"ok-result.json": b"{}", "../escaped.txt": b"x"}))
    with pytest.raises(InvalidInput):
        unpack_archive(evil, _empty(tmp_path / "c"), "evil.zip", ArchiveLimits(max_bytes=10**6))
    assert not (tmp_path / "escaped.txt").exists()
    good = tmp_path / "good.zip"
    good.write_bytes(zipped({"dir/": b"", "a-result.json": b"{}", "dir/x.txt": b"hi"}))
    written = unpack_archive(good, _empty(tmp_path / "d"), "good.zip", ArchiveLimits(max_bytes=10**6))
    assert sorted(name for name, _ in written) == ["a-result.json", "dir/x.txt"]
    assert (tmp_path / "d" / "dir" / "x.txt").read_bytes() == b"hi"


def _empty(path: Path) -> Path:
    path.mkdir()
    return path


def test_an_archive_of_the_folder_itself_stands_for_that_folder(client: TestClient) -> None:
    body = _result(attachments=[{"name": "trace", "source": "l-attachment.txt", "type": "text/plain"}])
    data = zipped({"allure-results/a-result.json": json.dumps(body).encode(), "allure-results/l-attachment.txt": b"x"})
    response = post_archive(client, data, name="..")
    assert response.status_code == 201, response.text
    run = client.get(f"/api/v1/launches/{response.json()['launch']['id']}/case-runs").json()["items"][0]
    detail = client.get(f"/api/v1/case-runs/{run['id']}").json()
    assert [a["name"] for a in detail["attachments"]] == ["trace"] and not detail["warnings"]
