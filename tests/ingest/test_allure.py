"""Allure 2 results directories: retries, fixtures, steps, attachments, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caserun.domain.model import FailureType, Status, TestResult
from caserun.errors import ParseError
from caserun.ingest import registry
from caserun.ingest.formats.allure import parser
from caserun.ingest.protocol import ReportSource

BASIC = Path(__file__).resolve().parents[1] / "data" / "reports" / "allure" / "basic"
LABELS = [{"name": "suite", "value": "test_shop"}, {"name": "framework", "value": "pytest"}]


def result(name: str = "test_a", status: str = "passed", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uuid": f"uuid-{name}",
        "historyId": f"history-{name}",
        "testCaseId": f"case-{name}",
        "fullName": f"test_shop#{name}",
        "name": name,
        "status": status,
        "stage": "finished",
        "start": 1_700_000_000_000,
        "stop": 1_700_000_000_250,
        "labels": LABELS,
    }
    body.update(extra)
    return body


def write(folder: Path, files: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        elif isinstance(content, str):
            target.write_text(content)
        else:
            target.write_text(json.dumps(content))
    return folder


def parse(folder: Path) -> tuple[list[TestResult], dict[str, str]]:
    source = ReportSource(folder, folder.name)
    return list(parser.parse(source)), source.info


def by_name(results: list[TestResult]) -> dict[str, TestResult]:
    return {r.name: r for r in results}


def test_the_fixture_run_reads_as_a_user_would_check_it() -> None:
    results, info = parse(BASIC)
    tests = by_name(results)
    assert len(results) == 10  # 12 result files: two tests were rerun
    flaky = tests["test_payment_gateway_flaky"]
    assert [a.status for a in flaky.attempts] == [Status.FAILED, Status.PASSED]
    assert flaky.attempts[0].started_at is not None and flaky.attempts[1].started_at is not None
    assert flaky.attempts[0].started_at < flaky.attempts[1].started_at
    assert flaky.attempts[0].stdout == "payment gateway attempt 1\n"
    broken = tests["test_stock_level"].final
    assert broken.failure is not None and broken.failure.type is FailureType.ERROR
    assert broken.failure.exception == "ConnectionError"
    failed = tests["test_discount_applied"].final.failure
    assert failed is not None and failed.type is FailureType.ASSERTION and "1980 == 1800" in failed.message
    rows = [r for r in results if r.name.startswith("test_total_scales_with_quantity")]
    assert sorted(r.parameters or "" for r in rows) == ["qty=1, expected=250", "qty=4, expected=1000"]
    assert len({r.key for r in rows}) == 2  # one testCaseId, two historyIds: two tests
    shots = tests["test_receipt_screenshot"].final.attachments
    assert [(a.name, a.content_type) for a in shots] == [
        ("receipt.txt", "text/plain"),
        ("receipt screenshot", "image/png"),
    ]
    assert all(a.path and (BASIC / a.path).is_file() for a in shots)
    assert tests["test_add_item_updates_total"].suite == "test_cart > TestCart"
    assert info["tool"] == "Allure" and info["started_at"].startswith("2026-11-25")


def test_a_directory_is_detected_and_a_file_is_not(tmp_path: Path) -> None:
    assert registry.detect(ReportSource(BASIC, "basic")).name == "allure"
    one = next(BASIC.glob("*-result.json"))
    assert parser.sniff(one.read_bytes(), ReportSource(one, one.name)) == 0.0
    empty = write(tmp_path / "empty", {"a-container.json": {"uuid": "c"}})
    assert parser.sniff(b"", ReportSource(empty, "empty")) == 0.0
    with pytest.raises(ParseError, match="directory"):
        list(parser.parse(ReportSource(one, one.name)))


def test_a_directory_without_results_is_a_clear_error(tmp_path: Path) -> None:
    folder = write(tmp_path / "allure-results", {"x-container.json": {"uuid": "c"}, "notes.txt": "hello"})
    with pytest.raises(ParseError, match=r"allure-results: no \*-result\.json files"):
        parse(folder)


def test_a_broken_result_names_the_file_and_line(tmp_path: Path) -> None:
    folder = write(tmp_path / "res", {"good-result.json": result(), "bad-result.json": '{"name": "x",\n"status": }'})
    with pytest.raises(ParseError) as caught:
        parse(folder)
    assert "res/bad-result.json:2" in str(caught.value)
    truncated = write(tmp_path / "trunc", {"t-result.json": '{"name": "x", "status": "pas'})
    with pytest.raises(ParseError, match="trunc/t-result.json.*truncated"):
        parse(truncated)
    array = write(tmp_path / "array", {"a-result.json": [result()]})
    with pytest.raises(ParseError, match="array/a-result.json: not an Allure result"):
        parse(array)


def test_attachments_outside_the_directory_are_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    folder = write(
        tmp_path / "res",
        {
            "a-result.json": result(
                attachments=[
                    {"name": "passwd", "source": "../../etc/passwd", "type": "text/plain"},
                    {"name": "stdout", "source": "../secret.txt", "type": "text/plain"},
                    {"name": "stderr", "source": "link-attachment.txt", "type": "text/plain"},
                    {"name": "abs", "source": "/etc/hostname"},
                    {"name": "ok", "source": "ok-attachment.txt", "type": "text/plain"},
                ]
            ),
            "ok-attachment.txt": "fine",
        },
    )
    (folder / "link-attachment.txt").symlink_to(secret)
    [test], _ = parse(folder)
    attempt = test.final
    assert [(a.name, a.path) for a in attempt.attachments] == [("ok", "ok-attachment.txt")]
    assert attempt.stdout is None and attempt.stderr is None
    assert "TOP SECRET" not in repr(test)
    assert any("../../etc/passwd" in w and "not read" in w for w in test.warnings)
    assert any("/etc/hostname" in w for w in test.warnings)
    assert any("stderr" in w and "not found" in w for w in test.warnings)


def test_retries_share_a_history_id_and_are_ordered_by_start(tmp_path: Path) -> None:
    first = result(status="failed", uuid="u1", start=1_700_000_000_000, statusDetails={"message": "boom"})
    second = result(status="passed", uuid="u2", start=1_700_000_005_000, stop=1_700_000_005_100)
    second["statusDetails"] = {"flaky": True}
    folder = write(tmp_path / "res", {"zz-result.json": first, "aa-result.json": second})
    [test], info = parse(folder)
    assert [a.status for a in test.attempts] == [Status.FAILED, Status.PASSED]
    assert test.attempts[1].properties["flaky"] == "true"
    assert test.key == "history-test_a"
    assert info["duration_ms"] == "5100"


def test_without_history_id_results_group_by_test_case_and_parameters(tmp_path: Path) -> None:
    def row(uuid: str, value: str, status: str, start: int) -> dict[str, Any]:
        body = result(status=status, uuid=uuid, start=start, parameters=[{"name": "n", "value": value}])
        del body["historyId"]
        return body

    folder = write(
        tmp_path / "res",
        {
            "1-result.json": row("1", "1", "failed", 1_700_000_000_000),
            "2-result.json": row("2", "2", "passed", 1_700_000_000_001),
            "3-result.json": row("3", "1", "passed", 1_700_000_000_002),
        },
    )
    results, _ = parse(folder)
    assert sorted((r.parameters, [a.status.value for a in r.attempts]) for r in results) == [
        ("n=1", ["failed", "passed"]),
        ("n=2", ["passed"]),
    ]


def test_statuses_and_failure_types(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "res",
        {
            "a-result.json": result("t_fail", "failed", statusDetails={"message": "AssertionError: 1 != 2"}),
            "b-result.json": result("t_broken", "broken", statusDetails={"message": "KeyError: 'x'", "trace": "tb"}),
            "c-result.json": result(
                "t_timeout", "broken", statusDetails={"message": "TimeoutError: took too long", "trace": "TimeoutError"}
            ),
            "d-result.json": result("t_skip", "skipped", statusDetails={"message": "not today"}),
            "e-result.json": result("t_unknown", "unknown", stage="interrupted"),
            "f-result.json": result("t_flags", status="passed", statusDetails={"known": True, "muted": True}),
        },
    )
    results, _ = parse(folder)
    tests = {r.name: r.final for r in results}
    assert tests["t_fail"].failure is not None and tests["t_fail"].failure.type is FailureType.ASSERTION
    assert tests["t_broken"].failure is not None and tests["t_broken"].failure.type is FailureType.ERROR
    assert tests["t_broken"].failure.exception == "KeyError"
    assert tests["t_timeout"].failure is not None and tests["t_timeout"].failure.type is FailureType.TIMEOUT
    assert (tests["t_skip"].status, tests["t_skip"].properties["skip_reason"]) == (Status.SKIPPED, "not today")
    unknown = tests["t_unknown"]
    assert unknown.status is Status.FAILED and unknown.failure is not None
    assert unknown.failure.type is FailureType.UNKNOWN and unknown.properties["stage"] == "interrupted"
    assert any("unknown" in w for w in by_name(results)["t_unknown"].warnings)
    assert tests["t_flags"].properties == {"known": "true", "muted": "true"}


def test_fixture_failures_reach_the_tests_they_wrap(tmp_path: Path) -> None:
    before = {"name": "db", "status": "broken", "statusDetails": {"message": "ConnectionError: refused", "trace": "t"}}
    after = {"name": "cleanup", "status": "failed", "statusDetails": {"message": "AssertionError: leftovers"}}
    folder = write(
        tmp_path / "res",
        {
            "a-result.json": result("t_blocked", "skipped", uuid="r1"),
            "b-result.json": result("t_teardown", "passed", uuid="r2"),
            "c-result.json": result("t_own", "failed", uuid="r3", statusDetails={"message": "AssertionError: own"}),
            "d-result.json": result("t_clean", "passed", uuid="r4"),
            # a suite container holding a fixture container: fixtures of both reach r1
            "outer-container.json": {"uuid": "outer", "children": ["inner"], "befores": [before]},
            "inner-container.json": {
                "uuid": "inner",
                "children": ["r1"],
                "befores": [{"name": "ok", "status": "passed"}],
            },
            "after-container.json": {"uuid": "c2", "children": ["r2", "r3"], "afters": [after]},
        },
    )
    results, _ = parse(folder)
    tests = by_name(results)
    blocked = tests["t_blocked"].final
    assert blocked.status is Status.BLOCKED and blocked.properties["blocked_by"] == "db"
    assert blocked.failure is not None and blocked.failure.type is FailureType.ERROR
    assert blocked.failure.message == "setup fixture 'db' broken: ConnectionError: refused"
    teardown = tests["t_teardown"].final
    assert teardown.status is Status.FAILED and teardown.failure is not None
    assert teardown.failure.message.startswith("teardown fixture 'cleanup' failed: AssertionError: leftovers")
    own = tests["t_own"]
    assert own.final.failure is not None and own.final.failure.message == "AssertionError: own"
    assert any("cleanup" in w for w in own.warnings)
    assert tests["t_clean"].final.status is Status.PASSED and not tests["t_clean"].warnings


def test_the_failing_step_names_the_failure_and_step_attachments_are_kept(tmp_path: Path) -> None:
    steps = [
        {"name": "open cart", "status": "passed", "attachments": [{"name": "page", "source": "p-attachment.html"}]},
        {
            "name": "pay",
            "status": "failed",
            "steps": [
                {"name": "enter card", "status": "passed"},
                {
                    "name": "confirm",
                    "status": "failed",
                    "statusDetails": {"message": "AssertionError: declined", "trace": "trace here"},
                    "attachments": [{"name": "shot", "source": "s-attachment.png", "type": "image/png"}],
                },
            ],
        },
    ]
    folder = write(tmp_path / "res", {"a-result.json": result(status="failed", steps=steps)})
    [test], _ = parse(folder)
    failure = test.final.failure
    assert failure is not None
    assert failure.message == "step 'pay › confirm' failed: AssertionError: declined"
    assert failure.trace == "trace here" and failure.type is FailureType.ASSERTION
    assert [a.path for a in test.final.attachments] == ["p-attachment.html", "s-attachment.png"]


def test_parameters_labels_links_and_description(tmp_path: Path) -> None:
    labels = [
        *LABELS,
        {"name": "parentSuite", "value": "tests"},
        {"name": "subSuite", "value": "TestCart"},
        {"name": "tag", "value": "smoke"},
        {"name": "tag", "value": "cart"},
        {"name": "severity", "value": "critical"},
        {"name": "owner", "value": "ana"},
        {"name": "feature", "value": "checkout"},
    ]
    params = [
        {"name": "browser", "value": "firefox"},
        {"name": "password", "value": "hunter2", "mode": "masked"},
        {"name": "token", "value": "s3cr3t", "mode": "hidden"},
        {"name": "run", "value": "7", "excluded": True},
    ]
    links = [
        {"type": "issue", "url": "https://bugs.example/1", "name": "BUG-1"},
        {"type": "tms", "url": "https://tms.example/9"},
        {"name": "docs", "url": "https://docs.example"},
    ]
    body = result(labels=labels, parameters=params, links=links, description="  checks the cart  ")
    [test], _ = parse(write(tmp_path / "res", {"a-result.json": body}))
    assert test.suite == "tests > test_shop > TestCart"
    assert test.parameters == "browser=firefox, password=******"
    assert "s3cr3t" not in repr(test) and "hunter2" not in repr(test)
    meta = test.metadata
    assert meta["tags"] == "smoke, cart" and meta["severity"] == "critical" and meta["owner"] == "ana"
    assert meta["feature"] == "checkout" and meta["parameter.run"] == "7"
    assert meta["link.issue"] == "https://bugs.example/1" and meta["link.tms"] == "https://tms.example/9"
    assert meta["link.link"] == "https://docs.example" and meta["description"] == "checks the cart"


def test_suite_falls_back_to_test_class_then_full_name(tmp_path: Path) -> None:
    java = result(
        "addsItem", labels=[{"name": "testClass", "value": "shop.CartTest"}], fullName="shop.CartTest.addsItem"
    )
    bare = result("removesItem", labels=[], fullName="shop.CartTest.removesItem")
    results, _ = parse(write(tmp_path / "res", {"a-result.json": java, "b-result.json": bare}))
    assert {r.name: r.suite for r in results} == {"addsItem": "shop.CartTest", "removesItem": "shop.CartTest"}


def test_wrong_typed_fields_are_warnings_not_crashes(tmp_path: Path) -> None:
    body = result(labels="suite=x", statusDetails=5, start="soon", stop=None, parameters={"a": 1}, steps="none")
    body["attachments"] = [{"name": 3, "source": None}, "junk"]
    [test], _ = parse(write(tmp_path / "res", {"a-result.json": body}))
    assert test.final.status is Status.PASSED and test.final.started_at is None
    assert any("labels" in w for w in test.warnings)
    assert any("statusDetails" in w for w in test.warnings)
    assert any("parameters" in w for w in test.warnings)


def test_launch_facts_from_executor_environment_and_categories(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "res",
        {
            "a-result.json": result(),
            "executor.json": {
                "name": "Jenkins",
                "type": "jenkins",
                "buildName": "shop #42",
                "buildUrl": "https://ci/42",
            },
            "environment.properties": "# comment\nBrowser=Firefox\nPython.Version : 3.11\nmulti=one \\\n  two\n"
            "escaped\\=key=caf\\u00e9\n",
            "categories.json": [{"name": "Flaky network", "messageRegex": ".*timeout.*"}, {"name": "Product defects"}],
        },
    )
    _, info = parse(folder)
    assert info["executor"] == "Jenkins" and info["build_name"] == "shop #42" and info["build_url"] == "https://ci/42"
    assert info["Browser"] == "Firefox" and info["Python.Version"] == "3.11"
    assert info["multi"] == "one two" and info["escaped=key"] == "café"
    assert info["categories"] == "Flaky network, Product defects"
    assert info["tool"] == "Allure"


def test_a_broken_executor_json_names_the_file(tmp_path: Path) -> None:
    folder = write(tmp_path / "res", {"a-result.json": result(), "executor.json": "{broken"})
    with pytest.raises(ParseError, match="res/executor.json"):
        parse(folder)
