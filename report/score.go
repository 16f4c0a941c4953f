package report

import (
	"cmp"
	"slices"
)

// Penalty is what a finding costs the score, by severity. The table
// below is the one place the score comes from; README explains it.
type Penalty struct{ Fail, Warn int }

// Weights: points taken from 100 for each distinct finding ID present,
// at the severity it was found with. An ID costs once however many IPs,
// names or lists it was found for: the score grades the setup, not the
// number of addresses. IDs not in the table cost DefaultPenalty.
//
// The reasoning, roughly: what makes receivers refuse or junk mail
// outright (no PTR, a blocklist, SPF fail, a rejected test send) costs
// 25–40; what makes them suspicious (dynamic-looking PTR, softfail,
// missing DMARC/DKIM) 10–20; hygiene (HELO, ptr mechanism, DMARC p=none)
// 2–8.
var Weights = map[string]Penalty{
	"ip.not_public":  {Fail: 60},
	"ip.dynamic_ptr": {Warn: 20},
	// Counted under rbl.policy_listed when both appear; alone (preflight
	// ip) it still says the address is end-user space.
	"ip.policy_listed": {Warn: 5},

	"rdns.no_ptr":          {Fail: 30},
	"rdns.fcrdns_mismatch": {Fail: 25},
	"rdns.helo_mismatch":   {Warn: 8},
	"rdns.helo_invalid":    {Warn: 8},

	"rbl.listed":        {Fail: 35},
	"rbl.policy_listed": {Warn: 15},

	"spf.missing":           {Fail: 25},
	"spf.multiple_records":  {Fail: 25},
	"spf.syntax_error":      {Fail: 20},
	"spf.lookup_limit":      {Fail: 20},
	"spf.void_lookup_limit": {Fail: 15},
	"spf.permissive_all":    {Fail: 20, Warn: 5},
	"spf.ptr_mechanism":     {Warn: 3},
	"spf.ip_fail":           {Fail: 30},
	"spf.ip_softfail":       {Warn: 15},
	"spf.ip_neutral":        {Warn: 10},

	"dkim.missing":      {Fail: 15},
	"dkim.revoked":      {Fail: 10},
	"dkim.weak_key":     {Fail: 10, Warn: 4},
	"dkim.testing_mode": {Warn: 3},
	"dkim.syntax_error": {Fail: 10},

	"dmarc.missing":                   {Fail: 15},
	"dmarc.multiple_records":          {Fail: 15},
	"dmarc.syntax_error":              {Fail: 15},
	"dmarc.policy_none":               {Warn: 5},
	"dmarc.external_rua_unauthorized": {Warn: 2},

	"mx.missing": {Warn: 5},
	"mx.null":    {Warn: 5},

	"send.rejected":       {Fail: 35},
	"send.connect_failed": {Fail: 15},
	"send.port25_blocked": {Fail: 35},
	"send.no_starttls":    {Fail: 15, Warn: 8},
	"send.tls_unverified": {Warn: 3},
	"send.deferred":       {Warn: 5},
	"send.auth_failed":    {Fail: 15},
	"send.open_relay":     {Fail: 40},
}

// DefaultPenalty is what an ID missing from Weights costs.
var DefaultPenalty = Penalty{Fail: 10, Warn: 3}

// penalty is what one finding costs. Pass, info and error cost nothing:
// an error means unknown, and the verdict and exit code carry that.
func penalty(f Finding) int {
	p, ok := Weights[f.ID]
	if !ok {
		p = DefaultPenalty
	}
	switch f.Severity {
	case Fail:
		return p.Fail
	case Warn:
		return p.Warn
	}
	return 0
}

// Score is 100 minus the penalty of each distinct finding ID (the
// highest of its instances), never below 0.
func Score(fs []Finding) int {
	worst := map[string]int{}
	for _, f := range fs {
		worst[f.ID] = max(worst[f.ID], penalty(f))
	}
	score := 100
	for _, p := range worst {
		score -= p
	}
	return max(score, 0)
}

// Grade maps a score to a letter: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else F.
func Grade(score int) string {
	switch {
	case score >= 90:
		return "A"
	case score >= 80:
		return "B"
	case score >= 70:
		return "C"
	case score >= 60:
		return "D"
	}
	return "F"
}

// Direct delivery needs, for every sending IP (DESIGN §8): FCrDNS, no
// abuse listing, SPF pass, not dynamic and, when a test send ran, the
// receiver's acceptance. These are the checks that decide it and the
// findings that block it. DKIM and DMARC lower the score only.
var (
	verdictChecks = []string{"ip", "rdns", "rbl", "spf"}
	blockingIDs   = map[string]bool{
		"ip.not_public":         true,
		"ip.dynamic_ptr":        true,
		"ip.policy_listed":      true,
		"rdns.no_ptr":           true,
		"rdns.fcrdns_mismatch":  true,
		"rbl.listed":            true,
		"rbl.policy_listed":     true,
		"spf.missing":           true,
		"spf.multiple_records":  true,
		"spf.syntax_error":      true,
		"spf.lookup_limit":      true,
		"spf.void_lookup_limit": true,
		"spf.ip_fail":           true,
		"spf.ip_softfail":       true,
		"spf.ip_neutral":        true,
		"send.rejected":         true,
		"send.connect_failed":   true,
		"send.port25_blocked":   true,
		"send.auth_failed":      true,
	}
)

// Blocks reports whether a finding stands in the way of direct delivery.
func Blocks(f Finding) bool {
	return blockingIDs[f.ID] && (f.Severity == Fail || f.Severity == Warn)
}

// Judge decides the direct-delivery verdict: not_ready when any finding
// blocks; otherwise unknown when a deciding check did not run or ended
// in error; otherwise ready.
func Judge(checks []CheckResult) Verdict {
	v := Verdict{Blocking: []string{}}
	ran := map[string]CheckResult{}
	for _, c := range checks {
		ran[c.ID] = c
		for _, f := range c.Findings {
			if Blocks(f) && !slices.Contains(v.Blocking, f.ID) {
				v.Blocking = append(v.Blocking, f.ID)
			}
		}
	}
	needed := verdictChecks
	if _, ok := ran["send"]; ok {
		needed = append(slices.Clone(needed), "send")
	}
	for _, id := range needed {
		c, ok := ran[id]
		if !ok || c.hasError() {
			v.Unchecked = append(v.Unchecked, id)
		}
	}
	switch {
	case len(v.Blocking) > 0:
		v.DirectDelivery = NotReady
	case len(v.Unchecked) > 0:
		v.DirectDelivery = Unknown
	default:
		v.DirectDelivery = Ready
	}
	return v
}

func (c CheckResult) hasError() bool {
	for _, f := range c.Findings {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// TopFixes returns the findings worth fixing, most impact first: those
// blocking direct delivery, then by penalty, then failures before
// warnings. Passing, informational and error findings are left out.
func TopFixes(r Report) []Finding {
	var out []Finding
	for _, f := range r.Findings() {
		if f.Severity == Fail || f.Severity == Warn {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		if c := cmp.Compare(boolInt(Blocks(b)), boolInt(Blocks(a))); c != 0 {
			return c
		}
		if c := cmp.Compare(penalty(b), penalty(a)); c != 0 {
			return c
		}
		return cmp.Compare(b.Severity.rank(), a.Severity.rank())
	})
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
