"""The event API: batches, per-event answers, idempotency, bad input; the live stream; and
the same events as a ``caserun-events`` JSONL report."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caserun.api import events as events_api
from tests.conftest import post_report

URL = "/api/v1/projects/web/events"


def send(client: TestClient, *events: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(URL, json={"events": list(events)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] + body["refused"] == len(events)
    return body["results"]  # type: ignore[no-any-return]


def started(launch: str = "L1", **extra: Any) -> dict[str, Any]:
    return {"type": "launch.started", "launch": launch, **extra}


def run_started(run: str, name: str, launch: str = "L1", **extra: Any) -> dict[str, Any]:
    return {
        "type": "case_run.started",
        "launch": launch,
        "id": run,
        "test": {"suite": "shop.cart", "name": name},
        **extra,
    }


def run_finished(run: str, status: str, launch: str = "L1", **extra: Any) -> dict[str, Any]:
    return {"type": "case_run.finished", "launch": launch, "id": run, "status": status, **extra}


def finished(launch: str = "L1", status: str = "completed") -> dict[str, Any]:
    return {"type": "launch.finished", "launch": launch, "status": status}


def codes(results: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(r["status"], r["code"]) for r in results]


def launch_of(client: TestClient, launch_id: int) -> dict[str, Any]:
    return client.get(f"/api/v1/launches/{launch_id}").json()  # type: ignore[no-any-return]


def test_a_launch_streamed_event_by_event(client: TestClient) -> None:
    [created] = send(client, started(name="nightly", environment="staging", attributes={"shard": 1}, source="pytest"))
    assert (created["status"], created["code"]) == (201, "created")
    launch_id = created["launch_id"]
    assert created["url"] == f"http://caserun.test/launches/{launch_id}"
    results = send(client, run_started("r1", "test_add"), run_started("r2", "test_pay"))
    assert codes(results) == [(201, "created"), (201, "created")]
    live = launch_of(client, launch_id)
    assert (live["status"], live["summary"]["running"], live["summary"]["total"]) == ("running", 2, 2)
    assert live["attributes"] == {"shard": "1"} and live["source"] == "pytest"

    shot = base64.b64encode(b"\x89PNG fake").decode()
    results = send(
        client,
        run_finished("r1", "passed", duration_ms=1200, stdout="ok\n", log="INFO cart ready"),
        run_finished(
            "r2",
            "failed",
            failure={"message": "expected 3, got 4", "exception": "AssertionError", "trace": "Traceback…"},
            stderr="boom",
            attachments=[{"name": "screen.png", "data": shot}],
            metadata={"browser": "firefox", "retries": 0},
        ),
        finished(),
    )
    assert codes(results) == [(200, "finished"), (200, "finished"), (200, "finished")]
    done = launch_of(client, launch_id)
    assert done["status"] == "completed"
    assert {k: done["summary"][k] for k in ("total", "passed", "failed", "running")} == {
        "total": 2,
        "passed": 1,
        "failed": 1,
        "running": 0,
    }
    passed = client.get(f"/api/v1/case-runs/{results[0]['case_run_id']}").json()
    assert passed["duration_ms"] == 1200 and passed["logs"] == {"stdout": "ok\n", "log": "INFO cart ready"}
    failed = client.get(f"/api/v1/case-runs/{results[1]['case_run_id']}").json()
    assert failed["failure"]["message"] == "expected 3, got 4" and failed["failure"]["stack_trace"] == "Traceback…"
    assert failed["metadata"] == {"browser": "firefox", "retries": "0"}
    [attachment] = failed["attachments"]
    assert (attachment["name"], attachment["content_type"]) == ("screen.png", "image/png")
    assert client.get(f"/api/v1/attachments/{attachment['id']}").content == b"\x89PNG fake"


def test_re_sent_events_never_duplicate(client: TestClient) -> None:
    batch = [
        started(),
        run_started("r1", "test_add"),
        run_finished("r1", "failed", failure={"message": "no"}),
        run_finished("r2", "passed", test={"name": "test_sub"}),
    ]
    first = send(client, *batch)
    again = send(client, *batch)
    assert codes(first) == [(201, "created"), (201, "created"), (200, "finished"), (201, "created")]
    assert codes(again) == [(200, "duplicate")] * 4
    assert [r["case_run_id"] for r in again] == [r["case_run_id"] for r in first]
    assert again[0]["launch_id"] == first[0]["launch_id"]
    runs = client.get(f"/api/v1/launches/{first[0]['launch_id']}/case-runs", params={"attempts": "all"}).json()
    assert len(runs["items"]) == 2
    send(client, finished())
    assert codes(send(client, finished(), *batch[1:])) == [(200, "duplicate")] * 4  # after the finish too


def test_out_of_order_and_attempts(client: TestClient) -> None:
    send(client, started())
    early = send(client, run_finished("r1", "passed"))
    assert early[0]["status"] == 409 and "has not started" in early[0]["message"]
    # a finish that names its test stands alone; its start arriving later is a duplicate
    results = send(
        client,
        run_finished("r2", "failed", test={"suite": "shop", "name": "test_retry"}, failure={"message": "flaky"}),
        run_started("r2", "test_retry"),
        run_started("r3", "test_retry", test={"suite": "shop", "name": "test_retry"}),
        run_finished("r3", "passed"),
        run_finished("r3", "failed"),
    )
    assert codes(results) == [
        (201, "created"),
        (200, "duplicate"),
        (201, "created"),
        (200, "finished"),
        (409, "conflict"),
    ]
    assert "already finished as passed" in results[4]["message"]
    launch_id = results[0]["launch_id"]
    runs = client.get(f"/api/v1/launches/{launch_id}/case-runs", params={"attempts": "all"}).json()["items"]
    assert sorted((r["attempt"], r["status"], r["is_final"], r["passed_on_retry"]) for r in runs) == [
        (1, "failed", False, False),
        (2, "passed", True, True),
    ]


def test_unknown_and_finished_launches_are_refused_per_event(client: TestClient) -> None:
    results = send(
        client,
        run_started("r1", "test_a", launch="nope"),
        run_started("r1", "test_a", launch=None, launch_id=99999),  # type: ignore[arg-type]
        started(),
        run_started("r1", "test_a"),
        finished(status="stopped"),
        run_started("r2", "test_b"),
        run_finished("r1", "passed"),
        finished(status="completed"),
        finished(status="stopped"),
    )
    assert codes(results) == [
        (404, "not_found"),
        (404, "not_found"),
        (201, "created"),
        (201, "created"),
        (200, "finished"),
        (409, "conflict"),
        (409, "conflict"),
        (409, "conflict"),
        (200, "duplicate"),
    ]
    assert "launch 'nope' not found" in results[0]["message"]
    assert "accepts no more results" in results[5]["message"]
    launch = launch_of(client, results[2]["launch_id"])
    assert launch["status"] == "stopped" and launch["summary"]["total"] == 1  # nothing of the refused events


def test_join_a_launch_by_its_server_id(client: TestClient) -> None:
    created = client.post("/api/v1/projects/web/launches", json={"name": "made elsewhere"}).json()
    results = send(
        client,
        {"type": "case_run.finished", "launch_id": created["id"], "id": "x", "status": "passed", "test": {"name": "t"}},
    )
    assert codes(results) == [(201, "created")] and results[0]["launch_id"] == created["id"]


def test_malformed_items_get_their_own_answers(client: TestClient) -> None:
    results = send(
        client,
        "not an object",  # type: ignore[arg-type]
        {"type": "launch.exploded"},
        {"type": "case_run.started", "launch": "L1"},
        started("has spaces"),
        run_finished("r1", "weird"),
        run_finished("r1", "failed", attachments=[{"name": "x", "data": "%%%"}]),
        {"type": "case_run.started", "launch": "L1", "launch_id": 3, "id": "r", "test": {"name": "t"}},
        started(),
    )
    assert [r["status"] for r in results] == [422] * 7 + [201]
    messages = [r["message"] for r in results]
    assert messages[0] == "an event is a JSON object"
    assert messages[1].startswith("unknown event type 'launch.exploded'")
    assert "id: Field required" in messages[2] and "test: Field required" in messages[2]
    assert messages[3].startswith("launch.started: launch: String should match pattern")
    assert "status: Input should be 'passed'" in messages[4]
    assert "data is not valid base64" in messages[5]
    assert "exactly one of launch" in messages[6]


def test_whole_request_errors(client: TestClient, app_client: TestClient, tokens: dict[str, str]) -> None:
    assert client.post(URL, content=b"{nope", headers={"content-type": "application/json"}).status_code == 422
    response = client.post(URL, json={"items": []})
    assert response.status_code == 422 and response.json()["error"]["message"].startswith('send {"events": [...]}')
    too_many = client.post(URL, json={"events": [started()] * (events_api.MAX_EVENTS + 1)})
    assert too_many.status_code == 413
    assert client.post("/api/v1/projects/nope/events", json={"events": [started()]}).status_code == 404
    viewer = app_client.post(URL, json={"events": [started()]}, headers={"Authorization": f"Bearer {tokens['viewer']}"})
    assert viewer.status_code == 403
    wrong = app_client.post(URL, json={"events": []}, headers={"Authorization": "Bearer crn_wrong"})
    assert wrong.status_code == 401


def test_oversized_payloads(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_api, "MAX_EVENT_BYTES", 2000)
    results = send(client, started(), run_finished("r1", "passed", test={"name": "t"}, stdout="x" * 5000))
    assert codes(results) == [(201, "created"), (413, "payload_too_large")]
    monkeypatch.setattr(events_api, "MAX_BATCH_BYTES", 1000)
    response = client.post(URL, json={"events": [started(), run_finished("r1", "passed", stdout="x" * 2000)]})
    assert response.status_code == 413 and "send smaller batches" in response.json()["error"]["message"]


def test_event_schema_is_published(client: TestClient) -> None:
    schema = client.get("/api/v1/events/schema").json()
    assert set(schema["discriminator"]["mapping"]) == {
        "launch.started",
        "case_run.started",
        "case_run.finished",
        "launch.finished",
    }
    assert "/api/v1/projects/{key}/events" in client.get("/openapi.json").json()["paths"]


def sse(text: str) -> list[tuple[str, Any, str | None]]:
    """``(event, data, id)`` of each server-sent event."""
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"]), fields.get("id")))
    return out


def test_stream_of_a_running_launch(client: TestClient) -> None:
    [launch] = send(client, started())
    runs = send(client, run_started("r1", "test_a"), run_started("r2", "test_b"), run_finished("r2", "passed"))
    url = f"/api/v1/launches/{launch['launch_id']}/stream"
    response = client.get(url, params={"timeout": 0.3, "interval": 0.1})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse(response.text)
    assert events[0][0] == "progress" and events[0][1]["summary"]["running"] == 1
    assert events[0][1]["progress"] == 50.0
    assert [(e, d["name"], d["status"], i) for e, d, i in events[1:]] == [
        ("case_run", "test_a", "running", str(runs[0]["case_run_id"])),
        ("case_run", "test_b", "passed", str(runs[1]["case_run_id"])),
    ]
    assert all(e != "end" for e, _, _ in events)
    # resuming after the last id sends only what is new
    resumed = client.get(url, params={"timeout": 0.2}, headers={"Last-Event-ID": str(runs[1]["case_run_id"])})
    assert [e for e, _, _ in sse(resumed.text)] == ["progress"]


def test_stream_ends_when_the_launch_is_finished(client: TestClient, app_client: TestClient) -> None:
    [launch] = send(client, started())
    send(client, run_started("r1", "test_a"), run_finished("r1", "failed", failure={"message": "m"}), finished())
    text = client.get(f"/api/v1/launches/{launch['launch_id']}/stream").text
    assert text.startswith("retry: 3000\n\n")
    kinds = [(e, d.get("status")) for e, d, _ in sse(text)]
    assert kinds == [("progress", "completed"), ("case_run", "failed"), ("end", "completed")]
    assert client.get("/api/v1/launches/999999/stream").status_code == 404


def test_live_feed_sees_changes_between_polls(client: TestClient) -> None:
    """The feed works from the database alone: a change made through any process shows."""
    from caserun.service import live

    [launch] = send(client, started())
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    view = live.open_feed(ctx.db, _principal(ctx, client), launch["launch_id"], "http://x")
    cursor = live.Cursor()
    send(client, run_started("r1", "test_a"))
    first = live.poll(ctx.db, launch["launch_id"], view.project_key, cursor, "http://x")
    assert [(r.name, r.status) for r in first.runs] == [("test_a", "running")] and first.summary_changed
    quiet = live.poll(ctx.db, launch["launch_id"], view.project_key, cursor, "http://x")
    assert quiet.runs == [] and not quiet.summary_changed
    send(client, run_finished("r1", "passed"), finished())
    last = live.poll(ctx.db, launch["launch_id"], view.project_key, cursor, "http://x")
    assert [(r.name, r.status) for r in last.runs] == [("test_a", "passed")] and last.finished


def _principal(ctx: Any, client: TestClient) -> Any:
    from caserun.service import auth

    return auth.authenticate(ctx.db, client.headers["Authorization"].split()[1])


JSONL = (
    '{"type": "launch.started", "launch": "L9", "name": "from a file"}\n'
    '{"type": "case_run.started", "launch": "L9", "id": "a", "test": {"suite": "s", "name": "test_a"}}\n'
    '{"type": "case_run.started", "launch": "L9", "id": "b", "test": {"suite": "s", "name": "test_b"}}\n'
    "\n"
    '{"type": "case_run.finished", "launch": "L9", "id": "a", "status": "failed", "failure": {"message": "m"},'
    ' "attachments": [{"name": "a.txt", "data": "aGk="}]}\n'
    '{"type": "case_run.finished", "launch": "L9", "id": "a", "status": "failed"}\n'
    '{"type": "case_run.finished", "launch": "L9", "id": "c", "status": "passed", "test": {"name": "test_c"}}\n'
    '{"type": "case_run.fini'
)


def test_a_jsonl_file_imports_as_a_report(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "spool.jsonl"
    path.write_text(JSONL)
    response = post_report(client, path)
    assert response.status_code == 201, response.text
    launch = response.json()["launch"]
    assert launch["summary"] == {**launch["summary"], "total": 3, "failed": 1, "passed": 1, "skipped": 1}
    runs = client.get(f"/api/v1/launches/{launch['id']}/case-runs").json()["items"]
    by_name = {r["name"]: r for r in runs}
    unfinished = client.get(f"/api/v1/case-runs/{by_name['test_b']['id']}").json()
    assert unfinished["warnings"] == ["the file ended before this test finished"]
    assert len(client.get(f"/api/v1/case-runs/{by_name['test_a']['id']}").json()["attachments"]) == 1

    path.write_text(JSONL.replace('"id": "b",', '"id": "b" "oops",'))
    response = post_report(client, path)
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("spool.jsonl:3: not JSON")
    formats = {f["name"] for f in client.get("/api/v1/formats").json()}
    assert {"junit", "caserun-events"} <= formats
