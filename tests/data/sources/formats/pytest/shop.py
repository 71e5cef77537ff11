"""A tiny shopping cart: the code under test for the fixture suite."""


class Cart:
    def __init__(self) -> None:
        self.lines: dict[str, tuple[int, int]] = {}

    def add(self, sku: str, price_cents: int, qty: int = 1) -> None:
        if qty <= 0:
            raise ValueError(f"quantity must be positive, got {qty}")
        _, old_qty = self.lines.get(sku, (price_cents, 0))
        self.lines[sku] = (price_cents, old_qty + qty)

    def total(self) -> int:
        return sum(price * qty for price, qty in self.lines.values())


def apply_discount(total_cents: int, percent: int) -> int:
    # deliberate bug for the failing test: integer division truncates the discount
    return total_cents - total_cents * percent // 1000
