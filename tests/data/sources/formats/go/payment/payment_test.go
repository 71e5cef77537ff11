package payment

import "testing"

func TestChargeReturnsReceipt(t *testing.T) {
	if got := Charge(&Card{Number: "4242424242424242"}, 440); got != "4242-ok" {
		t.Fatalf("Charge() = %q", got)
	}
}

func TestChargeWithoutCard(t *testing.T) {
	t.Log("charging without a card")
	Charge(nil, 440) // nil pointer dereference: the test binary panics
}

func TestRefund(t *testing.T) {
	t.Log("never runs: the panic above ends the test binary")
}
