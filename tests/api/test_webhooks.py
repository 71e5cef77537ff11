"""Webhooks: managed by maintainers, queued in the outbox when a launch finishes, sent signed
to a real receiver on localhost, retried with backoff, and never in the way of an import."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from caserun.cli import app as cli_app
from caserun.service import webhook_sender
from caserun.settings import Settings
from caserun.store.engine import Database
from caserun.store.tables import webhook_delivery
from tests.conftest import post_report

SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """An HTTP server on localhost that records each POST and answers the next planned status
    (200 once the plan is used up); ``hang`` makes it hold every request until released."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.plan: list[int] = []
        self.hang = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if receiver.hang.is_set():
                    receiver.release.wait(30)
                    return
                status = receiver.plan.pop(0) if receiver.plan else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[str]:
        return [headers["x-caserun-event"] for headers, _ in self.requests]


@pytest.fixture(autouse=True)
def no_background_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests send explicitly, with their own clock; the server's sender stays off."""
    monkeypatch.setattr(webhook_sender, "POLL_INTERVAL_S", 0)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def maint(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['maintainer']}"}


def add_webhook(client: TestClient, maint: dict[str, str], url: str, *events: str) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/projects/web/webhooks",
        json={"url": url, "events": list(events) or ["launch.finished"], "secret": SECRET},
        headers=maint,
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def upload(client: TestClient, tmp_path: Path, *cases: str, **headers: str) -> int:
    path = tmp_path / f"r-{uuid.uuid4().hex[:8]}.xml"
    path.write_text(f'<testsuite name="s">{"".join(cases)}</testsuite>')
    answer = post_report(client, path, headers=headers)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["launch"]["id"])


def passing(name: str) -> str:
    return f'<testcase classname="tests.shop" name="{name}" time="0.1"/>'


def failing(name: str, message: str = "ConnectionError: backend down") -> str:
    return (
        f'<testcase classname="tests.shop" name="{name}" time="0.1">'
        f'<failure message="{message}" type="ConnectionError">shop/api.py:12: {message}</failure></testcase>'
    )


def deliveries(client: TestClient, maint: dict[str, str]) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/projects/web/webhooks/deliveries", headers=maint)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def later(seconds: float) -> webhook_sender.Clock:
    return lambda: datetime.now(UTC) + timedelta(seconds=seconds)


def verify(headers: dict[str, str], body: bytes, secret: str = SECRET) -> bool:
    """What a receiver does: recompute the HMAC of the raw body and compare in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-caserun-signature"], expected)


# -- managing webhooks --------------------------------------------------------------------


def test_maintainers_manage_webhooks_and_the_secret_is_shown_once(
    client: TestClient, maint: dict[str, str], tokens: dict[str, str]
) -> None:
    base = "/api/v1/projects/web/webhooks"
    body = {"url": "https://ci.example.com/caserun", "events": ["test.flaky", "launch.finished"]}
    assert client.post(base, json=body).status_code == 403, "a reporter may not add one"
    made = client.post(base, json=body, headers=maint)
    assert made.status_code == 201, made.text
    hook = made.json()
    assert hook["events"] == ["launch.finished", "test.flaky"] and hook["active"] is True
    assert len(hook["secret"]) >= 32, "a secret is generated when none is given"
    listed = client.get(base, headers=maint).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0] and hook["secret"] not in json.dumps(listed)
    assert client.get(base).status_code == 403

    gone = client.delete(f"{base}/{hook['id']}", headers=maint)
    assert gone.status_code == 200 and gone.json()["id"] == hook["id"]
    assert client.get(base, headers=maint).json()["items"] == []
    missing = client.delete(f"{base}/{hook['id']}", headers=maint)
    assert missing.status_code == 404 and str(hook["id"]) in missing.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"url": "ftp://example.com/x", "events": ["launch.finished"]}, "http"),
        ({"url": "not a url", "events": ["launch.finished"]}, "url"),
        ({"url": "https://u:p@example.com/x", "events": ["launch.finished"]}, "password"),
        ({"url": "https://example.com/x", "events": ["launch.exploded"]}, "launch.exploded"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"url": "https://example.com/x", "events": ["launch.finished"], "secret": "short"}, "secret"),
    ],
)
def test_a_bad_webhook_is_refused_naming_what_is_wrong(
    client: TestClient, maint: dict[str, str], body: dict[str, Any], named: str
) -> None:
    answer = client.post("/api/v1/projects/web/webhooks", json=body, headers=maint)
    assert answer.status_code == 422, answer.text
    assert named in answer.json()["error"]["message"]


def test_another_projects_webhook_cannot_be_deleted(
    client: TestClient, maint: dict[str, str], tokens: dict[str, str]
) -> None:
    admin = {"Authorization": f"Bearer {tokens['instance']}"}
    assert client.post("/api/v1/projects", json={"key": "api"}, headers=admin).status_code == 201
    made = client.post(
        "/api/v1/projects/api/webhooks", json={"url": "https://x.example/h", "events": ["pattern.new"]}, headers=admin
    )
    assert made.status_code == 201
    hook_id = made.json()["id"]
    assert client.delete(f"/api/v1/projects/web/webhooks/{hook_id}", headers=maint).status_code == 404
    assert client.delete(f"/api/v1/projects/api/webhooks/{hook_id}", headers=maint).status_code == 404
    assert len(client.get("/api/v1/projects/api/webhooks", headers=admin).json()["items"]) == 1


# -- delivery -----------------------------------------------------------------------------


def test_a_finished_import_is_delivered_signed_and_retried_after_a_500(
    client: TestClient, maint: dict[str, str], db: Database, receiver: Receiver, tmp_path: Path
) -> None:
    hook = add_webhook(client, maint, receiver.url, "launch.finished")
    launch_id = upload(client, tmp_path, passing("test_a"), failing("test_b"))
    assert receiver.requests == [], "the import only queues: nothing is sent while ingesting"
    [queued] = deliveries(client, maint)
    assert (queued["event"], queued["status"], queued["attempts"]) == ("launch.finished", "pending", 0)

    receiver.plan = [500]
    first = webhook_sender.deliver_due(db)
    assert (first.delivered, first.retrying) == (0, 1)
    [retry] = deliveries(client, maint)
    assert (retry["status"], retry["attempts"], retry["last_status_code"]) == ("pending", 1, 500)
    wait = datetime.fromisoformat(retry["next_attempt_at"]) - datetime.now(UTC)
    assert timedelta(seconds=20) < wait <= timedelta(seconds=webhook_sender.BACKOFF_S), "backoff before a retry"
    assert webhook_sender.deliver_due(db).delivered == 0, "not due yet"

    second = webhook_sender.deliver_due(db, clock=later(webhook_sender.BACKOFF_S + 1))
    assert second.delivered == 1
    [done] = deliveries(client, maint)
    assert (done["status"], done["attempts"], done["last_status_code"]) == ("delivered", 2, 200)
    assert done["delivered_at"] is not None

    assert len(receiver.requests) == 2
    ids = {headers["x-caserun-delivery"] for headers, _ in receiver.requests}
    assert ids == {str(queued["id"])}, "a retry carries the same delivery id, for de-duplication"
    for headers, body in receiver.requests:
        assert verify(headers, body)
        assert not verify(headers, body, secret="another secret entirely")
        assert headers["x-caserun-event"] == "launch.finished"
        payload = json.loads(body)
        assert payload["event"] == "launch.finished" and payload["project"] == "web"
        assert payload["launch"]["id"] == launch_id
        assert payload["launch"]["summary"]["passed"] == 1 and payload["launch"]["summary"]["failed"] == 1
    assert hook["id"] == queued["webhook_id"]


def test_a_hanging_receiver_never_blocks_an_import_and_its_delivery_fails_later(
    client: TestClient, maint: dict[str, str], db: Database, receiver: Receiver, tmp_path: Path
) -> None:
    add_webhook(client, maint, receiver.url, "launch.finished")
    receiver.hang.set()
    started = time.monotonic()
    upload(client, tmp_path, passing("test_a"))
    upload(client, tmp_path, passing("test_a"))
    assert time.monotonic() - started < webhook_sender.TIMEOUT_S, "imports do not wait for any receiver"
    assert receiver.requests == []

    clock_s = 0.0
    for attempt in range(1, webhook_sender.MAX_ATTEMPTS + 1):
        result = webhook_sender.deliver_due(db, clock=later(clock_s), timeout_s=0.3)
        assert result.delivered == 0 and result.retrying + result.failed == 2, attempt
        clock_s += webhook_sender.backoff(attempt).total_seconds() + 1
    rows = deliveries(client, maint)
    assert [(d["status"], d["attempts"]) for d in rows] == [("failed", webhook_sender.MAX_ATTEMPTS)] * 2
    assert all("no answer" in d["last_error"] for d in rows)
    assert webhook_sender.deliver_due(db, clock=later(clock_s + 10**6)).retrying == 0, "given up for good"
    assert len(receiver.requests) == 2 * webhook_sender.MAX_ATTEMPTS


def test_a_refused_connection_is_retried_with_a_clear_error(
    client: TestClient, maint: dict[str, str], db: Database, tmp_path: Path
) -> None:
    add_webhook(client, maint, "http://127.0.0.1:9/nobody-listens", "launch.finished")
    upload(client, tmp_path, passing("test_a"))
    assert webhook_sender.deliver_due(db).retrying == 1
    [row] = deliveries(client, maint)
    assert row["status"] == "pending" and row["last_status_code"] is None and "Connect" in row["last_error"]


def test_finishing_a_live_launch_queues_launch_finished(
    client: TestClient, maint: dict[str, str], db: Database, receiver: Receiver
) -> None:
    add_webhook(client, maint, receiver.url, "launch.finished")
    launch = client.post("/api/v1/projects/web/launches", json={"name": "live"}).json()
    assert deliveries(client, maint) == [], "a running launch announces nothing"
    assert client.post(f"/api/v1/launches/{launch['id']}/finish", json={"status": "stopped"}).status_code == 200
    assert webhook_sender.deliver_due(db).delivered == 1
    payload = json.loads(receiver.requests[0][1])
    assert payload["launch"]["id"] == launch["id"] and payload["launch"]["status"] == "stopped"


def test_new_patterns_flaky_tests_and_defects_failing_again_are_announced(
    client: TestClient, maint: dict[str, str], db: Database, receiver: Receiver, tmp_path: Path
) -> None:
    add_webhook(client, maint, receiver.url, "pattern.new", "test.flaky", "defect.reopen")
    upload(client, tmp_path, failing("test_db"), passing("test_flappy"))
    upload(client, tmp_path, failing("test_db"), failing("test_flappy", "AssertionError: 3 != 4"))
    upload(client, tmp_path, failing("test_db"), passing("test_flappy"))
    upload(client, tmp_path, failing("test_db"), failing("test_flappy", "AssertionError: 3 != 4"))
    webhook_sender.deliver_due(db)
    sent = [json.loads(body) for _, body in receiver.requests]
    new = [p["pattern"]["template"] for p in sent if p["event"] == "pattern.new"]
    assert len(new) == 2, "one per pattern, in the launch that first showed it"
    assert any("backend down" in t for t in new) and any("AssertionError" in t for t in new)
    flaky = [p["test"] for p in sent if p["event"] == "test.flaky"]
    assert [t["name"] for t in flaky] == ["tests.shop.test_flappy"], "once, when it crossed the threshold"
    assert flaky[0]["flaky_score"] >= flaky[0]["threshold"]

    # a resolved defect whose pattern fails again
    pattern_id = client.get("/api/v1/projects/web/failure-patterns").json()["items"]
    db_pattern = next(p["id"] for p in pattern_id if "backend" in json.dumps(p))
    made = client.post("/api/v1/projects/web/defects", json={"title": "backend flaps"}, headers=maint).json()
    linked = client.put(f"/api/v1/failure-patterns/{db_pattern}/defect", json={"defect_id": made["id"]}, headers=maint)
    assert linked.status_code == 200, linked.text
    moved = client.patch(f"/api/v1/defects/{made['id']}", json={"status": "resolved"}, headers=maint)
    assert moved.status_code == 200, moved.text
    receiver.requests.clear()
    upload(client, tmp_path, passing("test_db"))
    upload(client, tmp_path, failing("test_db"))
    webhook_sender.deliver_due(db)
    reopen = [json.loads(body) for _, body in receiver.requests if json.loads(body)["event"] == "defect.reopen"]
    assert [p["defect"]["id"] for p in reopen] == [made["id"]]
    assert reopen[0]["defect"]["status"] == "resolved"


def test_only_subscribed_events_are_queued_and_a_project_without_webhooks_queues_nothing(
    client: TestClient, maint: dict[str, str], db: Database, tmp_path: Path
) -> None:
    upload(client, tmp_path, failing("test_x"))
    with db.read() as conn:
        assert conn.execute(select(webhook_delivery)).all() == []
    add_webhook(client, maint, "https://example.invalid/hook", "launch.finished")
    upload(client, tmp_path, failing("test_y", "KeyError: a different failure"))
    assert [d["event"] for d in deliveries(client, maint)] == ["launch.finished"]


def test_the_delivery_list_pages_and_filters_by_webhook(
    client: TestClient, maint: dict[str, str], tmp_path: Path
) -> None:
    one = add_webhook(client, maint, "https://a.invalid/h", "launch.finished")
    two = add_webhook(client, maint, "https://b.invalid/h", "launch.finished")
    for _ in range(3):
        upload(client, tmp_path, passing("test_a"))
    base = "/api/v1/projects/web/webhooks/deliveries"
    page = client.get(base, params={"limit": 4}, headers=maint).json()
    rest = client.get(base, params={"limit": 4, "cursor": page["next"]}, headers=maint).json()
    ids = [d["id"] for d in page["items"] + rest["items"]]
    assert len(ids) == 6 and ids == sorted(ids, reverse=True) and rest["next"] is None
    only = client.get(base, params={"webhook_id": two["id"]}, headers=maint).json()["items"]
    assert {d["webhook_id"] for d in only} == {two["id"]} and len(only) == 3
    assert one["id"] != two["id"]
    assert client.get(base, params={"cursor": "x"}, headers=maint).status_code == 422


# -- the ways the sender runs ------------------------------------------------------------


def test_the_server_sends_in_the_background(
    settings: Settings, db: Database, tokens: dict[str, str], receiver: Receiver, tmp_path: Path, monkeypatch: Any
) -> None:
    from caserun.app import create_app

    monkeypatch.setattr(webhook_sender, "POLL_INTERVAL_S", 0.2)
    with TestClient(create_app(settings, database=db), base_url="http://caserun.test") as client:
        maint = {"Authorization": f"Bearer {tokens['maintainer']}"}
        add_webhook(client, maint, receiver.url, "launch.finished")
        client.headers["Authorization"] = f"Bearer {tokens['reporter']}"
        upload(client, tmp_path, passing("test_a"))
        deadline = time.monotonic() + 20
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert receiver.events() == ["launch.finished"]
        while deliveries(client, maint)[0]["status"] != "delivered" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert deliveries(client, maint)[0]["status"] == "delivered"


def test_the_cli_sends_what_is_due(
    client: TestClient, maint: dict[str, str], settings: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    add_webhook(client, maint, receiver.url, "launch.finished")
    upload(client, tmp_path, passing("test_a"))
    result = CliRunner().invoke(
        cli_app, ["webhooks", "deliver", "--database", settings.db_url, "--data-dir", str(settings.data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "1 delivered" in result.output
    assert receiver.events() == ["launch.finished"] and verify(*receiver.requests[0])
