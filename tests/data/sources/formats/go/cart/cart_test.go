package cart

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestAddUpdatesTotal(t *testing.T) {
	c := New()
	_ = c.Add("apple", 120, 3)
	_ = c.Add("pear", 80, 1)
	fmt.Println("cart has", len(c.lines), "lines")
	t.Logf("total is %d", c.Total())
	if got := c.Total(); got != 440 {
		t.Fatalf("Total() = %d, want 440", got)
	}
}

func TestRejectsZeroQuantity(t *testing.T) {
	if err := New().Add("apple", 120, 0); err == nil {
		t.Fatal("expected an error for quantity 0")
	}
}

func TestApplyDiscount(t *testing.T) {
	if got := ApplyDiscount(2000, 10); got != 1800 {
		t.Errorf("ApplyDiscount(2000, 10) = %d, want 1800", got)
	}
}

func TestGiftWrap(t *testing.T) {
	t.Skip("gift wrapping is not implemented yet")
}

func TestTotals(t *testing.T) {
	cases := []struct {
		name       string
		qty, price int
		want       int
	}{
		{"one cheese", 1, 250, 250},
		{"four cheeses", 4, 250, 1000},
		{"discounted/bulk", 10, 250, 2250},
	}
	for _, tc := range cases {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			_ = c.Add("cheese", tc.price, tc.qty)
			got := c.Total()
			if tc.qty >= 10 {
				got = ApplyDiscount(got, 10)
			}
			if got != tc.want {
				t.Errorf("total = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestPaymentGatewayFlaky fails on its first run and passes on the next one
// (-count=2): attempts are counted in a file under $FLAKY_DIR.
func TestPaymentGatewayFlaky(t *testing.T) {
	dir := os.Getenv("FLAKY_DIR")
	if dir == "" {
		t.Fatal("set FLAKY_DIR to an empty temporary directory")
	}
	path := filepath.Join(dir, "go-payment-gateway.count")
	n := 1
	if b, err := os.ReadFile(path); err == nil {
		prev, _ := strconv.Atoi(string(b))
		n = prev + 1
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(n)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("payment gateway attempt %d", n)
	if n < 2 {
		t.Fatalf("gateway timed out on attempt %d", n)
	}
}

func ExampleCart_Total() {
	c := New()
	_ = c.Add("bread", 300, 2)
	fmt.Println(c.Total())
	// Output: 600
}
