// A tiny suite whose JUnit XML report is a golden fixture for caserun's parser.
// Run only through scripts/regen-junit-fixtures.sh. Some tests fail on purpose.
const assert = require('node:assert/strict');

function total(prices, discount = 0) {
  return prices.reduce((acc, p) => acc + p, 0) * (1 - discount);
}

let flakyAttempts = 0;

describe('cart', function () {
  it('adds up prices', function () {
    assert.equal(total([1, 2, 3]), 6);
  });

  it('applies a discount', function () {
    assert.equal(total([10, 5], 0.1), 13);
  });

  it('throws on a bad price', function () {
    const basket = null;
    total(basket.items);
  });

  it.skip('supports currencies', function () {});

  it('rounds to cents');

  it('skips itself at run time', function () {
    this.skip();
  });

  it('passes on the second attempt', function () {
    this.retries(1);
    flakyAttempts += 1;
    assert.ok(flakyAttempts > 1, 'first attempt always fails');
  });

  it('records output and an attachment', function () {
    // mocha-junit-reporter writes what the test puts in these arrays (options outputs, attachments).
    this.test.consoleOutputs = ['to stdout: hello'];
    this.test.consoleErrors = ['to stderr: careful'];
    this.test.attachments = ['attachments/screenshot.png'];
  });

  describe('parsePrice', function () {
    for (const [text, expected] of [['$1.50', 1.5], ['3,5', 3.5]]) {
      it(`parses ${text}`, function () {
        assert.equal(Number(text.replace(/^\$/, '')), expected);
      });
    }
  });
});

describe('checkout', function () {
  before(function () {
    throw new Error('payment gateway stub did not start');
  });

  it('charges the card', function () {
    assert.equal(total([1]), 1);
  });
});
