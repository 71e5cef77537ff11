// node-tap test file; `tap --reporter=tap` prints the raw TAP stream.
const t = require('tap');
const { Cart, applyDiscount } = require('../../shared/cart');

t.test('Cart', async (t) => {
  t.test('adds items and updates the total', async (t) => {
    const cart = new Cart();
    cart.add('apple', 120, 3);
    cart.add('pear', 80);
    t.comment(`cart lines: ${[...cart.lines.keys()].join(',')}`);
    t.equal(cart.total(), 440, 'total is 440 cents');
  });

  t.test('rejects a zero quantity', async (t) => {
    t.throws(() => new Cart().add('apple', 120, 0), /quantity must be positive/);
  });

  t.test('discounts', async (t) => {
    t.equal(applyDiscount(2000, 10), 1800, 'applies a 10% discount');
    t.skip('gift wrapping', { skip: 'gift wrapping is not implemented yet' });
    t.todo('loyalty points');
  });
});

t.test('checkout', async (t) => {
  const cart = new Cart();
  cart.add('milk', 99, 2);
  console.log('checkout finished');
  t.same([...cart.lines.entries()], [['milk', [99, 3]]], 'lists every receipt line');
});
