// Package report holds what checks find and how it is judged and shown:
// findings with stable IDs and ordered severities, per-check results, the
// score and grade, the direct-delivery verdict, the exit-code gate, and
// one writer per output format (text, json).
package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SchemaVersion is the version of the JSON shape (docs/schema.json).
const SchemaVersion = 1

// Severity orders findings: Pass < Info < Warn < Error < Fail, the
// order of a check's status, its worst finding (DESIGN "Changes" 5): a
// certain failure outranks not knowing, and not knowing outranks any
// warning. Error is not a judgement: the thing could not be checked
// (timeout, SERVFAIL, a list refused us), so it is never counted as a
// warning or a failure by a gate.
type Severity int

// Severities, in order.
const (
	Pass Severity = iota
	Info
	Warn
	Error
	Fail
)

var severityNames = [...]string{"pass", "info", "warn", "error", "fail"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if n == name {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want pass, info, warn, fail or error)", name)
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(severityNames) {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// Judged reports whether the severity is at least min and is a
// judgement, not an Error: what gates count.
func (s Severity) Judged(min Severity) bool { return s != Error && s >= min }

// Worst returns the status of a set of findings: Pass when empty.
func Worst(fs []Finding) Severity {
	w := Pass
	for _, f := range fs {
		w = max(w, f.Severity)
	}
	return w
}

// Finding is one thing a check found. ID is stable API ("check.slug").
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Subject is what the finding is about when a check looks at
	// several things: an IP, a host name, a selector, a list.
	Subject string `json:"subject,omitempty"`
	Message string `json:"message"`
	// Fix says what to change, with the exact record where there is one.
	Fix      string         `json:"fix,omitempty"`
	Evidence map[string]any `json:"evidence,omitempty"`
}

// Check returns the check part of the finding's ID ("rdns" of "rdns.no_ptr").
func (f Finding) Check() string {
	c, _, _ := strings.Cut(f.ID, ".")
	return c
}

// CheckResult is one check's findings.
type CheckResult struct {
	ID         string    `json:"id"`
	Status     Severity  `json:"status"`
	DurationMS int64     `json:"duration_ms"`
	DNSQueries int64     `json:"dns_queries"`
	Findings   []Finding `json:"findings"`
	// OmittedFindings counts the findings past MaxFindings, not shown:
	// the least severe (findings are sorted worst first).
	OmittedFindings int `json:"omitted_findings,omitempty"`
}

// Tool names the program that wrote a report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Target is what was checked, as given (normalised).
type Target struct {
	Domain    string   `json:"domain,omitempty"`
	IPs       []string `json:"ips,omitempty"`
	HELO      string   `json:"helo,omitempty"`
	Selectors []string `json:"selectors,omitempty"`
	MailFrom  string   `json:"mail_from,omitempty"`
	SendTo    string   `json:"send_to,omitempty"`
}

// Direct-delivery verdicts.
const (
	Ready    = "ready"
	NotReady = "not_ready"
	Unknown  = "unknown"
)

// Verdict answers "can this IP and domain deliver mail directly?".
type Verdict struct {
	DirectDelivery string `json:"direct_delivery"`
	// Blocking lists the finding IDs that make it not_ready.
	Blocking []string `json:"blocking"`
	// Unchecked lists the checks the verdict needs that did not run in
	// this report (single-check commands), or could not finish.
	Unchecked []string `json:"unchecked,omitempty"`
}

// Resolver describes the DNS the run used.
type Resolver struct {
	Servers []string `json:"servers,omitempty"`
	Zones   []string `json:"zones,omitempty"` // --zone files answering their names
	Offline bool     `json:"offline,omitempty"`
	Queries int64    `json:"queries"`
}

// Report is the whole result of a run.
type Report struct {
	SchemaVersion int           `json:"schema_version"`
	Tool          Tool          `json:"tool"`
	Command       string        `json:"command"`
	Target        Target        `json:"target"`
	GeneratedAt   time.Time     `json:"generated_at"`
	DurationMS    int64         `json:"duration_ms"`
	Score         int           `json:"score"`
	Grade         string        `json:"grade"`
	Verdict       Verdict       `json:"verdict"`
	Resolver      *Resolver     `json:"resolver,omitempty"`
	Checks        []CheckResult `json:"checks"`

	// catalog is what Build judged the findings by; TopFixes orders by it.
	catalog Catalog
}

// Build assembles a report from check results: statuses, sorted findings,
// and the score, grade and verdict by the catalogue; then it cuts the
// findings and their texts to the report's bounds (limits.go). Checks
// keep the order given.
func Build(r Report, results []CheckResult, cat Catalog) Report {
	r.SchemaVersion = SchemaVersion
	r.Checks = make([]CheckResult, len(results))
	for i, c := range results {
		c.Findings = slices.Clone(c.Findings)
		if c.Findings == nil {
			c.Findings = []Finding{}
		}
		SortFindings(c.Findings)
		c.Status = Worst(c.Findings)
		r.Checks[i] = c
	}
	r.catalog = cat
	r.Score = cat.Score(r.Findings())
	r.Grade = Grade(r.Score)
	r.Verdict = cat.Judge(r.Checks)
	limit(r.Checks)
	return r
}

// SortFindings orders findings worst first, then by ID and subject, so
// reports are stable.
func SortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return cmp.Compare(a.Subject, b.Subject)
	})
}

// Findings returns every finding of every check, in report order.
func (r Report) Findings() []Finding {
	var out []Finding
	for _, c := range r.Checks {
		out = append(out, c.Findings...)
	}
	return out
}
