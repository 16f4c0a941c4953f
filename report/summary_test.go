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
