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
// Version 2: fail means "blocks a verdict", an incomplete run has no
// score, verdict.relay, finding.path and finding.attempts (DESIGN
// "Changes" 18).
const SchemaVersion = 2

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
	// Fix is the advice: what to change and why, in words. When the
	// change is to DNS records, FixRecords holds them and Fix does not
	// repeat them.
	Fix string `json:"fix,omitempty"`
	// FixRecords are the DNS changes that make the finding go away, in
	// the order to make them.
	FixRecords []FixRecord    `json:"fix_records,omitempty"`
	Evidence   map[string]any `json:"evidence,omitempty"`
	// Path is the delivery path a test send's finding is about
	// (PathDirect, PathRelay): relay findings judge verdict.relay, never
	// direct delivery. Empty for every other finding.
	Path string `json:"path,omitempty"`
	// Attempts are the test send's connections this finding reports,
	// one line each in the text report.
	Attempts []Attempt `json:"attempts,omitempty"`
}

// Attempt is one connection of a test send, as the report shows it: where,
// the step it ended at, and the server's reply (or why there was none).
type Attempt struct {
	Path   string `json:"path"`
	Host   string `json:"host"`
	Addr   string `json:"addr,omitempty"`
	Step   string `json:"step"`   // connect, TLS, greeting, EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO, DATA
	Result string `json:"result"` // accepted, rejected, deferred, connect_failed...
	// Class is the error class of a failed attempt: dns, connect or smtp
	// (what a relays file's fallback_on names).
	Class string `json:"class,omitempty"`
	Reply string `json:"reply,omitempty"`
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
	// Names are more names looked up on domain blocklists (rbl's
	// arguments that are not IPs).
	Names []string `json:"names,omitempty"`
	// RelayCheck is the server probed for open relaying (send
	// --relay-check), HOST:PORT.
	RelayCheck string `json:"relay_check,omitempty"`
	// RouteTo are the recipients preflight route planned (issue #22).
	RouteTo []string `json:"route_to,omitempty"`
}

// Resolver describes the DNS the run used, and the config file the
// run's settings came from.
type Resolver struct {
	Servers []string `json:"servers,omitempty"` // resolvers, then blocklist servers (--list ZONE@SERVER)
	Zones   []string `json:"zones,omitempty"`   // zone files answering their names (a config's, --zone)
	Offline bool     `json:"offline,omitempty"`
	Queries int64    `json:"queries"`
	// Shared counts, in a batch, the questions answered by the batch's
	// cache: asked by another target, not sent by this one.
	Shared int64  `json:"shared,omitempty"`
	Config string `json:"config,omitempty"` // the config file read (check), as given
}

// Report is the whole result of a run.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Tool          Tool      `json:"tool"`
	Command       string    `json:"command"`
	Target        Target    `json:"target"`
	GeneratedAt   time.Time `json:"generated_at"`
	DurationMS    int64     `json:"duration_ms"`
	// Score and Grade are nil (null) when the run is incomplete.
	Score   *int    `json:"score"`
	Grade   *string `json:"grade"`
	Verdict Verdict `json:"verdict"`
	// Incomplete lists the checks that could not run to the end: an
	// error finding, or a required fact they could not establish.
	Incomplete []string      `json:"incomplete,omitempty"`
	Resolver   *Resolver     `json:"resolver,omitempty"`
	Checks     []CheckResult `json:"checks"`
	// Providers are the verdicts of the provider profiles asked for
	// (check --profile; package profiles), in the order asked.
	Providers []Provider `json:"providers,omitempty"`

	// catalog is what Build judged the findings by; TopFixes orders by it.
	catalog Catalog
	// summary is the major providers' verdicts, one line each in the
	// text under the verdict when no profile was asked for.
	summary []Provider
}

// Build assembles a report from check results: statuses, sorted findings,
// and the score, grade and verdict by the catalogue; then it cuts the
// findings and their texts to the report's bounds (limits.go). Checks
// keep the order given. An incomplete run gets no score: a score over
// what could be checked would read as a score of the whole; nor does a
// route plan.
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
	j := cat.judge(r.Target.IPs, r.Checks)
	r.Verdict, r.Incomplete = j.Verdict, j.incomplete
	r.Score, r.Grade = nil, nil
	// A dry run (preflight route) plans and tests nothing: a score of
	// its info findings would read as a result, so it has none.
	if len(r.Incomplete) == 0 && len(r.Target.RouteTo) == 0 {
		score := cat.Score(r.Findings())
		grade := Grade(score)
		r.Score, r.Grade = &score, &grade
	}
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
