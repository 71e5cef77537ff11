"""Retry plans: the arguments each runner needs to re-run exactly the failed tests."""

from __future__ import annotations

import re

import pytest

from caserun.domain.identity import identify
from caserun.domain.retries import FailedTest, Runner, go_escape, js_escape, plan, pytest_node_id


def from_report(suite: str, name: str, file: str | None = None) -> FailedTest:
    """A failed test as caserun stores it (normalised identity) from what a report wrote."""
    ident = identify(suite, name)
    return FailedTest(suite=ident.suite, name=ident.name, parameters=ident.parameters, file=file)


@pytest.mark.parametrize(
    ("suite", "name", "file", "node"),
    [
        ("tests.test_x.TestA", "test_b[1]", "tests/test_x.py", "tests/test_x.py::TestA::test_b[1]"),
        ("tests.test_x.TestA", "test_b[1]", None, "tests/test_x.py::TestA::test_b[1]"),
        ("tests/test_x.py::TestA::TestInner", "test_c", None, "tests/test_x.py::TestA::TestInner::test_c"),
        ("test_sample", "test_param[a b-2]", None, "test_sample.py::test_param[a b-2]"),
        ("pkg.tests.test_y", "test_z", "tests/test_y.py", "tests/test_y.py::test_z"),
        ("pkg.tests.test_y.TestQ", "test_z", "./tests/test_y.py", "tests/test_y.py::TestQ::test_z"),
        ("weird.Suite", "test_z", "other/check.py", "other/check.py::Suite::test_z"),
    ],
)
def test_pytest_node_ids(suite: str, name: str, file: str | None, node: str) -> None:
    assert pytest_node_id(from_report(suite, name, file)) == node


def test_pytest_plan_dedupes_and_falls_back_to_k_for_tests_without_a_module() -> None:
    tests = [
        from_report("tests.test_x", "test_a"),
        from_report("tests.test_x", "test_a"),
        from_report("", "test_loose"),
        from_report("Root", "test_loose2"),
    ]
    result = plan(Runner.PYTEST, tests)
    assert result.args == ["tests/test_x.py::test_a", "-k", "test_loose or test_loose2"]
    assert result.tests == 4
    assert result.notes


def test_jest_selects_by_escaped_full_name_and_passes_files_when_all_are_known() -> None:
    tests = [
        from_report("cart adds up prices", "cart adds up prices", "__tests__/cart.test.js"),
        from_report("cart", "cart › costs $5 (net) [each]", "__tests__/cart.test.js"),
    ]
    result = plan(Runner.JEST, tests)
    assert result.args[:2] == ["__tests__/cart.test.js", "-t"]
    pattern = re.compile(result.args[2])
    assert pattern.search("cart adds up prices")
    assert pattern.search("cart costs $5 (net) [each]")
    assert not pattern.search("cart adds up prices twice")
    assert not pattern.search("scart adds up prices")
    no_file = plan(Runner.JEST, [from_report("s", "works")])
    assert no_file.args[0] == "-t" and no_file.notes


def test_playwright_grep_matches_the_title_path_with_tags_after_it() -> None:
    result = plan(Runner.PLAYWRIGHT, [from_report("cart.spec.js", "cart › applies a discount")])
    assert result.args[0] == "--grep"
    pattern = re.compile(result.args[1])
    assert pattern.search("chromium cart.spec.js cart applies a discount")
    assert pattern.search("chromium cart.spec.js cart applies a discount @slow")
    assert not pattern.search("chromium cart.spec.js cart applies a discount twice")


def test_go_run_pattern_with_subtests() -> None:
    tests = [
        from_report("example.com/shop", "TestA"),
        from_report("example.com/shop", "TestB"),
        from_report("example.com/shop", "TestC/sub_case"),
        from_report("example.com/shop", "TestD/a.b"),
    ]
    assert plan(Runner.GO, tests).args == ["-run", r"^(TestA|TestB)$|^TestC$/^sub_case$|^TestD$/^a\.b$"]


def test_no_failed_tests_no_arguments() -> None:
    for runner in Runner:
        assert plan(runner, []).args == []


def test_escaping() -> None:
    assert js_escape("a.b*c/d") == r"a\.b\*c\/d"
    assert go_escape("x(1)|y") == r"x\(1\)\|y"
