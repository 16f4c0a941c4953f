package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

func TestDMARC(t *testing.T) {
	env := labZones(t)
	tests := []struct {
		domain, mailFrom string
		want             string
	}{
		// good.example's record has pct=100: a note that RFC 9989 removed pct.
		{"good.example", "", "dmarc.ok good.example;dmarc.removed_tag good.example"},
		{"mail.good.example", "", "dmarc.ok mail.good.example;dmarc.removed_tag mail.good.example"}, // inherited from the org domain
		{"dmarc.example", "", "dmarc.policy_none dmarc.example"},
		{"two.dmarc.example", "", "dmarc.multiple_records two.dmarc.example"},
		{"ext.dmarc.example", "", "dmarc.external_rua_unauthorized dmarc@reports.example;dmarc.ok ext.dmarc.example"},
		// p=rejected and a rua without mailto: no valid policy, no valid rua.
		{"bad.dmarc.example", "", "dmarc.syntax_error bad.dmarc.example;dmarc.tag_ignored bad.dmarc.example"},
		{"nodmarc.example", "", "dmarc.missing nodmarc.example"},
		{"good.example", "bounces@mail.good.example", "dmarc.ok good.example;dmarc.removed_tag good.example;dmarc.spf_aligned good.example"},
		{"good.example", "bounces@esp.example", "dmarc.ok good.example;dmarc.removed_tag good.example;dmarc.spf_unaligned good.example"},
	}
	for _, tt := range tests {
		got := ids(DMARC(context.Background(), env, Target{Domain: tt.domain, MailFrom: names.MustAddress(tt.mailFrom)}))
		if strings.Join(got, ";") != tt.want {
			t.Errorf("dmarc %s (mail from %q) = %v, want %s", tt.domain, tt.mailFrom, got, tt.want)
		}
	}
	fs := DMARC(context.Background(), env, Target{Domain: "nodmarc.example"})
	if !strings.Contains(fs[0].Fix, `_dmarc.nodmarc.example. TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@nodmarc.example"`) {
		t.Errorf("missing: fix %q", fs[0].Fix)
	}
}

// The check's questions for a name of 13 labels: the tree walk's 8
// (RFC 9989 §4.10), and nothing more, since the RFC 7489 comparison's
// are the walk's own; counted by the resolver, on the wire.
func TestDMARCQueryBudget(t *testing.T) {
	var rrs []dns.RR
	for _, s := range []string{`_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject"`, `a.b.c.d.e.f.g.h.i.j.k.example.com. 300 IN A 192.0.2.1`} {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		rrs = append(rrs, rr)
	}
	srv := dnstest.NewRecords(t, rrs...)
	env := Env{DNS: resolver.New(resolver.Config{Servers: []string{srv.Addr}})}
	fs := DMARC(context.Background(), env, Target{Domain: "a.b.c.d.e.f.g.h.i.j.k.example.com"})
	if got := ids(fs); strings.Join(got, ";") != "dmarc.ok a.b.c.d.e.f.g.h.i.j.k.example.com" {
		t.Errorf("findings %v", got)
	}
	if q := env.DNS.Stats().Questions; q != 8 {
		t.Errorf("%d questions, want 8: %v", q, srv.Log())
	}
}
