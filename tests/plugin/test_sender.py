"""The background sender on its own, with a fake server: order, batching, 413 splitting,
outages, refusals and the spool."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from caserun.client import Unreachable
from caserun.errors import PayloadTooLarge, Unauthenticated
from caserun.sender import Sender, Spool


class FakeServer:
    def __init__(self, *, max_batch: int | None = None, down_for: int = 0, refuse: Exception | None = None) -> None:
        self.got: list[str] = []
        self.batches: list[int] = []
        self.max_batch = max_batch
        self.down_for = down_for
        self.refuse = refuse

    def __call__(self, lines: Sequence[str]) -> list[dict[str, Any]]:
        if self.refuse is not None:
            raise self.refuse
        if self.down_for > 0:
            self.down_for -= 1
            raise Unreachable("cannot reach http://x: connection refused")
        if self.max_batch is not None and len(lines) > self.max_batch:
            raise PayloadTooLarge("too large")
        self.batches.append(len(lines))
        self.got += lines
        return [
            {"status": 409, "code": "conflict", "message": "late"} if "late" in x else {"status": 201} for x in lines
        ]


def lines(n: int) -> list[str]:
    return [json.dumps({"type": "case_run.finished", "id": f"r{i}"}) for i in range(n)]


def test_everything_arrives_in_order_and_a_413_splits_the_batch(tmp_path: Path) -> None:
    server = FakeServer(max_batch=30)
    sender = Sender(server, Spool(tmp_path / "spool.jsonl"), interval=0.01)
    sender.start()
    for line in [*lines(100), '{"late": 1}']:
        sender.put(line)
    report = sender.close(10)
    assert server.got == [*lines(100), '{"late": 1}']
    assert max(server.batches) <= 30
    assert report.sent == 100 and dict(report.refused) == {"409 conflict: late": 1}
    assert report.spool is None and not (tmp_path / "spool.jsonl").exists()


def test_an_outage_is_spooled_then_delivered_and_the_spool_removed(tmp_path: Path) -> None:
    server = FakeServer(down_for=2)
    spool = tmp_path / "spool.jsonl"
    sender = Sender(server, Spool(spool, header='{"type": "launch.started"}'), interval=0.01)
    sender.start()
    for line in lines(5):
        sender.put(line)
    expected = ['{"type": "launch.started"}', *lines(5)]
    deadline = time.monotonic() + 10

    def spooled() -> list[str]:
        return spool.read_text().splitlines() if spool.exists() else []

    # the file is created before its lines are written: wait for the lines, not the file
    while spooled() != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert spooled() == expected  # kept while down
    while not server.got and time.monotonic() < deadline:  # retried with backoff until it is back
        time.sleep(0.05)
    sender.put('{"type": "launch.finished"}')
    report = sender.close(10)
    assert server.got == [*lines(5), '{"type": "launch.finished"}']
    assert report.outages == 1 and report.spool is None and not spool.exists()


def test_a_server_that_refuses_the_whole_request_leaves_a_complete_spool(tmp_path: Path) -> None:
    server = FakeServer(refuse=Unauthenticated("invalid token"))
    spool = tmp_path / "spool.jsonl"
    header = json.dumps({"type": "launch.started", "launch": "L"})
    sender = Sender(server, Spool(spool, header=header), interval=0.01)
    sender.start()
    for line in lines(3):
        sender.put(line)
    report = sender.close(5)
    assert report.problem == "the server refused the events: invalid token"
    assert report.spool == spool and spool.read_text().splitlines() == [header, *lines(3)]
