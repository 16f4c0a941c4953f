package rbl

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/preflight-mail/preflight/resolver"
)

// Status is what a list says about a target.
type Status string

// Statuses. Listed, PolicyListed and Clean are answers; Unknown is the
// absence of one, never to be read as either.
const (
	Listed       Status = "listed"
	PolicyListed Status = "policy"
	Clean        Status = "clean"
	Unknown      Status = "unknown"
)

// Answer is a decoded answer for one query.
type Answer struct {
	Status   Status   `json:"status"`
	Codes    []string `json:"codes,omitempty"`
	Meanings []string `json:"meanings,omitempty"`
	// Reason and Hint explain Unknown.
	Reason string `json:"reason,omitempty"`
	Hint   string `json:"hint,omitempty"`
}

// Decode reads the result of looking up a target's name on a list
// (rules 2–5 of notes/dnsbl.md):
//   - NXDOMAIN or NODATA: not listed;
//   - timeout, SERVFAIL, REFUSED, any other error: unknown;
//   - an answer outside 127.0.0.0/8: unknown (a parked or hijacked zone);
//   - a refusal code (127.255.255.0/24, DBL's 127.0.1.255, bitmask lists'
//     refusal bit): unknown, with a hint;
//   - known codes: listed or policy with their meanings; an unknown
//     127.x code: listed as "unrecognised code" (the caller only trusts
//     it when the list passed its self-test).
func Decode(l List, addrs []netip.Addr, err error) Answer {
	switch {
	case err != nil && resolver.IsNotFound(err):
		return Answer{Status: Clean}
	case err != nil:
		return Answer{Status: Unknown, Reason: resolver.Reason(err), Hint: "check that the resolver can reach the list's servers; try again"}
	case len(addrs) == 0:
		return Answer{Status: Clean}
	}
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	errorNet := netip.MustParsePrefix("127.255.255.0/24")
	var a Answer
	policy, abuse := false, false
	for _, addr := range addrs {
		addr = addr.Unmap()
		code := addr.String()
		switch {
		case !addr.Is4() || !loopback.Contains(addr):
			return Answer{Status: Unknown, Codes: []string{code}, Reason: fmt.Sprintf("answer %s is outside 127.0.0.0/8: not a DNSBL answer", code),
				Hint: "the zone may have expired or been parked, or the resolver rewrites answers (NXDOMAIN hijacking)"}
		}
		if hint, ok := l.RefuseCodes[addr]; ok {
			return Answer{Status: Unknown, Codes: []string{code}, Reason: fmt.Sprintf("the list answered %s, which means the query was refused", code), Hint: hint}
		}
		if errorNet.Contains(addr) {
			return Answer{Status: Unknown, Codes: []string{code}, Reason: fmt.Sprintf("the list answered %s, an error code", code),
				Hint: "use your own recursive resolver (not a public one), or the list's paid access"}
		}
		if len(l.Bits) > 0 {
			last := addr.As4()[3]
			if last&l.RefuseBits != 0 {
				return Answer{Status: Unknown, Codes: []string{code}, Reason: fmt.Sprintf("the list answered %s: the query was refused", code),
					Hint: "the list refuses public resolvers and high volumes: use your own resolver or a subscription"}
			}
			for _, b := range l.Bits {
				if last&b.Mask != 0 {
					a.Meanings = append(a.Meanings, b.Meaning)
					abuse = abuse || b.Class == Abuse
					policy = policy || b.Class == Policy
				}
			}
			if len(a.Meanings) == 0 {
				a.Meanings = append(a.Meanings, fmt.Sprintf("unrecognised code %s", code))
				abuse = true
			}
			a.Codes = append(a.Codes, code)
			continue
		}
		a.Codes = append(a.Codes, code)
		if i := slices.IndexFunc(l.Codes, func(c Code) bool { return c.Addr == addr }); i >= 0 {
			c := l.Codes[i]
			a.Meanings = append(a.Meanings, c.Meaning)
			abuse = abuse || c.Class == Abuse
			policy = policy || c.Class == Policy
			continue
		}
		a.Meanings = append(a.Meanings, fmt.Sprintf("unrecognised code %s", code))
		abuse = true
	}
	switch {
	case abuse:
		a.Status = Listed
	case policy:
		a.Status = PolicyListed
	default:
		a.Status = Clean
	}
	return a
}

// SelfTest judges a list from its test points (RFC 5782 §5, rule 1):
// the listed point must be listed and the other not. It returns "" when
// the list can be trusted, else why not.
func SelfTest(listed, notListed Answer, points TestPoints) (reason, hint string) {
	switch {
	case listed.Status == Unknown:
		return "test point " + points.Listed + ": " + listed.Reason, listed.Hint
	case notListed.Status == Unknown:
		return "test point " + points.NotListed + ": " + notListed.Reason, notListed.Hint
	case listed.Status == Clean:
		return "test point " + points.Listed + " is not listed: the resolver answers NXDOMAIN for everything, or the list is gone or empty",
			"use a resolver that answers for the list; its \"not listed\" cannot be trusted"
	case notListed.Status != Clean:
		return "test point " + points.NotListed + " is listed (" + strings.Join(notListed.Codes, ", ") + "): the list answers for everything",
			"the zone may have lapsed and been wildcarded (as bl.spamcop.net was in January 2021); its \"listed\" cannot be trusted"
	}
	return "", ""
}
