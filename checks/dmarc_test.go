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
