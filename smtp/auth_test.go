package smtp

import (
	"encoding/base64"
	"errors"
	"strings"
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
		{"redacted", "redacted"}, // a word
		{"<redactedX>", "<<redacted>>"},
		{"235 2.7.0 Authentication successful", "235 2.7.0 Authentication successful"},
		{"535 BADCREDENTIALS", "535 BADCREDENTIALS"},
		{"aGVsbG8gd29y", "<redacted>"},
		{"AbcdefgH", "<redacted>"},
		{"user@example.com", "user@example.com"},
		{"5.7.8 Authentication failed", "5.7.8 Authentication failed"},
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
	// A control character: a two-line password file, a pasted escape. A
	// server echoing "line1\nline2" splits it into two reply lines, and
	// neither is the whole secret Redact looks for.
	for _, tc := range []struct {
		pass string
		ok   bool
	}{
		{"line1secret\nline2secret", false},
		{"secret\r\nmore", false},
		{"sec\tret", false},
		{"sec\x1b[31mret", false},
		{"sec\x7fret", false},
		{"pässwörd-ok", true},
	} {
		err := CheckSecret(tc.pass)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrControlSecret) {
			t.Errorf("CheckSecret(%q) = %v, want ok %v", tc.pass, err, tc.ok)
		}
	}
	if got := Redact("ab said ab", "ab"); got != "ab said ab" {
		t.Errorf("Redact of a two-octet secret = %q; it is refused by CheckSecret, not redacted", got)
	}
}

// Redact finds the password's base64 at each of the three alignments it
// can have inside a longer encoding (SASL PLAIN's "\0user\0pass").
func TestRedactEveryAlignment(t *testing.T) {
	const pass = "hunterhunter2"
	for _, user := range []string{"u", "us", "usr", "user@x.test"} {
		blob := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
		got := Redact("535 echo "+blob, pass)
		if !strings.Contains(got, "<redacted>") {
			t.Errorf("user %q: %q not redacted", user, got)
		}
	}
}

// A server that echoes the password in another letter case (an
// upper-casing relay) does not get it printed (r1's review).
func TestRedactAnyCase(t *testing.T) {
	const pass = "Correct-Horse-9876"
	for _, in := range []string{"535 bad CORRECT-HORSE-9876", "535 correct-horse-9876 and Correct-Horse-9876", "CoRrEcT-HoRsE-9876"} {
		got := Redact(in, pass)
		if strings.Contains(strings.ToLower(got), strings.ToLower(pass)) {
			t.Errorf("Redact(%q) = %q", in, got)
		}
	}
	if got := Redact("nothing here", pass); got != "nothing here" {
		t.Errorf("Redact changed %q", got)
	}
}
