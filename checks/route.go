package checks

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/report"
)

// routeKinds are the findings of preflight route: the way mail to each
// recipient would go under the gateway policy, found with DNS only.
var routeKinds = []report.Kind{
	{ID: "route.path"},
	// The recipient domain does not exist or has a null MX: nothing
	// would be tried, and no gateway either.
	{ID: "route.recipient_cannot_receive"},
	{ID: "route.policy_dns_fallback", Penalty: report.Penalty{Warn: 2}},
}

// Route plans the sends of t.Routes (one per recipient) without making
// them: the path the policy (or --path) chooses and the hosts in the
// order a send would try them (delivery.PlanRoute). It connects nowhere.
func Route(ctx context.Context, env Env, t Target) []report.Finding {
	deps := delivery.Deps{DNS: env.DNS, Trace: env.Trace}
	var out []report.Finding
	for _, s := range t.Routes {
		out = append(out, routeFinding(delivery.PlanRoute(ctx, deps, s)))
	}
	if len(t.Routes) > 0 {
		if p := t.Routes[0].Policy; p.FallsBackOnDNS() && t.Routes[0].Path == "" {
			msg, fix := p.DNSWarning()
			out = append(out, report.Finding{ID: "route.policy_dns_fallback", Severity: report.Warn, Subject: p.At["policy"], Message: msg, Fix: fix,
				Evidence: map[string]any{"policy": p}})
		}
	}
	return out
}

// routeFinding reports the route of one recipient.
func routeFinding(r delivery.Route) report.Finding {
	f := report.Finding{ID: "route.path", Severity: report.Info, Subject: r.To.String(), Evidence: map[string]any{"route": r}}
	why := r.Plan.Rule
	if r.Plan.Overrides != "" {
		why += ", which overrides the policy at " + r.Plan.Overrides
	}
	f.Message = fmt.Sprintf("Mail to %s goes %s, by %s.", r.To, pathWords(r.Plan.Path), why)
	if r.End != nil {
		f.Message += " " + endWords(*r.End) + "."
		switch r.End.Result {
		case delivery.CannotReceive:
			f.ID, f.Severity = "route.recipient_cannot_receive", report.Warn
			f.Message = fmt.Sprintf("Mail to %s would not be sent: %s. No host is tried, and no gateway either: a gateway could only bounce it (the policy: %s).", r.To, r.End.Error, why)
			f.Fix = "Check the address: mail to it bounces here, and no gateway can deliver it."
			return f
		case delivery.DNSFailed:
			f.ID, f.Severity = "route.dns_error", report.Error
			f.Fix = dnsFix
		}
	}
	if len(r.Hosts) > 0 {
		f.Message += " In order: " + hostList(r.Hosts) + "."
	} else {
		f.Message += " No host to try."
	}
	if r.Note != "" {
		f.Message += " " + r.Note + "."
	}
	return f
}

// endWords says how the direct path ends in DNS.
func endWords(a delivery.Attempt) string {
	return "The direct path ends in DNS: " + a.Error
}

// hostList is the hosts of a route, numbered in the order tried, the
// skipped ones after the word skipped.
func hostList(hosts []delivery.RouteHost) string {
	var parts []string
	n := 0
	for _, h := range hosts {
		var detail []string
		switch {
		case h.Preference != nil:
			detail = append(detail, fmt.Sprintf("MX %d", *h.Preference))
		default:
			detail = append(detail, "gateway, "+h.Priority)
			if h.TLS != "" {
				detail = append(detail, "TLS "+h.TLS)
			}
		}
		if len(h.Addrs) > 0 {
			detail = append(detail, strings.Join(h.Addrs, ", "))
		}
		if h.Error != "" {
			detail = append(detail, h.Error)
		}
		if h.When != "" {
			detail = append(detail, h.When)
		}
		item := fmt.Sprintf("%s (%s)", h.Host, strings.Join(detail, "; "))
		if h.Skipped != "" {
			parts = append(parts, fmt.Sprintf("skipped %s: %s", item, h.Skipped))
			continue
		}
		n++
		parts = append(parts, fmt.Sprintf("%d. %s", n, item))
	}
	return strings.Join(parts, "; ")
}

// gatewayFix is the way out for a sending IP that is not ready for
// direct delivery (dynamic, listed, no PTR): a gateway, for the
// receivers that refuse the IP or for all mail, with the relays-file
// lines to write (issue #22).
const gatewayFix = "\nUntil then, or if it cannot be changed, send through a gateway (your ISP's or provider's relay) with a relays file (--relays FILE; README, Gateway policy). " +
	"For the receivers that refuse this IP:\n" +
	"  policy: for-domains\n" +
	"  domains: [gmail.com, .outlook.com]\n" +
	"  relays:\n" +
	"    - {host: \"smtp.isp.example:587\", priority: high}\n" +
	"For all mail, policy: always with the same relays. preflight route --relays FILE --to ADDR shows the way each recipient's mail would go."

// ipGatewayFix is gatewayFix for a blocklist target that is an IP; a
// listed domain name is not fixed by a gateway.
func ipGatewayFix(target string) string {
	if _, err := netip.ParseAddr(target); err != nil {
		return ""
	}
	return gatewayFix
}
