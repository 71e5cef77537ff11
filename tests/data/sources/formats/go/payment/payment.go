// Package payment charges a card; Charge panics on a nil card.
package payment

// Card is a payment card.
type Card struct{ Number string }

// Charge returns a receipt id for the amount.
func Charge(card *Card, cents int) string {
	return card.Number[len(card.Number)-4:] + "-ok"
}
