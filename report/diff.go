package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/preflight-mail/preflight/internal/words"
)

// Diff is what changed between an earlier report (the baseline) and now.
type Diff struct {
	Before, After *int      // scores; nil for an incomplete run
	New           []Finding // at warn or fail now, not in the baseline
	Resolved      []Finding // at warn or fail in the baseline, not now
	failOn        Severity  // what of New fails the gate
}

// key identifies a finding across runs, with its severity: a warning
// that became a failure is a new failure.
func key(f Finding) string { return f.ID + "\x00" + f.Subject + "\x00" + f.Severity.String() }

// Compare finds the warnings and failures that appeared or went away
// since before (a finding whose severity changed counts as both); the
// gate fails on the new ones at or above failOn.
func Compare(before, after Report, failOn Severity) Diff {
	failing := func(r Report) map[string]Finding {
		m := map[string]Finding{}
		for _, f := range r.Findings() {
			if f.Severity.Judged(Warn) {
				m[key(f)] = f
			}
		}
		return m
	}
	b, a := failing(before), failing(after)
	d := Diff{Before: before.Score, After: after.Score, failOn: failOn}
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
// already in the baseline do not, a not_ready verdict among them: the
// baseline gate replaces the verdict gate. Without both scores the drop
// cannot be measured; an incomplete run then ends in exit 3.
func (d Diff) Gate(after Report, maxDrop int) Outcome {
	var reasons []string
	var ids []string
	n := 0
	for _, f := range d.New {
		if f.Severity.Judged(d.failOn) {
			n++
			if !slices.Contains(ids, f.ID) {
				ids = append(ids, f.ID)
			}
		}
	}
	if n > 0 {
		reasons = append(reasons, fmt.Sprintf("%d new %s at %s since the baseline (%s)",
			n, words.Plural(n, "finding", "findings"), d.failOn, strings.Join(ids, ", ")))
	}
	if d.Before != nil && d.After != nil {
		if drop := *d.Before - *d.After; drop > maxDrop {
			reasons = append(reasons, fmt.Sprintf("score dropped by %d (from %d to %d), more than --max-drop %d", drop, *d.Before, *d.After, maxDrop))
		}
	}
	return decide(after, reasons)
}

// Write prints the difference for people; data is sanitised (sanitize.go),
// since CI logs show it.
func (d Diff) Write(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "Compared with the baseline: score %s → %s", scoreText(d.Before), scoreText(d.After))
	if d.Before != nil && d.After != nil {
		fmt.Fprintf(&b, " (%+d)", *d.After-*d.Before)
	}
	if len(d.New) == 0 && len(d.Resolved) == 0 {
		b.WriteString(", no new or resolved warnings or failures.\n")
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

// scoreText is a score, or "—" for none (an incomplete run).
func scoreText(score *int) string {
	if score == nil {
		return "—"
	}
	return strconv.Itoa(*score)
}
