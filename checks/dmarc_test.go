package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
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
}

// dmarcFixZone holds the DMARC records the fix tests mend.
const dmarcFixZone = `$ORIGIN fix.example.
@             SOA  ns1 hostmaster 1 3600 600 86400 300
_dmarc        TXT  "v=DMARC1; p=reject; sp=none; rua=mailto:d@fix.example"
_dmarc.none   TXT  "v=DMARC1; p=none; rua=mailto:d@fix.example"
_dmarc.norua  TXT  "v=DMARC1; p=none; adkim=s"
_dmarc.two    TXT  "v=DMARC1; p=none"
_dmarc.two    TXT  "v=DMARC1; p=reject; pct=50"
_dmarc.bad    TXT  "v=DMARC1; rua=mailto:d@fix.example,dmarc@fix.example; p=rejected; pct=200; aspf=s"
_dmarc.ext    TXT  "v=DMARC1; p=reject; rua=mailto:d@reports.example.net"
_dmarc.testing TXT "v=DMARC1; p=reject; t=y; rua=mailto:d@fix.example"
_dmarc.nop    TXT  "v=DMARC1; rua=mailto:d@fix.example"
_dmarc.opt    TXT  "v=DMARC1; p=reject; adkim=z; foo=bar; rua=d@fix.example"
_dmarc.v10    TXT  "v=DMARC10; p=reject; rua=mailto:d@fix.example"
_dmarc.beside TXT  "v=DMARC1; p=reject"
_dmarc.beside TXT  "p=reject; v=DMARC1"
`

// dmarcFixZones are zones of their own for the RFC 9989 cases: np= for
// a name that does not exist, and a public suffix operator's record.
var dmarcFixZones = []string{
	"$ORIGIN np.example.\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n_dmarc TXT \"v=DMARC1; p=reject; np=none; rua=mailto:d@np.example\"\nhere A 192.0.2.1\n",
	"$ORIGIN psdtld.\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n_dmarc TXT \"v=DMARC1; p=none; psd=y\"\nalice A 192.0.2.1\n",
}

func TestDMARCFixRecords(t *testing.T) {
	tests := []struct {
		domain, id string
		want       []report.FixRecord
		fixHas     string // in the advice
		fixHasNot  string
	}{
		// sp=none inherited: raise sp=, keep the organization's p=reject.
		{"sub.fix.example", "dmarc.policy_none", []report.FixRecord{{Action: report.FixReplace, Name: "_dmarc.fix.example", Type: "TXT",
			Old: "v=DMARC1; p=reject; sp=none; rua=mailto:d@fix.example", Value: "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@fix.example"}}, "keeping p=reject", ""},
		{"none.fix.example", "dmarc.policy_none", []report.FixRecord{{Action: report.FixReplace, Name: "_dmarc.none.fix.example", Type: "TXT",
			Old: "v=DMARC1; p=none; rua=mailto:d@fix.example", Value: "v=DMARC1; p=quarantine; rua=mailto:d@fix.example"}}, "reports sent to d@fix.example", ""},
		// No rua=: no talk of reports that do not exist; one is added.
		{"norua.fix.example", "dmarc.policy_none", []report.FixRecord{{Action: report.FixReplace, Name: "_dmarc.norua.fix.example", Type: "TXT",
			Old: "v=DMARC1; p=none; adkim=s", Value: "v=DMARC1; p=quarantine; adkim=s; rua=mailto:dmarc-reports@fix.example"}}, "has no rua=", "When the aggregate reports"},
		{"two.fix.example", "dmarc.multiple_records", []report.FixRecord{{Action: report.FixRemove, Name: "_dmarc.two.fix.example", Type: "TXT", Old: "v=DMARC1; p=none"}}, "", ""},
		{"bad.fix.example", "dmarc.syntax_error", []report.FixRecord{{Action: report.FixReplace, Name: "_dmarc.bad.fix.example", Type: "TXT",
			Old: "v=DMARC1; rua=mailto:d@fix.example,dmarc@fix.example; p=rejected; pct=200; aspf=s", Value: "v=DMARC1; p=quarantine; rua=mailto:d@fix.example,mailto:dmarc@fix.example; aspf=s"}}, "", ""},
		{"missing.example", "dmarc.missing", []report.FixRecord{{Action: report.FixAdd, Name: "_dmarc.missing.example", Type: "TXT",
			Value: "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@missing.example"}}, "p=none for a few weeks", ""},
		{"ext.fix.example", "dmarc.external_rua_unauthorized", []report.FixRecord{{Action: report.FixAdd, Name: "ext.fix.example._report._dmarc.reports.example.net", Type: "TXT", Value: "v=DMARC1"}}, "", ""},
		// RFC 9989: t=y goes, the policy stays.
		{"testing.fix.example", "dmarc.test_mode", []report.FixRecord{{Action: report.FixReplace, Name: "_dmarc.testing.fix.example", Type: "TXT",
			Old: "v=DMARC1; p=reject; t=y; rua=mailto:d@fix.example", Value: "v=DMARC1; p=reject; rua=mailto:d@fix.example"}}, "remove t=y", ""},
		// No p= with a valid rua=: say a policy, before the rest.
		{"nop.fix.example", "dmarc.no_policy", []report.FixRecord{{Action: report.FixReplace, Name: "_dmarc.nop.fix.example", Type: "TXT",
			Old: "v=DMARC1; rua=mailto:d@fix.example", Value: "v=DMARC1; p=quarantine; rua=mailto:d@fix.example"}}, "p=none", ""},
		// Tags receivers ignore are dropped; an address without mailto: gains it.
		{"opt.fix.example", "dmarc.tag_ignored", []report.FixRecord{{Action: report.FixReplace, Name: "_dmarc.opt.fix.example", Type: "TXT",
			Old: "v=DMARC1; p=reject; adkim=z; foo=bar; rua=d@fix.example", Value: "v=DMARC1; p=reject; rua=mailto:d@fix.example"}}, "drops it", ""},
		// v=DMARC10 is no record: made the one it was meant to be.
		{"v10.fix.example", "dmarc.syntax_error", []report.FixRecord{{Action: report.FixReplace, Name: "_dmarc.v10.fix.example", Type: "TXT",
			Old: "v=DMARC10; p=reject; rua=mailto:d@fix.example", Value: "v=DMARC1; p=reject; rua=mailto:d@fix.example"}}, "v=DMARC1, exactly so", ""},
		// Beside a record receivers use, it goes: never two records.
		{"beside.fix.example", "dmarc.syntax_error", []report.FixRecord{{Action: report.FixRemove, Name: "_dmarc.beside.fix.example", Type: "TXT", Old: "p=reject; v=DMARC1"}}, "Remove it", ""},
		// np=none for a name that does not exist: raise np=, keep p=.
		{"gone.np.example", "dmarc.policy_none", []report.FixRecord{{Action: report.FixReplace, Name: "_dmarc.np.example", Type: "TXT",
			Old: "v=DMARC1; p=reject; np=none; rua=mailto:d@np.example", Value: "v=DMARC1; p=reject; np=quarantine; rua=mailto:d@np.example"}}, "raise np=", ""},
		{"here.np.example", "dmarc.ok", nil, "", ""},
		// A public suffix operator's policy: a record of the domain's own.
		{"alice.psdtld", "dmarc.psd_policy", []report.FixRecord{{Action: report.FixAdd, Name: "_dmarc.alice.psdtld", Type: "TXT",
			Value: "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@alice.psdtld"}}, "of your own", ""},
		{"alice.psdtld", "dmarc.policy_none", []report.FixRecord{{Action: report.FixAdd, Name: "_dmarc.alice.psdtld", Type: "TXT",
			Value: "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@alice.psdtld"}}, "not yours to change", ""},
	}
	missing := "$ORIGIN missing.example.\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n"
	reports := "$ORIGIN reports.example.net.\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n"
	env := zoneEnv(t, append([]string{dmarcFixZone, missing, reports}, dmarcFixZones...)...)
	for _, tt := range tests {
		f, ok := hasFixRecords(t, tt.domain, DMARC(context.Background(), env, Target{Domain: tt.domain}), tt.id, tt.want)
		if ok && !strings.Contains(f.Fix, tt.fixHas) || tt.fixHasNot != "" && strings.Contains(f.Fix, tt.fixHasNot) {
			t.Errorf("%s %s: fix %q (want %q, not %q)", tt.domain, tt.id, f.Fix, tt.fixHas, tt.fixHasNot)
		}
	}
	// The inherited sp=none is called sp=none, not p=none.
	fs := DMARC(context.Background(), env, Target{Domain: "sub.fix.example"})
	if f, _ := find(fs, "dmarc.policy_none"); !strings.Contains(f.Message, "sp=none") {
		t.Errorf("inherited sp=none: %q", f.Message)
	}
}

// TestDMARCReportAddressesBounded: a record naming many outside report
// addresses costs at most resolver.MaxNames authorization lookups.
func TestDMARCReportAddressesBounded(t *testing.T) {
	var rua []string
	for i := range 50 {
		rua = append(rua, fmt.Sprintf("mailto:d@r%d.test", i))
	}
	record := "v=DMARC1; p=reject; rua=" + strings.Join(rua, ",")
	var quoted []string // character-strings of at most 255 octets
	for len(record) > 200 {
		quoted, record = append(quoted, `"`+record[:200]+`"`), record[200:]
	}
	quoted = append(quoted, `"`+record+`"`)
	env := zoneEnv(t, "$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\n_dmarc TXT "+strings.Join(quoted, " ")+"\n")
	fs := DMARC(context.Background(), env, Target{Domain: "example.test"})
	n := 0
	for _, f := range fs {
		if f.ID == "dmarc.dns_error" || f.ID == "dmarc.external_rua_unauthorized" {
			n++
		}
	}
	if asked := env.DNS.Stats().Refused + env.DNS.Stats().Overlay; n != resolver.MaxNames || asked > 2+resolver.MaxNames {
		t.Errorf("%d findings about report addresses, %d questions; want %d and at most %d", n, asked, resolver.MaxNames, 2+resolver.MaxNames)
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
