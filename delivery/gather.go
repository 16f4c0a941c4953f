package delivery

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"

	"github.com/preflight-mail/preflight/resolver"
)

// maxAttempts bounds the connections of one send: MX hosts × their
// addresses, or relays.
const maxAttempts = 12

// mxHosts returns the hosts the direct path delivers to for domain, in
// preference order and shuffled within a preference (RFC 5321 §5.1), or
// the attempt that ends the send before any connection: a failed MX
// lookup, a domain that does not exist, or a null MX.
func mxHosts(ctx context.Context, d Deps, domain string) ([]string, *Attempt) {
	mxs, end := mxRecords(ctx, d, domain)
	if end != nil {
		return nil, end
	}
	shuffleEqual(mxs)
	hosts := make([]string, len(mxs))
	for i, m := range mxs {
		hosts[i] = m.Host
	}
	return hosts, nil
}

// mxRecords returns domain's MX records in preference order (the domain
// itself when it has none), or the attempt that ends the send before
// any connection (see mxHosts).
func mxRecords(ctx context.Context, d Deps, domain string) ([]resolver.MX, *Attempt) {
	mxs, err := d.DNS.LookupMX(ctx, domain)
	end := &Attempt{Path: "direct", Host: domain, Step: "DNS"}
	switch {
	case errors.Is(err, resolver.ErrNXDomain):
		end.Result, end.Error = CannotReceive, domain+" does not exist (NXDOMAIN): it receives no mail"
		return nil, end
	case resolver.IsNotFound(err) || err == nil && len(mxs) == 0:
		// No MX: the domain itself is the implicit MX (RFC 5321 §5.1).
		mxs = []resolver.MX{{Host: domain}}
	case err != nil && ctx.Err() != nil:
		// This run's time limit, not the recipient's DNS.
		end.Result, end.Step, end.Error = NotTried, "not tried", "not tried: time limit (--timeout) reached looking up the MX of "+domain
		return nil, end
	case err != nil:
		end.Result, end.Error = DNSFailed, "looking up the MX of "+domain+": "+resolver.Reason(err)
		return nil, end
	}
	for _, m := range mxs {
		if m.Host == "." {
			// A null MX (RFC 7505 §3) is the receiver's final refusal.
			end.Result, end.Error = CannotReceive, domain+" has a null MX (RFC 7505): it accepts no mail"
			return nil, end
		}
	}
	return mxs, nil
}

// recipientEnd is the DNS answer that the recipient domain cannot
// receive mail: it does not exist, has a null MX, or none of its MX
// hosts (the first resolver.MaxNames) has an address. Gateways are tried
// only after it: a gateway would take such a message and bounce it,
// whatever the policy. nil when the domain can receive, or when DNS
// could not tell (a gateway does its own lookups).
func recipientEnd(ctx context.Context, d Deps, domain string) *Attempt {
	mxs, end := mxRecords(ctx, d, domain)
	if end != nil {
		if end.Result == CannotReceive {
			return end
		}
		return nil
	}
	var missing []string
	for _, m := range mxs[:min(len(mxs), resolver.MaxNames)] {
		_, err := d.DNS.LookupIP(ctx, "ip", m.Host)
		if !resolver.IsNotFound(err) {
			return nil
		}
		missing = append(missing, m.Host)
	}
	return &Attempt{Path: "direct", Host: domain, Step: "DNS", Result: CannotReceive,
		Error: fmt.Sprintf("no MX host of %s has an address (%s): it receives no mail", domain, strings.Join(missing, ", "))}
}

// shuffleEqual shuffles hosts of equal preference (RFC 5321 §5.1); the
// list is sorted by preference.
func shuffleEqual(mxs []resolver.MX) {
	for i := 0; i < len(mxs); {
		j := i
		for j < len(mxs) && mxs[j].Pref == mxs[i].Pref {
			j++
		}
		mrand.Shuffle(j-i, func(a, b int) { mxs[i+a], mxs[i+b] = mxs[i+b], mxs[i+a] })
		i = j
	}
}

// relayOrder returns the enabled relays by priority, highest first; the
// order given stands within a priority.
func relayOrder(relays []Relay) []Relay {
	out := slices.DeleteFunc(slices.Clone(relays), func(r Relay) bool { return !r.Enabled })
	slices.SortStableFunc(out, func(a, b Relay) int { return a.Priority - b.Priority })
	return out
}
