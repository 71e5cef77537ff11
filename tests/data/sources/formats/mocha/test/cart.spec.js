'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const { Cart, applyDiscount } = require('../../shared/cart');
const { bumpAttempt } = require('../../shared/flaky');

// mochawesome shows image contexts relative to its report; regen-format-fixtures.sh
// copies assets/screenshot.png there before the run. Other reporters ignore it.
let addContext = () => {};
if (process.env.MOCHAWESOME_CONTEXT) addContext = require('mochawesome/addContext');

describe('Cart', function () {
  it('adds items and updates the total', function () {
    const cart = new Cart();
    cart.add('apple', 120, 3);
    cart.add('pear', 80);
    console.log('cart lines:', [...cart.lines.keys()].join(','));
    addContext(this, { title: 'screenshot', value: 'attachments/screenshot.png' });
    addContext(this, 'order=1234 total=440');
    assert.equal(cart.total(), 440);
  });

  it('rejects a zero quantity', function () {
    assert.throws(() => new Cart().add('apple', 120, 0), /quantity must be positive/);
  });

  describe('discounts', function () {
    it('applies a 10% discount', function () {
      assert.equal(applyDiscount(2000, 10), 1800);
    });

    it.skip('gift wrapping', function () {
      throw new Error('never runs');
    });

    it('loyalty points');
  });

  it('payment gateway (flaky)', function () {
    this.retries(1);
    const attempt = bumpAttempt('mocha-payment-gateway');
    console.log(`payment gateway attempt ${attempt}`);
    assert.ok(attempt > 1, `gateway timed out on attempt ${attempt}`);
  });
});

describe('Inventory', function () {
  beforeEach(function () {
    throw new Error('inventory database unreachable at 127.0.0.1:5999');
  });

  it('reports the stock level', function () {
    assert.ok(true);
  });
});

describe('Checkout', function () {
  it('waits for the payment provider', async function () {
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual({ status: 'paid', total: 300 }, { status: 'paid', total: 300 });
  });
});
