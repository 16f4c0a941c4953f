package checks

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"

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
	// Whether the From and MAIL FROM domains exist as Yahoo checks it,
	// with an SOA query (issue #17): NXDOMAIN is a rejection there.
	{ID: "mx.domain_exists"},
	{ID: "mx.no_such_domain", Penalty: report.Penalty{Warn: 5}},
}

// MX checks that the domain can receive mail, bounces above all: MX
// records whose hosts resolve, or an implicit MX; a null MX (RFC 7505)
// says it receives none.
func MX(ctx context.Context, env Env, t Target) []report.Finding {
	if t.Domain == "" {
		return nil
	}
	out := domainExists(ctx, env, t.Domain)
	if from, _ := envelope(t); from != t.Domain {
		out = append(out, domainExists(ctx, env, from)...)
	}
	return append(out, mxRecords(ctx, env, t)...)
}

// domainExists asks for the SOA record of name, as Yahoo does for the
// MAIL FROM and From domains ("Unresolvable RFC.5321 or RFC.5322 from
// domain"): an answer, or NODATA, means the name exists; NXDOMAIN means
// it does not.
func domainExists(ctx context.Context, env Env, name string) []report.Finding {
	_, err := env.DNS.Lookup(ctx, name, dns.TypeSOA)
	switch {
	case err == nil:
		return []report.Finding{{
			ID: "mx.domain_exists", Severity: report.Pass, Subject: name,
			Message: fmt.Sprintf("%s exists: it has an SOA record of its own.", name),
		}}
	case errors.Is(err, resolver.ErrNoData):
		return []report.Finding{{
			ID: "mx.domain_exists", Severity: report.Pass, Subject: name,
			Message:  fmt.Sprintf("%s exists, without an SOA record of its own (NOERROR and no answer: a name inside its parent's zone); a receiver that wants the SOA at the exact name would not find one.", name),
			Evidence: map[string]any{"soa": false},
		}}
	case errors.Is(err, resolver.ErrNXDomain):
		return []report.Finding{{
			ID: "mx.no_such_domain", Severity: report.Warn, Subject: name,
			Message: fmt.Sprintf("%s does not exist (NXDOMAIN to an SOA query): receivers that check the sender's domains, Yahoo among them, refuse mail from it.", name),
			Fix:     fmt.Sprintf("Use a domain that exists in MAIL FROM and From, or publish records for %s (an MX or A record makes the name exist).", name),
		}}
	}
	return []report.Finding{dnsError("mx", name, "whether "+name+" exists (its SOA record)", err)}
}

// mxRecords checks the domain's MX records.
func mxRecords(ctx context.Context, env Env, t Target) []report.Finding {
	domain := t.Domain
	mxs, err := env.DNS.LookupMX(ctx, domain)
	switch {
	case isNotFound(err) || err == nil && len(mxs) == 0:
		return implicitMX(ctx, env, t, err)
	case err != nil:
		return []report.Finding{dnsError("mx", domain, "the MX records of "+domain, err)}
	}
	if slices.ContainsFunc(mxs, func(m resolver.MX) bool { return m.Host == "." }) {
		return []report.Finding{nullMX(ctx, env, t, len(mxs))}
	}
	hosts := mxs[:min(len(mxs), resolver.MaxNames)]
	found := lookupHosts(ctx, env, hosts)
	var out []report.Finding
	var list []string
	var noAddress []int // indexes in out of the mx.host_no_address findings
	var renames []report.FixRecord
	usable := 0
	for i, m := range hosts {
		list = append(list, fmt.Sprintf("%d %s", m.Pref, m.Host))
		f, ok := mxHost(ctx, env, domain, m, found[i].host, found[i].err)
		for _, x := range f {
			switch x.ID {
			case "mx.host_no_address":
				noAddress = append(noAddress, len(out))
			case "mx.target_ip":
				renames = append(renames, x.FixRecords...)
			}
			out = append(out, x)
		}
		if ok {
			usable++
		}
	}
	if usable == 0 {
		f := report.Finding{
			ID: "mx.missing", Severity: report.Warn, Subject: domain,
			Message: fmt.Sprintf("None of the MX hosts of %s (%s) has an address: %s cannot receive mail, bounces included.", domain, strings.Join(list, ", "), domain),
			Fix:     "Fix the MX hosts' A/AAAA records.",
		}
		switch {
		case renames != nil:
			f.Fix = "Point the MX at a host name with an address, as below."
			f.FixRecords = renames
		default:
			if h, adds := addressesFor(domain, hosts, t); adds != nil {
				f.Fix = fmt.Sprintf("Give %s an address. The records below use the sending IP; if another server receives mail for %s, use its address.", h, domain)
				f.FixRecords = adds
			}
		}
		return append(out, f)
	}
	// Other hosts take the mail: an MX without an address can go.
	for _, i := range noAddress {
		m := hosts[slices.IndexFunc(hosts, func(m resolver.MX) bool { return m.Host == out[i].Subject })]
		out[i].Fix = fmt.Sprintf("Publish an address for %s, or remove the MX record (the other MX hosts take the mail):", m.Host)
		out[i].FixRecords = []report.FixRecord{{Action: report.FixRemove, Name: domain, Type: "MX", Old: mxValue(m.Pref, m.Host)}}
	}
	return append(out, report.Finding{
		ID: "mx.ok", Severity: report.Pass, Subject: domain,
		Message:  fmt.Sprintf("%s receives mail at %s.", domain, strings.Join(list, ", ")),
		Evidence: map[string]any{"mx": mxs},
	})
}

// nullMX is the finding for a null MX, alone or (wrongly) with others.
// Its fix removes the null MX ("MX 0 .") and, when it is alone, points
// an MX at a host that receives.
func nullMX(ctx context.Context, env Env, t Target, records int) report.Finding {
	domain := t.Domain
	remove := report.FixRecord{Action: report.FixRemove, Name: domain, Type: "MX", Old: "0 ."}
	if records > 1 {
		return report.Finding{
			ID: "mx.null", Severity: report.Warn, Subject: domain,
			Message:    fmt.Sprintf("%s has a null MX and other MX records: RFC 7505 §3 forbids the mix; senders may treat it as no mail service or try the others.", domain),
			Fix:        "Keep either the null MX alone, or only real MX records: the record below removes the null MX.",
			FixRecords: []report.FixRecord{remove},
		}
	}
	f := report.Finding{
		ID: "mx.null", Severity: report.Warn, Subject: domain,
		Message: fmt.Sprintf("%s has a null MX (RFC 7505): it receives no mail, so bounces and replies to mail sent as it are lost, and some receivers refuse mail from domains that cannot receive.", domain),
		Fix:     fmt.Sprintf("If %s sends mail, remove the null MX (MX 0 .) and publish an MX for the host that receives its mail.", domain),
	}
	if host, records := mxTarget(ctx, env, t); records != nil {
		f.Fix = fmt.Sprintf("If %s sends mail, remove the null MX and point an MX at the host that receives its mail; the records below use %s%s.", domain, host, targetNote(records))
		f.FixRecords = append([]report.FixRecord{remove}, records...)
	}
	return f
}

// mxValue is an MX record's data as fix records write it.
func mxValue(pref uint16, host string) string { return fmt.Sprintf("%d %s", pref, host) }

// mxTarget finds the host an MX fix points at and returns the records
// that do it: an existing host with an address (mail.DOMAIN, then the
// HELO name), else mail.DOMAIN with the sending IPs as its addresses.
// Nil when there is no such host and no sending IP: a fix never names a
// host without an address.
func mxTarget(ctx context.Context, env Env, t Target) (string, []report.FixRecord) {
	domain := t.Domain
	mail := "mail." + domain
	candidates := []string{mail}
	if t.HELO.Qualified() && t.HELO.Name != mail {
		candidates = append(candidates, t.HELO.Name)
	}
	mailFree := false
	for _, c := range candidates {
		h, err := env.DNS.LookupHost(ctx, c)
		switch {
		case err == nil && len(h.Addrs) > 0 && len(h.CNAMEs) == 0:
			return c, []report.FixRecord{{Action: report.FixAdd, Name: domain, Type: "MX", Value: mxValue(10, c)}}
		case c == mail:
			mailFree = isNotFound(err)
		}
	}
	if !mailFree || len(t.IPs) == 0 {
		return "", nil
	}
	return mail, append([]report.FixRecord{{Action: report.FixAdd, Name: domain, Type: "MX", Value: mxValue(10, mail)}}, addressRecords(mail, t.IPs)...)
}

// targetNote says where an added host's addresses came from.
func targetNote(records []report.FixRecord) string {
	if len(records) > 1 {
		return " with the sending IP as its address (use the receiving server's, if another)"
	}
	return ""
}

// addressRecords adds an A or AAAA record at name for each address.
func addressRecords(name string, ips []netip.Addr) []report.FixRecord {
	var out []report.FixRecord
	for _, ip := range ips {
		out = append(out, report.FixRecord{Action: report.FixAdd, Name: name, Type: addrType(ip.Unmap()), Value: ip.Unmap().String()})
	}
	return out
}

// addressesFor gives the first MX host under the domain the sending IPs
// as addresses, when none of the hosts has one; nil when no host is the
// domain's own (the addresses of a provider's host are not the
// domain's to set) or there is no sending IP.
func addressesFor(domain string, hosts []resolver.MX, t Target) (string, []report.FixRecord) {
	for _, m := range hosts {
		if _, isIP := ipLikeHost(m.Host); !isIP && dns.IsSubDomain(domain, m.Host) && len(t.IPs) > 0 {
			return m.Host, addressRecords(m.Host, t.IPs)
		}
	}
	return "", nil
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
func mxHost(ctx context.Context, env Env, domain string, m resolver.MX, h resolver.Host, err error) (out []report.Finding, ok bool) {
	if ip, isIP := ipLikeHost(m.Host); isIP {
		f := report.Finding{
			ID: "mx.target_ip", Severity: report.Warn, Subject: m.Host,
			Message: fmt.Sprintf("The MX of %s names %s, an IP address written as a name: an MX must name a host (RFC 5321 §5.1), and senders look it up as a name.", domain, m.Host),
			Fix:     fmt.Sprintf("Point the MX at a host name whose address is %s.", ip),
		}
		if name, adds, ok := hostFor(ctx, env, domain, ip); ok {
			f.Fix = fmt.Sprintf("Point the MX at a host name whose address is %s, as below.", ip)
			f.FixRecords = append([]report.FixRecord{{Action: report.FixReplace, Name: domain, Type: "MX", Old: mxValue(m.Pref, m.Host), Value: mxValue(m.Pref, name)}}, adds...)
		}
		return []report.Finding{f}, false
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
			Message:    fmt.Sprintf("The MX host %s of %s is an alias (CNAME to %s): RFC 2181 §10.3 forbids it and some senders refuse it.", m.Host, domain, target),
			Fix:        fmt.Sprintf("Point the MX at %s directly.", target),
			FixRecords: []report.FixRecord{{Action: report.FixReplace, Name: domain, Type: "MX", Old: mxValue(m.Pref, m.Host), Value: mxValue(m.Pref, target)}},
		})
	}
	return out, true
}

// implicitMX handles a domain without MX records: mail goes to its
// address records (RFC 5321 §5.1), if it has any.
func implicitMX(ctx context.Context, env Env, t Target, mxErr error) []report.Finding {
	domain := t.Domain
	addrs, err := env.DNS.LookupIP(ctx, "ip", domain)
	switch {
	case err == nil && len(addrs) > 0:
		return []report.Finding{{
			ID: "mx.implicit", Severity: report.Info, Subject: domain,
			Message:    fmt.Sprintf("%s has no MX record; mail to it goes to its address (%s), the implicit MX of RFC 5321 §5.1.", domain, addrList(addrs)),
			Fix:        "Publish an explicit MX for the host that takes the mail now:",
			FixRecords: []report.FixRecord{{Action: report.FixAdd, Name: domain, Type: "MX", Value: mxValue(10, domain)}},
			Evidence:   map[string]any{"addresses": addrList(addrs)},
		}}
	case err != nil && !isNotFound(err):
		return []report.Finding{dnsError("mx", domain, "the address of "+domain+" (no MX)", err)}
	}
	what := "no MX record and no address"
	if isNotFoundNX(mxErr) {
		what = "no DNS records at all (NXDOMAIN)"
	}
	f := report.Finding{
		ID: "mx.missing", Severity: report.Warn, Subject: domain,
		Message: fmt.Sprintf("%s has %s: it cannot receive mail, so bounces and replies to mail sent as it are lost, and receivers distrust senders that cannot receive.", domain, what),
		Fix:     fmt.Sprintf("Publish an MX for %s naming the host that receives its mail, and give that host an address.", domain),
	}
	if host, records := mxTarget(ctx, env, t); records != nil {
		f.Fix = fmt.Sprintf("Publish an MX for %s naming the host that receives its mail; the records below use %s%s.", domain, host, targetNote(records))
		f.FixRecords = records
	}
	return []report.Finding{f}
}

// hostFor finds a name under domain for the address ip that an MX can
// point at: mail.DOMAIN or mx.DOMAIN when it resolves to ip already, or
// the first of them that does not exist yet, with an address record to
// add. ok is false when both names are taken by other addresses.
func hostFor(ctx context.Context, env Env, domain string, ip netip.Addr) (name string, adds []report.FixRecord, ok bool) {
	var free []string
	for _, c := range []string{"mail." + domain, "mx." + domain} {
		h, err := env.DNS.LookupHost(ctx, c)
		switch {
		case err == nil && slices.Contains(h.Addrs, ip) && len(h.CNAMEs) == 0:
			return c, nil, true
		case isNotFound(err):
			free = append(free, c)
		}
	}
	if len(free) == 0 {
		return "", nil, false
	}
	return free[0], addressRecords(free[0], []netip.Addr{ip}), true
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
