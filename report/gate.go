package report

import "fmt"

// Exit codes (DESIGN §7). Scripts and CI depend on them.
const (
	ExitOK         = 0 // gate passed
	ExitGateFailed = 1 // a finding at or above --fail-on, or score below --min-score
	ExitUsage      = 2 // bad flag, argument, zone file or config; no report
	ExitIncomplete = 3 // some check ended in error and the gate did not otherwise fail
)

// Gate is the exit policy for CI: which findings fail a run.
type Gate struct {
	FailOn   Severity // Warn or Fail
	MinScore int      // 0 = no minimum
}

// ParseFailOn reads --fail-on.
func ParseFailOn(s string) (Severity, error) {
	switch s {
	case "warn":
		return Warn, nil
	case "fail":
		return Fail, nil
	}
	return 0, fmt.Errorf("--fail-on %q: want warn or fail", s)
}

// Outcome is the gate's decision with its reasons, for people.
type Outcome struct {
	Code    int
	Reasons []string
}

// Apply decides the exit code for a report.
func (g Gate) Apply(r Report) Outcome {
	var reasons []string
	failing := 0
	for _, f := range r.Findings() {
		if f.Severity.Judged(g.FailOn) {
			failing++
		}
	}
	if failing > 0 {
		reasons = append(reasons, fmt.Sprintf("%d finding(s) at or above %s", failing, g.FailOn))
	}
	if g.MinScore > 0 && r.Score < g.MinScore {
		reasons = append(reasons, fmt.Sprintf("score %d is below --min-score %d", r.Score, g.MinScore))
	}
	return decide(r, reasons)
}

// decide is the outcome once the gate's failure reasons are known: exit
// 1 with them, else exit 3 when something could not be checked, else 0.
func decide(r Report, failures []string) Outcome {
	if len(failures) > 0 {
		return Outcome{Code: ExitGateFailed, Reasons: failures}
	}
	if n := countSeverity(r, Error); n > 0 {
		return Outcome{Code: ExitIncomplete, Reasons: []string{fmt.Sprintf("%d thing(s) could not be checked", n)}}
	}
	return Outcome{}
}
