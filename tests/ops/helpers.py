"""Launches made the way reporters make them: through the event API."""

from __future__ import annotations

import base64
from typing import Any

from fastapi.testclient import TestClient

URL = "/api/v1/projects/{key}/events"


def send(client: TestClient, *events: dict[str, Any], project: str = "web") -> list[dict[str, Any]]:
    response = client.post(URL.format(key=project), json={"events": list(events)})
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    assert all(r["status"] < 300 for r in results), results
    return results


def launch(
    client: TestClient,
    name: str,
    *,
    finish: bool = True,
    attachment: bytes | None = None,
    running: int = 0,
    project: str = "web",
    **extra: Any,
) -> int:
    """A launch with a passed and a failed test (stdout and, optionally, an attachment on the
    failure), plus ``running`` tests left running; finished unless ``finish`` is False."""
    client_id = name.replace(" ", "-")
    events: list[dict[str, Any]] = [{"type": "launch.started", "launch": client_id, "name": name, **extra}]
    tests = [("ok", "passed"), ("broken", "failed")] + [(f"slow{i}", "running") for i in range(running)]
    for test, status in tests:
        run = f"{client_id}-{test}"
        events.append(
            {"type": "case_run.started", "launch": client_id, "id": run, "test": {"suite": "shop.cart", "name": test}}
        )
        if status == "running":
            continue
        done: dict[str, Any] = {"type": "case_run.finished", "launch": client_id, "id": run, "status": status}
        if status == "failed":
            done["failure"] = {
                "message": f"expected 3, got 4 in {name}",
                "type": "assertion",
                "exception": "AssertionError",
            }
            done["stdout"] = f"log of {name}\n"
            if attachment is not None:
                done["attachments"] = [
                    {"name": "shot.png", "content_type": "image/png", "data": base64.b64encode(attachment).decode()}
                ]
        events.append(done)
    if finish:
        events.append({"type": "launch.finished", "launch": client_id, "status": "completed"})
    results = send(client, *events, project=project)
    launch_id = results[0]["launch_id"]
    assert isinstance(launch_id, int), results[0]
    return launch_id
