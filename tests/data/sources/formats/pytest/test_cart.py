import sys

import allure
import pytest
from shop import Cart, apply_discount


class TestCart:
    def test_add_item_updates_total(self):
        cart = Cart()
        cart.add("apple", 120, qty=3)
        cart.add("pear", 80)
        print(f"cart lines: {sorted(cart.lines)}")
        assert cart.total() == 440

    def test_rejects_zero_quantity(self):
        with pytest.raises(ValueError, match="quantity must be positive"):
            Cart().add("apple", 120, qty=0)

    @pytest.mark.parametrize("qty,expected", [(1, 250), (4, 1000)])
    def test_total_scales_with_quantity(self, qty, expected):
        cart = Cart()
        cart.add("cheese", 250, qty=qty)
        assert cart.total() == expected


def test_discount_applied():
    total = 2000
    print("applying 10% discount to", total)
    print("this goes to stderr", file=sys.stderr)
    assert apply_discount(total, 10) == 1800


@pytest.mark.skip(reason="gift wrapping is not implemented yet")
def test_gift_wrap():
    raise AssertionError("never runs")


@pytest.mark.xfail(reason="rounding of half cents is undecided", strict=False)
def test_half_cent_rounding():
    assert apply_discount(5, 50) == 3


def test_payment_gateway_flaky(flaky_counter):
    attempt = flaky_counter("payment_gateway")
    print(f"payment gateway attempt {attempt}")
    assert attempt > 1, f"gateway timed out on attempt {attempt}"


def test_stock_level(inventory_db):
    assert inventory_db.stock("apple") > 0


def test_receipt_screenshot(screenshot_path, request):
    allure.attach("order=1234 total=440", name="receipt.txt", attachment_type=allure.attachment_type.TEXT)
    allure.attach.file(str(screenshot_path), name="receipt screenshot", attachment_type=allure.attachment_type.PNG)
    if request.config.pluginmanager.hasplugin("nunit"):  # pytest-nunit records attachments by path
        request.getfixturevalue("add_nunit_attachment")(str(screenshot_path), "receipt screenshot")
    print(f"attached {screenshot_path.name}")
    assert screenshot_path.read_bytes().startswith(b"\x89PNG")
