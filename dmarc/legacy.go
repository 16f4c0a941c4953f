package dmarc

import (
	"context"
	"slices"

	"github.com/preflight-mail/preflight/resolver"
)

// Legacy is what a receiver that still follows RFC 7489 finds for a
// domain: the record at the domain, else at its organizational domain
// by the Public Suffix List (RFC 7489 §6.6.3), with the tags RFC 7489
// knows (np, psd and t are unknown to it and ignored; pct applies).
type Legacy struct {
	Org string // the organizational domain by the Public Suffix List
	// Step is the name whose records were used: the domain's, else the
	// organizational domain's. Nil when neither had any DMARC record.
	Step *Step
	// Multiple: that name has several DMARC records, and RFC 7489
	// receivers apply no policy (§6.6.3 step 5).
	Multiple bool
	// Policy is p (the domain's own record) or sp, else p (the
	// organizational domain's); "none" for a broken record with a
	// valid rua; "" when no DMARC applies.
	Policy string
	Err    error // a lookup error: nothing is known
}

// Discover7489 finds the policy an RFC 7489 receiver applies to mail
// from domain. The lookups are the walk's own first questions, or the
// one at the organizational domain, so a run's cache answers them.
func Discover7489(ctx context.Context, r *resolver.Resolver, list SuffixList, domain string) Legacy {
	l := Legacy{Org: PSLOrgDomain(list, domain)}
	s := LookupStep(ctx, r, domain)
	own := true
	if s.Err == nil && len(s.Records) == 0 && l.Org != domain {
		s, own = LookupStep(ctx, r, l.Org), false
	}
	switch {
	case s.Err != nil:
		l.Err = s.Err
		return l
	case len(s.Records) == 0:
		return l
	}
	l.Step = &s
	if len(s.Records) > 1 {
		l.Multiple = true
		return l
	}
	l.Policy = s.Record.policy7489(own)
	return l
}

// policy7489 reads the record as RFC 7489 §6.3 and §6.6.3 step 6 do:
// a missing or invalid p, or an invalid sp, makes it p=none when rua
// holds a valid URI, else no DMARC; np was not a tag yet.
func (r Record) policy7489(own bool) string {
	broken := slices.ContainsFunc(r.Problems, func(p Problem) bool {
		return p.Kind == PolicyBroken && (p.Tag == "p" || p.Tag == "sp")
	})
	switch {
	case broken && len(r.RUA) > 0:
		return None
	case broken:
		return ""
	case !own && r.SP != "":
		return r.SP
	}
	return r.P
}
