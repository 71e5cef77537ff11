// Package cart is a tiny shopping cart: the code under test.
package cart

import "fmt"

type line struct{ price, qty int }

// Cart holds priced lines by SKU.
type Cart struct{ lines map[string]line }

// New returns an empty cart.
func New() *Cart { return &Cart{lines: map[string]line{}} }

// Add adds qty items of sku at price cents.
func (c *Cart) Add(sku string, price, qty int) error {
	if qty <= 0 {
		return fmt.Errorf("quantity must be positive, got %d", qty)
	}
	l := c.lines[sku]
	c.lines[sku] = line{price: price, qty: l.qty + qty}
	return nil
}

// Total is the sum of price*qty over all lines.
func (c *Cart) Total() int {
	sum := 0
	for _, l := range c.lines {
		sum += l.price * l.qty
	}
	return sum
}

// ApplyDiscount has a deliberate bug: it divides by 1000 instead of 100.
func ApplyDiscount(total, percent int) int {
	return total - total*percent/1000
}
