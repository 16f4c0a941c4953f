package smtp

import (
	"errors"
	"testing"
)

func TestMaskBase64Runs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"535 5.7.8 bad", "535 5.7.8 bad"},
		{"1234567", "1234567"},
		{"12345678", "<redacted>"},
		{"AUTH PLAIN AHVzAHBhc3M= x", "AUTH PLAIN <redacted> x"},
		{"a+b/cdefgh==, ok", "<redacted>, ok"},
		{"<redacted> <redacted>", "<redacted> <redacted>"},
		{"redacted", "<redacted>"},
		{"<redactedX>", "<<redacted>>"},
		{"user@example.com", "user@example.com"},
		{"5.7.8 Authentication failed", "5.7.8 <redacted> failed"},
	} {
		if got := maskBase64Runs(tc.in); got != tc.want {
			t.Errorf("maskBase64Runs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCheckSecret(t *testing.T) {
	for _, tc := range []struct {
		pass string
		ok   bool
	}{
		{"", false},
		{"a", false},
		{"ab", false},
		{"é", false}, // two octets
		{"abc", true},
		{"€", true}, // three octets
		{"Correct-Horse-9876", true},
	} {
		err := CheckSecret(tc.pass)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrShortSecret) {
			t.Errorf("CheckSecret(%q) = %v, want ok %v", tc.pass, err, tc.ok)
		}
	}
	if got := Redact("ab said ab", "ab"); got != "ab said ab" {
		t.Errorf("Redact of a two-octet secret = %q; it is refused by CheckSecret, not redacted", got)
	}
}
