package dmarc

import (
	"context"

	"github.com/preflight-mail/preflight/resolver"
)

// Discovery is the policy RFC 9989 receivers apply to mail from a
// domain (§4.10.1), with the walk that found it.
type Discovery struct {
	Domain string
	Walk   Walk
	Org    string // the organizational domain (§4.10.2)
	Source Source
	// Step holds the record that applies; nil when no record does.
	Step *Step
	Role Role
	// Policy is the Domain Owner Assessment Policy for Domain and Tag
	// the tag it came from ("p", "sp" or "np"); Applied is what
	// receivers apply to failing mail (t=y lowers it, §4.7 t). All are
	// empty when the record's policy is broken and it has no valid rua.
	Policy, Tag, Applied string
	// ExistsErr: np could apply, but whether Domain exists could not
	// be told; the policy is then the one for an existing subdomain.
	ExistsErr error
}

// Applies reports whether DMARC applies to mail from the domain.
func (d Discovery) Applies() bool { return d.Policy != "" }

// Discover walks the tree from domain and finds the policy that
// applies to it: the domain's own record's p, else the organizational
// or public suffix domain's sp, or np when domain does not exist
// (asked only when the record has an np to apply).
func Discover(ctx context.Context, r *resolver.Resolver, domain string) Discovery {
	d := Discovery{Domain: domain, Walk: TreeWalk(ctx, r, domain)}
	d.Org = d.Walk.OrgDomain()
	d.Step, d.Source = d.Walk.PolicyStep()
	if d.Step == nil {
		return d
	}
	rec := d.Step.Record
	if d.Source != AuthorRecord {
		d.Role = Subdomain
		if rec.NP != "" && !rec.PolicyBroken() {
			switch exists, err := Exists(ctx, r, domain); {
			case err != nil:
				d.ExistsErr = err
			case !exists:
				d.Role = NonExistent
			}
		}
	}
	if p, tag, ok := rec.Policy(d.Role); ok {
		d.Policy, d.Tag, d.Applied = p, tag, rec.Applied(p)
	}
	return d
}
