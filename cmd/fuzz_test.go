package cmd

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/delivery"
)

// FuzzTargetLine: any line of a --targets file is read or refused.
func FuzzTargetLine(f *testing.F) {
	for _, s := range []string{"example.com 203.0.113.5", "example.com 203.0.113.5,2001:db8::5 mail.example.com s1,s2", "x", "a b c d e f"} {
		f.Add(s)
	}
	o := &checkOptions{globalOptions: &globalOptions{}}
	f.Fuzz(func(t *testing.T, line string) {
		ct, err := parseTargetLine(line)
		if err != nil {
			return
		}
		if ct.Domain == "" || len(ct.IPs) == 0 {
			t.Fatalf("%q read as %+v", line, ct)
		}
		o.baseTarget(context.Background(), ct)
	})
}

// FuzzConfig: any preflight.yaml is loaded or refused with an error.
func FuzzConfig(f *testing.F) {
	for _, s := range []string{
		"target:\n  domain: example.com\n  ips: [203.0.113.5]\n",
		"targets:\n  - {domain: a.example, ips: [203.0.113.1]}\nthresholds: {min_score: 80}\n",
		"resolver: 1\n", "timeout: soon\n", "relays:\n  - {host: 'a:25', priority: high}\n", "- - -", "",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(dir, "preflight.yaml")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Skip()
		}
		c, err := loadConfig(context.Background(), p)
		if err == nil && c.Target != nil && len(c.Targets) > 0 {
			t.Fatal("both target and targets accepted")
		}
	})
}

// FuzzRelays: any relay file entry is read or refused.
func FuzzRelays(f *testing.F) {
	for _, s := range []string{"relays:\n  - {host: 'smtp.example.net:587', priority: highest, enabled: true, tls: starttls}\n", "relays: [{host: x}]\n", "relays:\n  - {priority: 9}\n", "- {host: 'a:25'}\n",
		"policy: on-error\nfallback_on: [connect, smtp]\nrelays: [{host: 'a:25'}]\n",
		"policy: for-domains\ndomains: [gmail.com, .outlook.com, bücher.example]\nrelays: [{host: 'a:25', enabled: false}, {host: 'b:25'}]\n",
		"policy: always\nrelays: [{host: 'a:25', enabled: false}]\n", "policy: never\nfallback_on: []\nrelays: [{host: 'a:25'}]\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		rs, p, err := readRelays("relays.yaml", []byte(text))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "relays.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if p != nil {
			if !slices.Contains(delivery.PolicyNames, p.Name) || p.Name == delivery.PolicyOnError && len(p.FallbackOn) == 0 || p.Name == delivery.PolicyForDomains && len(p.Domains) == 0 {
				t.Fatalf("readRelays accepted the policy %+v", p)
			}
			for _, d := range p.Domains {
				if n, err := delivery.NormalizePolicyDomain(d); err != nil || n != d {
					t.Fatalf("domain %q is not normalised: %q %v", d, n, err)
				}
			}
		}
		for _, r := range rs {
			if _, err := relayFrom(r, 0); err != nil {
				t.Fatalf("readRelays accepted %+v, relayFrom refuses it: %v", r, err)
			}
		}
	})
}
