package dmarc

import (
	"slices"
	"testing"
)

// FuzzParseDMARC: any text parses without panic; it is a record exactly
// when IsRecord says so; a record's policy, when one applies, is one of
// the three, and PCT is a percentage or -1.
func FuzzParseDMARC(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=reject", "v=DMARC1;p=none;sp=quarantine;pct=50;rua=mailto:a@example.com,mailto:b@example.net!10m;ruf=mailto:c@example.org;fo=1:d;ri=3600;adkim=s;aspf=r",
		"v=DMARC1", "p=none; v=DMARC1", "v=DMARC1; p=none; rua=mailto:", "v=DMARC1; p=none; pct=-1",
		"V = DMARC1 ; P = Reject ; np=reject; psd=y; t=y", "v=DMARC10; p=reject", "v=DMARC1; rua=https://r.example/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if (err == nil) != IsRecord(s) {
			t.Fatalf("Parse error %v but IsRecord %v: %q", err, IsRecord(s), s)
		}
		if err != nil {
			return
		}
		for _, role := range []Role{Own, Subdomain, NonExistent} {
			if p, _, ok := r.Policy(role); ok && !slices.Contains([]string{None, Quarantine, Reject}, r.Applied(p)) {
				t.Fatalf("policy %q: %q", p, s)
			}
		}
		if r.PCT < -1 || r.PCT > 100 {
			t.Fatalf("pct %d: %q", r.PCT, s)
		}
	})
}
