package resolver

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// FuzzParseZone: any zone text is parsed or refused with an error, never
// a panic; a parsed zone answers any question.
func FuzzParseZone(f *testing.F) {
	for _, s := range []string{
		"$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\n@ MX 10 mail\nmail A 203.0.113.5\n*.w TXT \"x\"\na CNAME b\n",
		"example.test. SOA ns hm 1 1 1 1 1\n",
		"$ORIGIN x.\n$INCLUDE /etc/passwd\n",
		"$ORIGIN x.\n@ TXT \"" + strings.Repeat("a", 300) + "\"\n",
		"$ORIGIN x.\n@ SOA ( ns hm\n 1 1 1 1 1 )\n",
	} {
		f.Add(s, "mail.example.test", uint16(dns.TypeA))
	}
	f.Fuzz(func(t *testing.T, text, name string, qtype uint16) {
		z, err := ParseZone(strings.NewReader(text), "fuzz.zone")
		if err != nil {
			return
		}
		if _, ok := canonicalEscapes(fqdn(name)); ok && z.Contains(name) {
			z.Lookup(name, qtype)
		}
	})
}

// FuzzNormalizeDomain: what it accepts is idempotent.
func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{"Example.COM.", "bücher.example", "_dmarc.example.com", "a..b", "xn--", "203.0.113.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeDomain(s)
		if err != nil {
			return
		}
		if n2, err := NormalizeDomain(n); err != nil || n2 != n {
			t.Fatalf("NormalizeDomain(%q) = %q, then %q, %v", s, n, n2, err)
		}
	})
}

// FuzzValidName: the fast check of a name agrees with the wire format's.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"example.com.", "a..b.", ".", ".a.", strings.Repeat("a", 63) + ".", strings.Repeat("a", 64) + ".", strings.Repeat("abcdefg.", 31) + "ab.", strings.Repeat("abcdefg.", 32), `a\.b.`, "x y.", "\x00.", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		name = fqdn(name)
		_, want := canonicalEscapes(name)
		if got := validName(name); got != want {
			t.Errorf("validName(%q) = %v, the wire format says %v", name, got, want)
		}
	})
}
