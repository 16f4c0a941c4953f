package spf

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		record  string
		errs    int    // syntax errors expected
		errHas  string // in the first error
		queries int
	}{
		{"v=spf1 -all", 0, "", 0},
		{"v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 include:_spf.example.com mx a:mail.example.com/28//64 ptr exists:%{i}.bl.example.com redirect=example.net", 0, "", 6},
		{"V=SPF1 IP4:203.0.113.5 -ALL", 0, "", 0},
		{"v=spf1 ip4:203.0.113.5 bogus -all", 1, `unknown mechanism "bogus"`, 0},
		{"v=spf1 ip4:203.0.113.5 ipv4:198.51.100.7 -all", 1, `unknown mechanism "ipv4"`, 0},
		{"v=spf1 ip4:203.0.113.300 -all", 1, "not an IP address", 0},
		{"v=spf1 ip4:2001:db8::1 -all", 1, "not an IPv4 address", 0},
		{"v=spf1 ip6:203.0.113.5 -all", 1, "not an IPv6 address", 0},
		{"v=spf1 ip4:203.0.113.0/33 -all", 1, "not 0 to 32", 0},
		{"v=spf1 ip4:203.0.113.0/024 -all", 1, "bad CIDR length", 0},
		{"v=spf1 a/129 -all", 1, "", 0}, // a term with an error is not counted
		{"v=spf1 include -all", 1, "needs", 0},
		{"v=spf1 include:example -all", 1, "fully qualified", 0},
		{"v=spf1 a:example.123 -all", 1, "all digits", 0},
		{"v=spf1 all:x", 1, "no argument", 0},
		{"v=spf1 redirect=a.example redirect=b.example", 1, "twice", 2},
		{"v=spf1 exp=a.example exp=b.example -all", 1, "twice", 0},
		{"v=spf1 exists:%{x}.example.com -all", 1, "unknown macro letter", 0},
		{"v=spf1 exists:%{c}.example.com -all", 1, "only in exp", 0},
		{"v=spf1 exists:%{i0}.example.com -all", 1, "0 labels", 0},
		{"v=spf1 a:foo%bar.example.com -all", 1, "invalid macro", 0},
		{"v=spf1 a:foo:bar/baz.example.com", 0, "", 1},        // '/' is a macro-literal
		{"v=spf1 moo.cow=far%{d}.example.com -all", 0, "", 0}, // unknown modifier: ignored
		{"v=spf1 moo.cow=far%x -all", 1, "unknown modifier", 0},
		{"v=spf1 a:exämple.com -all", 2, "7-bit", 0},
		{"v=spf1  ip4:203.0.113.5  -all ", 0, "", 0},
		{"v=spf10 -all", 1, "does not start", 0},
	}
	for _, tt := range tests {
		r := Parse(tt.record)
		if len(r.Errors) != tt.errs {
			t.Errorf("Parse(%q): %d errors %v, want %d", tt.record, len(r.Errors), r.Errors, tt.errs)
			continue
		}
		if tt.errs > 0 && !strings.Contains(r.Errors[0].Error(), tt.errHas) {
			t.Errorf("Parse(%q): error %q, want it to say %q", tt.record, r.Errors[0], tt.errHas)
		}
		if q := r.QueryTerms(); q != tt.queries {
			t.Errorf("Parse(%q): %d querying terms, want %d", tt.record, q, tt.queries)
		}
	}
}

func TestIsSPF(t *testing.T) {
	for txt, want := range map[string]bool{
		"v=spf1": true, "v=spf1 -all": true, "V=SPF1 -all": true,
		"v=spf10 -all": false, "v=spf2.0/pra -all": false, "spf1": false, "": false,
	} {
		if got := IsSPF(txt); got != want {
			t.Errorf("IsSPF(%q) = %v", txt, got)
		}
	}
}

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
	if _, err := Expand("%{c}", env, false); err == nil {
		t.Error("c macro outside exp: no error")
	}
	long := strings.Repeat("abcdefghi.", 30) + "example.com"
	if got, _ := Expand(long, env, false); len(got) > 253 || !strings.HasSuffix(got, ".example.com") {
		t.Errorf("not truncated from the left: %d octets", len(got))
	}
}
