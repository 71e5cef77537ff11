// Package checkout has a test that panics, which ends its test binary.
package checkout

// Card is a payment card.
type Card struct{ Number string }

// Charge returns the last four digits of the card it charged.
func Charge(c *Card) string {
	return c.Number[len(c.Number)-4:]
}
