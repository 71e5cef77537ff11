"""JUnit XML and CTRF exports read back by caserun's own parsers: the same tests, statuses,
attempts and failures come out as went in (every attempt of a retried test kept)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from tests.conftest import post_report

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuite name="rt">
  <testcase classname="rt.A" name="test_ok" time="0.5"><system-out>hello &lt;b&gt; &amp; bye</system-out></testcase>
  <testcase classname="rt.A" name="test_param[1-2]" time="0.25"/>
  <testcase classname="rt.B" name="test_fail" time="1.5"><failure message="expected 3 but was 4 &amp; &lt;x&gt;"
    type="AssertionError">Traceback (most recent call last):
  File "b.py", line 3, in test_fail
AssertionError: expected 3 but was 4</failure></testcase>
  <testcase classname="rt.B" name="test_error" time="0.125">
    <error message="boom #x1B" type="ValueError">ValueError: boom</error></testcase>
  <testcase classname="rt.C" name="test_flaky" time="2">
    <flakyFailure message="timed out once" type="TimeoutError" time="1">
      <stackTrace>trace of attempt 1</stackTrace></flakyFailure>
  </testcase>
  <testcase classname="rt.C" name="test_twice" time="3">
    <failure message="first" type="AssertionError">trace 1</failure>
    <rerunFailure message="second" type="AssertionError" time="2.5"><stackTrace>trace 2</stackTrace></rerunFailure>
  </testcase>
  <testcase classname="rt.D" name="test_skip" time="0"><skipped message="not today"/></testcase>
</testsuite>
"""

FIELDS = ("full_name", "attempt", "status", "duration_ms", "failure_type", "failure_exception", "failure_message")


def _import(client: TestClient, path: Path, **fields: str) -> int:
    response = post_report(client, path, **fields)
    assert response.status_code == 201, response.text
    return int(response.json()["launch"]["id"])


def _runs(client: TestClient, launch_id: int) -> list[tuple[Any, ...]]:
    """Every attempt of the launch with its failure and trace, in a stable order."""
    items = client.get(f"/api/v1/launches/{launch_id}/case-runs", params={"attempts": "all", "limit": 500}).json()[
        "items"
    ]
    out = []
    for item in items:
        detail = client.get(f"/api/v1/case-runs/{item['id']}").json()
        # CTRF holds output as a list of lines: a last line comes back ending in a newline
        stdout = (detail["logs"].get("stdout") or "").rstrip("\n")
        out.append((*(item[f] for f in FIELDS), (detail["failure"] or {}).get("stack_trace"), stdout))
    return sorted(out, key=lambda r: (r[0], r[1]))


@pytest.fixture
def original(client: TestClient, tmp_path: Path) -> int:
    path = tmp_path / "rt.xml"
    path.write_text(REPORT)
    return _import(client, path, name="Round trip")


def test_the_original_has_what_the_round_trip_must_keep(client: TestClient, original: int) -> None:
    runs = _runs(client, original)
    by_name = {(r[0], r[1]): r for r in runs}
    assert by_name[("rt.C.test_flaky", 1)][2] == "failed" and by_name[("rt.C.test_flaky", 2)][2] == "passed"
    assert by_name[("rt.C.test_twice", 2)][6] == "second"
    assert by_name[("rt.A.test_param[1-2]", 1)][2] == "passed"
    assert len(runs) == 9


@pytest.mark.parametrize("fmt", ["junit", "ctrf"])
def test_export_then_import_gives_the_same_launch(client: TestClient, original: int, tmp_path: Path, fmt: str) -> None:
    response = client.get(f"/api/v1/launches/{original}/export", params={"format": fmt})
    assert response.status_code == 200, response.text
    path = tmp_path / ("again.xml" if fmt == "junit" else "again.json")
    path.write_bytes(response.content)
    again = _import(client, path, name="Round trip again", format=fmt)
    before_runs, after_runs = _runs(client, original), _runs(client, again)
    if fmt == "ctrf":
        # CTRF has no field for the exception class: a reader finds it in the trace, when
        # the trace names it (test_fail, test_error), and nowhere otherwise (test_flaky).
        exceptions = {r[0]: r[5] for r in after_runs if r[2] == "failed"}
        assert exceptions["rt.B.test_fail"] == "AssertionError" and exceptions["rt.B.test_error"] == "ValueError"
        before_runs = [r[:5] + r[6:] for r in before_runs]
        after_runs = [r[:5] + r[6:] for r in after_runs]
    assert after_runs == before_runs
    before = client.get(f"/api/v1/launches/{original}").json()["summary"]
    after = client.get(f"/api/v1/launches/{again}").json()["summary"]
    assert {k: v for k, v in after.items() if k != "duration_ms"} == {
        k: v for k, v in before.items() if k != "duration_ms"
    }


def test_junit_export_is_surefire_shaped(client: TestClient, original: int) -> None:
    xml = client.get(f"/api/v1/launches/{original}/export", params={"format": "junit"}).content
    root = etree.fromstring(xml)
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        "Round trip",
        "7",
        "3",
        "1",
    )
    flaky = root.find(".//testcase[@name='test_flaky']")
    assert flaky is not None and [c.tag for c in flaky] == ["flakyError"]  # a timeout is not an assertion
    twice = root.find(".//testcase[@name='test_twice']")
    assert twice is not None and [c.tag for c in twice] == ["failure", "rerunFailure"]
    error = root.find(".//testcase[@name='test_error']/error")
    assert error is not None and error.get("message") == "boom #x1B"  # control characters as pytest writes them


def test_ctrf_export_matches_the_spec_shape(client: TestClient, original: int) -> None:
    doc = json.loads(client.get(f"/api/v1/launches/{original}/export", params={"format": "ctrf"}).content)
    assert doc["reportFormat"] == "CTRF"
    results = doc["results"]
    assert results["tool"]["name"] == "caserun"
    assert results["summary"]["tests"] == 7 and results["summary"]["failed"] == 3
    flaky = next(t for t in results["tests"] if t["name"] == "test_flaky")
    assert flaky["status"] == "passed" and flaky["flaky"] is True and flaky["retries"] == 1
    assert flaky["retryAttempts"][0]["message"] == "timed out once"
