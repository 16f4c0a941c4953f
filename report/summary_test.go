package report

import (
	"strings"
	"testing"
)

// The step summary shows the score, the verdict and the top fixes with
// their records; data cannot add HTML, links or table cells, nor close
// a fence.
func TestWriteSummary(t *testing.T) {
	r := fixture()
	for i, f := range r.Checks[1].Findings {
		if f.ID == "rdns.no_ptr" {
			r.Checks[1].Findings[i].Message = "2001:db8::5 has no PTR record <img src=x> [link](https://evil.example) | cell"
			r.Checks[1].Findings[i].FixRecords = []FixRecord{{Action: FixAdd, Name: "x.example", Type: "TXT", Value: "```\n## injected"}}
		}
	}
	var b strings.Builder
	if err := WriteSummary(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"### preflight rdns", "| Direct delivery | not\\_ready", "**Fix first**", "\\<img src=x\\>", "\\[link\\]\\(https://evil\\.example\\) \\| cell", "````"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{" <img", " [link](", "\n## injected"} {
		if strings.Contains(out, bad) {
			t.Errorf("summary holds %q:\n%s", bad, out)
		}
	}
}

// A fix's indented lines (the relays file's policy, to paste) stay lines
// of a fenced block, not words of one paragraph; a fence inside them
// cannot close it.
func TestWriteSummaryFixLines(t *testing.T) {
	r := fixture()
	for i, f := range r.Checks[1].Findings {
		if f.ID == "rdns.no_ptr" {
			r.Checks[1].Findings[i].Fix = "Ask the provider.\nOr use a gateway:\n  policy: for-domains\n  domains: [gmail.com]\n  relays:\n    - {host: \"smtp.isp.example:587\"}\n  x: ```\nThen run route."
		}
	}
	var b strings.Builder
	if err := WriteSummary(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	want := "   Ask the provider\\.  \n   Or use a gateway:\n\n   ````\n     policy: for-domains\n     domains: [gmail.com]\n     relays:\n       - {host: \"smtp.isp.example:587\"}\n     x: ```\n   ````\n\n   Then run route\\.\n"
	if !strings.Contains(out, want) {
		t.Errorf("summary lacks\n%s\nin\n%s", want, out)
	}
}
