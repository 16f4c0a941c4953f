package names

import (
	"strings"
	"testing"
)

func TestParseHost(t *testing.T) {
	for _, tt := range []struct {
		in, str, ehlo string
		literal, qual bool
	}{
		{"Mail.Example.COM.", "mail.example.com", "mail.example.com", false, true},
		{"[203.0.113.5]", "[203.0.113.5]", "[203.0.113.5]", true, false},
		{"203.0.113.5", "[203.0.113.5]", "[203.0.113.5]", true, false},
		{"[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", true, false},
		{"[ipv6:2001:DB8::1]", "[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", true, false},
		{"2001:db8::1", "[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", true, false},
		{"localhost", "localhost", "localhost", false, false},
		{"mail.bücher.example", "mail.xn--bcher-kva.example", "mail.xn--bcher-kva.example", false, true},
	} {
		h, err := ParseHost(tt.in)
		if err != nil || h.String() != tt.str || h.EHLO() != tt.ehlo || h.IsLiteral() != tt.literal || h.Qualified() != tt.qual {
			t.Errorf("ParseHost(%q) = %q/%q literal %v qualified %v, %v", tt.in, h, h.EHLO(), h.IsLiteral(), h.Qualified(), err)
		}
	}
	for _, bad := range []string{"bad..name", "[203.0.113.5", "203.0.113.5]", "[IPv6:2001:db8::1%<x>]", "fe80::1%eth0",
		"[IPv6:203.0.113.5]", "[2001:db8::1]", "[1.2.3.4] x", "[[1.2.3.4]]", "[IPv6:2001:db8::1%\r\nX]"} {
		if h, err := ParseHost(bad); err == nil {
			t.Errorf("ParseHost(%q) = %q, want an error", bad, h)
		}
	}
}

func TestParseAddress(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		utf8     bool
		bad      bool
	}{
		{"a@bücher.example", "a@xn--bcher-kva.example", false, false},
		{"Bounce@Example.COM", "Bounce@example.com", false, false},
		{"jörg@example.com", "jörg@example.com", true, false},
		{`"a b"@example.com`, `"a b"@example.com`, false, false},
		{"a@b@c", "", false, true},
		{"no-at", "", false, true},
		{"@example.com", "", false, true},
		{"a\r\nRCPT TO:<x@y>@example.com", "", false, true},
		{"a>@example.com", "", false, true},
		{"a@exa mple.com", "", false, true},
		{".a@example.com", "", false, true},
		{"a..b@example.com", "", false, true},
		{"a.@example.com", "", false, true},
		{"a@ex_ample.com", "", false, true},
		{`"a..b"@example.com`, `"a..b"@example.com`, false, false},
		{`"a"b"@example.com`, "", false, true},
		{"a.b+tag@example.com", "a.b+tag@example.com", false, false},
	} {
		a, err := ParseAddress(tt.in)
		if (err != nil) != tt.bad || !tt.bad && (a.String() != tt.want || a.NeedsSMTPUTF8() != tt.utf8) {
			t.Errorf("ParseAddress(%q) = %q utf8 %v, %v", tt.in, a, a.NeedsSMTPUTF8(), err)
		}
	}
	d, err := ParseSender("Example.COM")
	if err != nil || !d.IsDomain() || d.Sender().String() != "postmaster@example.com" {
		t.Errorf("ParseSender(Example.COM) = %q, sender %q, %v", d, d.Sender(), err)
	}
}

func TestParseSelector(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		bad      bool
	}{
		{"20230601", "20230601", false},
		{"S1", "s1", false},
		{"sel_2.eu", "sel_2.eu", false},
		{"-x", "", true},
		{"a..b", "", true},
		{"a b", "", true},
		{"", "", true},
	} {
		s, err := ParseSelector(tt.in)
		if (err != nil) != tt.bad || string(s) != tt.want {
			t.Errorf("ParseSelector(%q) = %q, %v", tt.in, s, err)
		}
	}
}

func TestQuoteCutsLongInput(t *testing.T) {
	long := strings.Repeat("é", 100)
	q := Quote(long)
	if len(q) > 100 || !strings.Contains(q, "(200 octets)") {
		t.Errorf("Quote of 200 octets = %s", q)
	}
	if _, err := ParseSelector("ünï"); err == nil || !strings.Contains(err.Error(), `'ü'`) {
		t.Errorf("ParseSelector(ünï): %v, want the rune named", err)
	}
}
