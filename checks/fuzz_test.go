package checks

import (
	"net/netip"
	"testing"
)

// FuzzParseDKIMKey: any key record parses without panic; a record
// without problems has a key or is revoked.
func FuzzParseDKIMKey(f *testing.F) {
	for _, s := range []string{
		"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"v=DKIM1; k=rsa; t=y:s; h=sha256; s=email; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB",
		"v=DKIM1; p=", "k=rsa; p=!!", "v=DKIM2", ";;;=", "p=AAAA; p=BBBB",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, problems := ParseDKIMKey(s)
		if len(problems) == 0 && !k.Revoked && k.Public == nil {
			t.Fatalf("no problem, not revoked, no key: %q", s)
		}
	})
}

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
		r, problems := ParseDMARC(s)
		if len(problems) == 0 && (r.Policy == "" || r.Pct < 0 || r.Pct > 100) {
			t.Fatalf("clean but policy %q pct %d: %q", r.Policy, r.Pct, s)
		}
	})
}

// FuzzJudgePTR: the dynamic-name heuristics never panic on any name.
func FuzzJudgePTR(f *testing.F) {
	for _, s := range []string{"c-67-168-174-61.hsd1.wa.comcast.net", "p5b0e0c61.dip0.t-ipconnect.de", "mail.example.com", "..", "-.-", "0x"} {
		f.Add(s, []byte{203, 0, 113, 5})
	}
	f.Fuzz(func(t *testing.T, name string, ip []byte) {
		if a, ok := netip.AddrFromSlice(ip); ok {
			judgePTR(name, a)
		}
	})
}
