package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/names"
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
	fs := DMARC(context.Background(), env, Target{Domain: "nodmarc.example"})
	if !strings.Contains(fs[0].Fix, `_dmarc.nodmarc.example. TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@nodmarc.example"`) {
		t.Errorf("missing: fix %q", fs[0].Fix)
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
