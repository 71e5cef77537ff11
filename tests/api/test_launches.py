"""Launch lists, launch detail with comparison, case run lists, and building a launch piece by piece."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import post_report


def report(tmp_path: Path, name: str, cases: dict[str, str], durations: dict[str, float] | None = None) -> Path:
    """A JUnit report with the given test → outcome (pass, fail, skip)."""
    body = []
    for test, outcome in cases.items():
        time = (durations or {}).get(test, 0.1)
        inner = {
            "pass": "",
            "fail": f'<failure message="{test} broke">trace of {test}</failure>',
            "skip": "<skipped/>",
        }[outcome]
        body.append(f'<testcase classname="suite" name="{test}" time="{time}">{inner}</testcase>')
    path = tmp_path / f"{name}.xml"
    path.write_text(f"<testsuite>{''.join(body)}</testsuite>")
    return path


def upload(client: TestClient, path: Path, **fields: str) -> dict:  # type: ignore[type-arg]
    response = post_report(client, path, **fields)
    assert response.status_code == 201, response.text
    return response.json()["launch"]  # type: ignore[no-any-return]


def test_comparison_with_previous_launch_of_same_branch_and_environment(client: TestClient, tmp_path: Path) -> None:
    first = upload(
        client,
        report(tmp_path, "a", {"keeps": "pass", "breaks": "pass", "heals": "fail", "stays": "fail", "goes": "pass"}),
        branch="main",
        environment="staging",
    )
    upload(client, report(tmp_path, "other", {"breaks": "fail"}), branch="dev", environment="staging")
    second = upload(
        client,
        report(tmp_path, "b", {"keeps": "pass", "breaks": "fail", "heals": "pass", "stays": "fail", "arrives": "pass"}),
        branch="main",
        environment="staging",
    )
    detail = client.get(f"/api/v1/launches/{second['id']}").json()
    assert detail["baseline"]["id"] == first["id"]
    comparison = detail["comparison"]
    names = {
        k: [i["full_name"] for i in comparison[k]["items"]]
        for k in ("new_failures", "fixed", "still_failing", "new_tests", "missing_tests")
    }
    assert names == {
        "new_failures": ["suite.breaks"],
        "fixed": ["suite.heals"],
        "still_failing": ["suite.stays"],
        "new_tests": ["suite.arrives"],
        "missing_tests": ["suite.goes"],
    }
    assert comparison["new_failures"]["count"] == 1
    explicit = client.get(f"/api/v1/launches/{second['id']}", params={"baseline": second["id"] - 1}).json()
    assert explicit["baseline"]["id"] == second["id"] - 1
    first_detail = client.get(f"/api/v1/launches/{first['id']}").json()
    assert first_detail["comparison"] is None


def test_launch_list_filters_sorts_and_pages(client: TestClient, tmp_path: Path) -> None:
    ids = []
    for n, (branch, env) in enumerate(
        [("main", "staging"), ("main", "prod"), ("dev", "staging"), ("main", "staging"), ("main", "staging")]
    ):
        outcomes = {f"t{i}": "pass" if i >= n else "fail" for i in range(4)}
        ids.append(
            upload(client, report(tmp_path, f"r{n}", outcomes), name=f"CI #{n}", branch=branch, environment=env)["id"]
        )
    url = "/api/v1/projects/web/launches"
    everything = client.get(url).json()
    assert [i["id"] for i in everything["items"]] == ids[::-1]
    assert everything["next"] is None
    staging_main = client.get(url, params={"branch": "main", "environment": "staging"}).json()["items"]
    assert [i["id"] for i in staging_main] == [ids[4], ids[3], ids[0]]
    assert client.get(url, params={"status": "running"}).json()["items"] == []
    by_rate = client.get(url, params={"sort": "-pass_rate"}).json()["items"]
    assert [i["summary"]["pass_rate"] for i in by_rate] == [100.0, 75.0, 50.0, 25.0, 0.0]

    pages, cursor = [], None
    while True:
        page = client.get(url, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        pages.append([i["id"] for i in page["items"]])
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]

    created = everything["items"][2]["created_at"]
    since = client.get(url, params={"since": created}).json()["items"]
    assert [i["id"] for i in since] == [ids[4], ids[3], ids[2]]
    until = client.get(url, params={"until": created}).json()["items"]
    assert [i["id"] for i in until] == [ids[1], ids[0]]


def test_case_run_list_filters_and_sorts(client: TestClient, tmp_path: Path) -> None:
    launch = upload(
        client,
        report(
            tmp_path,
            "r",
            {"alpha": "pass", "beta": "fail", "gamma": "skip", "delta": "fail"},
            {"alpha": 3.0, "beta": 1.0, "gamma": 0.0, "delta": 2.0},
        ),
    )
    url = f"/api/v1/launches/{launch['id']}/case-runs"

    def names(**params: object) -> list[str]:
        return [i["name"] for i in client.get(url, params=params).json()["items"]]

    assert names() == ["alpha", "beta", "gamma", "delta"]
    assert names(status="failed") == ["beta", "delta"]
    assert names(status=["failed", "skipped"]) == ["beta", "gamma", "delta"]
    assert names(q="ALP") == ["alpha"]
    assert names(q="delta broke") == ["delta"]
    assert names(sort="-duration") == ["alpha", "delta", "beta", "gamma"]
    assert names(sort="name") == ["alpha", "beta", "delta", "gamma"]
    assert names(sort="status") == ["beta", "delta", "gamma", "alpha"]
    assert names(failed_first="true", sort="name") == ["beta", "delta", "alpha", "gamma"]
    first = client.get(url, params={"failed_first": "true", "sort": "name", "limit": 3}).json()
    rest = client.get(url, params={"failed_first": "true", "sort": "name", "limit": 3, "cursor": first["next"]}).json()
    assert [i["name"] for i in first["items"] + rest["items"]] == ["beta", "delta", "alpha", "gamma"]
    assert client.get(url, params={"sort": "nope"}).status_code == 422
    assert client.get(url, params={"cursor": "garbage"}).status_code == 422


def test_launch_built_piece_by_piece(client: TestClient) -> None:
    launch = client.post("/api/v1/projects/web/launches", json={"name": "live", "branch": "main"}).json()
    assert launch["status"] == "running"
    lid = launch["id"]
    created = client.post(
        f"/api/v1/launches/{lid}/case-runs",
        json={
            "items": [
                {"suite": "s", "name": "done", "status": "passed", "duration_ms": 10},
                {"suite": "s", "name": "slow", "status": "running", "client_id": "c-1"},
            ]
        },
    )
    assert created.status_code == 201
    done_id, slow_id = created.json()["ids"]
    summary = client.get(f"/api/v1/launches/{lid}").json()["summary"]
    assert (summary["total"], summary["passed"], summary["running"]) == (2, 1, 1)

    again = client.post(
        f"/api/v1/launches/{lid}/case-runs",
        json={"items": [{"suite": "s", "name": "slow", "status": "running", "client_id": "c-1"}]},
    )
    assert again.json()["ids"] == [slow_id]

    finish = client.patch(
        f"/api/v1/case-runs/{slow_id}",
        json={
            "status": "failed",
            "duration_ms": 1500,
            "failure": {"message": "Timeout after 1s", "type": "timeout", "exception": "TimeoutError"},
        },
    )
    assert finish.status_code == 204
    assert client.patch(f"/api/v1/case-runs/{slow_id}", json={"status": "passed"}).status_code == 409
    detail = client.get(f"/api/v1/case-runs/{slow_id}").json()
    assert (detail["status"], detail["duration_ms"], detail["failure"]["type"]) == ("failed", 1500, "timeout")

    done = client.post(f"/api/v1/launches/{lid}/finish", json={"status": "completed"})
    assert done.json()["status"] == "completed"
    assert done.json()["summary"]["failed"] == 1
    late = client.post(f"/api/v1/launches/{lid}/case-runs", json={"items": [{"name": "late", "status": "passed"}]})
    assert late.status_code == 409
    assert client.post(f"/api/v1/launches/{lid}/finish", json={"status": "stopped"}).status_code == 409
    assert client.patch(f"/api/v1/case-runs/{done_id}", json={"status": "failed"}).status_code == 409


def test_retried_case_run_in_a_live_launch_becomes_the_next_attempt(client: TestClient) -> None:
    lid = client.post("/api/v1/projects/web/launches", json={}).json()["id"]
    for status in ("failed", "passed"):
        client.post(
            f"/api/v1/launches/{lid}/case-runs", json={"items": [{"suite": "s", "name": "t", "status": status}]}
        )
    runs = client.get(f"/api/v1/launches/{lid}/case-runs").json()["items"]
    assert len(runs) == 1
    assert (runs[0]["attempt"], runs[0]["status"], runs[0]["passed_on_retry"]) == (2, "passed", True)
    assert client.get(f"/api/v1/launches/{lid}").json()["summary"]["total"] == 1


def test_a_completed_launch_marks_leftover_running_runs_skipped(client: TestClient) -> None:
    lid = client.post("/api/v1/projects/web/launches", json={}).json()["id"]
    client.post(f"/api/v1/launches/{lid}/case-runs", json={"items": [{"name": "never", "status": "running"}]})
    stopped = client.post(f"/api/v1/launches/{lid}/finish", json={"status": "completed"}).json()
    assert stopped["summary"]["skipped"] == 1 and stopped["summary"]["running"] == 0


def test_bad_requests_are_4xx_with_the_error_shape(client: TestClient) -> None:
    cases = [
        client.post(
            "/api/v1/projects/web/launches", content=b"{not json", headers={"content-type": "application/json"}
        ),
        client.post("/api/v1/launches/1/finish", json={"status": "exploded"}),
        client.get("/api/v1/launches/999999"),
        client.get("/api/v1/case-runs/999999"),
        client.get("/api/v1/projects/web/launches", params={"limit": 0}),
        client.get("/api/v1/projects/web/launches", params={"status": "weird"}),
        client.get("/api/v1/nowhere"),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, response.text
        assert set(response.json()["error"]) == {"code", "message"}
