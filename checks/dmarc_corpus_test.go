package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/dmarc"
	"github.com/preflight-mail/preflight/dmarc/dmarctest"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// The RFC 9989 corpus through the dmarc check: the finding IDs of each
// case, offline over its zone files (cmd runs the same table through
// preflight dmarc).
func TestDMARCCorpus(t *testing.T) {
	o, err := resolver.LoadOverlay(context.Background(), "../testdata/dmarc")
	if err != nil {
		t.Fatal(err)
	}
	list, err := dmarc.LoadPSL(context.Background(), "../testdata/dmarc/test.psl")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := dmarctest.Read("../testdata/dmarc/cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, c := range cases {
		env := Env{DNS: resolver.New(resolver.Config{Overlay: o, Offline: true})}
		if c.PSL {
			env.PSL = list
		}
		fs := DMARC(context.Background(), env, Target{Domain: c.Domain, MailFrom: names.MustAddress(c.MailFrom)})
		var got []string
		for _, f := range fs {
			got = append(got, f.ID)
			if f.Severity == report.Error {
				t.Errorf("cases.txt:%d %s: %s: %s", c.Line, c.Domain, f.ID, f.Message)
			}
		}
		if msg := c.Check(got); msg != "" {
			t.Error(msg)
			for _, f := range fs {
				t.Logf("  %s %s: %s", f.ID, f.Severity, f.Message)
			}
		}
		if st := env.DNS.Stats(); st.Refused > 0 {
			t.Errorf("cases.txt:%d %s: %d questions outside the zone files", c.Line, c.Domain, st.Refused)
		}
	}
}

// The acceptance items, beyond the IDs: what the findings say.
func TestDMARCAcceptance(t *testing.T) {
	o, err := resolver.LoadOverlay(context.Background(), "../testdata/dmarc")
	if err != nil {
		t.Fatal(err)
	}
	run := func(domain string) map[string]report.Finding {
		env := Env{DNS: resolver.New(resolver.Config{Overlay: o, Offline: true})}
		out := map[string]report.Finding{}
		for _, f := range DMARC(context.Background(), env, Target{Domain: domain}) {
			out[f.ID] = f
		}
		return out
	}
	// Both organizational domains, named, and a fix that works for both.
	for domain, orgs := range map[string][2]string{
		"alice.github.io":   {"github.io", "alice.github.io"},
		"sub.example.co.uk": {"sub.example.co.uk", "example.co.uk"},
	} {
		fs := run(domain)
		f, ok := fs["dmarc.org_domain_differs"]
		if !ok || f.Evidence["org_domain"] != orgs[0] || f.Evidence["org_domain_psl"] != orgs[1] ||
			!strings.Contains(f.Message, orgs[0]+" by RFC 9989's DNS tree walk but "+orgs[1]+" by the Public Suffix List") ||
			!strings.Contains(f.Fix, "strict alignment") {
			t.Errorf("%s: %+v", domain, f)
		}
		if ok := fs["dmarc.ok"]; ok.Evidence["org_domain"] != orgs[0] || ok.Evidence["org_domain_psl"] != orgs[1] {
			t.Errorf("%s: dmarc.ok evidence %v", domain, ok.Evidence)
		}
	}
	if f := run("alice.github.io")["dmarc.org_domain_differs"]; !strings.Contains(f.Message, "RFC 7489 receivers no policy") || !strings.Contains(f.Fix, "_dmarc.alice.github.io. TXT") {
		t.Errorf("alice.github.io: %s / %s", f.Message, f.Fix)
	}
	// t=y with p=reject is not enforcing.
	if f := run("testing.test")["dmarc.test_mode"]; f.Severity != report.Warn || !strings.Contains(f.Message, "not enforcing") || f.Evidence["applied"] != "quarantine" {
		t.Errorf("t=y: %+v", f)
	}
	// np applies to an NXDOMAIN subdomain, not to an existing one.
	if f := run("gone.np.test")["dmarc.ok"]; f.Evidence["policy_tag"] != "np" || f.Evidence["policy"] != "reject" {
		t.Errorf("np, NXDOMAIN: %+v", f)
	}
	for _, domain := range []string{"here.np.test", "mx-only.np.test"} {
		if f := run(domain)["dmarc.policy_none"]; f.Evidence["policy_tag"] != "sp" || !strings.Contains(f.Message, "np= would apply only if") {
			t.Errorf("np, %s exists: %+v", domain, f)
		}
	}
	// Optional tags with errors never make a syntax error; the warning
	// names the tag and the policy in force.
	for domain, tag := range map[string]string{"no-mailto.test": "rua", "bad-options.test": "adkim"} {
		fs := run(domain)
		if _, bad := fs["dmarc.syntax_error"]; bad || !strings.Contains(fs["dmarc.tag_ignored"].Message, "p=") {
			t.Errorf("%s: %v", domain, fs)
		}
		if f := fs["dmarc.tag_ignored"]; domain == "no-mailto.test" && (f.Evidence["tag"] != tag || f.Severity != report.Warn) {
			t.Errorf("%s: %+v", domain, f)
		}
	}
	// pct<100 suggests t=y.
	if f := run("pct.test")["dmarc.removed_tag"]; f.Severity != report.Info || !strings.Contains(f.Fix, "t=y") || strings.Contains(f.Fix, "pct=") {
		t.Errorf("pct: %+v", f)
	}
	// Gmail and the p-less record.
	if f := run("nop-rua.test")["dmarc.no_policy"]; !strings.Contains(f.Message, "doesn't specify a DMARC policy") || !strings.Contains(f.Fix, "p=none") {
		t.Errorf("no p: %+v", f)
	}
	// Several records: receivers differ on what follows.
	if f := run("two.test")["dmarc.multiple_records"]; !strings.Contains(f.Message, "differs between receivers") || !strings.Contains(f.Message, "RFC 7489 receivers apply no policy") {
		t.Errorf("two records: %s", f.Message)
	}
}
