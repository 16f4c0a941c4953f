package dmarc

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		txt, problem string
		policy, sub  string
		pct          int
		rua          string
	}{
		{"v=DMARC1; p=reject", "", "reject", "reject", 100, ""},
		{"v=DMARC1;p=quarantine;sp=none;pct=50;rua=mailto:a@example.com,mailto:b@example.net!10m", "", "quarantine", "none", 50, "a@example.com,b@example.net"},
		{"v=DMARC1; p=none; adkim=s; aspf=r; fo=1:d; ri=3600", "", "none", "none", 100, ""},
		{"v=DMARC1", "no p=", "", "", 100, ""},
		{"v=DMARC1; p=rejected", "want none, quarantine or reject", "", "", 100, ""},
		{"v=DMARC1; p=none; pct=150", "pct=150", "none", "none", 100, ""},
		{"v=DMARC1; p=none; rua=dmarc@example.com", "not a mailto: URI", "none", "none", 100, ""},
		{"v=DMARC1; p=none; rua=mailto:not-an-address", "not an email address", "none", "none", 100, ""},
		{"p=none; v=DMARC1", "must start with v=DMARC1", "none", "none", 100, ""},
		{"v=DMARC1; rua=mailto:a@example.com; p=none", "right after", "none", "none", 100, "a@example.com"},
		{"v=DMARC1; p=none; adkim=x", "adkim=x", "none", "none", 100, ""},
		{"v=DMARC1; p=none; p=reject", "twice", "none", "none", 100, ""},
	}
	for _, tt := range tests {
		r, problems := Parse(tt.txt)
		first := ""
		if len(problems) > 0 {
			first = problems[0]
		}
		if tt.problem == "" && first != "" || tt.problem != "" && !strings.Contains(first, tt.problem) {
			t.Errorf("Parse(%q): problems %v, want %q", tt.txt, problems, tt.problem)
		}
		if r.Policy != tt.policy || r.Sub != tt.sub || r.Pct != tt.pct || strings.Join(r.RUA, ",") != tt.rua {
			t.Errorf("Parse(%q) = p=%s sp=%s pct=%d rua=%v", tt.txt, r.Policy, r.Sub, r.Pct, r.RUA)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		txt  string
		edit func(Record) Record
		want string
	}{
		{"v=DMARC1; p=none; rua=mailto:a@example.com", func(r Record) Record { return r.With("p", "quarantine") }, "v=DMARC1; p=quarantine; rua=mailto:a@example.com"},
		{"v=DMARC1;p=reject;sp=none", func(r Record) Record { return r.With("sp", "quarantine") }, "v=DMARC1; p=reject; sp=quarantine"},
		{"v=DMARC1; p=reject", func(r Record) Record { return r.With("rua", "mailto:d@example.com") }, "v=DMARC1; p=reject; rua=mailto:d@example.com"},
		// p= after v=, a broken part and a repeated tag left out.
		{"v=DMARC1; rua=mailto:a@example.com; p=none; junk; p=reject", func(r Record) Record { return r }, "v=DMARC1; p=none; rua=mailto:a@example.com"},
		{"v=DMARC1; p=none; pct=150; adkim=s", func(r Record) Record { return r.Without("pct") }, "v=DMARC1; p=none; adkim=s"},
	}
	for _, tt := range tests {
		r, _ := Parse(tt.txt)
		if got := tt.edit(r).Format(); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.txt, got, tt.want)
		}
		if _, problems := Parse(tt.edit(r).Format()); len(problems) > 0 && !strings.Contains(tt.txt, "pct=150") {
			t.Errorf("%q: formatted record has problems %v", tt.txt, problems)
		}
	}
	// With and Without leave the original alone.
	r, _ := Parse("v=DMARC1; p=none")
	r.With("p", "reject").Without("p")
	if r.Format() != "v=DMARC1; p=none" {
		t.Errorf("the original changed: %q", r.Format())
	}
}

func TestInvalid(t *testing.T) {
	r, _ := Parse("v=DMARC1; p=none; sp=nope; pct=x; rua=mailto:a@example.com,dmarc@example.com; ri=1h; adkim=r")
	if want := []string{"sp", "pct", "ri", "rua"}; strings.Join(r.Invalid, ",") != strings.Join(want, ",") {
		t.Errorf("Invalid = %v, want %v", r.Invalid, want)
	}
}
