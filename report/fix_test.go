package report

import (
	"slices"
	"strings"
	"testing"
)

func TestFixRecordLines(t *testing.T) {
	long := "v=spf1 " + strings.Repeat("ip4:198.51.100.1 ", 20) + "-all"
	for _, tt := range []struct {
		r    FixRecord
		want []string
	}{
		{FixRecord{Action: FixAdd, Name: "example.com", Type: "MX", Value: "10 mail.example.com"}, []string{"Add example.com. MX 10 mail.example.com."}},
		{FixRecord{Action: FixRemove, Name: "example.com", Type: "MX", Old: "0 ."}, []string{"Remove example.com. MX 0 ."}},
		{FixRecord{Action: FixAdd, Name: "5.113.0.203.in-addr.arpa", Type: "PTR", Value: "mail.example.com"}, []string{"Add 5.113.0.203.in-addr.arpa. PTR mail.example.com."}},
		{FixRecord{Action: FixAdd, Name: "mail.example.com", Type: "A", Value: "203.0.113.5"}, []string{"Add mail.example.com. A 203.0.113.5"}},
		{FixRecord{Action: FixReplace, Name: "example.com", Type: "TXT", Old: `v=spf1 +all`, Value: `v=spf1 ip4:203.0.113.5 exp=x.example.com ~all`},
			[]string{`Replace example.com. TXT "v=spf1 +all"`, `   with example.com. TXT "v=spf1 ip4:203.0.113.5 exp=x.example.com ~all"`}},
		{FixRecord{Action: FixAdd, Name: "x.example.com", Type: "TXT", Value: `say "hi" \o/`}, []string{`Add x.example.com. TXT "say \"hi\" \\o/"`}},
		{FixRecord{Action: FixAdd, Name: "example.com", Type: "TXT", Value: long},
			[]string{`Add example.com. TXT "` + long[:255] + `" "` + long[255:] + `"`}},
	} {
		if got := tt.r.Lines(); !slices.Equal(got, tt.want) {
			t.Errorf("%+v:\ngot  %q\nwant %q", tt.r, got, tt.want)
		}
	}
}

func TestFixTextPutsRecordsAfterAdvice(t *testing.T) {
	f := Finding{Fix: "End the record with ~all:", FixRecords: []FixRecord{{Action: FixReplace, Name: "example.com", Type: "TXT", Old: "v=spf1 ?all", Value: "v=spf1 ~all"}}}
	want := "End the record with ~all:\nReplace example.com. TXT \"v=spf1 ?all\"\n   with example.com. TXT \"v=spf1 ~all\""
	if got := fixText(f); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := fixText(Finding{Fix: "advice"}); got != "advice" {
		t.Errorf("advice alone: %q", got)
	}
}
