package checks

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/preflight-mail/preflight/dmarc"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// rdnsKinds are the rdns check's findings.
var rdnsKinds = []report.Kind{
	{ID: "rdns.no_ptr", Penalty: report.Penalty{Fail: 30}, Blocks: true},
	{ID: "rdns.fcrdns_mismatch", Penalty: report.Penalty{Fail: 25}, Blocks: true},
	{ID: "rdns.helo_mismatch", Penalty: report.Penalty{Warn: 8}},
	{ID: "rdns.helo_invalid", Penalty: report.Penalty{Warn: 8}},
	{ID: "rdns.fcrdns_ok", Establishes: []report.Fact{report.FCrDNS}},
	{ID: "rdns.helo_ok"},
	{ID: "rdns.helo_not_ptr"},
	// Whether the confirmed PTR name is in the sender's own domain:
	// Apple and GMX ask for that, most receivers do not, so neither
	// costs anything here (issue #17, profiles/rules.yaml).
	{ID: "rdns.ptr_in_domain"},
	{ID: "rdns.ptr_other_domain"},
}

// badHELOSuffixes are names only a local network knows (RFC 6762 .local,
// RFC 8375 home.arpa, ICANN's .internal, and common private habits).
var badHELOSuffixes = []string{".local", ".lan", ".home", ".localdomain", ".intra", ".priv", ".internal", ".localhost", ".home.arpa", ".corp"}

// RDNS checks forward-confirmed reverse DNS for each sending IP (a PTR
// name that resolves back to the IP, RFC 8601 §3 "iprev") and, with a
// HELO name, that the name is sane and resolves to the IP.
func RDNS(ctx context.Context, env Env, t Target) []report.Finding {
	var out []report.Finding
	heloName, heloFindings := heloSanity(t.HELO)
	out = append(out, heloFindings...)
	for _, ip := range t.IPs {
		ptrs, fs := fcrdns(ctx, env, t, ip)
		out = append(out, fs...)
		if len(ptrs) > 0 && t.Domain != "" {
			out = append(out, ptrDomain(env, t.Domain, ip, ptrs[0]))
		}
		if heloName != "" {
			out = append(out, heloMatches(ctx, env, heloName, ip, ptrs)...)
		}
	}
	return out
}

// fcrdns checks one IP's PTR names; it returns the names that resolve
// back to the IP.
func fcrdns(ctx context.Context, env Env, t Target, ip netip.Addr) ([]string, []report.Finding) {
	subject := ip.String()
	rev := resolver.ReverseName(ip)
	names, err := env.DNS.LookupPTR(ctx, ip)
	switch {
	case resolver.IsNotFound(err):
		f := report.Finding{
			ID: "rdns.no_ptr", Severity: report.Fail, Subject: subject,
			Message: fmt.Sprintf("%s has no PTR record: most receivers refuse or junk mail from addresses without reverse DNS.", ip),
			Fix: fmt.Sprintf("Ask whoever runs %s (your hosting provider or ISP: the reverse zone is theirs) to set its PTR record to the server's host name, "+
				"and make sure that name has an %s record pointing back to %s.", ip, addrType(ip), ip) + gatewayFix,
			Evidence: map[string]any{"query": rev},
		}
		if name := mailName(t); name != "" {
			if adds, ok := resolvesTo(ctx, env, name, ip); ok {
				f.Fix = fmt.Sprintf("Ask whoever runs %s (your hosting provider or ISP: the reverse zone is theirs) to set its PTR record to %s; %s must resolve back to %s:", ip, name, name, ip)
				f.FixRecords = append([]report.FixRecord{{Action: report.FixAdd, Name: bare(rev), Type: "PTR", Value: name}}, adds...)
			}
		}
		return nil, []report.Finding{f}
	case err != nil:
		return nil, []report.Finding{dnsError("rdns", subject, "the PTR record of "+subject, err)}
	}

	follow := names
	if len(follow) > resolver.MaxNames {
		follow = follow[:resolver.MaxNames]
	}
	forward := map[string]string{} // name → what it resolved to, for evidence
	var confirmed []string
	var failed error
	for _, name := range follow {
		addrs, err := env.DNS.LookupIP(ctx, network(ip), name)
		switch {
		case err == nil && slices.Contains(addrs, ip):
			confirmed = append(confirmed, name)
			forward[name] = addrList(addrs)
		case err == nil:
			forward[name] = addrList(addrs)
		case resolver.IsNotFound(err):
			forward[name] = "no " + addrType(ip) + " record"
		default:
			forward[name] = "could not look up: " + err.Error()
			failed = err
		}
	}
	evidence := map[string]any{"query": rev, "ptr": names, "forward": forward}
	if len(names) > resolver.MaxNames {
		evidence["ignored_ptr"] = names[resolver.MaxNames:]
	}
	switch {
	case len(confirmed) > 0:
		return confirmed, []report.Finding{{
			ID: "rdns.fcrdns_ok", Severity: report.Pass, Subject: subject,
			Message:  fmt.Sprintf("%s → %s → %s: reverse DNS is forward-confirmed.", ip, confirmed[0], ip),
			Evidence: evidence,
		}}
	case failed != nil:
		f := dnsError("rdns", subject, "whether the PTR names of "+subject+" resolve back to it", failed)
		f.Evidence = evidence
		return nil, []report.Finding{f}
	}
	var what []string
	for _, n := range follow {
		what = append(what, n+" → "+forward[n])
	}
	return nil, []report.Finding{{
		ID: "rdns.fcrdns_mismatch", Severity: report.Fail, Subject: subject,
		Message: fmt.Sprintf("No PTR name of %s resolves back to it (%s): receivers treat that like no reverse DNS.", ip, strings.Join(what, "; ")),
		Fix: fmt.Sprintf("Give %s the address %s in the zone of %s (below), or have the PTR of %s changed to a name that resolves to it.",
			follow[0], ip, follow[0], ip),
		FixRecords: addressRecords(follow[0], []netip.Addr{ip}),
		Evidence:   evidence,
	}}
}

// ptrDomain says whether the forward-confirmed PTR name of ip is in the
// sender's organizational domain (by the Public Suffix List, as the
// providers that ask for it describe it: "a PTR with your domain").
func ptrDomain(env Env, domain string, ip netip.Addr, name string) report.Finding {
	org, ptrOrg := dmarc.PSLOrgDomain(env.PSL, domain), dmarc.PSLOrgDomain(env.PSL, name)
	ev := map[string]any{"ptr": name, "org_domain": org, "ptr_org_domain": ptrOrg}
	if org == ptrOrg {
		return report.Finding{
			ID: "rdns.ptr_in_domain", Severity: report.Pass, Subject: ip.String(),
			Message:  fmt.Sprintf("The PTR name of %s, %s, is in the sender's own domain %s.", ip, name, org),
			Evidence: ev,
		}
	}
	return report.Finding{
		ID: "rdns.ptr_other_domain", Severity: report.Info, Subject: ip.String(),
		Message: fmt.Sprintf("The PTR name of %s, %s, is not in the sender's domain %s (it is in %s): Apple iCloud and GMX/WEB.DE want the PTR in the sender's own domain.", ip, name, org, ptrOrg),
		Fix: fmt.Sprintf("Ask whoever runs the reverse zone of %s to set its PTR to a host name under %s (for example mail.%s), with an %s record pointing back to %s.",
			ip, org, org, addrType(ip), ip),
		Evidence: ev,
	}
}

// resolvesTo returns what makes name resolve to ip: nothing when it does
// already, else an address record to add. ok is false when the lookup
// failed, so nobody knows.
func resolvesTo(ctx context.Context, env Env, name string, ip netip.Addr) (adds []report.FixRecord, ok bool) {
	addrs, err := env.DNS.LookupIP(ctx, network(ip), name)
	switch {
	case err == nil && slices.Contains(addrs, ip):
		return nil, true
	case err == nil || resolver.IsNotFound(err):
		return addressRecords(name, []netip.Addr{ip}), true
	}
	return nil, false
}

// bare is a name without its final dot.
func bare(name string) string { return strings.TrimSuffix(name, ".") }

// heloSanity checks the HELO name's form. It returns the name to resolve
// ("" when it is not a resolvable host name) and any findings.
func heloSanity(host names.Host) (string, []report.Finding) {
	if host.IsZero() {
		return "", nil
	}
	helo := host.String()
	bad := func(msg, fix string) []report.Finding {
		return []report.Finding{{
			ID: "rdns.helo_invalid", Severity: report.Warn, Subject: helo,
			Message: msg, Fix: fix,
		}}
	}
	if host.IsLiteral() {
		return "", bad(fmt.Sprintf("HELO %s is an address literal, not a host name: RFC 5321 §4.1.1.1 allows it, but receivers score it as a sign of spam.", helo),
			"Configure the MTA to send its fully qualified host name, the one in the IP's PTR record.")
	}
	if !strings.Contains(helo, ".") {
		return "", bad(fmt.Sprintf("HELO %s is not fully qualified: receivers expect a host name they can resolve (RFC 5321 §4.1.1.1).", helo),
			"Configure the MTA to send its fully qualified host name (for example mail."+helo+".example), the one in the IP's PTR record.")
	}
	for _, suf := range badHELOSuffixes {
		if strings.HasSuffix(helo, suf) {
			return "", bad(fmt.Sprintf("HELO %s is a private name (%s) that no receiver can resolve.", helo, suf),
				"Configure the MTA to send a public host name, the one in the IP's PTR record.")
		}
	}
	return helo, nil
}

// heloMatches checks that the HELO name resolves to ip and says when it
// differs from the PTR names that confirmed.
func heloMatches(ctx context.Context, env Env, helo string, ip netip.Addr, ptrs []string) []report.Finding {
	subject := ip.String()
	addrs, err := env.DNS.LookupIP(ctx, network(ip), helo)
	mismatch := func(msg string) []report.Finding {
		return []report.Finding{{
			ID: "rdns.helo_mismatch", Severity: report.Warn, Subject: subject,
			Message: msg,
			Fix: fmt.Sprintf("Give %s the address %s (below), or configure the MTA to say HELO with a name that resolves to %s%s.",
				helo, ip, ip, ptrHint(ptrs)),
			FixRecords: addressRecords(helo, []netip.Addr{ip}),
			Evidence:   map[string]any{"helo": helo, "addresses": addrList(addrs)},
		}}
	}
	switch {
	case resolver.IsNotFound(err):
		return mismatch(fmt.Sprintf("HELO name %s has no %s record, so it does not match %s.", helo, addrType(ip), ip))
	case err != nil:
		return []report.Finding{dnsError("rdns", subject, "the HELO name "+helo, err)}
	case !slices.Contains(addrs, ip):
		return mismatch(fmt.Sprintf("HELO name %s resolves to %s, not to %s.", helo, addrList(addrs), ip))
	}
	out := []report.Finding{{
		ID: "rdns.helo_ok", Severity: report.Pass, Subject: subject,
		Message:  fmt.Sprintf("HELO name %s resolves to %s.", helo, ip),
		Evidence: map[string]any{"helo": helo, "addresses": addrList(addrs)},
	}}
	if len(ptrs) > 0 && !slices.Contains(ptrs, helo) {
		out = append(out, report.Finding{
			ID: "rdns.helo_not_ptr", Severity: report.Info, Subject: subject,
			Message: fmt.Sprintf("HELO name %s differs from the PTR name %s; some receivers compare them.", helo, ptrs[0]),
			Fix:     fmt.Sprintf("Consider saying HELO %s.", ptrs[0]),
		})
	}
	return out
}

func ptrHint(ptrs []string) string {
	if len(ptrs) > 0 {
		return " (" + ptrs[0] + " does)"
	}
	return ""
}

// mailName is the host name to suggest for a PTR record: the HELO name,
// else mail.DOMAIN; "" when the run knows neither.
func mailName(t Target) string {
	switch {
	case t.HELO.Qualified():
		return t.HELO.Name
	case t.Domain != "":
		return "mail." + t.Domain
	}
	return ""
}

func network(ip netip.Addr) string {
	if ip.Is4() {
		return "ip4"
	}
	return "ip6"
}

func addrType(ip netip.Addr) string {
	if ip.Is4() {
		return "A"
	}
	return "AAAA"
}

func addrList(addrs []netip.Addr) string {
	if len(addrs) == 0 {
		return "nothing"
	}
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
