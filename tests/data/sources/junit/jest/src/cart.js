function parsePrice(text) {
  return Number(String(text).trim().replace(/^\$/, ''));
}

function total(prices, discount = 0) {
  const sum = prices.reduce((acc, p) => acc + p, 0);
  return sum * (1 - discount);
}

module.exports = { parsePrice, total };
