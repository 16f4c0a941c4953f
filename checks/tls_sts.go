package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/mtasts"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/tlsrpt"
)

// stsResult is what the MTA-STS lookups found; findings words it once
// the MX probes are in.
type stsResult struct {
	// published: a valid _mta-sts record exists (senders look for the
	// policy).
	published bool
	early     []report.Finding // findings that need no probe
	fetched   *mtasts.Fetched  // the policy, when it was fetched and parsed
	why       string           // why the fetch could not be made from here
	id        string           // the record's id, when it is valid
}

// fetchSTS reads _mta-sts.DOMAIN and, when it is one valid record,
// fetches the policy through Env.HTTPClient (the run's resolver,
// certificates verified against --ca-file or the system's roots, no
// redirects, RFC 8461 §3.3).
func fetchSTS(ctx context.Context, env Env, domain string, roots *x509.CertPool) stsResult {
	name := "_mta-sts." + domain
	txts, err := env.DNS.LookupTXT(ctx, name)
	var r stsResult
	switch {
	case isNotFound(err):
		txts = nil
	case err != nil:
		r.early = append(r.early, dnsError("tls", name, "the MTA-STS record "+name, err))
		return r
	}
	var records []string
	for _, t := range txts {
		if _, err := mtasts.ParseRecord(t); !errors.Is(err, mtasts.ErrNotSTS) {
			records = append(records, t)
		}
	}
	switch len(records) {
	case 0:
		r.early = append(r.early, report.Finding{
			ID: "tls.mta_sts_missing", Severity: report.Info, Subject: name,
			Message: fmt.Sprintf("%s publishes no MTA-STS record (%s): senders use TLS when offered but accept any certificate, or none, so an attacker on the path can read or stop mail to it.", domain, name),
			Fix:     fmt.Sprintf("To have senders require verified TLS: serve a policy at %s (mode: testing first, then enforce, with an mx line per MX host), then publish TXT \"v=STSv1; id=<a new value each change>\" at %s.", mtasts.PolicyURL(domain), name),
		})
		return r
	case 1:
	default:
		r.early = append(r.early, report.Finding{
			ID: "tls.mta_sts_multiple_records", Severity: report.Warn, Subject: name,
			Message:  fmt.Sprintf("%s has %d MTA-STS records: RFC 8461 §3.1 makes senders treat that as no MTA-STS at all.", name, len(records)),
			Fix:      "Keep one record; remove the others.",
			Evidence: map[string]any{"records": records},
		})
		return r
	}
	rec, err := mtasts.ParseRecord(records[0])
	if err != nil {
		f := report.Finding{
			ID: "tls.mta_sts_record_invalid", Severity: report.Warn, Subject: name,
			Message:  fmt.Sprintf("The MTA-STS record at %s is malformed (%s): senders ignore it, so the policy is not used.", name, strings.TrimPrefix(err.Error(), "mtasts: ")),
			Fix:      "Publish the record as below: v=STSv1 first, id of 1 to 32 letters and digits, changed whenever the policy changes.",
			Evidence: map[string]any{"record": records[0]},
		}
		// Senders ignore the record, so nothing says whether a policy is
		// served. A valid record over no policy would turn this warning
		// into a fail: offer the record only over a policy that is
		// served and valid (review of #19, item 5).
		want := "v=STSv1; id=" + env.now().UTC().Format("20060102T150405")
		if fetched, err := fetchPolicy(ctx, env, domain, roots); err == nil {
			f.FixRecords = []report.FixRecord{{Action: report.FixReplace, Name: name, Type: "TXT", Old: records[0], Value: want}}
		} else {
			f.Fix = fmt.Sprintf("The policy at %s could not be fetched and read (%s), and a valid record over no policy makes senders fail to find it: serve the policy first (HTTPS, status 200, Content-Type text/plain), then publish TXT \"%s\" at %s. Or remove the record.", fetched.URL, strings.TrimPrefix(shortErr(err), "mtasts: "), want, name)
		}
		r.early = append(r.early, f)
		return r
	}
	r.published, r.id = true, rec.ID
	fetched, err := fetchPolicy(ctx, env, domain, roots)
	ev := map[string]any{"url": fetched.URL, "record": records[0], "id": rec.ID}
	if fetched.ContentType != "" {
		ev["content_type"] = fetched.ContentType
	}
	switch {
	case errors.Is(err, ErrOffline) || errors.Is(err, ErrLoopbackOnly) || env.DNS.Offline() && isDNSTemporary(err):
		// Not tried: --offline (an address, or a CNAME, outside the
		// zone files), or the test suite's loopback-only dialer.
		why := "--offline connects to nothing outside this machine, nor asks DNS outside the zone files"
		if !env.DNS.Offline() {
			why = fetchReason(err)
		}
		r.early = append(r.early, report.Finding{
			ID: "tls.not_checked", Severity: report.Info, Subject: fetched.URL,
			Message:  fmt.Sprintf("%s publishes an MTA-STS record (id %s); its policy was not fetched from here: %s.", domain, rec.ID, why),
			Evidence: map[string]any{"url": fetched.URL, "record": records[0], "error": err.Error()},
		})
		return r
	case errors.Is(err, mtasts.ErrFetch) && couldNotCheck(err):
		ev["error"] = err.Error()
		r.why = fetchReason(err)
		r.early = append(r.early, report.Finding{
			ID: "tls.connect_failed", Severity: report.Error, Subject: fetched.URL,
			Message:  fmt.Sprintf("Could not fetch the MTA-STS policy of %s from here: %s. This says nothing about the policy server.", domain, fetchReason(err)),
			Fix:      "Run again with a longer --timeout, or from a machine that can make HTTPS connections to " + "mta-sts." + domain + ".",
			Evidence: ev,
		})
		return r
	case errors.Is(err, mtasts.ErrFetch):
		ev["error"] = err.Error()
		r.early = append(r.early, report.Finding{
			ID: "tls.mta_sts_policy_unavailable", Severity: report.Fail, Subject: fetched.URL,
			Message:  fmt.Sprintf("%s publishes an MTA-STS record, but its policy could not be fetched as RFC 8461 §3.3 requires: %s. Senders then deliver as if there were no MTA-STS.", domain, strings.TrimPrefix(shortErr(err), "mtasts: policy fetch failed: ")),
			Fix:      fmt.Sprintf("Serve the policy at %s: HTTPS with a certificate valid for mta-sts.%s from a public CA, status 200, Content-Type text/plain, no redirect, under 64 KiB. Or remove the _mta-sts record until it is served.", mtasts.PolicyURL(domain), domain),
			Evidence: ev,
		})
		return r
	case err != nil:
		ev["error"] = err.Error()
		ev["body"] = string(fetched.Body[:min(len(fetched.Body), 512)])
		r.early = append(r.early, report.Finding{
			ID: "tls.mta_sts_policy_invalid", Severity: report.Fail, Subject: fetched.URL,
			Message:  fmt.Sprintf("The MTA-STS policy at %s is malformed (%s): senders ignore it.", fetched.URL, strings.TrimPrefix(err.Error(), "mtasts: malformed policy: ")),
			Fix:      "Serve a policy of the form (RFC 8461 §3.2):\nversion: STSv1\nmode: enforce\nmx: mail." + domain + "\nmax_age: 604800",
			Evidence: ev,
		})
		return r
	}
	r.fetched = &fetched
	return r
}

// policyFetches are the MTA-STS policy fetches of one run: check DOMAIN
// --to x@DOMAIN wants the policy of DOMAIN in the tls check and in the
// test send, and fetches it once. A fetch is shared when the domain,
// the port and the roots are the same; a second caller waits for the
// first's result (or its own context).
type policyFetches struct {
	mu   sync.Mutex
	list []*policyFetch
}

type policyFetch struct {
	domain string
	port   int
	roots  *x509.CertPool
	done   chan struct{}
	f      mtasts.Fetched
	err    error
}

// fetchPolicy fetches and parses the policy of domain (RFC 8461 §3.3)
// within its own limit, once per run.
func fetchPolicy(ctx context.Context, env Env, domain string, roots *x509.CertPool) (mtasts.Fetched, error) {
	p := env.policies
	if p == nil {
		return fetchPolicyOnce(ctx, env, domain, roots)
	}
	p.mu.Lock()
	for _, pf := range p.list {
		if pf.domain == domain && pf.port == env.TLS.HTTPSPort && pf.roots.Equal(roots) {
			p.mu.Unlock()
			select {
			case <-pf.done:
				return pf.f, pf.err
			case <-ctx.Done():
				return mtasts.Fetched{URL: mtasts.PolicyURL(domain)}, fmt.Errorf("%w: %w", mtasts.ErrFetch, ctx.Err())
			}
		}
	}
	pf := &policyFetch{domain: domain, port: env.TLS.HTTPSPort, roots: roots, done: make(chan struct{})}
	p.list = append(p.list, pf)
	p.mu.Unlock()
	pf.f, pf.err = fetchPolicyOnce(ctx, env, domain, roots)
	close(pf.done)
	return pf.f, pf.err
}

// fetchPolicyOnce is one fetch of the policy.
func fetchPolicyOnce(ctx context.Context, env Env, domain string, roots *x509.CertPool) (mtasts.Fetched, error) {
	client := env.HTTPClient(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	fctx, cancel := context.WithTimeout(ctx, stsFetchLimit(ctx))
	defer cancel()
	f, err := mtasts.Fetch(fctx, client, domain, env.TLS.HTTPSPort)
	if err != nil && fctx.Err() != nil {
		// The limit ran out: whatever was read is cut, not the server's
		// policy.
		err = fmt.Errorf("%w: %w", mtasts.ErrFetch, fctx.Err())
	}
	return f, err
}

// stsFetchTimeout bounds the policy fetch: RFC 8461 §3.3 leaves the
// timeout to the sender, and a policy server that hangs must not eat
// the run (the test send follows the fetch). Under a deadline the fetch
// gets at most half of what is left.
const stsFetchTimeout = 10 * time.Second

func stsFetchLimit(ctx context.Context) time.Duration {
	d := stsFetchTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl)/2)
	}
	return d
}

// isDNSTemporary: err has a lookup without a usable answer in it.
func isDNSTemporary(err error) bool {
	_, ok := errors.AsType[*resolver.LookupError](err)
	return ok && !isNotFound(err)
}

// fetchReason is why a fetch failed on this side, for people.
func fetchReason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the fetch timed out"
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return "the fetch timed out"
	}
	return strings.TrimPrefix(shortErr(err), "mtasts: policy fetch failed: ")
}

// findings words the MTA-STS results against the MX hosts and what the
// probes found: coverage both ways, and in enforce mode every MX
// certificate valid for its name (RFC 8461 §4.1, §4.2).
func (r stsResult) findings(domain string, targets []tlsHost, probes []*Probe, now time.Time) []report.Finding {
	out := slices.Clone(r.early)
	for i := range out {
		if out[i].ID == "tls.mta_sts_policy_invalid" {
			// The template names the domain's own MX hosts: pasted, it
			// covers them (review of #19).
			var b strings.Builder
			b.WriteString("Serve a policy of the form (RFC 8461 §3.2):\nversion: STSv1\nmode: testing\n")
			for _, tg := range targets {
				b.WriteString("mx: " + tg.host + "\n")
			}
			if len(targets) == 0 {
				b.WriteString("mx: <each MX host of " + domain + ">\n")
			}
			b.WriteString("max_age: 604800\nthen mode: enforce once every MX host's certificate verifies (the tls findings say), with a new id in the _mta-sts record.")
			out[i].Fix = b.String()
		}
	}
	if r.fetched == nil {
		return out
	}
	pol := r.fetched.Policy
	subject := r.fetched.URL
	ev := map[string]any{"url": r.fetched.URL, "id": r.id, "mode": string(pol.Mode), "mx": pol.MX[:min(len(pol.MX), maxShownPatterns)], "mx_count": len(pol.MX), "max_age": pol.MaxAge}
	switch pol.Mode {
	case mtasts.None:
		return append(out, report.Finding{
			ID: "tls.mta_sts_none", Severity: report.Info, Subject: subject,
			Message:  fmt.Sprintf("The MTA-STS policy of %s is mode none: senders drop any policy they had cached, and apply none.", domain),
			Evidence: ev,
		})
	case mtasts.Testing:
		out = append(out, report.Finding{
			ID: "tls.mta_sts_testing", Severity: report.Info, Subject: subject,
			Message:  fmt.Sprintf("The MTA-STS policy of %s is in testing mode: senders deliver even when TLS fails, and report failures (TLS-RPT). Switch to enforce when the reports are clean.", domain),
			Evidence: ev,
		})
	}
	if len(pol.Quirks) > 0 {
		out = append(out, report.Finding{
			ID: "tls.mta_sts_policy_invalid", Severity: report.Warn, Subject: subject,
			Message:  fmt.Sprintf("The MTA-STS policy at %s has what the RFC 8461 §3.2 grammar does not allow (%s): lenient senders skip it, strict ones may ignore the whole policy.", subject, strings.Join(pol.Quirks[:min(len(pol.Quirks), 5)], "; ")),
			Fix:      "Serve the policy as key: value lines only, with no blank lines, comments or byte-order mark, and publish a new id in the _mta-sts record.",
			Evidence: ev,
		})
	}
	if pol.MaxAge < shortMaxAge {
		out = append(out, report.Finding{
			ID: "tls.mta_sts_short_max_age", Severity: report.Warn, Subject: subject,
			Message:  fmt.Sprintf("The MTA-STS policy's max_age is %d seconds: senders forget it within a day, and an attacker who blocks the next fetch removes the protection.", pol.MaxAge),
			Fix:      "Use max_age: 604800 (a week) or more once the policy is stable; RFC 8461 §3.2 suggests weeks.",
			Evidence: ev,
		})
	}
	enforce := pol.Mode == mtasts.Enforce
	var hosts []string
	for _, tg := range targets {
		hosts = append(hosts, tg.host)
	}
	var uncovered []string
	for _, h := range hosts {
		if pol.Match(h) == "" {
			uncovered = append(uncovered, h)
		}
	}
	for _, h := range uncovered {
		f := report.Finding{
			ID: "tls.mta_sts_mx_not_covered", Severity: stsSeverity(enforce), Subject: h,
			Message:  fmt.Sprintf("The MX host %s matches no mx pattern of the MTA-STS policy (%s).", h, pol.MXList(10)),
			Fix:      fmt.Sprintf("Add \"mx: %s\" to the policy at %s, and publish a new id in the _mta-sts record so senders fetch it again.", h, r.fetched.URL),
			Evidence: ev,
		}
		if enforce {
			f.Message += " In enforce mode, compliant senders do not deliver to it."
		} else {
			f.Message += " In enforce mode, compliant senders would not deliver to it."
		}
		out = append(out, f)
	}
	var unused []string
	for _, pat := range pol.MX {
		if !slices.ContainsFunc(hosts, func(h string) bool { return mtasts.Matches(pat, h) }) && len(hosts) > 0 {
			unused = append(unused, pat)
		}
	}
	for i, pat := range unused {
		if i == maxUnusedFindings-1 && len(unused) > maxUnusedFindings {
			// A policy of thousands of lines: one finding for the rest.
			rest := unused[i:]
			out = append(out, report.Finding{
				ID: "tls.mta_sts_pattern_unused", Severity: report.Warn, Subject: subject,
				Message:  fmt.Sprintf("%d more patterns of the MTA-STS policy match none of the MX hosts (%s): %s and more.", len(rest), strings.Join(hosts, ", "), strings.Join(rest[:min(len(rest), 5)], ", ")),
				Fix:      "Keep one mx line per MX host (or a wildcard over them), and publish a new id in the _mta-sts record.",
				Evidence: ev,
			})
			break
		}
		out = append(out, report.Finding{
			ID: "tls.mta_sts_pattern_unused", Severity: report.Warn, Subject: subject,
			Message:  fmt.Sprintf("The MTA-STS policy's pattern %q matches none of the MX hosts (%s): a host removed from MX, or a typo.", pat, strings.Join(hosts, ", ")),
			Fix:      "Remove the pattern, or correct it, and publish a new id in the _mta-sts record.",
			Evidence: ev,
		})
	}
	var bad []string
	for _, p := range probes {
		if pol.Match(p.Host) == "" || !p.answered() {
			continue // not covered (said above), or not checked
		}
		if !p.verified(now) {
			bad = append(bad, p.subject()+": "+whyUnverified(p, now))
		}
	}
	if len(bad) > 0 {
		f := report.Finding{
			ID: "tls.mta_sts_cert_invalid", Severity: stsSeverity(enforce), Subject: subject,
			Evidence: ev,
		}
		if enforce {
			f.Message = fmt.Sprintf("MX addresses where TLS does not verify for the MX name, which the enforce-mode policy of %s requires: %s. Compliant senders do not deliver there.", domain, strings.Join(bad, "; "))
			f.Fix = "Give every MX address STARTTLS with a certificate from a public CA that names its MX host (see the tls findings above), or set the policy to mode: testing until they do."
		} else {
			f.Message = fmt.Sprintf("MX addresses where TLS does not verify for the MX name: %s. The policy of %s is in testing mode, so senders still deliver and report it; in enforce mode they would not.", strings.Join(bad, "; "), domain)
			f.Fix = "Give every MX address STARTTLS with a certificate from a public CA that names its MX host (see the tls findings above) before switching the policy to mode: enforce."
		}
		out = append(out, f)
	}
	if enforce && len(bad) == 0 && len(uncovered) == 0 {
		out = append(out, report.Finding{
			ID: "tls.mta_sts_ok", Severity: report.Pass, Subject: subject,
			Message:  fmt.Sprintf("MTA-STS is enforced for %s (record id %s): the policy covers every MX host, and each one's certificate verifies for its name.", domain, r.id),
			Evidence: ev,
		})
	}
	return out
}

// Bounds of the MTA-STS findings: a policy may have thousands of mx
// lines (RFC 8461 sets no limit; mtasts.MaxPolicyBytes bounds them).
// All are matched; the report shows a few.
const (
	maxShownPatterns  = 100 // in the evidence (mx_count has them all)
	maxUnusedFindings = 10  // pattern_unused findings; the last sums up the rest
)

// stsSeverity: in enforce mode a policy violation stops mail from
// compliant senders (fail); in testing mode it is reported only (warn).
func stsSeverity(enforce bool) report.Severity {
	if enforce {
		return report.Fail
	}
	return report.Warn
}

func whyUnverified(p *Probe, now time.Time) string {
	switch {
	case p.State == nil && !p.StartTLS:
		return "no STARTTLS"
	case p.State == nil:
		return "the TLS handshake failed"
	case len(p.Chain) > 0 && p.Chain[0].NotAfter.Before(now):
		return "the certificate expired"
	case p.NameErr != nil:
		return "the certificate does not name the host"
	}
	return "the certificate does not verify"
}

// tlsRPT reads _smtp._tls.DOMAIN (RFC 8460 §3).
func tlsRPT(ctx context.Context, env Env, domain string) []report.Finding {
	name := "_smtp._tls." + domain
	txts, err := env.DNS.LookupTXT(ctx, name)
	switch {
	case isNotFound(err):
		txts = nil
	case err != nil:
		return []report.Finding{dnsError("tls", name, "the TLS-RPT record "+name, err)}
	}
	var records []string
	for _, t := range txts {
		if _, err := tlsrpt.Parse(t); !errors.Is(err, tlsrpt.ErrNotTLSRPT) {
			records = append(records, t)
		}
	}
	want := "v=TLSRPTv1; rua=mailto:tls-reports@" + domain
	switch len(records) {
	case 0:
		return []report.Finding{{
			ID: "tls.tlsrpt_missing", Severity: report.Info, Subject: name,
			Message:    fmt.Sprintf("%s publishes no TLS-RPT record (%s): senders have nowhere to report TLS failures on its MX hosts.", domain, name),
			Fix:        fmt.Sprintf("Publish the record below; tls-reports@%s must exist (or use another address).", domain),
			FixRecords: []report.FixRecord{{Action: report.FixAdd, Name: name, Type: "TXT", Value: want}},
		}}
	case 1:
	default:
		return []report.Finding{{
			ID: "tls.tlsrpt_multiple_records", Severity: report.Warn, Subject: name,
			Message:  fmt.Sprintf("%s has %d TLS-RPT records: senders may use none of them (RFC 8460 §3).", name, len(records)),
			Fix:      "Keep one record, with every report address in its rua= (comma-separated).",
			Evidence: map[string]any{"records": records},
		}}
	}
	rec, err := tlsrpt.Parse(records[0])
	if err != nil {
		return []report.Finding{{
			ID: "tls.tlsrpt_invalid", Severity: report.Warn, Subject: name,
			Message:    fmt.Sprintf("The TLS-RPT record at %s is malformed (%s): senders ignore it.", name, strings.TrimPrefix(err.Error(), "tlsrpt: malformed record: ")),
			Fix:        "Publish the record as below (rua= takes mailto: or https: URIs).",
			FixRecords: []report.FixRecord{{Action: report.FixReplace, Name: name, Type: "TXT", Old: records[0], Value: want}},
			Evidence:   map[string]any{"record": records[0]},
		}}
	}
	return []report.Finding{{
		ID: "tls.tlsrpt_ok", Severity: report.Pass, Subject: name,
		Message:  fmt.Sprintf("TLS reports for %s go to %s.", domain, strings.Join(rec.RUA, ", ")),
		Evidence: map[string]any{"record": records[0], "rua": rec.RUA},
	}}
}

// recipientSTS is the MTA-STS policy the test send applies to the
// recipient's domain, as a compliant MTA does: nil when there is none
// to apply (no record, no policy that can be fetched and read, mode
// none), with a word on why for the report.
func recipientSTS(ctx context.Context, env Env, s *delivery.Send) (*mtasts.Fetched, string) {
	r := fetchSTS(ctx, env, s.To.Domain, s.RootCAs)
	if r.fetched != nil {
		if r.fetched.Policy.Mode == mtasts.None {
			return nil, "the recipient's MTA-STS policy is mode none"
		}
		return r.fetched, ""
	}
	if len(r.early) > 0 {
		if r.early[0].ID == "tls.connect_failed" {
			// RFC 8461 §5: without a policy the sender delivers as
			// without MTA-STS.
			return nil, "no policy applied: the recipient's MTA-STS policy could not be fetched (" + r.why + ")"
		}
		return nil, r.early[0].Message
	}
	return nil, "no MTA-STS record"
}
