const { Cart } = require('../shared/cart');

test('checkout keeps the cart total', async () => {
  const cart = new Cart();
  cart.add('bread', 300);
  await new Promise((resolve) => setTimeout(resolve, 20));
  console.warn('slow payment provider');
  expect(cart.total()).toEqual(300);
});

test('receipt lists every line', () => {
  const cart = new Cart();
  cart.add('milk', 99, 2);
  expect([...cart.lines.entries()]).toEqual([['milk', [99, 3]]]);
});
