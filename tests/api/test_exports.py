"""Exports over the API: lists as CSV / JSON / JSON Lines with the lists' filters, streamed
page by page; the launch as a Markdown summary; errors that name what was wrong."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caserun.service import exports
from caserun.store import case_runs
from tests.web.conftest import BASELINE, CURRENT, junit, upload


@pytest.fixture
def pair(client: TestClient, tmp_path: Path) -> tuple[int, int]:
    """Nightly 1 (baseline) and Nightly 2 on main/staging, as in the web tests."""
    common = {"branch": "main", "environment": "staging"}
    first = upload(client, junit(tmp_path / "base.xml", BASELINE), {}, name="Nightly 1", **common)
    second = upload(client, junit(tmp_path / "cur.xml", CURRENT), {}, name="Nightly 2", commit="0a1b2c3d", **common)
    return first, second


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_launches_as_csv_with_the_list_filters(client: TestClient, pair: tuple[int, int]) -> None:
    response = client.get("/api/v1/projects/web/launches/export", params={"format": "csv", "branch": "main"})
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment") and 'filename="launches-web.csv"' in disposition
    rows = _csv(response.text)
    assert [r["name"] for r in rows] == ["Nightly 2", "Nightly 1"]  # newest first, as the list
    assert rows[0]["commit"] == "0a1b2c3d"
    assert rows[0]["passed"] == "2" and rows[0]["failed"] == "1" and rows[0]["pass_rate"] == "66.7"
    assert rows[0]["url"] == f"http://caserun.test/launches/{pair[1]}"
    none = client.get("/api/v1/projects/web/launches/export", params={"branch": "release"})
    assert _csv(none.text) == []
    assert none.text.startswith("id,name,status")  # the header even when empty


def test_csv_cells_that_look_like_formulas_are_neutralised(client: TestClient, tmp_path: Path) -> None:
    cases = (
        '<testcase classname="x" name="=HYPERLINK(&quot;http://evil&quot;)" time="1">'
        '<failure message="@SUM(1+1)" type="E">t</failure></testcase>'
        '<testcase classname="x" name="+cmd" time="1"/><testcase classname="x" name="-2" time="1"/>'
    )
    launch = upload(client, junit(tmp_path / "evil.xml", cases), {}, name="=1+2")
    launches = _csv(client.get("/api/v1/projects/web/launches/export").text)
    assert launches[0]["name"] == "'=1+2"
    rows = _csv(client.get(f"/api/v1/launches/{launch}/case-runs/export", params={"sort": "name"}).text)
    names = {r["name"] for r in rows}
    assert names == {"'+cmd", "'-2", '\'=HYPERLINK("http://evil")'}
    failed = next(r for r in rows if r["status"] == "failed")
    assert failed["failure_message"] == "'@SUM(1+1)"
    assert all(not r["duration_ms"].startswith("'") for r in rows)  # numbers stay numbers


def test_case_runs_as_json_and_json_lines_with_filters(client: TestClient, pair: tuple[int, int]) -> None:
    current = pair[1]
    body = client.get(f"/api/v1/launches/{current}/case-runs/export", params={"format": "json", "status": "failed"})
    assert body.status_code == 200
    items = json.loads(body.text)["items"]
    assert [i["full_name"] for i in items] == ["shop.Cart.test_checkout"]
    assert items[0]["failure_message"] == "expected total 3 but was 4"
    lines = client.get(
        f"/api/v1/launches/{current}/case-runs/export", params={"format": "jsonl", "attempts": "all"}
    ).text.splitlines()
    rows = [json.loads(line) for line in lines]
    search = sorted((r["attempt"], r["status"]) for r in rows if r["name"] == "test_search")
    assert search == [(1, "failed"), (2, "passed")]
    assert len(rows) == 5  # four tests, one of them with two attempts
    text = client.get(f"/api/v1/launches/{current}/case-runs/export", params={"q": "checkout"}).text
    assert [r["name"] for r in _csv(text)] == ["test_checkout"]
    slow = client.get(f"/api/v1/launches/{current}/case-runs/export", params={"min_duration_ms": 4000}).text
    assert [r["name"] for r in _csv(slow)] == ["test_checkout", "test_search"]
    suite = client.get(f"/api/v1/launches/{current}/case-runs/export", params={"suite": "shop.Auth"}).text
    assert [r["name"] for r in _csv(suite)] == ["test_login"]


def test_history_export_follows_the_test_across_launches(client: TestClient, pair: tuple[int, int]) -> None:
    found = client.get("/api/v1/projects/web/tests", params={"q": "test_search"}).json()
    test_id = found[0]["id"]
    rows = _csv(client.get(f"/api/v1/tests/{test_id}/history/export").text)
    assert [(r["launch_name"], r["status"]) for r in rows] == [("Nightly 2", "passed"), ("Nightly 1", "failed")]
    assert rows[0]["passed_on_retry"] == "true"
    assert rows[1]["failure_message"] == "search timed out"


def test_exports_stream_in_pages(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = "".join(f'<testcase classname="bulk" name="test_{i:03}" time="0.01"/>' for i in range(23))
    launch = upload(client, junit(tmp_path / "bulk.xml", cases), {})
    limits: list[int] = []
    real = case_runs.list_page

    def spy(*args: object, **kwargs: object) -> object:
        limits.append(int(kwargs["limit"]))  # type: ignore[call-overload]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(exports, "PAGE_SIZE", 5)
    monkeypatch.setattr(case_runs, "list_page", spy)
    rows = _csv(client.get(f"/api/v1/launches/{launch}/case-runs/export", params={"sort": "name"}).text)
    assert [r["name"] for r in rows] == [f"test_{i:03}" for i in range(23)]
    assert limits == [5] * 5  # five pages of at most five rows, never the whole launch


def test_bad_requests_say_what_was_wrong(client: TestClient, pair: tuple[int, int], tokens: dict[str, str]) -> None:
    bad_format = client.get(f"/api/v1/launches/{pair[1]}/case-runs/export", params={"format": "xlsx"})
    assert bad_format.status_code == 422 and "format" in bad_format.json()["error"]["message"]
    bad_status = client.get(f"/api/v1/launches/{pair[1]}/case-runs/export", params={"status": "green"})
    assert bad_status.status_code == 422 and "green" in bad_status.json()["error"]["message"]
    bad_sort = client.get("/api/v1/projects/web/launches/export", params={"sort": "colour"})
    assert bad_sort.status_code == 422 and "colour" in bad_sort.json()["error"]["message"]
    assert client.get("/api/v1/launches/999/case-runs/export").status_code == 404
    assert client.get("/api/v1/launches/999/export", params={"format": "junit"}).status_code == 404
    assert client.get("/api/v1/tests/999/history/export").status_code == 404
    assert client.get("/api/v1/projects/nope/launches/export").status_code == 404
    anonymous = client.get(
        f"/api/v1/launches/{pair[1]}/export", params={"format": "ctrf"}, headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401


def test_markdown_summary_for_a_pull_request(client: TestClient, pair: tuple[int, int]) -> None:
    baseline, current = pair
    response = client.get(f"/api/v1/launches/{current}/export", params={"format": "markdown"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    lines = text.splitlines()
    assert lines[0] == f"### ❌ Nightly 2 \\#{current}"
    assert "| 4 | 2 | 1 | 1 | 0 | 66.7% | 12m 39s |" in lines
    assert "Branch: main · Environment: staging · Commit: 0a1b2c3d" in lines
    assert (
        f"Compared with [Nightly 1 \\#{baseline}](http://caserun.test/launches/{baseline}): "
        "1 new failure, 1 fixed, 0 still failing." in lines
    )
    new = lines[lines.index("#### New failures (1)") + 2]
    assert new.startswith("- [shop\\.Cart\\.test\\_checkout](http://caserun.test/case-runs/")
    assert new.endswith(" — expected total 3 but was 4")
    flaky = lines[lines.index("#### Flaky: passed on a retry (1)") + 2]
    assert flaky.startswith("- [shop\\.Search\\.test\\_search](")
    slowest = lines[lines.index("#### Slowest tests") + 2]
    assert slowest.startswith("- [shop\\.Cart\\.test\\_checkout](") and slowest.endswith("(12m 34s)")
    assert lines[-1] == f"[Open launch \\#{current} in caserun](http://caserun.test/launches/{current})"
