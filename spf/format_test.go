package spf

import (
	"net/netip"
	"testing"
)

func TestFormatRoundTrip(t *testing.T) {
	for _, rec := range []string{
		"v=spf1 -all",
		"v=spf1 ip4:203.0.113.0/24 +include:_spf.example.com ~mx a:mail.example.com/28//64 redirect=example.net exp=explain.example.com",
		"v=spf1",
	} {
		r := Parse(rec)
		if got := Format(r.Terms); got != rec {
			t.Errorf("Format(Parse(%q)) = %q", rec, got)
		}
	}
	// Terms the parser refused are left out.
	if got := Format(Parse("v=spf1 ipv4:198.51.100.7 ip4:203.0.113.5  -all").Terms); got != "v=spf1 ip4:203.0.113.5 -all" {
		t.Errorf("got %q", got)
	}
}

func TestTermHelpers(t *testing.T) {
	ip := netip.MustParseAddr("203.0.113.5")
	if got := IPTerm(ip).Raw; got != "ip4:203.0.113.5" {
		t.Errorf("IPTerm v4: %q", got)
	}
	if got := IPTerm(netip.MustParseAddr("::ffff:203.0.113.5")).Raw; got != "ip4:203.0.113.5" {
		t.Errorf("IPTerm mapped: %q", got)
	}
	if got := IPTerm(netip.MustParseAddr("2001:db8::5")).Raw; got != "ip6:2001:db8::5" {
		t.Errorf("IPTerm v6: %q", got)
	}
	a, _ := NewTerm("+IP4:203.0.113.0/24")
	b, _ := NewTerm("ip4:203.0.113.0/24")
	c, _ := NewTerm("-ip4:203.0.113.0/24")
	if !a.Same(b) || a.Same(c) {
		t.Errorf("Same: %v %v", a.Same(b), a.Same(c))
	}
	if !a.Allows(ip) || c.Allows(ip) || a.Allows(netip.MustParseAddr("198.51.100.1")) {
		t.Error("Allows")
	}
	all, _ := NewTerm("+all")
	if got := all.WithQualifier('~'); got.Raw != "~all" || got.Qualifier != '~' {
		t.Errorf("WithQualifier: %+v", got)
	}
}
