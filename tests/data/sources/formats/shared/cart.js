'use strict';
// A tiny shopping cart: the code under test shared by the JavaScript fixture suites.

class Cart {
  constructor() {
    this.lines = new Map();
  }

  add(sku, priceCents, qty = 1) {
    if (qty <= 0) throw new RangeError(`quantity must be positive, got ${qty}`);
    const [, oldQty] = this.lines.get(sku) ?? [priceCents, 0];
    this.lines.set(sku, [priceCents, oldQty + qty]);
  }

  total() {
    let sum = 0;
    for (const [price, qty] of this.lines.values()) sum += price * qty;
    return sum;
  }
}

// Deliberate bug for the failing tests: divides by 1000 instead of 100.
function applyDiscount(totalCents, percent) {
  return totalCents - Math.floor((totalCents * percent) / 1000);
}

module.exports = { Cart, applyDiscount };
