package dmarc

import "testing"

// FuzzParseDMARC: any record parses without panic; a clean one has a
// policy and a percentage in range.
func FuzzParseDMARC(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=reject", "v=DMARC1;p=none;sp=quarantine;pct=50;rua=mailto:a@example.com,mailto:b@example.net!10m;ruf=mailto:c@example.org;fo=1:d;ri=3600;adkim=s;aspf=r",
		"v=DMARC1", "p=none; v=DMARC1", "v=DMARC1; p=none; rua=mailto:", "v=DMARC1; p=none; pct=-1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, problems := Parse(s)
		if len(problems) == 0 && (r.Policy == "" || r.Pct < 0 || r.Pct > 100) {
			t.Fatalf("clean but policy %q pct %d: %q", r.Policy, r.Pct, s)
		}
	})
}
