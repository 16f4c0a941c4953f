package names

import (
	"strings"
	"testing"
)

// FuzzParse: the parsers never panic, and what they accept is safe to
// put on the SMTP wire: no control character, no unbalanced brackets,
// within the lengths of RFC 5321; a second parse of the output gives the
// same value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"a@bücher.example", "[IPv6:2001:db8::1]", "[203.0.113.5]", "20230601", `"a b"@example.com`, "a\r\n@x", "mail.example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if h, err := ParseHost(s); err == nil && !h.IsZero() {
			wire := h.EHLO()
			if strings.ContainsAny(wire, "\r\n\x00 <>") || len(wire) > 255 {
				t.Fatalf("ParseHost(%q) gives EHLO %q", s, wire)
			}
			if h2, err := ParseHost(wire); err != nil || h2 != h {
				t.Fatalf("ParseHost(%q) = %q, reparsed %q, %v", s, wire, h2, err)
			}
		}
		if a, err := ParseSender(s); err == nil && !a.IsZero() {
			wire := a.String()
			if strings.ContainsAny(wire, "\r\n\x00<>") || len(wire) > maxPath {
				t.Fatalf("ParseSender(%q) gives %q", s, wire)
			}
			if a2, err := ParseSender(wire); err != nil || a2 != a {
				t.Fatalf("ParseSender(%q) = %q, reparsed %q, %v", s, wire, a2, err)
			}
		}
		if sel, err := ParseSelector(s); err == nil {
			if strings.ContainsAny(string(sel), "\r\n\x00 ;=") {
				t.Fatalf("ParseSelector(%q) = %q", s, sel)
			}
		}
	})
}
