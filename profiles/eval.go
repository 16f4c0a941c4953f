package profiles

import (
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/preflight-mail/preflight/report"
)

// state is a test's outcome: holds, does not hold, or not known.
type state int

const (
	unknown state = iota
	holds
	broken
	skipped       // a part whose When the run does not include
	notApplicable // only the test's NA findings: nothing to judge
)

// run is what a report says that the tests read.
type run struct {
	findings []finding
	ips      []netip.Addr
	met      map[string]bool // Rule.Needs kinds the run includes
}

// finding is a report's finding with its subject read as an IP once
// (ip is invalid when the subject is a domain, a list, a host): every
// per-IP test of every rule asks.
type finding struct {
	report.Finding
	ip netip.Addr
}

func newRun(rep report.Report) run {
	r := run{met: map[string]bool{}}
	for _, f := range rep.Findings() {
		ip, _ := netip.ParseAddr(f.Subject)
		r.findings = append(r.findings, finding{Finding: f, ip: ip})
	}
	for _, s := range rep.Target.IPs {
		if ip, err := netip.ParseAddr(s); err == nil {
			r.ips = append(r.ips, ip)
		}
	}
	r.met[NeedsHELO] = rep.Target.HELO != ""
	r.met[NeedsRelayCheck] = rep.Target.RelayCheck != ""
	for _, f := range r.findings {
		// A send through relays says nothing of the provider's MX.
		if f.Path == report.PathDirect {
			r.met[NeedsSend] = true
		}
	}
	for _, c := range rep.Checks {
		if c.ID == "format" { // a received message was judged (preflight message, check --message)
			r.met[NeedsMessage] = true
		}
	}
	return r
}

// to keeps, of the direct test send's findings, those of a send that
// went to one of the MX domains (the host sent to, its evidence's host,
// or the recipient's domain): Gmail's TLS rule is not judged by a send elsewhere. No
// domains: the run as it is.
func (r run) to(mx []string) run {
	if len(mx) == 0 {
		return r
	}
	out := run{ips: r.ips, met: maps.Clone(r.met)}
	out.met[NeedsSend] = false
	for _, f := range r.findings {
		if f.Path == report.PathDirect {
			hosts := []string{strings.ToLower(f.Subject)}
			if h, ok := f.Evidence["host"].(string); ok {
				hosts = append(hosts, strings.ToLower(h))
			}
			if !slices.ContainsFunc(hosts, func(host string) bool { return under(host, mx) }) {
				continue
			}
			out.met[NeedsSend] = true
		}
		out.findings = append(out.findings, f)
	}
	return out
}

// under reports whether host (or an address's domain) is one of the
// domains or under one.
func under(host string, domains []string) bool {
	if _, domain, ok := strings.Cut(host, "@"); ok {
		host = domain
	} else if h, _, err := net.SplitHostPort(host); err == nil {
		host = h // a relay's HOST:PORT
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return slices.ContainsFunc(domains, func(d string) bool { return host == d || strings.HasSuffix(host, "."+d) })
}

// FromProvider reports whether a reply from host can be the provider's
// own: the provider lists its MX domains (Gmail: google.com, ...) and
// host is under one, or it lists none. A reply worded like Gmail's from
// another server is not Gmail's refusal, and a profile does not count it
// (Evaluate keeps only the direct send to the provider's MX).
func (t *Table) FromProvider(p Provider, host string) bool {
	mx := t.mxOf(p)
	return len(mx) == 0 || under(host, mx)
}

// Evaluate judges the report's findings by each named profile's rules,
// in the order given; an ID that names no profile is skipped (the caller
// checked them with ParseList).
func (t *Table) Evaluate(ids []string, rep report.Report) []report.Provider {
	r := newRun(rep)
	var out []report.Provider
	for _, id := range ids {
		p, ok := t.Profile(id)
		if !ok {
			continue
		}
		out = append(out, t.judge(p, r.to(t.mxOf(p))))
	}
	return out
}

// judge is one provider's verdict: rejects when a required rule fails,
// unknown when one could not be established, else accepts. Rules not
// checked from this run, or not checkable at all, are listed and decide
// nothing: "accepts" means every rule that could be checked holds.
func (t *Table) judge(p Provider, r run) report.Provider {
	out := report.Provider{ID: p.ID, Name: p.Name, Verdict: report.Accepts, Rules: []report.ProviderRule{}}
	var failed, unsure bool
	for _, rule := range t.RulesOf(p) {
		rr := judgeRule(rule, r)
		if rule.Required() {
			failed = failed || rr.Status == report.RuleFail
			unsure = unsure || rr.Status == report.RuleUnknown
		}
		out.Rules = append(out.Rules, rr)
	}
	switch {
	case failed:
		out.Verdict = report.Rejects
	case unsure:
		out.Verdict = report.Unknown
	}
	return out
}

func judgeRule(rule Rule, r run) report.ProviderRule {
	rr := report.ProviderRule{ID: rule.ID, Required: rule.Required(), Codes: slices.Clone(rule.Codes), Findings: []string{}, Summary: rule.Summary, Fix: rule.Fix}
	if rr.Codes == nil {
		rr.Codes = []string{}
	}
	if ids := r.refusedFor(rule.ID); len(ids) > 0 {
		// The provider itself refused the test send for this rule: that
		// decides it, checkable from DNS or not.
		rr.Status, rr.Findings = report.RuleFail, ids
		return rr
	}
	switch {
	case rule.NotCheckable != "" && rule.Needs != "":
		rr.Status, rr.Needs = report.RuleNotChecked, rule.Needs
	case rule.NotCheckable != "":
		rr.Status, rr.Reason = report.RuleNotCheckable, rule.NotCheckable
	case rule.Applies == "ipv6" && !slices.ContainsFunc(r.ips, func(ip netip.Addr) bool { return ip.Is6() && !ip.Is4In6() }):
		rr.Status = report.RuleNotApplicable
	case rule.Needs != "" && !r.met[rule.Needs]:
		rr.Status, rr.Needs = report.RuleNotChecked, rule.Needs
	case rule.Establish == nil:
		rr.Status, rr.Reason = report.RuleNotCheckable, "no finding establishes it"
	default:
		st, ids := r.eval(*rule.Establish)
		rr.Status = map[state]string{holds: report.RulePass, broken: report.RuleFail, unknown: report.RuleUnknown, skipped: report.RuleUnknown, notApplicable: report.RuleNotApplicable}[st]
		rr.Findings = ids
		if rr.Findings == nil {
			rr.Findings = []string{}
		}
	}
	return rr
}

// refusedFor returns the IDs of the direct test send's refusals that the
// explainer attributed to the rule (send.rejected's provider_rule).
func (r run) refusedFor(rule string) []string {
	var out []string
	for _, f := range r.findings {
		if f.Path != report.PathDirect || f.Severity == report.Pass {
			continue
		}
		if id, _ := f.Evidence["provider_rule"].(string); id == rule {
			out = addIDs(out, []string{f.ID})
		}
	}
	return out
}

// eval runs a test over the run's findings and returns the finding IDs
// that decided it.
func (r run) eval(t Test) (state, []string) {
	switch {
	case t.When != "" && !r.met[t.When]:
		return skipped, nil
	case len(t.All) > 0:
		return r.combine(t.All, broken, holds)
	case len(t.Any) > 0:
		return r.combine(t.Any, holds, broken)
	}
	return r.leaf(t)
}

// combine is all (decisive = broken, otherwise = holds) and any
// (decisive = holds, otherwise = broken): one decisive part decides;
// every part the other way decides the other way; else unknown.
func (r run) combine(parts []Test, decisive, otherwise state) (state, []string) {
	var dec, oth []string
	nDec, nOth, n := 0, 0, 0
	for _, p := range parts {
		st, ids := r.eval(p)
		if st == notApplicable {
			st = skipped
		}
		if st != skipped {
			n++
		}
		switch st {
		case decisive:
			nDec++
			dec = addIDs(dec, ids)
		case otherwise:
			nOth++
			oth = addIDs(oth, ids)
		}
	}
	switch {
	case nDec > 0:
		return decisive, dec
	case n == 0:
		return skipped, nil
	case nOth == n:
		return otherwise, oth
	}
	return unknown, nil
}

func addIDs(to, ids []string) []string {
	for _, id := range ids {
		if !slices.Contains(to, id) {
			to = append(to, id)
		}
	}
	return to
}

// leaf judges a test of finding IDs. A finding counts when it is of the
// test's path and, for a per-IP test, about one of the IPs judged or
// about something that is not an IP (a domain, a list: it concerns
// every IP). A finding of a fail ID (not an error) breaks the test, unless
// pass_wins and one of a pass ID is there; it holds when a pass ID is
// found (for each IP judged, per IP) and no error finding of the checks
// it names leaves that in doubt.
func (r run) leaf(t Test) (state, []string) {
	ips := r.ips
	if t.Family != 0 {
		ips = slices.DeleteFunc(slices.Clone(ips), func(ip netip.Addr) bool { return (t.Family == 6) != (ip.Is6() && !ip.Is4In6()) })
	}
	about := func(f finding) bool {
		if t.Path != "" && f.Path != t.Path {
			return false
		}
		return !t.PerIP || !f.ip.IsValid() || slices.Contains(ips, f.ip)
	}
	checks := map[string]bool{}
	for _, id := range baseIDs(append(slices.Clone(t.Pass), t.Fail...)) {
		c, _, _ := strings.Cut(id, ".")
		checks[c] = true
	}
	named := func(specs []string, f finding) bool {
		return slices.ContainsFunc(specs, func(s string) bool {
			return qualifierOf(s).matches(f.ID, f.Subject, f.Evidence)
		})
	}
	var passIDs, failIDs []string
	passedIP := map[string]bool{}
	doubt, na := false, false
	for _, f := range r.findings {
		if !about(f) {
			continue
		}
		if t.IPsOnly && !f.ip.IsValid() && f.Severity != report.Error {
			continue
		}
		switch {
		case f.Severity == report.Error && len(t.Doubt) > 0:
			doubt = doubt || named(t.Doubt, f)
		case f.Severity == report.Error:
			doubt = doubt || checks[f.Check()]
		case named(t.Fail, f):
			failIDs = addIDs(failIDs, []string{f.ID})
		case named(t.Pass, f):
			passIDs = addIDs(passIDs, []string{f.ID})
			passedIP[f.Subject] = true
		case named(t.NA, f):
			na = true
		}
	}
	switch {
	case na && len(passIDs) == 0 && len(failIDs) == 0 && !doubt:
		return notApplicable, nil
	case t.PassWins && len(passIDs) > 0 && !t.PerIP:
		return holds, passIDs
	case len(failIDs) > 0:
		return broken, failIDs
	case doubt || len(passIDs) == 0:
		return unknown, nil
	case t.PerIP:
		if len(ips) == 0 {
			return unknown, nil
		}
		for _, ip := range ips {
			if !passedIP[ip.String()] {
				return unknown, nil
			}
		}
	}
	return holds, passIDs
}
