// Package broken compiles, but its test file does not.
package broken

// Answer is 42.
func Answer() int { return 42 }
