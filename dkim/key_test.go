package dkim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	ed := "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	rsa1024 := "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"
	rsa512 := "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMLVevU8nlbxPlVW0ZGEqE3KkE82O7wE3mlfuntUlNSq9vQ0CMh7qq+1wtudnJqpD1qqGc4wIIDTKe2dSmwnCNkCAwEAAQ=="
	tests := []struct {
		txt      string
		typ      string
		bits     int
		revoked  bool
		problem  string // substring of the first problem, "" for none
		flags    string
		unusable string // substring of the first reason, "" for a usable key
	}{
		{"v=DKIM1; k=ed25519; p=" + ed, "ed25519", 256, false, "", "", ""},
		{"v=DKIM1; p=" + rsa1024, "rsa", 1024, false, "", "", ""},
		{"k=rsa; t=y:s; p=" + rsa1024[:40] + " \t " + rsa1024[40:], "rsa", 1024, false, "", "y,s", ""},
		// RFC 6376 §3.6.1: p= may be folded over lines (FWS).
		{"v=DKIM1; p=" + rsa1024[:40] + "\r\n " + rsa1024[40:], "rsa", 1024, false, "", "", ""},
		{"v=DKIM1; k=rsa; p=", "rsa", 0, true, "", "", ""},
		{"v=DKIM1; k=rsa; p= ", "rsa", 0, true, "", "", ""},
		{"v=DKIM1; k=rsa", "rsa", 0, false, "no p=", "", ""},
		{"v=DKIM1; k=rsa; p=!!!", "rsa", 0, false, "base64", "", ""},
		{"v=DKIM1; k=rsa; p=" + ed, "rsa", 0, false, "not an RSA", "", ""},
		{"v=DKIM1; k=ed25519; p=" + rsa1024, "ed25519", 0, false, "Ed25519 key is 32", "", ""},
		{"k=rsa; v=DKIM1; p=" + rsa1024, "rsa", 1024, false, "first tag", "", ""},
		{"v=DKIM2; p=" + rsa1024, "rsa", 1024, false, "want v=DKIM1", "", ""},
		// RFC 6376 §3.2: a duplicate tag makes the record invalid.
		{"v=DKIM1; p=" + rsa1024 + "; p=" + rsa1024, "rsa", 1024, false, "twice", "", ""},
		{"v=DKIM1; junk; p=" + rsa1024, "rsa", 1024, false, "not tag=value", "", ""},
		// Verifiers discard these keys though the records parse.
		{"v=DKIM1; k=dsa; p=" + ed, "dsa", 0, false, "", "", "unknown key type"},
		{"v=DKIM1; k=RSA; p=" + rsa1024, "RSA", 1024, false, "", "", "case-sensitive"}, // RFC 6376 §3.2
		{"v=DKIM1; s=other; p=" + rsa1024, "rsa", 1024, false, "", "", "excludes email"},
		{"v=DKIM1; s=EMAIL; p=" + rsa1024, "rsa", 1024, false, "", "", "EMAIL is not email"},
		{"v=DKIM1; s=email:other; p=" + rsa1024, "rsa", 1024, false, "", "", ""},
		{"v=DKIM1; h=sha1; p=" + rsa1024, "rsa", 1024, false, "", "", "RFC 8301 §3.1"},
		{"v=DKIM1; h=SHA256; p=" + rsa1024, "rsa", 1024, false, "", "", "SHA256 is not sha256"},
		{"v=DKIM1; h=sha1 : sha256; p=" + rsa1024, "rsa", 1024, false, "", "", ""},
		{"v=DKIM1; p=" + rsa512, "rsa", 512, false, "", "", "RFC 8301 §3.2"},
		// Unknown flags are ignored (RFC 6376 §3.6.1): t=Y is not testing.
		{"v=DKIM1; t=Y; p=" + ed + "; k=ed25519", "ed25519", 256, false, "", "Y", ""},
	}
	for _, tt := range tests {
		k, problems := ParseKey(tt.txt)
		if !firstHas(problems, tt.problem) {
			t.Errorf("ParseKey(%.40q): problems %v, want %q", tt.txt, problems, tt.problem)
		}
		if !firstHas(k.Unusable, tt.unusable) {
			t.Errorf("ParseKey(%.40q): unusable %v, want %q", tt.txt, k.Unusable, tt.unusable)
		}
		if k.Type != tt.typ || k.Bits != tt.bits || k.Revoked != tt.revoked || strings.Join(k.Flags, ",") != tt.flags {
			t.Errorf("ParseKey(%.40q) = %s %d revoked %v flags %v", tt.txt, k.Type, k.Bits, k.Revoked, k.Flags)
		}
	}
	if k, _ := ParseKey("t=Y; p=" + ed + "; k=ed25519"); k.Testing() {
		t.Error("t=Y is testing")
	}
}

// firstHas: the first of list contains want; an empty want, no list.
func firstHas(list []string, want string) bool {
	if want == "" {
		return len(list) == 0
	}
	return len(list) > 0 && strings.Contains(list[0], want)
}

func TestIsKeyRecord(t *testing.T) {
	for txt, want := range map[string]bool{
		"v=DKIM1; p=abc": true,
		"k=rsa; p=abc":   true,
		"p=abc; v=DKIM1": true, // a key record with a misplaced v=: ParseKey says so
		"v=spf1 -all":    false,
		"v=DKIM2; p=abc": false,
		"":               true,
	} {
		if got := IsKeyRecord(txt); got != want {
			t.Errorf("IsKeyRecord(%q) = %v, want %v", txt, got, want)
		}
	}
}

func TestMend(t *testing.T) {
	for _, tt := range []struct{ txt, want string }{
		{"v=DKIM1; k=rsa; t=y; p=abc", "v=DKIM1; k=rsa; p=abc"},
		{"v=DKIM1; t=y:s; h=sha1; p=abc", "v=DKIM1; t=s; p=abc"},
		{"v=DKIM1; h=sha1:sha256; p=abc", "v=DKIM1; h=sha1:sha256; p=abc"},
		{"k=rsa;p=abc", "k=rsa; p=abc"},
		// Values are case-sensitive (RFC 6376 §3.2): k=RSA is lowered, t=Y
		// is an unknown flag and stays; h=SHA256 is not sha256.
		{"v=DKIM1; k=RSA; t=Y; h=SHA256; p=abc", "v=DKIM1; k=rsa; t=Y; p=abc"},
		{"v=DKIM1; k=dsa; s=tlsrpt; p=abc", "v=DKIM1; k=dsa; p=abc"},
		{"v=DKIM1; s=email:tlsrpt; p=abc", "v=DKIM1; s=email:tlsrpt; p=abc"},
	} {
		if got := Mend(tt.txt); got != tt.want {
			t.Errorf("Mend(%q) = %q, want %q", tt.txt, got, tt.want)
		}
	}
}

func TestKeyRecordParses(t *testing.T) {
	for _, file := range []string{"rsa2048.pem", "ed25519.pem"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "lab", "keys", file))
		if err != nil {
			t.Fatal(err)
		}
		priv, err := LoadPrivateKey(b)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := KeyRecord(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		pubFile := strings.TrimSuffix(file, ".pem") + ".pub.b64"
		want, err := os.ReadFile(filepath.Join("..", "testdata", "lab", "keys", pubFile))
		if err != nil {
			t.Fatal(err)
		}
		k, problems := ParseKey(rec)
		if len(problems) > 0 || !strings.HasSuffix(rec, "p="+strings.TrimSpace(string(want))) {
			t.Errorf("%s: %q: problems %v, key %+v, want p=%s", file, rec, problems, k, want)
		}
	}
}
