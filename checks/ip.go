package checks

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/preflight-mail/preflight/rbl"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// ipKinds are the ip check's findings (the catalogue, DESIGN §5).
var ipKinds = []report.Kind{
	{ID: "ip.not_public", Penalty: report.Penalty{Fail: 60}, Blocks: true},
	{ID: "ip.dynamic_ptr", Penalty: report.Penalty{Fail: 20}, Blocks: true},
	// The rbl check's rbl.policy_listed carries most of the cost when
	// both appear; alone (preflight ip) it still says the address is
	// end-user space.
	{ID: "ip.policy_listed", Penalty: report.Penalty{Fail: 5}, Blocks: true},
	{ID: "ip.static_likely", Establishes: []report.Fact{report.Public, report.NotDynamic}},
	{ID: "ip.treated_as_public", Establishes: []report.Fact{report.Public}},
	// No PTR name: nothing looks dynamic (rdns.no_ptr is the failure).
	{ID: "ip.no_ptr", Establishes: []report.Fact{report.Public, report.NotDynamic}},
}

// IP judges whether each sending IP looks like a static, mail-worthy
// address: not from a special-purpose range (IANA registries, RFC 6890),
// and not named like a dynamic or residential pool.
func IP(ctx context.Context, env Env, t Target) []report.Finding {
	var out []report.Finding
	for _, ip := range t.IPs {
		out = append(out, judgeIP(ctx, env, t, ip)...)
	}
	return out
}

// judgeIP is the ip check for one address: its range, its policy
// listing, its PTR names.
func judgeIP(ctx context.Context, env Env, t Target, ip netip.Addr) []report.Finding {
	subject := ip.String()
	var out []report.Finding
	if r, ok := special(ip); ok {
		if !env.isPublic(ip) {
			return []report.Finding{{
				ID: "ip.not_public", Severity: report.Fail, Subject: subject,
				Message: fmt.Sprintf("%s is in %s, a %s range (%s): no receiver will accept mail from it.", ip, r.prefix, r.name, r.ref),
				Fix:     "Send from a public address your provider assigns to you, and check that one.",
				Evidence: map[string]any{
					"range": r.prefix.String(), "purpose": r.name, "reference": r.ref,
				},
			}}
		}
		out = append(out, report.Finding{
			ID: "ip.treated_as_public", Severity: report.Info, Subject: subject,
			Message:  fmt.Sprintf("%s is in %s (%s), treated as public as asked (--treat-as-public).", ip, r.prefix, r.name),
			Evidence: map[string]any{"range": r.prefix.String(), "purpose": r.name},
		})
	}

	names, err := env.DNS.LookupPTR(ctx, ip)
	// End-user space on a policy list (Spamhaus PBL and the like) is
	// the authoritative "not a mail server address" signal, with or
	// without a PTR name.
	if f, ok := policyListed(ctx, env, ip); ok {
		out = append(out, f)
		if err == nil {
			return out
		}
	}
	switch {
	case resolver.IsNotFound(err):
		return append(out, report.Finding{
			ID: "ip.no_ptr", Severity: report.Info, Subject: subject,
			Message:  fmt.Sprintf("%s has no PTR name, so its name cannot show it is static (see rdns.no_ptr).", ip),
			Evidence: map[string]any{"query": resolver.ReverseName(ip)},
		})
	case err != nil:
		return append(out, dnsError("ip", subject, "the PTR name of "+subject, err))
	}
	return append(out, judgePTRNames(t, ip, names))
}

// judgePTRNames says whether an address's PTR names look dynamic.
func judgePTRNames(t Target, ip netip.Addr, names []string) report.Finding {
	var dynamic []string
	exempt := map[string]string{}
	evidence := map[string]any{"ptr": names}
	for _, name := range names {
		v := judgePTR(name, ip)
		if len(v.Reasons) > 0 {
			dynamic = append(dynamic, fmt.Sprintf("%s (%s)", name, strings.Join(v.Reasons, ", ")))
		}
		if v.Exempt != "" {
			exempt[name] = fmt.Sprintf("token %q", v.Exempt)
		}
	}
	if len(exempt) > 0 {
		evidence["exempt"] = exempt
	}
	if len(dynamic) > 0 {
		evidence["reasons"] = dynamic
		return report.Finding{
			ID: "ip.dynamic_ptr", Severity: report.Fail, Subject: ip.String(),
			Message: fmt.Sprintf("The PTR name of %s looks like a dynamic or residential address: %s.", ip, strings.Join(dynamic, "; ")),
			Fix: fmt.Sprintf("If %s is a static address for a mail server, ask its provider to set a PTR name of your own "+
				"(for example mail.%s) instead of the generic one. If it is a dynamic or residential line, send through "+
				"your provider's relay or another authenticated smarthost, not directly.", ip, exampleDomain(t)) + gatewayFix,
			Evidence: evidence,
		}
	}
	return report.Finding{
		ID: "ip.static_likely", Severity: report.Pass, Subject: ip.String(),
		Message:  fmt.Sprintf("The PTR name of %s (%s) does not look dynamic.", ip, strings.Join(names, ", ")),
		Evidence: evidence,
	}
}

// isPublic reports whether the user asked to treat ip as public.
func (e Env) isPublic(ip netip.Addr) bool {
	for _, p := range e.PublicRanges {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// exampleDomain is the domain to use in fix texts.
func exampleDomain(t Target) string {
	if t.Domain != "" {
		return t.Domain
	}
	return "example.com"
}

// policyListed asks the lists that know end-user space about ip (through
// the run's cache: the rbl check asks the same questions).
func policyListed(ctx context.Context, env Env, ip netip.Addr) (report.Finding, bool) {
	var lists []rbl.List
	for _, l := range env.Lists {
		if l.Kind == rbl.IP && l.HasPolicy() {
			lists = append(lists, l)
		}
	}
	if len(lists) == 0 {
		return report.Finding{}, false
	}
	for _, r := range rbl.Query(ctx, env.DNS, lists, []string{ip.String()}) {
		if r.Status == rbl.PolicyListed {
			return report.Finding{
				ID: "ip.policy_listed", Severity: report.Fail, Subject: ip.String(),
				Message: fmt.Sprintf("%s is end-user address space according to %s (%s): receivers treat it as dynamic or residential, whatever its PTR name says.", ip, r.Zone, strings.Join(r.Meanings, "; ")),
				Fix: fmt.Sprintf("If %s is a static mail server address, have it removed from the end-user space listing (%s); otherwise send through a relay.",
					ip, cmp.Or(r.List.Delist, "see the list's web site")) + gatewayFix,
				Evidence: map[string]any{"zone": r.Zone, "codes": r.Codes},
			}, true
		}
	}
	return report.Finding{}, false
}
