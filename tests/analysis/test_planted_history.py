"""The demo history plants flaky, broken, slow and renamed tests; the analysis finds those
and nothing else above the thresholds."""

from __future__ import annotations

from fastapi.testclient import TestClient

from caserun.service import demo
from caserun.settings import Settings
from caserun.store.engine import Database

PROJECT = f"/api/v1/projects/{demo.DEMO_KEY}"


def seeded(db: Database, settings: Settings, client: TestClient, tokens: dict[str, str]) -> TestClient:
    assert demo.seed(db, settings.blob_dir)
    client.headers["Authorization"] = f"Bearer {tokens['instance']}"
    return client


def test_flaky_list_is_exactly_the_planted_flaky_tests(
    db: Database, settings: Settings, app_client: TestClient, tokens: dict[str, str]
) -> None:
    client = seeded(db, settings, app_client, tokens)
    items = client.get(f"{PROJECT}/flaky").json()["items"]
    assert {i["full_name"] for i in items} == demo.FLAKY
    for item in items:
        assert item["score"] >= 30
        assert item["evidence"]["passed_on_retry"] >= 1
        assert "r" in item["pattern"] and len(item["pattern"]) == 30
    # the broken test is not flaky, and its failures are not counted as flakiness
    assert demo.BROKEN not in {
        i["full_name"] for i in client.get(f"{PROJECT}/flaky", params={"min_score": 1}).json()["items"]
    }


def test_broken_test_is_found_with_the_launch_where_it_began(
    db: Database, settings: Settings, app_client: TestClient, tokens: dict[str, str]
) -> None:
    client = seeded(db, settings, app_client, tokens)
    items = client.get(f"{PROJECT}/broken").json()["items"]
    assert [i["full_name"] for i in items] == [demo.BROKEN]
    began = client.get(f"/api/v1/launches/{items[0]['launch_id']}").json()
    assert began["name"] == f"CI #{100 + demo.BROKEN_FROM}"
    assert items[0]["commit"] == began["commit"]
    assert items[0]["failures"] == demo.LAUNCHES - demo.BROKEN_FROM


def test_slowdown_is_found_with_the_launch_where_it_began(
    db: Database, settings: Settings, app_client: TestClient, tokens: dict[str, str]
) -> None:
    client = seeded(db, settings, app_client, tokens)
    items = client.get(f"{PROJECT}/slow").json()["items"]
    assert [i["full_name"] for i in items] == [demo.SLOW]
    assert items[0]["launch_name"] == f"CI #{100 + demo.SLOW_FROM}"
    assert 2.5 <= items[0]["slowdown"]["ratio"] <= 3.5


def test_history_statistics_and_filters(
    db: Database, settings: Settings, app_client: TestClient, tokens: dict[str, str]
) -> None:
    client = seeded(db, settings, app_client, tokens)
    test = client.get(f"{PROJECT}/tests", params={"q": "test_refund"}).json()
    assert [t["full_name"] for t in test] == [demo.BROKEN]
    body = client.get(f"/api/v1/tests/{test[0]['id']}/history").json()
    stats = body["statistics"]
    assert stats["runs"] == demo.LAUNCHES
    assert stats["failed"] >= demo.LAUNCHES - demo.BROKEN_FROM  # plus any planted infrastructure failure
    assert stats["failing_since"]["launch_name"] == f"CI #{100 + demo.BROKEN_FROM}"
    assert stats["last_pass_at"] < stats["failing_since"]["started_at"]
    assert stats["duration_p50_ms"] <= stats["duration_p95_ms"]
    assert [i["started_at"] for i in body["items"]] == sorted((i["started_at"] for i in body["items"]), reverse=True)
    staging = client.get(f"/api/v1/tests/{test[0]['id']}/history", params={"environment": "staging"}).json()
    assert {i["environment"] for i in staging["items"]} == {"staging"}
    assert staging["statistics"]["runs"] == len(staging["items"]) < demo.LAUNCHES
    page = client.get(f"/api/v1/tests/{test[0]['id']}/history", params={"limit": 10}).json()
    rest = client.get(f"/api/v1/tests/{test[0]['id']}/history", params={"limit": 100, "cursor": page["next"]}).json()
    assert len(page["items"]) + len(rest["items"]) == demo.LAUNCHES


def test_a_renamed_test_is_merged_and_its_history_reads_as_one(
    db: Database, settings: Settings, app_client: TestClient, tokens: dict[str, str]
) -> None:
    client = seeded(db, settings, app_client, tokens)
    old = client.get(f"{PROJECT}/tests", params={"q": "test_remember_me"}).json()
    by_name = {t["name"]: t["id"] for t in old}
    source, target = by_name["test_remember_me"], by_name[demo.RENAMED[1]]
    client.headers["Authorization"] = f"Bearer {tokens['viewer']}"
    assert client.post(f"/api/v1/tests/{source}/merge", json={"into": target}).status_code == 404  # other project
    client.headers["Authorization"] = f"Bearer {tokens['instance']}"
    assert client.post(f"/api/v1/tests/{source}/merge", json={"into": target}).json()["id"] == target
    history = client.get(f"/api/v1/tests/{target}/history").json()
    assert history["statistics"]["runs"] == demo.LAUNCHES
    assert client.get(f"/api/v1/tests/{source}/history").json()["test"]["id"] == target
    assert [t["name"] for t in client.get(f"{PROJECT}/tests", params={"q": "remember"}).json()] == [demo.RENAMED[1]]
    other = (
        by_name.get("test_login_ok") or client.get(f"{PROJECT}/tests", params={"q": "test_login_ok"}).json()[0]["id"]
    )
    assert client.post(f"/api/v1/tests/{other}/merge", json={"into": target}).status_code == 409


def test_failed_runs_carry_a_verdict(
    db: Database, settings: Settings, app_client: TestClient, tokens: dict[str, str]
) -> None:
    client = seeded(db, settings, app_client, tokens)
    flaky = client.get(f"{PROJECT}/tests", params={"q": "test_pay_with_paypal"}).json()[0]["id"]
    runs = client.get(f"/api/v1/tests/{flaky}/history", params={"limit": 100}).json()["items"]
    verdicts = [r["verdict"] for r in runs if r["status"] == "failed" or r["passed_on_retry"]]
    assert verdicts and "likely_flaky" in verdicts
    broken = client.get(f"{PROJECT}/tests", params={"q": "test_refund"}).json()[0]["id"]
    runs = client.get(f"/api/v1/tests/{broken}/history", params={"limit": 100}).json()["items"]
    assert {r["verdict"] for r in runs if r["status"] == "failed"} == {"likely_real"}


def test_filtered_flaky_list_prunes_nothing_that_would_rank(
    db: Database, settings: Settings, app_client: TestClient, tokens: dict[str, str]
) -> None:
    """With a branch or environment filter, tests whose counts cannot reach the minimum
    score are skipped without reading their runs; the answer must equal ranking them all."""
    client = seeded(db, settings, app_client, tokens)
    for params in ({"branch": "main"}, {"environment": "staging"}):
        everything = client.get(f"{PROJECT}/flaky", params={**params, "min_score": 1, "limit": 500}).json()["items"]
        for floor in (10, 20, 40):
            pruned = client.get(f"{PROJECT}/flaky", params={**params, "min_score": floor, "limit": 500}).json()["items"]
            assert pruned == [i for i in everything if i["score"] >= floor]
        assert any(i["score"] >= 20 for i in everything)
