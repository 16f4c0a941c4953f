package delivery

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/resolver"
)

// Route is the way a send to one recipient would go, found with DNS only
// (preflight route): the plan, and the hosts in the order they would be
// tried. Nothing connects anywhere.
type Route struct {
	To   names.Address `json:"to"`
	Plan Plan          `json:"plan"`
	// Hosts are the MX hosts by preference (equal preferences are
	// shuffled at send time), then the gateways by priority; the ones a
	// send would not try say why in Skipped.
	Hosts []RouteHost `json:"hosts"`
	// End is the DNS answer that ends the direct path before any host:
	// a domain that does not exist, a null MX, a failed MX lookup.
	End *Attempt `json:"end,omitempty"`
	// Note says what else to know (MX hosts left out).
	Note string `json:"note,omitempty"`
}

// RouteHost is one host of a route.
type RouteHost struct {
	Path string `json:"path"` // direct or relay
	Host string `json:"host"` // an MX host, or a gateway's host:port
	// Preference is an MX host's; Priority a gateway's name for its.
	Preference *uint16  `json:"preference,omitempty"`
	Priority   string   `json:"priority,omitempty"`
	Addrs      []string `json:"addrs,omitempty"` // an MX host's addresses, or a gateway name's
	// TLS is a gateway's TLS mode as a send would use it (starttls,
	// implicit, none).
	TLS string `json:"tls,omitempty"`
	// Error is why an MX host, or a gateway name, has no address to connect to.
	Error string `json:"error,omitempty"`
	// When says when a gateway after the direct path is tried.
	When string `json:"when,omitempty"`
	// Skipped says why a send would not try this host.
	Skipped string `json:"skipped,omitempty"`
}

// PlanRoute finds the route of s to its recipient: the plan, the MX
// hosts and their addresses through d.DNS (the run's resolver, zones and
// --offline), and the gateways. It never connects.
func PlanRoute(ctx context.Context, d Deps, s *Send) Route {
	d = d.withDefaults()
	r := Route{To: s.To, Plan: s.Plan(), Hosts: []RouteHost{}}
	if r.Plan.Path != "relay" {
		r.direct(ctx, d, s.To.Domain)
	} else {
		r.End = recipientEnd(ctx, d, s.To.Domain) // as Run does
	}
	if r.Plan.Path != "direct" {
		r.gateways(ctx, d, s.Relays)
	}
	return r
}

// direct adds the MX hosts, with their addresses.
func (r *Route) direct(ctx context.Context, d Deps, domain string) {
	mxs, end := mxRecords(ctx, d, domain)
	if end != nil {
		r.End = end
		return
	}
	if len(mxs) > resolver.MaxNames {
		r.Note = fmt.Sprintf("%s has %d MX hosts; a send tries the first %d (by preference), %d are left out", domain, len(mxs), resolver.MaxNames, len(mxs)-resolver.MaxNames)
		mxs = mxs[:resolver.MaxNames]
	}
	// The direct path ends in DNS when no host has an address, as the
	// send's attempts would (sendDirect, Decisive): every host without
	// one is a domain that cannot receive, else a DNS error.
	var ends []Attempt
	for _, m := range mxs {
		h := RouteHost{Path: "direct", Host: m.Host, Preference: &m.Pref}
		addrs, err := d.DNS.LookupIP(ctx, "ip", m.Host)
		if err != nil {
			h.Error = "looking up the address of " + m.Host + ": " + resolver.Reason(err)
			a := Attempt{Path: "direct", Host: m.Host, Step: "DNS", Result: DNSFailed, Error: h.Error}
			if resolver.IsNotFound(err) {
				a.Result = NoAddress
			}
			ends = append(ends, a)
		}
		for _, a := range addrs {
			h.Addrs = append(h.Addrs, a.String())
		}
		r.Hosts = append(r.Hosts, h)
	}
	if len(ends) == len(mxs) {
		end := Decisive(ends)
		if end.Result == NoAddress {
			end = Attempt{Path: "direct", Host: domain, Step: "DNS", Result: CannotReceive,
				Error: fmt.Sprintf("no MX host of %s has an address: it receives no mail", domain)}
		}
		r.End = &end
	}
}

// gateways adds the relays by priority, the disabled ones as skipped,
// and on the auto path says when they are tried. A gateway named by a
// host name that a send would contact gets its addresses, as the send's
// dial would resolve it (a name that does not resolve shows here, not
// first at send time).
func (r *Route) gateways(ctx context.Context, d Deps, relays []Relay) {
	when, skip := "", ""
	if r.Plan.Path == "auto" {
		when = "on " + classWords(r.Plan.FallbackOn) + " errors of the direct path"
		if r.End != nil {
			fb := decideFallback(r.Plan, *r.End)
			switch {
			case fb.Allowed:
				when = "at once: the direct path ends in DNS, and the policy falls back on dns errors"
			case r.End.Result == CannotReceive:
				skip = "the recipient domain cannot receive mail: a gateway could only bounce it"
			default:
				skip = "no fallback on dns errors"
			}
		}
	}
	if r.End != nil && r.End.Result == CannotReceive {
		skip = "the recipient domain cannot receive mail: a gateway could only bounce it"
	}
	if skip != "" {
		when = ""
	}
	ordered := slices.Clone(relays)
	slices.SortStableFunc(ordered, func(a, b Relay) int { return a.Priority - b.Priority })
	for _, g := range ordered {
		_, port := splitHostPort(g.Addr)
		h := RouteHost{Path: "relay", Host: g.Addr, Priority: priorityName(g.Priority), TLS: g.TLS.relay(port).String(), When: when, Skipped: skip}
		if !g.Enabled {
			h.When, h.Skipped = "", "disabled (enabled: false): never contacted"
		}
		if host, _ := splitHostPort(g.Addr); h.Skipped == "" {
			if _, err := netip.ParseAddr(host); err != nil {
				addrs, err := d.DNS.LookupIP(ctx, "ip", host)
				if err != nil {
					h.Error = "looking up the address of " + host + ": " + resolver.Reason(err)
				}
				for _, a := range addrs {
					h.Addrs = append(h.Addrs, a.String())
				}
			}
		}
		r.Hosts = append(r.Hosts, h)
	}
}

// classWords joins classes as a sentence does: "dns, connect or smtp".
func classWords(cs []ErrorClass) string {
	s := joinClasses(cs, ", ")
	if i := strings.LastIndex(s, ", "); i >= 0 {
		s = s[:i] + " or " + s[i+2:]
	}
	return s
}

// priorityName is a relay priority's name.
func priorityName(p int) string {
	if p >= 0 && p < len(Priorities) {
		return Priorities[p]
	}
	return fmt.Sprint(p)
}
