package checks

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/dane"
	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// daneKinds are the tls check's DANE findings (RFC 7672): for each MX
// host with TLSA records at _25._tcp.HOST, looked up with DNSSEC, whether
// the chain each address presents matches them as a DANE sender checks
// it. A TLSA set that matches nothing, or a bogus one, blocks: DANE
// senders do not deliver at all (RFC 7672 §2.2).
var daneKinds = []report.Kind{
	{ID: "dane.mismatch", Penalty: report.Penalty{Fail: 20}, Blocks: true},
	{ID: "dane.bogus", Penalty: report.Penalty{Fail: 20}, Blocks: true},
	{ID: "dane.insecure", Penalty: minorPenalty},
	{ID: "dane.unusable_records", Penalty: minorPenalty},
	{ID: "dane.not_validated"},
	{ID: "dane.ok"},
}

// daneHost is the TLSA lookup of one MX host.
type daneHost struct {
	host string
	tlsa *resolver.SecureAnswer
}

// daneLookups are the DNSSEC lookups DANE rests on: the domain's MX
// RRset and each MX host's TLSA records.
type daneLookups struct {
	mx    *resolver.SecureAnswer
	hosts []daneHost
}

// lookupDANE asks, with DNSSEC, for the MX records of domain and the
// TLSA records of each MX host (from the plain MX lookup the tls and mx
// checks share, so the TLSA questions go out while the hosts' addresses
// are still being asked for), all at once.
func lookupDANE(ctx context.Context, env Env, domain string) *daneLookups {
	hosts := []string{domain}
	if mxs, err := env.DNS.LookupMX(ctx, domain); err == nil && len(mxs) > 0 {
		hosts = hosts[:0]
		for _, m := range mxs {
			if m.Host != "." && !slices.Contains(hosts, m.Host) {
				hosts = append(hosts, m.Host)
			}
		}
	}
	hosts = hosts[:min(len(hosts), resolver.MaxNames)]
	d := &daneLookups{hosts: make([]daneHost, len(hosts))}
	var wg sync.WaitGroup
	wg.Go(func() { d.mx = env.DNS.LookupSecure(ctx, domain, dns.TypeMX) })
	for i, h := range hosts {
		wg.Go(func() {
			d.hosts[i] = daneHost{host: h, tlsa: env.DNS.LookupSecure(ctx, "_25._tcp."+h, dns.TypeTLSA)}
		})
	}
	wg.Wait()
	return d
}

// published are the MX hosts with TLSA records at _25._tcp.HOST (RFC
// 7672 §2.2), whatever their DNSSEC status: whether DANE is published, for
// the TLS-RPT and MTA-STS wording. From the lookups above, which start
// from the MX lookup: a plain TLSA lookup after the hosts' addresses was a
// third round trip on the tls check's critical path.
func (d *daneLookups) published() []string {
	if d == nil {
		return nil
	}
	var out []string
	for _, h := range d.hosts {
		if h.tlsa != nil && slices.ContainsFunc(h.tlsa.Records, func(rr dns.RR) bool { _, ok := rr.(*dns.TLSA); return ok }) {
			out = append(out, h.host)
		}
	}
	return out
}

// findings words DANE for every host that publishes TLSA records; hosts
// without are not mentioned (DANE is optional).
func (d *daneLookups) findings(probes []*Probe, now time.Time) []report.Finding {
	if d == nil {
		return nil
	}
	var out []report.Finding
	for _, h := range d.hosts {
		weak := false
		a := h.tlsa
		name := "_25._tcp." + h.host
		if a == nil || len(a.Records) == 0 && a.Security != resolver.Bogus {
			continue
		}
		var records []*dns.TLSA
		for _, rr := range a.Records {
			if t, ok := rr.(*dns.TLSA); ok {
				records = append(records, t)
			}
		}
		ev := map[string]any{"tlsa_name": name, "security": a.Security.String(), "mx_security": d.mx.Security.String()}
		if a.Reason != "" {
			ev["reason"] = a.Reason
		}
		switch {
		case a.Security == resolver.Bogus:
			out = append(out, report.Finding{
				ID: "dane.bogus", Severity: report.Fail, Subject: h.host,
				Message:  fmt.Sprintf("The TLSA records of %s fail DNSSEC validation (%s): DANE senders treat that as an attack and do not deliver to %s at all (RFC 7672 §2.2).", h.host, a.Reason, h.host),
				Fix:      fmt.Sprintf("Fix the signatures of the zone of %s (see the dnssec check), or remove the TLSA records at %s and let them expire from caches before the zone goes bogus again.", name, name),
				Evidence: ev,
			})
			continue
		case a.Security == resolver.Indeterminate || d.mx.Security == resolver.Indeterminate:
			why := a.Reason
			if why == "" {
				why = d.mx.Reason
			}
			out = append(out, report.Finding{
				ID: "dane.not_validated", Severity: report.Info, Subject: h.host,
				Message:  fmt.Sprintf("%s has TLSA records, but DNSSEC could not be validated (%s), so whether DANE senders use them is not known.", h.host, why),
				Fix:      "Give --trust-anchor FILE for zone files or a lab, or use a resolver that returns DNSSEC records, and run again.",
				Evidence: ev,
			})
			continue
		case sha1Signed(a, d.mx):
			// Insecure to preflight (it does not validate SHA-1, as the
			// issue and RFC 6840 §5.2 allow), but most validators still
			// do (RFC 8624 keeps 5 and 7 MUST-validate), and DANE senders
			// behind them enforce the records: match them anyway.
			weak = true
			out = append(out, report.Finding{
				ID: "dane.insecure", Severity: report.Warn, Subject: h.host,
				Message:  fmt.Sprintf("%s publishes TLSA records in a zone signed with RSA/SHA-1 (algorithm 5 or 7), which preflight does not validate (%s): validators that still accept SHA-1 (most do) treat them as secure, and DANE senders behind those enforce them, while validators that dropped SHA-1 treat the zone as unsigned and their senders ignore them. They are matched below without DNSSEC proof.", h.host, cmp.Or(a.Reason, d.mx.Reason)),
				Fix:      "Roll the zones of the domain and of the MX host to algorithm 13 (ECDSA P-256) or 8 (RSA/SHA-256) so that every validator authenticates the TLSA records: sign with the new algorithm, publish its DS at the registrar, then remove the old DS and keys.",
				Evidence: ev,
			})
		case a.Security == resolver.Insecure || d.mx.Security != resolver.Secure:
			where := fmt.Sprintf("the zone of %s is not signed (%s)", name, a.Reason)
			if a.Security == resolver.Secure {
				where = fmt.Sprintf("the MX records of the domain are not DNSSEC-signed (%s)", d.mx.Reason)
			}
			out = append(out, report.Finding{
				ID: "dane.insecure", Severity: report.Warn, Subject: h.host,
				Message:  fmt.Sprintf("%s publishes TLSA records, but %s: DANE senders ignore TLSA records that are not DNSSEC-secure (RFC 7672 §2.2), so they protect nothing.", h.host, where),
				Fix:      "Sign the zones of the domain and of the MX host (and publish their DS at the registrar), or remove the TLSA records.",
				Evidence: ev,
			})
			continue
		}
		r0 := dane.Verify(records, nil, nil, now) // which records are usable at all
		if len(r0.Unusable) > 0 {
			ev := map[string]any{"tlsa_name": name, "unusable": r0.Unusable}
			out = append(out, report.Finding{
				ID: "dane.unusable_records", Severity: report.Warn, Subject: h.host,
				Message:  fmt.Sprintf("%d of the TLSA records of %s cannot be used by SMTP senders: %s.", len(r0.Unusable), h.host, strings.Join(r0.Unusable, "; ")),
				Fix:      fmt.Sprintf("For SMTP use DANE-EE (3 1 1) and DANE-TA (2 1 1) records at %s; remove the others (RFC 7672 §3.1.3).", name),
				Evidence: ev,
			})
		}
		if r0.Outcome == dane.NoUsable {
			continue // senders require TLS and authenticate nothing: said above
		}
		for _, p := range probes {
			if p.Host != h.host || len(p.Chain) == 0 {
				continue
			}
			out = append(out, daneProbe(p, name, records, now, weak))
		}
	}
	return out
}

// authenticated softens an address's certificate findings when its
// DNSSEC-validated TLSA records authenticate it, as DANE senders judge
// it: DANE-EE (3) binds the key, and senders ignore the certificate's
// names, expiry and issuer (RFC 7672 §3.1.1); DANE-TA (2) checks name
// and expiry itself (dane.Verify), so only the chain's trust in the
// public roots does not matter (§3.1.2). Such findings become
// information: only senders without DANE that verify (MTA-STS, whose
// own findings say so) would mind.
func (d *daneLookups) authenticated(p *Probe, fs []report.Finding, now time.Time) []report.Finding {
	if d == nil || len(p.Chain) == 0 || d.mx == nil {
		return fs
	}
	for _, h := range d.hosts {
		a := h.tlsa
		if h.host != p.Host || a == nil || !(a.Security == resolver.Secure && d.mx.Security == resolver.Secure || sha1Signed(a, d.mx)) {
			continue
		}
		var records []*dns.TLSA
		for _, rr := range a.Records {
			if t, ok := rr.(*dns.TLSA); ok {
				records = append(records, t)
			}
		}
		r := dane.Verify(records, p.Chain, []string{p.Host}, now)
		if r.Outcome != dane.Matched {
			return fs
		}
		ignored := map[string]bool{"tls.cert_unverified": true}
		why := "DANE senders authenticate it by its TLSA record " + r.Record + " (DANE-TA), not by the public roots (RFC 7672 §3.1.2)"
		if strings.HasPrefix(r.Record, "3 ") {
			ignored["tls.name_mismatch"], ignored["tls.cert_expired"], ignored["tls.cert_expiring"] = true, true, true
			why = "DANE senders authenticate its key by the TLSA record " + r.Record + " (DANE-EE) and ignore the certificate's names, expiry and issuer (RFC 7672 §3.1.1)"
		}
		for i := range fs {
			if ignored[fs[i].ID] && fs[i].Severity != report.Info {
				fs[i].Severity = report.Info
				fs[i].Message += " " + strings.ToUpper(why[:1]) + why[1:] + ": this matters only to senders without DANE that verify certificates."
				if fs[i].Evidence != nil {
					fs[i].Evidence["dane_authenticated"] = r.Record
				}
			}
		}
		return fs
	}
	return fs
}

// daneProbe matches the TLSA records against the chain one address
// presented.
func daneProbe(p *Probe, name string, records []*dns.TLSA, now time.Time, weak bool) report.Finding {
	r := dane.Verify(records, p.Chain, []string{p.Host}, now)
	ev := map[string]any{"tlsa_name": name, "addr": p.Addr.String()}
	senders, signed := "DANE senders", "DNSSEC-signed"
	if weak {
		senders, signed = "DANE senders whose validators accept RSA/SHA-1", "RSA/SHA-1-signed"
		ev["sha1_zone"] = true
	}
	switch r.Outcome {
	case dane.Matched:
		ev["matched"], ev["depth"] = r.Record, r.Depth
		return report.Finding{
			ID: "dane.ok", Severity: report.Pass, Subject: p.subject(),
			Message:  fmt.Sprintf("%s presents a certificate that its %s TLSA record %s matches: %s authenticate it.", p.subject(), signed, r.Record, senders),
			Evidence: ev,
		}
	case dane.NoUsable:
		ev["unusable"] = r.Unusable
		return report.Finding{
			ID: "dane.unusable_records", Severity: report.Warn, Subject: p.subject(),
			Message:  fmt.Sprintf("None of the TLSA records of %s can be used by SMTP senders: they require TLS from %s but authenticate nothing.", p.Host, p.subject()),
			Fix:      rollover(name, p),
			Evidence: ev,
		}
	}
	ev["reasons"] = r.Reasons
	return report.Finding{
		ID: "dane.mismatch", Severity: report.Fail, Subject: p.subject(),
		Message:  fmt.Sprintf("No TLSA record of %s matches the certificate %s presents (%s): %s do not deliver to it (RFC 7672 §2.2).", p.Host, p.subject(), strings.Join(r.Reasons, "; "), senders),
		Fix:      rollover(name, p),
		Evidence: ev,
	}
}

// rollover is the fix for TLSA records that do not match: the records
// that match the chain presented now, and how to change keys without a
// gap.
func rollover(name string, p *Probe) string {
	leaf := p.Chain[0]
	s := fmt.Sprintf("Publish TLSA records that match what %s presents now: %s. IN TLSA %s", p.subject(), name, dane.Record(3, 1, 1, leaf))
	if len(p.Chain) > 1 {
		s += fmt.Sprintf(" and %s. IN TLSA %s (its issuer)", name, dane.Record(2, 1, 1, p.Chain[1]))
	}
	return s + ". To change the key or certificate later without a gap, publish the next key's 3 1 1 record beside the current ones, wait two TTLs, then switch the server, then remove the old record; a 3 1 1 + 2 1 1 pair survives a certificate renewal with the same issuer."
}

// sha1Signed reports whether the TLSA lookup a and the domain's MX
// lookup mx are secure or insecure only because their zones are signed
// with RSA/SHA-1 (algorithms 5 and 7), which preflight does not validate
// but most validators do; at least one of them is such.
func sha1Signed(a, mx *resolver.SecureAnswer) bool {
	only := func(x *resolver.SecureAnswer) bool {
		return x.Security == resolver.Insecure && len(x.Algorithms) > 0 && !slices.ContainsFunc(x.Algorithms, func(alg uint8) bool {
			return alg != dns.RSASHA1 && alg != dns.RSASHA1NSEC3SHA1
		})
	}
	ok := func(x *resolver.SecureAnswer) bool { return x.Security == resolver.Secure || only(x) }
	return ok(a) && ok(mx) && (only(a) || only(mx))
}

// recipientDANE looks up, with DNSSEC, the recipient domain's MX records
// and its MX hosts' TLSA records, for the direct path to apply as a
// DANE-aware MTA does: only when the MX RRset is secure (RFC 7672
// §2.2.1), only secure TLSA records, and bogus ones as a refusal. nil
// and why when DANE does not apply; mxBogus says why the MX records
// themselves are bogus (a validating MTA then defers without connecting).
func recipientDANE(ctx context.Context, env Env, s *delivery.Send) (hosts map[string]delivery.DANEHost, note, mxBogus string) {
	domain := s.To.Domain
	mx := env.DNS.LookupSecure(ctx, domain, dns.TypeMX)
	if mx.Security == resolver.Bogus {
		return nil, fmt.Sprintf("the MX records of %s are bogus (%s): a validating MTA defers without connecting", domain, mx.Reason), mx.Reason
	}
	if mx.Security != resolver.Secure && !sha1Signed(mx, mx) {
		return nil, fmt.Sprintf("the MX records of %s are %s (%s): DANE does not apply", domain, mx.Security, mx.Reason), ""
	}
	names := []string{domain}
	if mx.Kind == nil {
		names = names[:0]
		for _, rr := range mx.Records {
			if m, ok := rr.(*dns.MX); ok && m.Mx != "." {
				names = append(names, strings.ToLower(strings.TrimSuffix(m.Mx, ".")))
			}
		}
	}
	names = names[:min(len(names), resolver.MaxNames)]
	out := map[string]delivery.DANEHost{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, h := range names {
		wg.Go(func() {
			a := env.DNS.LookupSecure(ctx, "_25._tcp."+h, dns.TypeTLSA)
			var d delivery.DANEHost
			switch a.Security {
			case resolver.Bogus:
				d.Bogus = a.Reason
			case resolver.Secure, resolver.Insecure:
				if a.Security == resolver.Insecure && !sha1Signed(a, mx) {
					break
				}
				// Secure, or RSA/SHA-1-signed: an MTA whose validator
				// accepts SHA-1 (most do) applies these records.
				for _, rr := range a.Records {
					if t, ok := rr.(*dns.TLSA); ok {
						d.TLSA = append(d.TLSA, t)
					}
				}
			}
			if d.Bogus != "" || len(d.TLSA) > 0 {
				mu.Lock()
				out[h] = d
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(out) == 0 {
		return nil, "no MX host of " + domain + " has DNSSEC-secure TLSA records", ""
	}
	return out, "", ""
}

// daneEvidence says whether the direct path applied DANE, and where.
func daneEvidence(s *delivery.Send, note string) map[string]any {
	if s.DANE == nil {
		return map[string]any{"applied": false, "reason": note}
	}
	var hosts []string
	for h := range s.DANE {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	if s.TLS == delivery.TLSNone {
		// --tls none sends in clear text as asked: DANE was not applied,
		// though a DANE-aware MTA would have required TLS there.
		return map[string]any{"applied": false, "overridden_by": "--tls none", "hosts": hosts,
			"reason": "--tls none overrode DANE: the session was in clear text as asked, where a DANE-aware MTA requires TLS and a certificate the TLSA records match (RFC 7672 §2.2)"}
	}
	return map[string]any{"applied": true, "hosts": hosts}
}
