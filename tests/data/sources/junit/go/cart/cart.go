// Package cart is a tiny package whose test report is a golden fixture for caserun's parser.
package cart

import (
	"strconv"
	"strings"
)

// ParsePrice reads a price like "$1.50".
func ParsePrice(text string) (float64, error) {
	return strconv.ParseFloat(strings.TrimPrefix(strings.TrimSpace(text), "$"), 64)
}

// Total adds up prices and applies a discount.
func Total(prices []float64, discount float64) float64 {
	sum := 0.0
	for _, p := range prices {
		sum += p
	}
	return sum * (1 - discount)
}
