package checks

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// mxKinds are the mx check's findings: whether the domain can receive
// (bounces, replies), which no receiver's acceptance hangs on, so none
// blocks.
var mxKinds = []report.Kind{
	{ID: "mx.missing", Penalty: report.Penalty{Warn: 5}},
	{ID: "mx.null", Penalty: report.Penalty{Warn: 5}},
	{ID: "mx.host_no_address", Penalty: minorPenalty},
	{ID: "mx.target_cname", Penalty: minorPenalty},
	{ID: "mx.target_ip", Penalty: minorPenalty},
	{ID: "mx.ok"},
	{ID: "mx.implicit"},
}

// MX checks that the domain can receive mail, bounces above all: MX
// records whose hosts resolve, or an implicit MX; a null MX (RFC 7505)
// says it receives none.
func MX(ctx context.Context, env Env, t Target) []report.Finding {
	domain := t.Domain
	if domain == "" {
		return nil
	}
	mxs, err := env.DNS.LookupMX(ctx, domain)
	switch {
	case isNotFound(err) || err == nil && len(mxs) == 0:
		return implicitMX(ctx, env, domain, err)
	case err != nil:
		return []report.Finding{dnsError("mx", domain, "the MX records of "+domain, err)}
	}
	if slices.ContainsFunc(mxs, func(m resolver.MX) bool { return m.Host == "." }) {
		return []report.Finding{nullMX(domain, len(mxs))}
	}
	hosts := mxs[:min(len(mxs), resolver.MaxNames)]
	found := lookupHosts(ctx, env, hosts)
	var out []report.Finding
	var list []string
	usable := 0
	for i, m := range hosts {
		list = append(list, fmt.Sprintf("%d %s", m.Pref, m.Host))
		f, ok := mxHost(domain, m, found[i].host, found[i].err)
		out = append(out, f...)
		if ok {
			usable++
		}
	}
	if usable == 0 {
		return append(out, report.Finding{
			ID: "mx.missing", Severity: report.Warn, Subject: domain,
			Message: fmt.Sprintf("None of the MX hosts of %s (%s) has an address: %s cannot receive mail, bounces included.", domain, strings.Join(list, ", "), domain),
			Fix:     "Fix the MX hosts' A/AAAA records.",
		})
	}
	return append(out, report.Finding{
		ID: "mx.ok", Severity: report.Pass, Subject: domain,
		Message:  fmt.Sprintf("%s receives mail at %s.", domain, strings.Join(list, ", ")),
		Evidence: map[string]any{"mx": mxs},
	})
}

// nullMX is the finding for a null MX, alone or (wrongly) with others.
func nullMX(domain string, records int) report.Finding {
	if records > 1 {
		return report.Finding{
			ID: "mx.null", Severity: report.Warn, Subject: domain,
			Message: fmt.Sprintf("%s has a null MX and other MX records: RFC 7505 §3 forbids the mix; senders may treat it as no mail service or try the others.", domain),
			Fix:     "Keep either the null MX alone, or only real MX records.",
		}
	}
	return report.Finding{
		ID: "mx.null", Severity: report.Warn, Subject: domain,
		Message: fmt.Sprintf("%s has a null MX (RFC 7505): it receives no mail, so bounces and replies to mail sent as it are lost, and some receivers refuse mail from domains that cannot receive.", domain),
		Fix:     fmt.Sprintf("If %s sends mail, publish a real MX:\n%s. MX 10 mail.%s.", domain, domain, domain),
	}
}

type hostResult struct {
	host resolver.Host
	err  error
}

// lookupHosts looks up every MX host's addresses concurrently.
func lookupHosts(ctx context.Context, env Env, hosts []resolver.MX) []hostResult {
	res := make([]hostResult, len(hosts))
	var wg sync.WaitGroup
	for i, m := range hosts {
		wg.Go(func() { res[i].host, res[i].err = env.DNS.LookupHost(ctx, m.Host) })
	}
	wg.Wait()
	return res
}

// mxHost judges one MX host; ok says it can take mail.
func mxHost(domain string, m resolver.MX, h resolver.Host, err error) (out []report.Finding, ok bool) {
	if ip, isIP := ipLikeHost(m.Host); isIP {
		return []report.Finding{{
			ID: "mx.target_ip", Severity: report.Warn, Subject: m.Host,
			Message: fmt.Sprintf("The MX of %s names %s, an IP address written as a name: an MX must name a host (RFC 5321 §5.1), and senders look it up as a name.", domain, m.Host),
			Fix:     fmt.Sprintf("Publish\nmail.%s. A %s\n%s. MX %d mail.%s.", domain, ip, domain, m.Pref, domain),
		}}, false
	}
	switch {
	case len(h.Addrs) > 0:
	case err != nil && !isNotFound(err):
		return []report.Finding{dnsError("mx", m.Host, "the address of MX host "+m.Host, err)}, false
	default:
		return []report.Finding{{
			ID: "mx.host_no_address", Severity: report.Warn, Subject: m.Host,
			Message: fmt.Sprintf("The MX host %s of %s has no A or AAAA record: senders skip it.", m.Host, domain),
			Fix:     fmt.Sprintf("Publish an address for %s, or remove the MX record.", m.Host),
		}}, false
	}
	if len(h.CNAMEs) > 0 {
		target := h.CNAMEs[len(h.CNAMEs)-1]
		out = append(out, report.Finding{
			ID: "mx.target_cname", Severity: report.Warn, Subject: m.Host,
			Message: fmt.Sprintf("The MX host %s of %s is an alias (CNAME to %s): RFC 2181 §10.3 forbids it and some senders refuse it.", m.Host, domain, target),
			Fix:     fmt.Sprintf("Point the MX at %s directly.", target),
		})
	}
	return out, true
}

// implicitMX handles a domain without MX records: mail goes to its
// address records (RFC 5321 §5.1), if it has any.
func implicitMX(ctx context.Context, env Env, domain string, mxErr error) []report.Finding {
	addrs, err := env.DNS.LookupIP(ctx, "ip", domain)
	switch {
	case err == nil && len(addrs) > 0:
		return []report.Finding{{
			ID: "mx.implicit", Severity: report.Info, Subject: domain,
			Message:  fmt.Sprintf("%s has no MX record; mail to it goes to its address (%s), the implicit MX of RFC 5321 §5.1.", domain, addrList(addrs)),
			Fix:      fmt.Sprintf("Publish an explicit MX:\n%s. MX 10 %s.", domain, domain),
			Evidence: map[string]any{"addresses": addrList(addrs)},
		}}
	case err != nil && !isNotFound(err):
		return []report.Finding{dnsError("mx", domain, "the address of "+domain+" (no MX)", err)}
	}
	what := "no MX record and no address"
	if isNotFoundNX(mxErr) {
		what = "no DNS records at all (NXDOMAIN)"
	}
	return []report.Finding{{
		ID: "mx.missing", Severity: report.Warn, Subject: domain,
		Message: fmt.Sprintf("%s has %s: it cannot receive mail, so bounces and replies to mail sent as it are lost, and receivers distrust senders that cannot receive.", domain, what),
		Fix:     fmt.Sprintf("Publish an MX for %s:\n%s. MX 10 mail.%s.", domain, domain, domain),
	}}
}

// ipLikeHost reports whether an MX target is an IP address, alone or
// with the zone's origin appended (a zone file line "MX 10 203.0.113.9"
// without the final dot).
func ipLikeHost(host string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip, true
	}
	labels := strings.Split(host, ".")
	if len(labels) > 4 {
		if ip, err := netip.ParseAddr(strings.Join(labels[:4], ".")); err == nil && ip.Is4() {
			return ip, true
		}
	}
	return netip.Addr{}, false
}
