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
	tests := []struct {
		txt     string
		typ     string
		bits    int
		revoked bool
		problem string // substring of the first problem, "" for none
		flags   string
	}{
		{"v=DKIM1; k=ed25519; p=" + ed, "ed25519", 256, false, "", ""},
		{"v=DKIM1; p=" + rsa1024, "rsa", 1024, false, "", ""},
		{"k=rsa; t=y:s; p=" + rsa1024[:40] + " \t " + rsa1024[40:], "rsa", 1024, false, "", "y,s"},
		{"v=DKIM1; k=rsa; p=", "rsa", 0, true, "", ""},
		{"v=DKIM1; k=rsa; p= ", "rsa", 0, true, "", ""},
		{"v=DKIM1; k=rsa", "rsa", 0, false, "no p=", ""},
		{"v=DKIM1; k=rsa; p=!!!", "rsa", 0, false, "base64", ""},
		{"v=DKIM1; k=rsa; p=" + ed, "rsa", 0, false, "not an RSA", ""},
		{"v=DKIM1; k=ed25519; p=" + rsa1024, "ed25519", 0, false, "Ed25519 key is 32", ""},
		{"v=DKIM1; k=dsa; p=" + ed, "dsa", 0, false, "unknown key type", ""},
		{"k=rsa; v=DKIM1; p=" + rsa1024, "rsa", 1024, false, "first tag", ""},
		{"v=DKIM2; p=" + rsa1024, "rsa", 1024, false, "want v=DKIM1", ""},
		{"v=DKIM1; p=" + rsa1024 + "; p=" + rsa1024, "rsa", 1024, false, "twice", ""},
		{"v=DKIM1; s=other; p=" + rsa1024, "rsa", 1024, false, "excludes email", ""},
		{"v=DKIM1; junk; p=" + rsa1024, "rsa", 1024, false, "not tag=value", ""},
	}
	for _, tt := range tests {
		k, problems := ParseKey(tt.txt)
		first := ""
		if len(problems) > 0 {
			first = problems[0]
		}
		if tt.problem == "" && first != "" || tt.problem != "" && !strings.Contains(first, tt.problem) {
			t.Errorf("ParseKey(%.40q): problems %v, want %q", tt.txt, problems, tt.problem)
		}
		if k.Type != tt.typ || k.Bits != tt.bits || k.Revoked != tt.revoked || strings.Join(k.Flags, ",") != tt.flags {
			t.Errorf("ParseKey(%.40q) = %s %d revoked %v flags %v", tt.txt, k.Type, k.Bits, k.Revoked, k.Flags)
		}
	}
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
