package checks

import (
	"bufio"
	"bytes"
	"context"
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
		{"dkim.example", "legacy512", []string{"dkim.weak_key legacy512"}},
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
	if f, _ := find(fs, "dkim.weak_key"); f.Evidence["bits"] != 512 || !strings.Contains(f.Message, "512-bit") {
		t.Errorf("weak key: %+v", f)
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
		// No key to publish, and a weak key needs a new one: advice only.
		{"gone", false, "dkim.missing", nil},
		{"weak", false, "dkim.weak_key", nil},
		// With the signer's key, its record is the fix.
		{"gone", true, "dkim.missing", []report.FixRecord{{Action: report.FixAdd, Name: "gone._domainkey.fix.example", Type: "TXT", Value: edRecord}}},
		{"weak", true, "dkim.weak_key", []report.FixRecord{{Action: report.FixReplace, Name: "weak._domainkey.fix.example", Type: "TXT", Old: weakOld, Value: edRecord}}},
		{"weak", true, "dkim.key_mismatch", []report.FixRecord{{Action: report.FixReplace, Name: "weak._domainkey.fix.example", Type: "TXT", Old: weakOld, Value: edRecord}}},
		// t=y and h=sha1: one mended record for both findings.
		{"test", false, "dkim.testing_mode", mended},
		{"test", false, "dkim.sha1_only", mended},
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
