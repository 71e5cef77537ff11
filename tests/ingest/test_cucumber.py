"""The Cucumber JSON and Cucumber Messages parsers on their quirks and on broken input.

Reports written by cucumber-js are covered by the golden tests (tests/data/reports/cucumber
and cucumber-messages); the small documents here isolate one quirk each.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest.formats.cucumber import json_parser, messages_parser
from caserun.ingest.protocol import ReportSource


def write(tmp_path: Path, content: str, name: str) -> ReportSource:
    path = tmp_path / name
    path.write_text(content)
    return ReportSource(path, name)


def parse_json(tmp_path: Path, features: Any) -> list[TestResult]:
    return list(json_parser.parse(write(tmp_path, json.dumps(features), "cucumber.json")))


def step(keyword: str, name: str, status: str, duration: int = 1_500_000, **result: Any) -> dict[str, Any]:
    return {"keyword": keyword, "name": name, "result": {"status": status, "duration": duration, **result}}


def feature(*elements: dict[str, Any], name: str = "Checkout") -> dict[str, Any]:
    # cucumber-js writes "elements" before "name" and "uri": the parser must not depend on order
    return {"elements": list(elements), "keyword": "Feature", "name": name, "uri": "features/checkout.feature"}


def scenario(name: str, *steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "scenario", "keyword": "Scenario", "name": name, "line": 3, "steps": list(steps), **extra}


def test_durations_are_nanoseconds_and_the_feature_is_the_suite(tmp_path: Path) -> None:
    [test] = parse_json(tmp_path, [feature(scenario("Pay", step("Given ", "a cart", "passed", 250_000_000)))])
    assert (test.suite, test.name, test.file) == ("Checkout", "Pay", "features/checkout.feature")
    assert test.final.duration_ms == 250


def test_background_steps_are_merged_into_the_next_scenario(tmp_path: Path) -> None:
    background = {
        "type": "background",
        "keyword": "Background",
        "name": "",
        "steps": [step("Given ", "a logged-in user", "failed", error_message="Error: login refused\n    at x.js:1")],
    }
    results = parse_json(
        tmp_path,
        [feature(background, scenario("Pay", step("When ", "I pay", "skipped")), scenario("Refund"))],
    )
    assert [r.name for r in results] == ["Pay", "Refund"]
    pay = results[0].final
    assert pay.status is Status.FAILED
    assert pay.failure is not None and pay.failure.message == "Error: login refused"
    assert pay.properties["failed_step"] == "Given a logged-in user"


def test_embeddings_become_inline_attachments_and_logs(tmp_path: Path) -> None:
    png = base64.b64encode(b"\x89PNG fake").decode()
    log = base64.b64encode(b"total is 3").decode()
    s = step("Then ", "it shows", "passed")
    s["embeddings"] = [{"data": png, "mime_type": "image/png"}, {"data": log, "mime_type": "text/x.cucumber.log+plain"}]
    [test] = parse_json(tmp_path, [feature(scenario("Shows", s))])
    [attachment] = test.final.attachments
    assert attachment.data == b"\x89PNG fake"
    assert attachment.content_type == "image/png"
    assert test.final.log == "total is 3\n"


def test_outline_rows_get_parameters_and_tags_become_metadata(tmp_path: Path) -> None:
    row = {"keyword": "Scenario Outline", "tags": [{"name": "@smoke"}]}
    results = parse_json(
        tmp_path,
        [feature(scenario("Totals", **row), scenario("Totals", **row))],
    )
    assert [r.parameters for r in results] == ["example 1", "example 2"]
    assert results[0].metadata["tags"] == "@smoke"


def test_undefined_fails_and_pending_skips(tmp_path: Path) -> None:
    results = parse_json(
        tmp_path,
        [
            feature(
                scenario("A", step("Then ", "magic", "undefined")),
                scenario("B", step("When ", "later", "pending"), step("Then ", "done", "skipped")),
            )
        ],
    )
    a, b = (r.final for r in results)
    assert a.status is Status.FAILED
    assert a.failure is not None and a.failure.type is FailureType.ERROR
    assert a.failure.message == "undefined step: Then magic"
    assert b.status is Status.SKIPPED and b.properties["skip_reason"] == "pending step: When later"


def test_json_of_the_wrong_shape_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="not an array of features"):
        list(json_parser.parse(write(tmp_path, '{"results": []}', "x.json")))


def test_truncated_json_names_the_file(tmp_path: Path) -> None:
    text = json.dumps([feature(scenario("Pay", step("Given ", "x", "passed")))])
    with pytest.raises(ParseError) as info:
        list(json_parser.parse(write(tmp_path, text[:-20], "cut.json")))
    assert "cut.json" in str(info.value)


def test_a_report_without_scenarios_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="no scenarios"):
        parse_json(tmp_path, [feature()])


def test_wrong_typed_fields_do_not_crash(tmp_path: Path) -> None:
    broken = scenario("Odd", {"keyword": "Given ", "name": "x", "result": "passed"}, "not a step")
    broken["steps"][0]["embeddings"] = [{"data": 42, "mime_type": "image/png"}]
    [test] = parse_json(tmp_path, [feature(broken)])
    assert test.warnings


# --- messages ------------------------------------------------------------------------------


def envelopes(attempts: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """A one-scenario stream; ``attempts`` is (step status, willBeRetried) per attempt."""
    out: list[dict[str, Any]] = [
        {"meta": {"implementation": {"name": "cucumber-js", "version": "12.0.0"}}},
        {
            "gherkinDocument": {
                "uri": "f.feature",
                "feature": {
                    "name": "Payments",
                    "children": [{"scenario": {"id": "s1", "steps": [{"id": "g1", "keyword": "Then "}]}}],
                },
            }
        },
        {
            "pickle": {
                "id": "p1",
                "uri": "f.feature",
                "name": "Gateway",
                "location": {"line": 4},
                "astNodeIds": ["s1"],
                "steps": [{"id": "ps1", "text": "it answers", "astNodeIds": ["g1"]}],
                "tags": [{"name": "@flaky"}],
            }
        },
        {"testCase": {"id": "tc1", "pickleId": "p1", "testSteps": [{"id": "ts1", "pickleStepId": "ps1"}]}},
    ]
    for number, (status, retried) in enumerate(attempts):
        started = f"st{number}"
        result: dict[str, Any] = {"status": status, "duration": {"seconds": 0, "nanos": 2_000_000}}
        if status == "FAILED":
            result["message"] = "AssertionError: no answer\n    at steps.js:3"
            result["exception"] = {"type": "AssertionError", "message": "no answer"}
        out += [
            {"testCaseStarted": {"id": started, "testCaseId": "tc1", "attempt": number, "timestamp": {"seconds": 100}}},
            {"testStepFinished": {"testCaseStartedId": started, "testStepId": "ts1", "testStepResult": result}},
            {
                "attachment": {
                    "testCaseStartedId": started,
                    "body": "aGVsbG8=",
                    "contentEncoding": "BASE64",
                    "mediaType": "text/plain",
                    "fileName": "hello.txt",
                }
            },
            {
                "testCaseFinished": {
                    "testCaseStartedId": started,
                    "willBeRetried": retried,
                    "timestamp": {"seconds": 100, "nanos": 5_000_000},
                }
            },
        ]
    return out


def parse_messages(tmp_path: Path, lines: list[dict[str, Any]] | list[str]) -> list[TestResult]:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    return list(messages_parser.parse(write(tmp_path, text, "run.ndjson")))


def test_retries_become_attempts_of_one_scenario(tmp_path: Path) -> None:
    [test] = parse_messages(tmp_path, envelopes([("FAILED", True), ("PASSED", False)]))
    assert (test.suite, test.name, test.line) == ("Payments", "Gateway", 4)
    assert [a.status for a in test.attempts] == [Status.FAILED, Status.PASSED]
    first = test.attempts[0]
    assert first.failure is not None
    assert first.failure.exception == "AssertionError"
    assert first.failure.type is FailureType.ASSERTION
    assert first.properties["failed_step"] == "Then it answers"
    assert first.duration_ms == 5
    assert [a.name for a in first.attachments] == ["hello.txt"]
    assert first.attachments[0].data == b"hello"
    assert test.metadata["tags"] == "@flaky"


def test_a_broken_line_in_the_middle_names_its_line(tmp_path: Path) -> None:
    lines: list[str] = [json.dumps(e) for e in envelopes([("PASSED", False)])]
    lines.insert(2, '{"pickle": {"id": ')
    with pytest.raises(ParseError) as info:
        parse_messages(tmp_path, lines)
    assert info.value.line == 3


def test_an_envelope_of_the_wrong_shape_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="not a Cucumber message"):
        parse_messages(tmp_path, [{"meta": {}, "pickle": {}}])


def test_a_stream_without_test_cases_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="no test cases"):
        parse_messages(tmp_path, [{"meta": {"implementation": {"name": "cucumber-js"}}}])


def test_a_stream_cut_before_the_retry_keeps_what_it_has(tmp_path: Path) -> None:
    [test] = parse_messages(tmp_path, envelopes([("FAILED", True)]))
    assert [a.status for a in test.attempts] == [Status.FAILED]
    assert test.warnings


def test_sniffs_tell_the_two_formats_apart() -> None:
    source = ReportSource(Path("x"), "x")
    json_head = json.dumps([feature(scenario("A", step("Given ", "x", "passed")))]).encode()
    ndjson_head = b'{"meta":{"protocolVersion":"32.2.0"}}\n'
    assert json_parser.sniff(json_head, source) >= 0.9
    assert messages_parser.sniff(json_head, source) == 0.0
    assert messages_parser.sniff(ndjson_head, source) >= 0.9
    assert json_parser.sniff(ndjson_head, source) == 0.0
