package report

import "slices"

// Fact is a required fact of direct delivery (DESIGN §8). Direct
// delivery is ready only when every required fact is established for
// every sending IP; a finding found at fail makes one false.
type Fact string

// The required facts.
const (
	Public     Fact = "public"      // the IP is in no special-purpose range
	NotDynamic Fact = "not_dynamic" // no end-user space listing, no dynamic-looking PTR name
	FCrDNS     Fact = "fcrdns"      // a PTR name resolves back to the IP
	NotListed  Fact = "not_listed"  // no abuse blocklist lists it
	SPFPass    Fact = "spf_pass"    // SPF passes for it
	// Accepted: the test send was accepted over the TLS mode asked for.
	// Required of a path only when a test send ran on it; it is the one
	// fact of the relay verdict.
	Accepted Fact = "accepted"
)

// perIP reports whether the fact must hold for each sending IP, rather
// than once for the run.
func (f Fact) perIP() bool { return f != Accepted }

// Delivery paths of the test send's findings (Finding.Path).
const (
	PathDirect = "direct"
	PathRelay  = "relay"
)

// Verdicts, of direct delivery and of the relay.
const (
	Ready    = "ready"
	NotReady = "not_ready"
	Unknown  = "unknown"
)

// Verdict answers "can this IP and domain deliver mail directly?" and,
// when the test send went through a relay, "can it through the relay?".
type Verdict struct {
	DirectDelivery string `json:"direct_delivery"`
	// Blocking lists the finding IDs that make it not_ready: those found
	// at fail, but on the relay path.
	Blocking []string `json:"blocking"`
	// Unchecked lists the checks the verdict needs that did not
	// establish their required facts: not run in this report (single-check
	// commands), ended in error, or could not tell.
	Unchecked []string `json:"unchecked,omitempty"`
	// Relay is the relay's verdict, about the gateway hop only: a gateway
	// that accepted says nothing of the recipient's servers (issue #22).
	// Empty when no relay was tried.
	Relay string `json:"relay,omitempty"`
	// RelayBlocking lists the finding IDs that make the relay not_ready.
	RelayBlocking []string `json:"relay_blocking,omitempty"`
	// Message is a received message's DMARC result (pass, fail or
	// unknown); empty when no message was checked (issue #18).
	Message string `json:"message,omitempty"`
}

// Message verdicts.
const (
	MessagePass = "pass"
	MessageFail = "fail"
)

// MessageVerdict is a message's verdict from its dmarc findings:
// pass or fail as DMARC judged it, unknown when it could not; several
// From fields (dmarc.no_author_domain at fail) are a fail: receivers
// reject such mail.
func MessageVerdict(r Report) string {
	for _, c := range r.Checks {
		for _, f := range c.Findings {
			switch {
			case f.ID == "dmarc.message_pass":
				return MessagePass
			case f.ID == "dmarc.message_fail", f.ID == "dmarc.no_author_domain" && f.Severity == Fail:
				return MessageFail
			}
		}
	}
	return Unknown
}

// judgement is a verdict with the checks that ran and could not
// establish what they had to: what makes a report incomplete.
type judgement struct {
	Verdict
	incomplete []string
}

// scope is what the findings of one path say.
type scope struct {
	ran      bool
	sent     bool                       // a test send ran on this path
	blocking []string                   // IDs found at fail
	est      map[Fact]map[string]bool   // fact → subjects it was established for
	refuted  map[string]map[string]bool // check → subjects of its findings at fail
	unsure   map[string]map[string]bool // check → subjects of its error findings
}

// judge decides the verdicts (DESIGN §8) for the sending IPs from the
// checks' findings (Build calls it).
func (c Catalog) judge(ips []string, checks []CheckResult) judgement {
	direct, relay := newScope(), newScope()
	ran := map[string]bool{}
	var errored []string
	for _, cr := range checks {
		ran[cr.ID] = true
		for _, f := range cr.Findings {
			s := direct
			if f.Path == PathRelay {
				s = relay
			}
			s.add(c, cr.ID, f)
			if f.Severity == Error && !slices.Contains(errored, cr.ID) {
				errored = append(errored, cr.ID)
			}
		}
	}
	var j judgement
	var gaps []string // checks that ran and could not establish a required fact
	j.DirectDelivery, j.Blocking, j.Unchecked, gaps = direct.decide(c, ips, ran, func(f Fact) bool { return f != Accepted || direct.sent })
	if j.Blocking == nil {
		j.Blocking = []string{}
	}
	if relay.ran {
		var relayGaps []string
		j.Relay, j.RelayBlocking, _, relayGaps = relay.decide(c, ips, ran, func(f Fact) bool { return f == Accepted })
		gaps = append(gaps, relayGaps...)
	}
	for _, cr := range checks {
		if (slices.Contains(errored, cr.ID) || slices.Contains(gaps, cr.ID)) && !slices.Contains(j.incomplete, cr.ID) {
			j.incomplete = append(j.incomplete, cr.ID)
		}
	}
	return j
}

func newScope() *scope {
	return &scope{est: map[Fact]map[string]bool{}, refuted: map[string]map[string]bool{}, unsure: map[string]map[string]bool{}}
}

// add takes one finding of check into the scope.
func (s *scope) add(c Catalog, check string, f Finding) {
	s.ran = true
	if f.Path != "" {
		s.sent = true
	}
	switch f.Severity {
	case Fail:
		if !slices.Contains(s.blocking, f.ID) {
			s.blocking = append(s.blocking, f.ID)
		}
		mark(s.refuted, check, f.Subject)
	case Error:
		mark(s.unsure, check, f.Subject)
	case Pass, Info:
		for _, fact := range c.kinds[f.ID].Establishes {
			if s.est[fact] == nil {
				s.est[fact] = map[string]bool{}
			}
			s.est[fact][f.Subject] = true
		}
	}
}

func mark(m map[string]map[string]bool, check, subject string) {
	if m[check] == nil {
		m[check] = map[string]bool{}
	}
	m[check][subject] = true
}

// decide is the scope's verdict over the required facts, the checks
// that left one unknown, neither established nor made false (missing),
// and among them those that ran and had something to establish it for
// (gaps: an IP, or a send).
func (s *scope) decide(c Catalog, ips []string, ran map[string]bool, required func(Fact) bool) (verdict string, blocking, missing, gaps []string) {
	for _, o := range c.facts {
		if !required(o.fact) || s.decided(o, ips) || slices.Contains(missing, o.check) {
			continue
		}
		missing = append(missing, o.check)
		if ran[o.check] && (len(ips) > 0 || !o.fact.perIP()) {
			gaps = append(gaps, o.check)
		}
	}
	switch {
	case len(s.blocking) > 0:
		verdict = NotReady
	case len(missing) > 0:
		verdict = Unknown
	default:
		verdict = Ready
	}
	return verdict, s.blocking, missing, gaps
}

// decided reports whether o's fact is known: established or made false
// for every IP (the per-IP facts; never when there is no IP), or once for
// the run. A finding of o's check about the IP, or about something that
// is not an IP (a list, a domain), counts for it: at fail it makes the
// fact false, and an error leaves an established fact unknown.
func (s *scope) decided(o factOwner, ips []string) bool {
	about := func(m map[string]bool, ip string) bool {
		for subj := range m {
			if subj == ip || !slices.Contains(ips, subj) {
				return true
			}
		}
		return false
	}
	refuted, unsure := s.refuted[o.check], s.unsure[o.check]
	if !o.fact.perIP() {
		return len(refuted) > 0 || len(s.est[o.fact]) > 0 && len(unsure) == 0
	}
	if len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !about(refuted, ip) && (!s.est[o.fact][ip] || about(unsure, ip)) {
			return false
		}
	}
	return true
}
