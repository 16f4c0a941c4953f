package dmarc

import (
	"context"
	"strings"

	"github.com/preflight-mail/preflight/resolver"
)

// Alignment is identifier alignment (RFC 9989 §4.4.1, RFC 7489 §3.1) of
// a domain (the SPF-authenticated envelope domain, or a DKIM d=) with
// the author domain, as both kinds of receivers judge it: RFC 9989's by
// the DNS tree walk, RFC 7489's by the Public Suffix List. Strict mode
// wants the same domain; relaxed, the same organizational domain.
//
// It is the one predicate of the dmarc check (the envelope domain of
// the target) and of a message's DMARC result, so the two never judge
// one pair of domains differently.
type Alignment struct {
	// Domain and Author are the names compared, normalised: A-labels,
	// lower case, no trailing dot.
	Domain, Author string
	Strict         bool
	// Org and AuthorOrg are the organizational domains by the tree walk,
	// OrgPSL and AuthorOrgPSL by the Public Suffix List (empty in strict
	// mode, and when the domains are the same).
	Org, AuthorOrg       string
	OrgPSL, AuthorOrgPSL string
	// RFC9989 and RFC7489: aligned for receivers of that kind.
	RFC9989, RFC7489 bool
}

// Aligned reports alignment for every receiver: a pass for Domain
// counts for DMARC whichever kind of receiver evaluates it.
func (a Alignment) Aligned() bool { return a.RFC9989 && a.RFC7489 }

// Align judges the alignment of domain with the author domain in mode
// ("s" strict, anything else relaxed). The tree walks go through r
// (a run's cache answers the author domain's walk again); list is the
// Public Suffix List (nil: Embedded). An empty domain aligns with
// nothing.
func Align(ctx context.Context, r *resolver.Resolver, list SuffixList, domain, author, mode string) Alignment {
	a := Alignment{Domain: normalName(domain), Author: normalName(author), Strict: mode == "s"}
	switch {
	case a.Domain == "" || a.Author == "":
		return a
	case a.Domain == a.Author:
		a.RFC9989, a.RFC7489 = true, true
		return a
	case a.Strict:
		return a
	}
	a.Org, a.AuthorOrg = TreeWalk(ctx, r, a.Domain).OrgDomain(), TreeWalk(ctx, r, a.Author).OrgDomain()
	a.OrgPSL, a.AuthorOrgPSL = PSLOrgDomain(list, a.Domain), PSLOrgDomain(list, a.Author)
	a.RFC9989 = a.Org == a.AuthorOrg
	a.RFC7489 = a.OrgPSL == a.AuthorOrgPSL
	return a
}

// normalName is a domain as DNS and the comparison want it: A-labels,
// lower case, no trailing dot (a d= or a From domain may carry U-labels,
// RFC 8616 §4, or capitals). A name that is no valid domain is compared
// as written, lower-cased.
func normalName(d string) string {
	if n, err := resolver.NormalizeDomain(d); err == nil {
		return n
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
}
