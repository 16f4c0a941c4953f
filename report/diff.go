package report

import (
	"fmt"
	"io"
	"strings"
)

// Diff is what changed between an earlier report (the baseline) and now.
type Diff struct {
	Before, After int       // scores
	New           []Finding // failing now, not in the baseline
	Resolved      []Finding // failing in the baseline, not now
}

// key identifies a finding across runs.
func key(f Finding) string { return f.ID + "\x00" + f.Subject }

// Compare finds the findings at or above failOn that appeared or went
// away since before.
func Compare(before, after Report, failOn Severity) Diff {
	failing := func(r Report) map[string]Finding {
		m := map[string]Finding{}
		for _, f := range r.Findings() {
			if f.Severity.Judged(failOn) {
				m[key(f)] = f
			}
		}
		return m
	}
	b, a := failing(before), failing(after)
	d := Diff{Before: before.Score, After: after.Score}
	for _, f := range after.Findings() {
		if _, ok := a[key(f)]; ok {
			if _, old := b[key(f)]; !old {
				d.New = append(d.New, f)
			}
		}
	}
	for _, f := range before.Findings() {
		if _, ok := b[key(f)]; ok {
			if _, still := a[key(f)]; !still {
				d.Resolved = append(d.Resolved, f)
			}
		}
	}
	return d
}

// Gate decides the exit code against a baseline: only regressions fail
// (new failing findings, or a score drop larger than maxDrop). Failures
// already in the baseline do not.
func (d Diff) Gate(after Report, maxDrop int) Outcome {
	var reasons []string
	if len(d.New) > 0 {
		reasons = append(reasons, fmt.Sprintf("%d new failing finding(s) since the baseline", len(d.New)))
	}
	if drop := d.Before - d.After; drop > maxDrop {
		reasons = append(reasons, fmt.Sprintf("score dropped by %d (from %d to %d), more than --max-drop %d", drop, d.Before, d.After, maxDrop))
	}
	return decide(after, reasons)
}

// Write prints the difference for people; data is sanitised (sanitize.go),
// since CI logs show it.
func (d Diff) Write(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "Compared with the baseline: score %d → %d (%+d)", d.Before, d.After, d.After-d.Before)
	if len(d.New) == 0 && len(d.Resolved) == 0 {
		b.WriteString(", no new or resolved failing findings.\n")
	} else {
		b.WriteString("\n")
	}
	for _, f := range d.New {
		fmt.Fprintf(&b, "  + %s %s %s: %s\n", f.Severity, Sanitize(f.ID), Sanitize(f.Subject), Sanitize(f.Message))
	}
	for _, f := range d.Resolved {
		fmt.Fprintf(&b, "  - %s %s %s (resolved)\n", f.Severity, Sanitize(f.ID), Sanitize(f.Subject))
	}
	io.WriteString(w, guardLines(b.String()))
}
