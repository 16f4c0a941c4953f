package spf

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	env := MacroEnv{
		Sender: "strong-bad@email.example.com", Domain: "email.example.com",
		IP: netip.MustParseAddr("192.0.2.3"), HELO: "mx.example.org",
		Now: time.Unix(1234567890, 0),
	}
	v6 := env
	v6.IP = netip.MustParseAddr("2001:db8::cb01")
	// The examples of RFC 7208 §7.4.
	tests := []struct {
		env  MacroEnv
		in   string
		want string
		exp  bool
	}{
		{env, "%{s}", "strong-bad@email.example.com", false},
		{env, "%{o}", "email.example.com", false},
		{env, "%{d}", "email.example.com", false},
		{env, "%{d4}", "email.example.com", false},
		{env, "%{d3}", "email.example.com", false},
		{env, "%{d2}", "example.com", false},
		{env, "%{d1}", "com", false},
		{env, "%{dr}", "com.example.email", false},
		{env, "%{d2r}", "example.email", false},
		{env, "%{l}", "strong-bad", false},
		{env, "%{l-}", "strong.bad", false},
		{env, "%{lr}", "strong-bad", false},
		{env, "%{lr-}", "bad.strong", false},
		{env, "%{l1r-}", "strong", false},
		{env, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com", false},
		{env, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com", false},
		{env, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com", false},
		{env, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com", false},
		{env, "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net", false},
		{v6, "%{ir}.%{v}._spf.%{d2}", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com", false},
		{env, "%%%_%-", "% %20", false},
		{env, "%{c} at %{t} from %{h}", "192.0.2.3 at 1234567890 from mx.example.org", true},
		{env, "%{L}", "strong-bad", false},
		{MacroEnv{Sender: "a&b@x.example"}, "%{L}", "a%26b", false},
		{MacroEnv{Sender: "@x.example"}, "%{l}", "postmaster", false},
	}
	for _, tt := range tests {
		got, err := Expand(tt.in, tt.env, tt.exp)
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := Expand("%{c}", env, false); !errors.Is(err, ErrExpOnlyMacro) {
		t.Errorf("c macro outside exp: error %v, want %v", err, ErrExpOnlyMacro)
	}
	long := strings.Repeat("abcdefghi.", 30) + "example.com"
	if got, _ := Expand(long, env, false); len(got) > 253 || !strings.HasSuffix(got, ".example.com") {
		t.Errorf("not truncated from the left: %d octets", len(got))
	}
}
