package checks

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"
	"github.com/preflight-mail/preflight/dkim"

	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// The signed examples of RFC 6376 A.2 and RFC 8463 A.3 verify through
// our resolver (go-msgauth doing the cryptography), and a message
// altered after signing does not.
func TestDKIMVectors(t *testing.T) {
	var rrs []dns.RR
	f, err := os.Open("../testdata/dkim/DNS.txt")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == ';' {
			continue
		}
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("DNS.txt: %v", err)
		}
		rrs = append(rrs, rr)
	}
	f.Close()
	srv := dnstest.NewRecords(t, rrs...)
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}})
	for _, tc := range []struct {
		file  string
		sigs  int
		valid bool
	}{
		{"rfc6376-A2-signed.eml", 1, true},
		{"rfc8463-A3-signed.eml", 2, true}, // Ed25519 and RSA
		{"rfc6376-A2-signed-body-2spaces-NEGATIVE.eml", 1, false},
	} {
		msg, err := os.ReadFile(filepath.Join("../testdata/dkim", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		msg = bytes.ReplaceAll(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(msg), &msgdkim.VerifyOptions{LookupTXT: r.TXTFunc(context.Background())})
		if err != nil || len(vs) != tc.sigs {
			t.Fatalf("%s: %d verifications, %v", tc.file, len(vs), err)
		}
		for _, v := range vs {
			if (v.Err == nil) != tc.valid {
				t.Errorf("%s: signature of %s: err %v, want valid %v", tc.file, v.Domain, v.Err, tc.valid)
			}
		}
	}
	// And their keys parse with our parser.
	for _, rr := range rrs {
		txt := resolver.TXTStrings([]dns.RR{rr})[0]
		if k, problems := dkim.ParseKey(txt); len(problems) > 0 || k.Public == nil {
			t.Errorf("dkim.ParseKey(%s): %v", rr.Header().Name, problems)
		}
	}
}

func TestDKIM(t *testing.T) {
	env := labZones(t)
	tests := []struct {
		domain, selector string
		want             []string
	}{
		{"good.example", "s2048", []string{"dkim.key_ok s2048"}},
		{"good.example", "ed2026", []string{"dkim.key_ok ed2026"}},
		{"good.example", "esp1", []string{"dkim.key_ok esp1"}}, // CNAME to the ESP
		{"dkim.example", "revoked", []string{"dkim.revoked revoked"}},
		{"dkim.example", "testing", []string{"dkim.key_ok testing", "dkim.testing_mode testing"}},
		{"dkim.example", "legacy512", []string{"dkim.key_unusable legacy512"}}, // RFC 8301 §3.2
		{"dkim.example", "legacy1024", []string{"dkim.weak_key legacy1024"}},
		{"dkim.example", "broken", []string{"dkim.syntax_error broken"}},
		{"dkim.example", "double", []string{"dkim.syntax_error double"}},
		{"dkim.example", "missing", []string{"dkim.missing missing"}},
	}
	for _, tt := range tests {
		got := ids(DKIM(context.Background(), env, Target{Domain: tt.domain, Selectors: sels(tt.selector)}))
		if strings.Join(got, ";") != strings.Join(tt.want, ";") {
			t.Errorf("dkim %s %s = %v, want %v", tt.domain, tt.selector, got, tt.want)
		}
	}
	fs := DKIM(context.Background(), env, Target{Domain: "dkim.example", Selectors: sels("legacy512")})
	if f, _ := find(fs, "dkim.key_unusable"); f.Evidence["bits"] != 512 || !strings.Contains(f.Message, "512-bit") {
		t.Errorf("512-bit key: %+v", f)
	}
}

func TestDKIMGuessesSelectors(t *testing.T) {
	env := labZones(t)
	got := ids(DKIM(context.Background(), env, Target{Domain: "dkim.example"}))
	if strings.Join(got, ";") != "dkim.key_ok default;dkim.selectors_guessed dkim.example" {
		t.Errorf("dkim.example without selectors: %v", got)
	}
	got = ids(DKIM(context.Background(), env, Target{Domain: "good.example"}))
	if strings.Join(got, ";") != "dkim.no_known_selector good.example" {
		t.Errorf("good.example without selectors: %v", got)
	}
}

func TestDKIMKeyMatch(t *testing.T) {
	env := labZones(t)
	env.Now = func() time.Time { return time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		domain, selector, key, want string
	}{
		{"dkim.example", "s2048", "rsa2048.pem", "dkim.key_matches"},
		{"good.example", "ed2026", "ed25519.pem", "dkim.key_matches"},
		{"dkim.example", "s2048", "rsa1024.pem", "dkim.key_mismatch"},
		// The right key, but too short to verify: not a mismatch.
		{"dkim.example", "legacy512", "rsa512.pem", "dkim.key_matches"},
	} {
		pemBytes, err := os.ReadFile(filepath.Join("../testdata/lab/keys", tc.key))
		if err != nil {
			t.Fatal(err)
		}
		key, err := dkim.LoadPrivateKey(pemBytes)
		if err != nil {
			t.Fatal(err)
		}
		fs := DKIM(context.Background(), env, Target{Domain: tc.domain, Selectors: sels(tc.selector), DKIMKey: key})
		if _, ok := find(fs, tc.want); !ok {
			t.Errorf("%s with %s: %v, want %s", tc.selector, tc.key, ids(fs), tc.want)
		}
		if _, ok := find(fs, "dkim.key_mismatch"); ok != (tc.want == "dkim.key_mismatch") {
			t.Errorf("%s with %s: %v", tc.selector, tc.key, ids(fs))
		}
	}
}

// A wildcard SPF record under the domain is no key (RFC 6376 §3.6.1):
// guessed selectors find nothing, a named one is missing, not broken.
func TestDKIMWildcardSPFIsNoKey(t *testing.T) {
	env := zoneEnv(t, `$ORIGIN wild.example.
@ 3600 IN SOA ns. host. 1 3600 600 86400 60
* 3600 IN TXT "v=spf1 -all"
`)
	if got := ids(DKIM(context.Background(), env, Target{Domain: "wild.example"})); !slices.Equal(got, []string{"dkim.no_known_selector wild.example"}) {
		t.Errorf("guessed selectors: %v", got)
	}
	if got := ids(DKIM(context.Background(), env, Target{Domain: "wild.example", Selectors: sels("s1")})); !slices.Equal(got, []string{"dkim.missing s1"}) {
		t.Errorf("named selector: %v", got)
	}
}

func TestDKIMFixRecords(t *testing.T) {
	env := zoneEnv(t, `$ORIGIN fix.example.
@ SOA ns hm 1 3600 600 86400 60
weak._domainkey TXT "v=DKIM1; k=rsa; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMLVevU8nlbxPlVW0ZGEqE3KkE82O7wE3mlfuntUlNSq9vQ0CMh7qq+1wtudnJqpD1qqGc4wIIDTKe2dSmwnCNkCAwEAAQ=="
test._domainkey TXT "v=DKIM1; k=ed25519; t=y; h=sha1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
flag._domainkey TXT "v=DKIM1; k=ed25519; t=y:s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
upper._domainkey TXT "v=DKIM1; k=ED25519; s=tlsrpt; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
`)
	pemBytes, err := os.ReadFile("../testdata/lab/keys/ed25519.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := dkim.LoadPrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	edRecord, _ := dkim.KeyRecord(key.Public())
	const weakOld = "v=DKIM1; k=rsa; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMLVevU8nlbxPlVW0ZGEqE3KkE82O7wE3mlfuntUlNSq9vQ0CMh7qq+1wtudnJqpD1qqGc4wIIDTKe2dSmwnCNkCAwEAAQ=="
	mended := []report.FixRecord{{Action: report.FixReplace, Name: "test._domainkey.fix.example", Type: "TXT",
		Old: "v=DKIM1; k=ed25519; t=y; h=sha1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", Value: "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}}
	for _, tc := range []struct {
		selector string
		key      bool
		id       string
		want     []report.FixRecord
	}{
		// No key to publish, and a 512-bit key needs a new one: advice only.
		{"gone", false, "dkim.missing", nil},
		{"weak", false, "dkim.key_unusable", nil},
		// With the signer's key, its record is the fix.
		{"gone", true, "dkim.missing", []report.FixRecord{{Action: report.FixAdd, Name: "gone._domainkey.fix.example", Type: "TXT", Value: edRecord}}},
		{"weak", true, "dkim.key_unusable", []report.FixRecord{{Action: report.FixReplace, Name: "weak._domainkey.fix.example", Type: "TXT", Old: weakOld, Value: edRecord}}},
		{"weak", true, "dkim.key_mismatch", []report.FixRecord{{Action: report.FixReplace, Name: "weak._domainkey.fix.example", Type: "TXT", Old: weakOld, Value: edRecord}}},
		// t=y and h=sha1: the key is unusable, and one mended record
		// drops both (t=y would be a warning of its own after).
		{"test", false, "dkim.key_unusable", mended},
		{"flag", false, "dkim.testing_mode", []report.FixRecord{{Action: report.FixReplace, Name: "flag._domainkey.fix.example", Type: "TXT",
			Old: "v=DKIM1; k=ed25519; t=y:s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", Value: "v=DKIM1; k=ed25519; t=s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}}},
		// k=ED25519 and s= without email: the same key, written as
		// verifiers read it.
		{"upper", false, "dkim.key_unusable", []report.FixRecord{{Action: report.FixReplace, Name: "upper._domainkey.fix.example", Type: "TXT",
			Old: "v=DKIM1; k=ED25519; s=tlsrpt; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", Value: "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}}},
	} {
		target := Target{Domain: "fix.example", Selectors: sels(tc.selector)}
		if tc.key {
			target.DKIMKey = key
		}
		f, ok := hasFixRecords(t, fmt.Sprintf("selector %s (key %v)", tc.selector, tc.key), DKIM(context.Background(), env, target), tc.id, tc.want)
		if ok && f.Fix == "" {
			t.Errorf("%s %s: no advice", tc.selector, tc.id)
		}
	}
}

// Keys no signature can verify with (RFC 8301, RFC 6376 §3.2 and
// §3.6.1), and --dkim-key with the matching private key: the record is
// dkim.key_unusable, the key match says what else stops verification,
// never dkim.key_mismatch.
func TestDKIMKeyUnusable(t *testing.T) {
	pub := func(name string) string {
		b, err := os.ReadFile(filepath.Join("../testdata/lab/keys", name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	rsa2048, rsa512 := pub("rsa2048.pub.b64"), pub("rsa512.pub.b64")
	txt := func(s string) string { // TXT data in 255-octet strings
		var parts []string
		for len(s) > 200 {
			parts = append(parts, `"`+s[:200]+`"`)
			s = s[200:]
		}
		return "( " + strings.Join(append(parts, `"`+s+`"`), " ") + " )"
	}
	env := zoneEnv(t, `$ORIGIN keys.example.
@ 3600 IN SOA ns. host. 1 3600 600 86400 60
good._domainkey 3600 IN TXT `+txt("v=DKIM1; k=rsa; p="+rsa2048)+`
sha1._domainkey 3600 IN TXT `+txt("v=DKIM1; k=rsa; h=sha1; p="+rsa2048)+`
upper._domainkey 3600 IN TXT `+txt("v=DKIM1; k=RSA; p="+rsa2048)+`
hash._domainkey 3600 IN TXT `+txt("v=DKIM1; h=SHA256; p="+rsa2048)+`
svc._domainkey 3600 IN TXT `+txt("v=DKIM1; s=EMAIL; p="+rsa2048)+`
short._domainkey 3600 IN TXT `+txt("v=DKIM1; k=rsa; p="+rsa512)+`
two._domainkey 3600 IN TXT `+txt("v=DKIM1; k=rsa; p="+rsa2048)+`
two._domainkey 3600 IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
gone._domainkey 3600 IN TXT "v=DKIM1; k=rsa; p="
`)
	env.Now = func() time.Time { return time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) }
	load := func(name string) crypto.Signer {
		b, err := os.ReadFile(filepath.Join("../testdata/lab/keys", name))
		if err != nil {
			t.Fatal(err)
		}
		k, err := dkim.LoadPrivateKey(b)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for _, tc := range []struct {
		selector, key string
		want          string // the findings as "ID severity"
		has           string // in the key check's message
	}{
		{"good", "rsa2048.pem", "dkim.key_matches pass;dkim.key_ok pass", ""},
		{"sha1", "rsa2048.pem", "dkim.key_matches info;dkim.key_unusable warn", "leaves out sha256"},
		{"upper", "rsa2048.pem", "dkim.key_matches info;dkim.key_unusable warn", "case-sensitive"},
		{"hash", "rsa2048.pem", "dkim.key_matches info;dkim.key_unusable warn", "SHA256 is not sha256"},
		{"svc", "rsa2048.pem", "dkim.key_matches info;dkim.key_unusable warn", "excludes email"},
		{"short", "rsa512.pem", "dkim.key_matches info;dkim.key_unusable warn", "512-bit"},
		{"two", "rsa2048.pem", "dkim.key_matches info;dkim.syntax_error warn", "2 key records"},
		{"two", "ed25519.pem", "dkim.key_mismatch warn;dkim.syntax_error warn", ""},
		{"gone", "rsa2048.pem", "dkim.key_not_compared info;dkim.revoked warn", "no public key"},
		{"none", "rsa2048.pem", "dkim.key_not_compared info;dkim.missing warn", "no key record"},
		{"good", "rsa512.pem", "dkim.key_mismatch warn;dkim.key_ok pass", ""},
	} {
		fs := DKIM(context.Background(), env, Target{Domain: "keys.example", Selectors: sels(tc.selector), DKIMKey: load(tc.key)})
		var got []string
		for _, f := range fs {
			got = append(got, f.ID+" "+f.Severity.String())
		}
		slices.Sort(got)
		if strings.Join(got, ";") != tc.want {
			t.Errorf("%s with %s: %v, want %s", tc.selector, tc.key, got, tc.want)
		}
		for _, f := range fs {
			if strings.HasPrefix(f.ID, "dkim.key_m") || f.ID == "dkim.key_not_compared" {
				if !strings.Contains(f.Message, tc.has) {
					t.Errorf("%s with %s: %s", tc.selector, tc.key, f.Message)
				}
			}
		}
	}
}
