package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// hugeReport has a check with a finding whose every text is huge, and
// more findings than are shown: what one hostile answer can make.
func hugeReport() Report {
	list := make([]string, 5000)
	for i := range list {
		list[i] = fmt.Sprintf("name%d.example", i)
	}
	huge := Finding{ID: "rbl.listed", Severity: Fail, Subject: strings.Repeat("s", 10_000),
		Message: "The record is " + strings.Repeat("m", 200_000),
		Fix:     "Publish " + strings.Repeat("f", 100_000),
		Evidence: map[string]any{
			"record": strings.Repeat("r", 200_000),
			"names":  list,
			"nested": map[string]any{"text": strings.Repeat("n", 50_000), "n": 7},
		}}
	findings := []Finding{huge}
	for i := range 150 {
		findings = append(findings, Finding{ID: "spf.permissive_all", Severity: Fail, Subject: fmt.Sprintf("record%03d", i),
			Message: "Listed.", Evidence: map[string]any{"answer": strings.Repeat("a", 30_000)}})
	}
	return Build(Report{Command: "check"}, []CheckResult{{ID: "spf", Findings: findings}}, testCatalog)
}

// TestReportLimits: a huge message, fix, subject and evidence are cut,
// saying how much was cut, in every format; findings past MaxFindings
// are counted, still score, and are said to be missing (issue #13 item
// 17: one hostile answer gave a 121 KB message and a 1.8 MB report).
func TestReportLimits(t *testing.T) {
	r := hugeReport()
	c := r.Checks[0]
	if len(c.Findings) != MaxFindings || c.OmittedFindings != 51 {
		t.Errorf("%d findings shown, %d omitted; want %d and 51", len(c.Findings), c.OmittedFindings, MaxFindings)
	}
	if want := testCatalog.Score([]Finding{{ID: "rbl.listed", Severity: Fail}, {ID: "spf.permissive_all", Severity: Fail}}); r.Score == nil || *r.Score != want || c.Status != Fail {
		t.Errorf("score %v, status %s; want %d, fail", r.Score, c.Status, want)
	}
	f := c.Findings[0]
	for _, tt := range []struct {
		field, got string
		max        int
		more       string
	}{
		{"message", f.Message, MaxMessage, "… 198990 more octets"},
		{"fix", f.Fix, MaxFix, "… 97960 more octets"},
		{"subject", f.Subject, MaxSubject, "… 9744 more octets"},
	} {
		if len(tt.got) > tt.max+32 || !strings.HasSuffix(tt.got, tt.more) {
			t.Errorf("%s of %d octets ending %q; want at most %d and %q", tt.field, len(tt.got), tt.got[max(0, len(tt.got)-30):], tt.max, tt.more)
		}
	}
	ev, _ := json.Marshal(f.Evidence)
	if len(ev) > MaxEvidence+1024 || !strings.Contains(string(ev), "more octets") || !strings.Contains(string(ev), `"… `) {
		t.Errorf("evidence of %d octets: %.300s", len(ev), ev)
	}

	for _, tc := range []struct {
		format string
		opts   Options
	}{{"text", Options{Verbose: true}}, {"json", Options{}}, {"github", Options{}}} {
		w, _ := NewWriter(tc.format, tc.opts)
		var b strings.Builder
		if err := w.Write(&b, r); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		// The huge finding in a few KB, the others with what is left of
		// the report's evidence budget.
		if len(out) > MaxReportEvidence+MaxFindings*(MaxMessage+MaxFix+MaxSubject)/8 {
			t.Errorf("%s: %d octets", tc.format, len(out))
		}
		if !strings.Contains(out, "… 198990 more octets") {
			t.Errorf("%s: the message's cut is not said", tc.format)
		}
		if tc.format != "json" && !strings.Contains(out, "51 more findings") || tc.format == "json" && !strings.Contains(out, `"omitted_findings": 51`) {
			t.Errorf("%s: the findings cut are not said", tc.format)
		}
		t.Logf("%s: %d octets", tc.format, len(out))
	}
}

// TestReportLimitsKeepSmallEvidence: evidence under the bounds keeps its
// Go values, not their JSON form.
func TestReportLimitsKeepSmallEvidence(t *testing.T) {
	ev := map[string]any{"ptr": []string{"a.example"}, "n": 3}
	r := Build(Report{}, []CheckResult{{ID: "ip", Findings: []Finding{{ID: "ip.dynamic_ptr", Severity: Warn, Message: "m", Evidence: ev}}}}, testCatalog)
	if _, ok := r.Checks[0].Findings[0].Evidence["ptr"].([]string); !ok {
		t.Errorf("evidence became %#v", r.Checks[0].Findings[0].Evidence)
	}
}

// Fix records are never cut; past the report's bound a finding whose
// records an earlier one shows says which, and the report stays small.
func TestFixRecordsBounded(t *testing.T) {
	record := FixRecord{Action: FixReplace, Name: "example.test", Type: "TXT", Old: strings.Repeat("a", 16<<10), Value: strings.Repeat("b", 16<<10)}
	var fs []Finding
	for i := range 50 {
		fs = append(fs, Finding{ID: "spf.syntax_error", Severity: Warn, Subject: fmt.Sprint(i), Message: "m", FixRecords: []FixRecord{record}})
	}
	r := Build(Report{}, []CheckResult{{ID: "spf", Findings: fs}}, testCatalog)
	kept, pointed := 0, 0
	for _, f := range r.Checks[0].Findings {
		switch {
		case len(f.FixRecords) == 1 && f.FixRecords[0] == record:
			kept++
		case strings.Contains(f.Fix, "The records are those of spf.syntax_error"):
			pointed++
		}
	}
	if kept == 0 || kept+pointed != 50 || kept*32<<10 > MaxReportFixRecords+(32<<10) {
		t.Errorf("%d findings keep the records, %d point to them; want all 50 one or the other, within %d octets", kept, pointed, MaxReportFixRecords)
	}
}
