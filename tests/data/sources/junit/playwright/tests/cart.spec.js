// A tiny suite whose JUnit XML report is a golden fixture for caserun's parser.
// Run only through scripts/regen-junit-fixtures.sh. Some tests fail on purpose.
const path = require('node:path');
const { test, expect } = require('@playwright/test');

function total(prices, discount = 0) {
  return prices.reduce((acc, p) => acc + p, 0) * (1 - discount);
}

test.describe('cart', () => {
  test('adds up prices', async () => {
    test.info().annotations.push({ type: 'requirement', description: 'REQ-101' });
    expect(total([1, 2, 3])).toBe(6);
  });

  test('applies a discount', async () => {
    await test.step('compute total', async () => {
      expect(total([10, 5], 0.1)).toBe(13);
    });
  });

  test('throws on a bad price', async () => {
    const basket = null;
    total(basket.items);
  });

  test('supports currencies', async () => {
    test.skip(true, 'currencies are not implemented yet');
  });

  test.fixme('rounds to cents', async () => {});

  test('known bug: negative totals', async () => {
    test.fail(true, 'bug #42');
    expect(total([-1])).toBeGreaterThan(0);
  });

  test('passes on the second attempt', async ({}, testInfo) => {
    console.log(`attempt ${testInfo.retry + 1}`);
    expect(testInfo.retry, 'first attempt always fails').toBeGreaterThan(0);
  });

  test('writes output and attaches a screenshot', async ({}, testInfo) => {
    console.log('to stdout: hello');
    console.error('to stderr: careful');
    await testInfo.attach('screenshot', {
      path: path.join(__dirname, '..', '..', '..', '..', 'reports', 'junit', 'attachments', 'screenshot.png'),
      contentType: 'image/png',
    });
  });
});
