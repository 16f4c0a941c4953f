package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

func TestDMARC(t *testing.T) {
	env := labZones(t)
	tests := []struct {
		domain, mailFrom string
		want             string
	}{
		{"good.example", "", "dmarc.ok good.example"},
		{"mail.good.example", "", "dmarc.ok mail.good.example"}, // inherited from the org domain
		{"dmarc.example", "", "dmarc.policy_none dmarc.example"},
		{"two.dmarc.example", "", "dmarc.multiple_records two.dmarc.example"},
		{"ext.dmarc.example", "", "dmarc.external_rua_unauthorized dmarc@reports.example;dmarc.ok ext.dmarc.example"},
		{"bad.dmarc.example", "", "dmarc.syntax_error bad.dmarc.example"},
		{"nodmarc.example", "", "dmarc.missing nodmarc.example"},
		{"good.example", "bounces@mail.good.example", "dmarc.ok good.example;dmarc.spf_aligned good.example"},
		{"good.example", "bounces@esp.example", "dmarc.ok good.example;dmarc.spf_unaligned good.example"},
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
`

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
			Old: "v=DMARC1; rua=mailto:d@fix.example,dmarc@fix.example; p=rejected; pct=200; aspf=s", Value: "v=DMARC1; p=quarantine; rua=mailto:d@fix.example; aspf=s"}}, "", ""},
		{"missing.example", "dmarc.missing", []report.FixRecord{{Action: report.FixAdd, Name: "_dmarc.missing.example", Type: "TXT",
			Value: "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@missing.example"}}, "p=none for a few weeks", ""},
		{"ext.fix.example", "dmarc.external_rua_unauthorized", []report.FixRecord{{Action: report.FixAdd, Name: "ext.fix.example._report._dmarc.reports.example.net", Type: "TXT", Value: "v=DMARC1"}}, "", ""},
	}
	missing := "$ORIGIN missing.example.\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n"
	reports := "$ORIGIN reports.example.net.\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n"
	env := zoneEnv(t, dmarcFixZone, missing, reports)
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
