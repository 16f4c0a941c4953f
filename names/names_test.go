package names

import "testing"

func TestParseHost(t *testing.T) {
	for _, tt := range []struct {
		in, str, ehlo string
		literal, qual bool
	}{
		{"Mail.Example.COM.", "mail.example.com", "mail.example.com", false, true},
		{"[203.0.113.5]", "[203.0.113.5]", "[203.0.113.5]", true, false},
		{"203.0.113.5", "203.0.113.5", "[203.0.113.5]", true, false},
		{"[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", true, false},
		{"localhost", "localhost", "localhost", false, false},
		{"mail.bücher.example", "mail.xn--bcher-kva.example", "mail.xn--bcher-kva.example", false, true},
	} {
		h, err := ParseHost(tt.in)
		if err != nil || h.String() != tt.str || h.EHLO() != tt.ehlo || h.IsLiteral() != tt.literal || h.Qualified() != tt.qual {
			t.Errorf("ParseHost(%q) = %q/%q literal %v qualified %v, %v", tt.in, h, h.EHLO(), h.IsLiteral(), h.Qualified(), err)
		}
	}
	if _, err := ParseHost("bad..name"); err == nil {
		t.Error("ParseHost(bad..name): no error")
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
