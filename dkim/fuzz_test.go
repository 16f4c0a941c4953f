package dkim

import "testing"

// FuzzParseKey: any key record parses without panic; a record
// without problems has a key, is revoked, or says why it is unusable.
// Mend keeps the key and is done in one pass: mending its record again
// changes nothing.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"v=DKIM1; k=rsa; t=y:s; h=sha256; s=email; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB",
		"v=DKIM1; p=", "k=rsa; p=!!", "v=DKIM2", ";;;=", "p=AAAA; p=BBBB", "k=RSA; h=SHA256; s=EMAIL; p=AAAA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, problems := ParseKey(s)
		if len(problems) == 0 && !k.Revoked && k.Public == nil && len(k.Unusable) == 0 {
			t.Fatalf("no problem, not revoked, no key: %q", s)
		}
		m := Mend(s)
		if Mend(m) != m {
			t.Fatalf("Mend(%q) = %q, mended again %q", s, m, Mend(m))
		}
		if mk, _ := ParseKey(m); k.Public != nil && (mk.Public == nil || mk.Bits != k.Bits) {
			t.Fatalf("Mend(%q) = %q lost the key", s, m)
		}
	})
}
