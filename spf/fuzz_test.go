package spf

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzParse: any TXT string parses without panic; a valid record's terms
// are what it says, and counting lookups stays within the term count.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"v=spf1 -all", "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 include:_spf.example.com ~all",
		"v=spf1 a:%{d}/24//64 mx:%{ir}.%{v}._spf.%{d2} exists:%{l1r-}.x.example redirect=example.net",
		"v=spf1 ip4:203.0.113.5 bogus -all", "v=spf1 a:foo:bar/baz.example.com", "v=spf1 exp=%{c}.x",
		"v=spf1 moo.cow=far%{d}", "v=spf1 %%%_%-", "v=spf1 a/", "v=spf1 ip6:::1/129",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := Parse(s)
		if r.Valid() && !IsSPF(s) {
			t.Fatalf("valid but not SPF: %q", s)
		}
		if q := r.QueryTerms(); q > len(r.Terms) {
			t.Fatalf("%d querying terms of %d", q, len(r.Terms))
		}
		for _, term := range r.Terms {
			if !strings.Contains(s, term.Raw) {
				t.Fatalf("term %q not in %q", term.Raw, s)
			}
		}
	})
}

// FuzzExpand: macro expansion never panics, and what it accepts parses
// as a macro-string.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"%{s}", "%{ir}.%{v}._spf.%{d2}", "%{l1r-}", "%{L}", "%{c} %{t} %{r}", "%%%_%-", "%{", "%{d0}", "%{x}"} {
		f.Add(s, true)
	}
	env := MacroEnv{Sender: "a.b-c@mail.example.com", Domain: "example.com", IP: netip.MustParseAddr("2001:db8::1"), HELO: "h.example.com", Now: time.Unix(1, 0)}
	f.Fuzz(func(t *testing.T, s string, exp bool) {
		out, err := Expand(s, env, exp)
		name := strings.TrimSuffix(out, ".") // 253 octets without the final dot
		if err == nil && !exp && len(name) > 253 && strings.Contains(name, ".") {
			t.Fatalf("domain of %d octets not truncated: %q", len(out), s)
		}
	})
}
