package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/names"
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
	fs := DMARC(context.Background(), env, Target{Domain: "nodmarc.example"})
	if !strings.Contains(fs[0].Fix, `_dmarc.nodmarc.example. TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@nodmarc.example"`) {
		t.Errorf("missing: fix %q", fs[0].Fix)
	}
}

func TestMX(t *testing.T) {
	env := labZones(t)
	tests := []struct{ domain, want string }{
		{"good.example", "mx.ok good.example"},
		{"nullmx.example", "mx.null nullmx.example"},
		{"nomx.example", "mx.implicit nomx.example"},
		{"isp.example", "mx.missing isp.example"},
		{"stale.example", "mx.ok stale.example"},
	}
	for _, tt := range tests {
		if got := strings.Join(ids(MX(context.Background(), env, Target{Domain: tt.domain})), ";"); got != tt.want {
			t.Errorf("mx %s = %s, want %s", tt.domain, got, tt.want)
		}
	}
}

func TestMXTargets(t *testing.T) {
	env := zoneEnv(t, `
$ORIGIN odd.test.
@      SOA  ns hm 1 1 1 1 1
@      MX   10 alias
@      MX   20 203.0.113.9
@      MX   30 gone
@      MX   40 real
alias  CNAME real
real   A    203.0.113.5
`)
	got := strings.Join(ids(MX(context.Background(), env, Target{Domain: "odd.test"})), ";")
	want := "mx.host_no_address gone.odd.test;mx.ok odd.test;mx.target_cname alias.odd.test;mx.target_ip 203.0.113.9.odd.test"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
