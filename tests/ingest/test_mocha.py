"""Mocha JSON and mochawesome: statuses, hooks that block tests, retries, context, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest import registry
from caserun.ingest.formats.mocha import mocha_parser, mochawesome_parser
from caserun.ingest.protocol import ReportParser, ReportSource

FILE = "/repo/test/cart.spec.js"


def _test(full: str, title: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "fullTitle": full, "file": FILE, "duration": 3, "currentRetry": 0, "err": {}, **extra}


def _mocha(
    tests: list[dict[str, Any]], pending: list[dict[str, Any]] = (), failures: list[dict[str, Any]] = ()
) -> dict[str, Any]:  # type: ignore[assignment]
    stats = {"suites": 1, "tests": len(tests), "passes": 0, "start": "2026-01-02T03:04:05.000Z", "duration": 9}
    return {"stats": stats, "tests": tests, "pending": list(pending), "failures": list(failures), "passes": []}


def _parse(tmp_path: Path, parser: ReportParser, document: Any) -> tuple[list[TestResult], ReportSource]:
    path = tmp_path / "report.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    source = ReportSource(path, "report.json")
    return list(parser.parse(source)), source


def test_mocha_statuses_identity_and_retries(tmp_path: Path) -> None:
    err = {"message": "Timeout of 2000ms exceeded.", "stack": "Error: Timeout of 2000ms exceeded.\n    at x"}
    skipped = _test("Cart later", "later")
    tests = [_test("Cart discounts adds", "adds", currentRetry=2), _test("Cart waits", "waits", err=err), skipped]
    results, source = _parse(tmp_path, mocha_parser, _mocha(tests, pending=[skipped]))
    adds, waits, later = results
    assert (adds.suite, adds.name) == ("cart.spec.js > Cart discounts", "adds")
    assert [a.status for a in adds.attempts] == [Status.FAILED, Status.FAILED, Status.PASSED]
    assert waits.final.failure is not None and waits.final.failure.type is FailureType.TIMEOUT
    assert later.final.status is Status.SKIPPED
    assert source.info["duration_ms"] == "9"


def test_mocha_before_each_hook_blocks_the_test_it_names(tmp_path: Path) -> None:
    err = {"message": "db down", "stack": "Error: db down\n    at hook (test/cart.spec.js:4:5)"}
    hook = _test('Inventory "before each" hook for "counts"', '"before each" hook for "counts"', err=err)
    after = _test('Inventory "after all" hook', '"after all" hook', err=err)
    results, _ = _parse(tmp_path, mocha_parser, _mocha([_test("Cart adds", "adds")], failures=[hook, after]))
    _, blocked, after_hook = results
    assert (blocked.suite, blocked.name, blocked.final.status) == ("cart.spec.js > Inventory", "counts", Status.BLOCKED)
    assert blocked.final.failure is not None and "db down" in blocked.final.failure.message
    assert (after_hook.name, after_hook.final.status) == ('"after all" hook', Status.FAILED)
    assert after_hook.final.failure is not None and after_hook.final.failure.type is FailureType.ERROR


def test_console_output_before_the_json_is_skipped(tmp_path: Path) -> None:
    text = "some console.log line\n" + json.dumps(_mocha([_test("Cart adds", "adds")]), indent=2)
    path = tmp_path / "out.txt"
    path.write_text(text)
    source = ReportSource(path, "out.txt")
    assert registry.detect(source).name == "mocha"
    assert [r.name for r in mocha_parser.parse(source)] == ["adds"]


def _awesome(tests: list[dict[str, Any]], hooks: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    inner = {"uuid": "2", "title": "Cart", "file": "/test/cart.spec.js", "fullFile": FILE,
             "beforeHooks": list(hooks), "afterHooks": [], "tests": tests, "suites": []}  # fmt: skip
    root = {"uuid": "1", "title": "", "file": "", "fullFile": "", "beforeHooks": [], "afterHooks": [], "tests": [],
            "suites": [inner]}  # fmt: skip
    return {
        "stats": {"start": "2026-01-02T03:04:05.000Z", "duration": 4},
        "results": [root],
        "meta": {"mocha": {"version": "10.0.0"}},
    }


def _awesome_test(title: str, state: str | None, **extra: Any) -> dict[str, Any]:
    return {"title": title, "fullTitle": f"Cart {title}", "state": state, "duration": 1, "context": None, "code": "",
            "err": {}, "uuid": title, "pass": state == "passed", "fail": state == "failed",
            "pending": state == "pending", "skipped": False, **extra}  # fmt: skip


def test_mochawesome_context_hooks_and_statuses(tmp_path: Path) -> None:
    context = json.dumps(
        [{"title": "screenshot", "value": "attachments/shot.png"}, {"title": "order", "value": 12}, "a note"]
    )
    err = {
        "message": "AssertionError: 1 == 2",
        "estack": "AssertionError [ERR_ASSERTION]: 1 == 2\n    at x",
        "diff": "- 1\n+ 2\n",
    }
    hook = _awesome_test(
        '"before each" hook for "blocked"', "failed", err={"message": "Error: down", "estack": "Error: down"}
    )
    tests = [
        _awesome_test("passes", "passed", context=context, code="assert.ok(1)"),
        _awesome_test("fails", "failed", err=err),
        _awesome_test("slow", "failed", timedOut=True, err={"message": "Error: Timeout of 2000ms exceeded."}),
        _awesome_test("later", "pending"),
        _awesome_test("blocked", None, skipped=True),
    ]
    results, source = _parse(tmp_path, mochawesome_parser, _awesome(tests, hooks=[hook]))
    passes, fails, slow, later, blocked = results
    assert (passes.suite, passes.file) == ("test/cart.spec.js > Cart", FILE)
    assert [(a.name, a.path) for a in passes.final.attachments] == [("screenshot", "attachments/shot.png")]
    assert passes.metadata == {"order": "12", "context": "a note", "code": "assert.ok(1)"}
    assert fails.final.failure is not None and fails.final.failure.exception == "AssertionError"
    assert fails.final.failure.trace is not None and fails.final.failure.trace.endswith("+ 2")
    assert slow.final.failure is not None and slow.final.failure.type is FailureType.TIMEOUT
    assert later.final.status is Status.SKIPPED
    assert blocked.final.status is Status.BLOCKED and blocked.final.failure is not None
    assert source.info["tool_version"] == "10.0.0"


def test_mochawesome_is_not_mocha_json(tmp_path: Path) -> None:
    path = tmp_path / "r.dat"
    path.write_text(json.dumps(_awesome([_awesome_test("a", "passed")])))
    assert registry.detect(ReportSource(path, "r.dat")).name == "mochawesome"


@pytest.mark.parametrize(
    ("parser", "document", "reason"),
    [
        (mocha_parser, '{"stats": {"passes": 1}, "tests": [{"title": "a"', "ends early"),
        (mocha_parser, {"stats": {}, "tests": [], "pending": [], "failures": [], "passes": []}, "no tests"),
        (mocha_parser, {"stats": {}, "tests": {"a": 1}}, "no top-level"),
        (mocha_parser, {"stats": {}, "tests": [1]}, "not an object"),
        (mochawesome_parser, {"stats": {}, "results": [{"uuid": "1", "tests": [], "suites": []}]}, "no tests"),
        (mochawesome_parser, {"stats": {}, "results": {"uuid": "1"}}, "no top-level"),
        (mochawesome_parser, '{"stats": {}, "results": [{"uuid": "1", "tests": [', "ends early"),
    ],
)
def test_bad_input_is_a_parse_error_naming_the_file(
    tmp_path: Path, parser: ReportParser, document: Any, reason: str
) -> None:
    with pytest.raises(ParseError) as caught:
        _parse(tmp_path, parser, document)
    assert "report.json" in str(caught.value)
    assert reason in str(caught.value)
