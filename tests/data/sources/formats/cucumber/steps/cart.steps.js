const assert = require('node:assert/strict');
const fs = require('node:fs');
const { Before, Given, When, Then } = require('@cucumber/cucumber');
const { Cart, applyDiscount } = require('../../shared/cart');
const { bumpAttempt, SCREENSHOT } = require('../../shared/flaky');

// Scenarios tagged @wip are reported as skipped.
Before({ tags: '@wip' }, function () {
  return 'skipped';
});

Given('an empty cart', function () {
  this.cart = new Cart();
  this.discount = 0;
});

When('I add {int} {string} at {int} cents', function (qty, sku, price) {
  this.cart.add(sku, price, qty);
});

When('I apply a {int}% discount', function (percent) {
  this.discount = percent;
});

Then('the total is {int} cents', function (expected) {
  const total = applyDiscount(this.cart.total(), this.discount);
  this.log(`total computed: ${total}`);
  assert.equal(total, expected);
});

Then('a receipt screenshot is attached', async function () {
  await this.attach(fs.readFileSync(SCREENSHOT), { mediaType: 'image/png', fileName: 'screenshot.png' });
  await this.attach(JSON.stringify({ order: 1234, total: this.cart.total() }), 'application/json');
});

When('I pay with voucher {string}', function (code) {
  return 'pending';
});

When('I ask for gift wrapping', function () {
  this.wrapping = true;
});

Then('the wrapping fee is {int} cents', function (fee) {
  assert.equal(150, fee);
});

Then('the payment gateway accepts the payment', function () {
  const attempt = bumpAttempt('cucumber-payment-gateway');
  console.log(`payment gateway attempt ${attempt}`);
  assert.ok(attempt > 1, `gateway timed out on attempt ${attempt}`);
});
