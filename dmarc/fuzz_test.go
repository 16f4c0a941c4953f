package dmarc

import (
	"slices"
	"testing"
)

// FuzzParseDMARC: any text parses without panic; it is a record exactly
// when IsRecord says so; a record's policy, when one applies, is one of
// the three, and PCT is a percentage or -1. The record a fix builds
// from it (Mended, Format) is a record receivers read whole: nothing in
// it is invalid or unknown. So is the one Meant makes of any text.
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
		if m := Meant(s); !m.Mended().readWhole() {
			t.Fatalf("Meant(%q).Mended() = %q: %v", s, m.Mended().Format(), m.Mended().reread().Problems)
		}
		if err != nil {
			return
		}
		if !r.Mended().readWhole() {
			t.Fatalf("Mended(%q) = %q: %v", s, r.Mended().Format(), r.Mended().reread().Problems)
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

// reread parses the record's Format.
func (r Record) reread() Record {
	f, _ := Parse(r.Format())
	return f
}

// readWhole: Format gives a record with no invalid or unknown tag.
func (r Record) readWhole() bool {
	f, err := Parse(r.Format())
	return err == nil && !slices.ContainsFunc(f.Problems, func(p Problem) bool {
		return p.Kind == Invalid || p.Kind == Unknown || p.Kind == PolicyBroken && r.Tags.Has(p.Tag)
	})
}
