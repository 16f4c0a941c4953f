package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// dnssecKinds are the dnssec check's findings: whether the zones of the
// domain and of its MX hosts validate from the trust anchor. Only a
// bogus zone blocks: validating resolvers answer SERVFAIL for every
// name in it, so receivers can look up neither the domain's SPF, DKIM
// and DMARC nor its MX. An unsigned zone is common and only informs.
var dnssecKinds = []report.Kind{
	{ID: "dnssec.bogus", Penalty: report.Penalty{Fail: 30}, Blocks: true},
	{ID: "dnssec.expiring", Penalty: report.Penalty{Warn: 8}},
	{ID: "dnssec.weak_algorithm", Penalty: minorPenalty},
	{ID: "dnssec.insecure"},
	{ID: "dnssec.not_validated"},
	{ID: "dnssec.secure"},
}

// ExpiringWithin is how close a signature's expiration may come before
// dnssec.expiring warns: a signer that stopped re-signing leaves about
// this long to notice before the zone goes bogus.
const ExpiringWithin = 3 * 24 * time.Hour

// DNSSEC validates the zones of the domain and of its MX hosts from the
// run's trust anchor (resolver.LookupSecure): the domain's MX RRset, each
// MX host's address records. One finding per zone.
func DNSSEC(ctx context.Context, env Env, t Target) []report.Finding {
	domain := t.Domain
	if domain == "" {
		return nil
	}
	// The MX hosts from the plain lookup the mx check makes too (cached),
	// so every validation runs at once: the domain's MX RRset and each
	// host's addresses.
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
	var mx *resolver.SecureAnswer
	results := make([]*resolver.SecureAnswer, len(hosts))
	var wg sync.WaitGroup
	wg.Go(func() { mx = env.DNS.LookupSecure(ctx, domain, dns.TypeMX) })
	for i, h := range hosts {
		wg.Go(func() { results[i] = env.DNS.LookupSecure(ctx, h, dns.TypeA) })
	}
	wg.Wait()
	out := []report.Finding{}
	seen := map[string]bool{}
	add := func(subject string, a *resolver.SecureAnswer) {
		key := a.Zone
		if a.Security == resolver.Indeterminate {
			key = "?" + a.Reason // one finding per reason
		}
		if seen[key] {
			return
		}
		seen[key] = true
		out = append(out, dnssecFindings(env, subject, a)...)
	}
	add(domain, mx)
	for i, h := range hosts {
		add(h, results[i])
	}
	return out
}

// dnssecFindings words one validated lookup: the zone's security, and
// for a secure zone, signatures about to expire.
func dnssecFindings(env Env, subject string, a *resolver.SecureAnswer) []report.Finding {
	zone := a.Zone
	if zone == "" {
		zone = subject
	}
	ev := map[string]any{"zone": zone, "security": a.Security.String(), "name": a.Name, "type": a.Type}
	if a.Reason != "" {
		ev["reason"] = a.Reason
	}
	if len(a.Algorithms) > 0 {
		ev["algorithms"] = a.Algorithms
	}
	switch a.Security {
	case resolver.Bogus:
		return []report.Finding{{
			ID: "dnssec.bogus", Severity: report.Fail, Subject: subject,
			Message:  fmt.Sprintf("DNSSEC validation of %s fails (zone %s): %s. Validating resolvers (most large receivers use one) answer SERVFAIL for its names, so mail to and from it fails: its MX, SPF, DKIM and DMARC records cannot be looked up.", subject, zone, a.Reason),
			Fix:      bogusFix(zone, a.Reason),
			Evidence: ev,
		}}
	case resolver.Insecure:
		if weak := slices.ContainsFunc(a.Algorithms, func(alg uint8) bool { return alg == dns.RSASHA1 || alg == dns.RSASHA1NSEC3SHA1 }); weak {
			return []report.Finding{{
				ID: "dnssec.weak_algorithm", Severity: report.Warn, Subject: subject,
				Message:  fmt.Sprintf("%s is signed with RSA/SHA-1 (algorithm 5 or 7), which RFC 8624 says not to sign with any more (%s). Most validators still accept it and treat the zone as signed (DANE senders behind them enforce its TLSA records), but those that dropped SHA-1 treat it as unsigned, as preflight does: its records are not checked for DNSSEC here.", zone, a.Reason),
				Fix:      fmt.Sprintf("Roll the zone %s to algorithm 13 (ECDSA P-256) or 8 (RSA/SHA-256): sign with the new algorithm, publish its DS at the registrar, then remove the old DS and keys.", zone),
				Evidence: ev,
			}}
		}
		msg := fmt.Sprintf("%s is not DNSSEC-signed (%s): its records are not authenticated, and DANE (TLSA) cannot protect mail to its MX hosts.", subject, a.Reason)
		if errors.Is(a.Kind, resolver.ErrNXDomain) {
			msg = fmt.Sprintf("%s does not exist, and that is not DNSSEC-proven (%s).", subject, a.Reason)
		}
		return []report.Finding{{
			ID: "dnssec.insecure", Severity: report.Info, Subject: subject,
			Message:  msg,
			Fix:      fmt.Sprintf("Optional: sign the zone %s at its DNS host and publish the DS record at the registrar; DANE for the MX hosts needs it.", zone),
			Evidence: ev,
		}}
	case resolver.Secure:
		ev["expires"] = a.Expires.UTC().Format(time.RFC3339)
		left := a.Expires.Sub(env.now())
		if left < ExpiringWithin {
			return []report.Finding{{
				ID: "dnssec.expiring", Severity: report.Warn, Subject: subject,
				Message:  fmt.Sprintf("A DNSSEC signature on the way to %s expires at %s (in %s): if it is not renewed by then, the zone turns bogus and mail to and from it fails.", subject, a.Expires.UTC().Format(time.RFC3339), left.Round(time.Minute)),
				Fix:      fmt.Sprintf("Check that the signer of %s is running and re-signs before expiry (signatures are usually renewed a week or more ahead).", zone),
				Evidence: ev,
			}}
		}
		msg := fmt.Sprintf("%s validates with DNSSEC from the trust anchor (zone %s, algorithm %s; signatures valid until %s).", subject, zone, algList(a.Algorithms), a.Expires.UTC().Format("2006-01-02"))
		if errors.Is(a.Kind, resolver.ErrNXDomain) {
			// Proven not to exist: the zone is sound, the name is not
			// there (the mx check says what that means for mail).
			msg = fmt.Sprintf("%s does not exist: the zone %s proves it with DNSSEC from the trust anchor (algorithm %s; signatures valid until %s).", subject, zone, algList(a.Algorithms), a.Expires.UTC().Format("2006-01-02"))
		}
		return []report.Finding{{
			ID: "dnssec.secure", Severity: report.Pass, Subject: subject,
			Message:  msg,
			Evidence: ev,
		}}
	}
	if a.Err != nil && resolver.IsTemporary(a.Err) && a.Records == nil && a.Kind == nil && !env.DNS.Offline() {
		// The name's own question got no answer (timeout, SERVFAIL,
		// REFUSED): nothing is known, which is not the same as a zone
		// that validates or is unsigned. An error, as other checks' DNS
		// failures (STYLE 6). A server that answers the name but not the
		// anchor's zone (a lab's, a test's: the root not served) stays
		// not_validated, and so do names outside the zone files offline.
		f := dnsError("dnssec", subject, "DNSSEC for "+subject, a.Err)
		f.Evidence = ev
		ev["error"] = a.Reason
		return []report.Finding{f}
	}
	ev["error"] = a.Reason
	fix := "With zone files or a lab, give --trust-anchor FILE (the DS or DNSKEY of the signed zone at the top); otherwise use a resolver that returns DNSSEC records (DO bit), and run again."
	if owners := anchorOwners(env.DNS.TrustAnchors()); !slices.ContainsFunc(owners, func(o string) bool { return dns.IsSubDomain(dns.Fqdn(o), dns.Fqdn(subject)) }) {
		// --trust-anchor was given (the root's covers every name) and
		// covers other zones: telling the user to give one was no help.
		fix = fmt.Sprintf("The --trust-anchor given covers %s, not %s: add the DS or DNSKEY of the signed zone above %s to that file, or leave --trust-anchor out to validate from the root's.", strings.Join(owners, ", "), subject, subject)
	}
	return []report.Finding{{
		ID: "dnssec.not_validated", Severity: report.Info, Subject: subject,
		Message:  fmt.Sprintf("DNSSEC could not be validated for %s: %s. Receivers whose resolvers cannot validate it either treat it as unsigned.", subject, a.Reason),
		Fix:      fix,
		Evidence: ev,
	}}
}

// anchorOwners are the zones the trust anchors are for, each once, in
// names are written (no final dot; "." for the root).
func anchorOwners(anchors []dns.RR) []string {
	var out []string
	for _, rr := range anchors {
		o := strings.ToLower(rr.Header().Name)
		if o != "." {
			o = strings.TrimSuffix(o, ".")
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// bogusFix says what to do for a bogus zone, by its reason.
func bogusFix(zone, reason string) string {
	switch {
	case strings.Contains(reason, "expired") || strings.Contains(reason, "not valid before"):
		return fmt.Sprintf("Re-sign %s: its signatures are out of their validity period, so the signer has stopped or the clock is wrong. If it cannot be re-signed soon, remove the DS at the registrar to make the zone unsigned rather than broken.", zone)
	case strings.Contains(reason, "DS digest") || strings.Contains(reason, "key tag its DS names") || strings.Contains(reason, "no DNSKEY"):
		return fmt.Sprintf("The DS at the registrar does not match the keys %s publishes (a key rollover without a DS update, or a move to another DNS host): publish the DS of the current key (KSK) at the registrar, or remove the DS to go unsigned.", zone)
	}
	return fmt.Sprintf("Re-sign %s with its current keys and check the DS at the registrar matches them; until then, removing the DS makes the zone unsigned rather than broken.", zone)
}

func algList(algs []uint8) string {
	s := make([]string, len(algs))
	for i, a := range algs {
		s[i] = fmt.Sprintf("%d (%s)", a, dns.AlgorithmToString[a])
	}
	return strings.Join(s, ", ")
}
