package checkout

import "testing"

func TestChargeValidCard(t *testing.T) {
	if got := Charge(&Card{Number: "4111111111111111"}); got != "1111" {
		t.Errorf("Charge() = %q", got)
	}
}

func TestChargeNilCard(t *testing.T) {
	Charge(nil)
}
