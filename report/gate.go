package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/preflight-mail/preflight/internal/words"
)

// Exit codes (DESIGN §7). Scripts and CI depend on them.
const (
	ExitOK         = 0 // gate passed
	ExitGateFailed = 1 // a verdict is not_ready, or a gate the user asked for failed
	ExitUsage      = 2 // bad flag, argument, zone file or config; no report
	ExitIncomplete = 3 // the run is incomplete and the gate did not otherwise fail
)

// Gate is the exit policy for CI: which findings fail a run.
type Gate struct {
	FailOn   Severity // Warn or Fail
	MinScore int      // 0 = no minimum
	// Profiles are the providers whose verdict gates the exit code
	// (--fail-on-profile): rejects fails the gate, unknown is exit 3.
	Profiles []string
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

// Outcome is the gate's decision with its reasons, for people: each
// reason is one line's worth ("verdict not_ready (spf.ip_softfail)").
type Outcome struct {
	Code    int
	Reasons []string
}

// Apply decides the exit code for a report: 1 when a verdict is
// not_ready or a gate the user asked for fails (--fail-on warn,
// --min-score), else 3 when the run is incomplete, else 0. A finding at
// fail always makes a verdict not_ready (DESIGN §8), so the default
// --fail-on fail is the verdict itself.
func (g Gate) Apply(r Report) Outcome {
	reasons := verdictReasons(r.Verdict)
	if g.FailOn == Warn {
		if ids := idsAt(r, Warn); len(ids) > 0 {
			reasons = append(reasons, fmt.Sprintf("--fail-on warn: %s at warn", strings.Join(ids, ", ")))
		}
	}
	// Without a score (an incomplete run) --min-score cannot be decided:
	// the outcome is incomplete, never a pass.
	if g.MinScore > 0 && r.Score != nil && *r.Score < g.MinScore {
		reasons = append(reasons, fmt.Sprintf("score %d < --min-score %d", *r.Score, g.MinScore))
	}
	failed, unknown := g.profileReasons(r)
	out := decide(r, append(reasons, failed...))
	if out.Code == ExitOK && len(unknown) > 0 {
		out = Outcome{Code: ExitIncomplete, Reasons: unknown}
	}
	return out
}

// profileReasons are the gated providers that reject (gate failures) and
// those whose verdict is unknown (an incomplete outcome, never a pass).
func (g Gate) profileReasons(r Report) (failed, unknown []string) {
	for _, id := range g.Profiles {
		i := slices.IndexFunc(r.Providers, func(p Provider) bool { return p.ID == id })
		if i < 0 {
			unknown = append(unknown, fmt.Sprintf("--fail-on-profile %s: no verdict in this report", Sanitize(id)))
			continue
		}
		p := r.Providers[i]
		rules, unsure, _ := p.counts()
		switch p.Verdict {
		case Rejects:
			failed = append(failed, fmt.Sprintf("provider %s rejects (%s)", Sanitize(id), Sanitize(strings.Join(rules, ", "))))
		case Accepts:
		default:
			unknown = append(unknown, fmt.Sprintf("provider %s unknown (%s)", Sanitize(id), Sanitize(strings.Join(unsure, ", "))))
		}
	}
	return failed, unknown
}

// verdictReasons are the gate failures a verdict makes by itself.
func verdictReasons(v Verdict) []string {
	var out []string
	if v.DirectDelivery == NotReady {
		out = append(out, fmt.Sprintf("verdict not_ready (%s)", strings.Join(v.Blocking, ", ")))
	}
	if v.Relay == NotReady {
		out = append(out, fmt.Sprintf("relay verdict not_ready (%s)", strings.Join(v.RelayBlocking, ", ")))
	}
	return out
}

// idsAt lists the distinct IDs of the findings at severity s, sorted.
func idsAt(r Report, s Severity) []string {
	var ids []string
	for _, f := range r.Findings() {
		if f.Severity == s && !slices.Contains(ids, f.ID) {
			ids = append(ids, f.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// decide is the outcome once the gate's failure reasons are known: exit
// 1 with them, else exit 3 when the run is incomplete, else 0.
func decide(r Report, failures []string) Outcome {
	if len(failures) > 0 {
		return Outcome{Code: ExitGateFailed, Reasons: failures}
	}
	if n := len(r.Incomplete); n > 0 {
		return Outcome{Code: ExitIncomplete, Reasons: []string{fmt.Sprintf("incomplete: %d %s could not run (%s)",
			n, words.Plural(int64(n), "check", "checks"), strings.Join(r.Incomplete, ", "))}}
	}
	return Outcome{}
}
