"""A tiny suite whose JUnit XML report is a golden fixture for caserun's parser.

Run only through scripts/regen-junit-fixtures.sh. Some tests fail on purpose.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest

log = logging.getLogger("sample")

_attempts: dict[str, int] = {}


def parse_price(text: str) -> float:
    return float(text.strip().lstrip("$"))


@pytest.fixture
def broken_teardown() -> Iterator[str]:
    yield "resource"
    raise RuntimeError("could not release resource")


@pytest.fixture
def broken_setup() -> Iterator[str]:
    raise ConnectionError("database is not reachable at 127.0.0.1:5999")
    yield "never"


def test_passes() -> None:
    assert parse_price(" $3.50 ") == 3.5


@pytest.mark.parametrize(("text", "expected"), [("1", 1.0), ("$2.25", 2.25), ("3.5", 3.0)])
def test_parse_price(text: str, expected: float) -> None:
    assert parse_price(text) == expected


def test_fails_with_assertion() -> None:
    basket = {"apple": 2, "pear": 1}
    total = sum(basket.values())
    assert total == 4, "basket should hold four fruits"


def test_errors_with_exception() -> None:
    prices: dict[str, float] = {"apple": 0.5}
    print("looking up the price of kiwi")
    assert prices["kiwi"] > 0


def test_output_streams_and_log() -> None:
    print("to stdout: hello")
    print("to stderr: careful", file=sys.stderr)
    log.info("to the log: info line")
    log.warning("to the log: warning line")


def test_ansi_colours() -> None:
    green = "\x1b[32mOK\x1b[0m"
    print(f"coloured output: {green}")
    status = "\x1b[31mFAILED\x1b[0m"
    assert status == green, f"status was {status}, expected {green}"


@pytest.mark.skip(reason="not supported on this platform")
def test_skipped() -> None:
    raise AssertionError("never runs")


def test_skipped_at_runtime() -> None:
    pytest.skip("needs a GPU")


@pytest.mark.xfail(reason="known bug #42: rounding")
def test_expected_failure() -> None:
    assert round(2.675, 2) == 2.68


def test_flaky_passes_on_rerun() -> None:
    _attempts["flaky"] = _attempts.get("flaky", 0) + 1
    print(f"attempt {_attempts['flaky']}")
    assert _attempts["flaky"] >= 2, "first attempt always fails"


def test_record_property(record_property: pytest.RecordProperty) -> None:
    record_property("requirement", "REQ-101")
    record_property("owner", "team-payments")
    assert parse_price("10") == 10.0


def test_teardown_raises(broken_teardown: str) -> None:
    assert broken_teardown == "resource"


def test_fails_and_teardown_raises(broken_teardown: str) -> None:
    assert broken_teardown == "other resource"


def test_setup_raises(broken_setup: str) -> None:
    assert broken_setup


def test_prints_attachment() -> None:
    print("[[ATTACHMENT|attachments/screenshot.png]]")


class TestCart:
    def test_empty_cart_total(self) -> None:
        assert sum([]) == 0

    def test_cart_with_discount(self) -> None:
        prices = [10.0, 5.0]
        discounted = [p * 0.9 for p in prices]
        assert sum(discounted) == pytest.approx(13.0)
