import { describe, expect, test } from 'vitest';
import { Cart, applyDiscount } from '../shared/cart';
import { bumpAttempt, SCREENSHOT } from '../shared/flaky';

describe('Cart', () => {
  test('adds items and updates the total', async ({ annotate }) => {
    const cart = new Cart();
    cart.add('apple', 120, 3);
    cart.add('pear', 80);
    console.log('cart lines:', [...cart.lines.keys()].join(','));
    await annotate('receipt screenshot', 'attachment', { path: SCREENSHOT, contentType: 'image/png' });
    expect(cart.total()).toBe(440);
  });

  test.each([
    [1, 250],
    [4, 1000],
  ])('total for %i cheeses is %i', (qty, expected) => {
    const cart = new Cart();
    cart.add('cheese', 250, qty);
    expect(cart.total()).toBe(expected);
  });

  describe('discounts', () => {
    test('applies a 10% discount', () => {
      console.error('discount service answered slowly');
      expect(applyDiscount(2000, 10)).toBe(1800);
    });

    test.skip('gift wrapping', () => {
      throw new Error('never runs');
    });

    test.todo('loyalty points');
  });
});

test('payment gateway (flaky)', () => {
  const attempt = bumpAttempt('vitest-payment-gateway');
  console.log(`payment gateway attempt ${attempt}`);
  expect(attempt).toBeGreaterThan(1);
});
