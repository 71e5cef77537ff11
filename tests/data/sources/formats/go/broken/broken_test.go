package broken

import "testing"

func TestAnswer(t *testing.T) {
	if Answer() != expectedAnswer { // compile error: undefined: expectedAnswer
		t.Fail()
	}
}
