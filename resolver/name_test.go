package resolver

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNormalizeDomain(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"Example.COM.", "example.com", ""},
		{"  mail.example.com ", "mail.example.com", ""},
		{"bücher.example", "xn--bcher-kva.example", ""},
		{"_dmarc.example.com", "_dmarc.example.com", ""},
		{"s1._domainkey.example.com", "s1._domainkey.example.com", ""},
		{"", "", "empty"},
		{"203.0.113.5", "", "is an IP address"},
		{"0.0.0.0.", "", "is an IP address"},
		{"203.0.113", "", "all digits"},
		{"\xc0", "", "not valid UTF-8"},
		{"[2001:db8::1]", "", "is an IP address"},
		{"a..b", "", "empty label"},
		{"-a.example", "", "hyphen"},
		{"a b.example", "", "not a valid domain"},
		{"exa$mple.com", "", "not a valid domain"},
		{strings.Repeat("a", 64) + ".com", "", "longer than 63"},
		{strings.Repeat("abcdefghi.", 26) + "com", "", "longer than 253"},
	}
	for _, tt := range tests {
		got, err := NormalizeDomain(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NormalizeDomain(%q) = %q, %v; want error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseIP(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.5":      "203.0.113.5",
		" 2001:DB8::5 ":    "2001:db8::5",
		"[2001:db8::5]":    "2001:db8::5",
		"::ffff:192.0.2.1": "::ffff:192.0.2.1",
		"203.0.113":        "",
		"fe80::1%eth0":     "",
		"mail.example.com": "",
	} {
		ip, err := ParseIP(in)
		if want == "" {
			if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(in)) {
				t.Errorf("ParseIP(%q) = %v, %v; want an error naming the input", in, ip, err)
			}
			continue
		}
		if err != nil || ip.String() != want {
			t.Errorf("ParseIP(%q) = %v, %v; want %s", in, ip, err, want)
		}
	}
}

func TestReverseName(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.5":   "5.113.0.203.in-addr.arpa",
		"2001:db8::567": "7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
		// v4-mapped stays 32 nibbles (RFC 5782 §2.4 test point ::FFFF:7F00:2).
		"::ffff:127.0.0.2": "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
	} {
		if got := ReverseName(netip.MustParseAddr(in)); got != want {
			t.Errorf("ReverseName(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestParseServer(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":        "127.0.0.1:53",
		"127.0.0.1:5300":   "127.0.0.1:5300",
		"::1":              "[::1]:53",
		"[::1]:5300":       "[::1]:5300",
		"[::1]":            "[::1]:53",
		"[::1:53]":         "[::1:53]:53",
		"2001:db8::53":     "[2001:db8::53]:53",
		"::1:53":           "", // ::1 port 53, or the address ::1:53? (issue #16)
		"fe80::1:5353":     "",
		"[127.0.0.1]":      "",
		"[::1":             "",
		"dns.example.com":  "",
		"127.0.0.1:0":      "",
		"127.0.0.1:999999": "",
	} {
		got, err := ParseServer(in)
		if want == "" {
			if err == nil || !strings.Contains(err.Error(), in) {
				t.Errorf("ParseServer(%q) = %q, %v; want an error naming it", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ParseServer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
