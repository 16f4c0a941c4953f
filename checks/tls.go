package checks

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/preflight-mail/preflight/internal/words"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/smtp"
)

// tlsKinds are the tls check's findings: transport security of the
// domain's own MX hosts, as a sending MTA finds it (STARTTLS on every
// address, certificates, MTA-STS, TLS-RPT). A domain that sends also
// receives its bounces, replies and reports; an MX that senders cannot
// reach over TLS, or whose MTA-STS policy and certificates disagree,
// loses that mail. The fails block (DESIGN §8): each says that mail to
// the domain stops for compliant senders, or goes in clear text.
var tlsKinds = []report.Kind{
	{ID: "tls.no_starttls", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	{ID: "tls.handshake_failed", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	{ID: "tls.cert_expired", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	{ID: "tls.cert_expiring", Penalty: minorPenalty},
	{ID: "tls.cert_unverified", Penalty: report.Penalty{Warn: 5}},
	{ID: "tls.name_mismatch", Penalty: report.Penalty{Warn: 5}},
	{ID: "tls.old_version", Penalty: report.Penalty{Warn: 5}},
	{ID: "tls.weak_key", Penalty: minorPenalty},
	{ID: "tls.inconsistent", Penalty: report.Penalty{Warn: 5}},
	{ID: "tls.banner_mismatch"},
	{ID: "tls.ok"},
	{ID: "tls.connect_failed"},
	{ID: "tls.not_checked"},
	{ID: "tls.no_mx"},
	{ID: "tls.mta_sts_missing"},
	{ID: "tls.mta_sts_multiple_records", Penalty: report.Penalty{Warn: 5}},
	{ID: "tls.mta_sts_record_invalid", Penalty: report.Penalty{Warn: 5}},
	// The record says there is a policy and senders cannot get or read
	// it: RFC 8461 §3.3 makes them deliver as without MTA-STS, so the
	// protection the domain published is gone.
	{ID: "tls.mta_sts_policy_unavailable", Penalty: report.Penalty{Fail: 10}, Blocks: true},
	// warn: a policy that lenient parsers read (a blank line, a
	// comment, a byte-order mark) and strict ones may not.
	{ID: "tls.mta_sts_policy_invalid", Penalty: report.Penalty{Fail: 10, Warn: 5}, Blocks: true},
	// fail in enforce mode: compliant senders do not deliver to that MX.
	{ID: "tls.mta_sts_mx_not_covered", Penalty: report.Penalty{Fail: 20, Warn: 5}, Blocks: true},
	{ID: "tls.mta_sts_pattern_unused", Penalty: minorPenalty},
	{ID: "tls.mta_sts_cert_invalid", Penalty: report.Penalty{Fail: 20, Warn: 5}, Blocks: true},
	{ID: "tls.mta_sts_short_max_age", Penalty: minorPenalty},
	{ID: "tls.mta_sts_testing"},
	{ID: "tls.mta_sts_none"},
	{ID: "tls.mta_sts_ok"},
	{ID: "tls.tlsrpt_missing", Penalty: minorPenalty},
	{ID: "tls.tlsrpt_multiple_records", Penalty: minorPenalty},
	{ID: "tls.tlsrpt_invalid", Penalty: minorPenalty},
	{ID: "tls.tlsrpt_ok"},
}

// Bounds of the tls check (docs/limits.md).
const (
	// maxTLSAddrs bounds the addresses probed per MX host: two of each
	// family covers dual-stack hosts behind a pair of load balancers;
	// a host with dozens of addresses is a pool that answers alike.
	maxTLSAddrs = 4
	// maxTLSConns bounds the connections open at once.
	maxTLSConns = 16
	// expiringSoon is when a certificate's coming expiry is a warning.
	expiringSoon = 14 * 24 * time.Hour
	// shortMaxAge: RFC 8461 §3.2 recommends weeks or more; under a day
	// a policy protects little against a downgrade of the first fetch.
	shortMaxAge = 86400
	// tlsTimeout bounds each SMTP step of a probe; ctx bounds the whole.
	tlsTimeout = 20 * time.Second
)

// ErrLoopbackOnly is the error of a dialer that refuses addresses
// outside loopback (the test suite's PREFLIGHT_DIAL_LOOPBACK_ONLY): like
// --offline, the tls check then says what it did not check.
var ErrLoopbackOnly = errors.New("connections outside loopback are refused")

// TLSSettings are the tls check's settings from the command line.
type TLSSettings struct {
	// Port is the SMTP port of the MX hosts (25; labs use others).
	Port int
	// HTTPSPort is the MTA-STS policy server's port (443; labs).
	HTTPSPort int
	// Roots verify certificates; nil: the system's.
	Roots *x509.CertPool
}

// Probe is what one connection to one address of an MX host found.
// DANE (issue #20) matches TLSA records against Chain for Host here:
// see tlsAddrFindings, which is called once per probed address.
type Probe struct {
	Host   string     // the MX host name, as the MX record names it
	Addr   netip.Addr // the address connected to
	Banner string     // the first line of the 220 greeting
	// Step is where the probe ended: "connect", "greeting", "ehlo",
	// "starttls", "handshake", or "done".
	Step     string
	Err      error // why it ended before "done"
	StartTLS bool  // STARTTLS was offered after EHLO
	// State is the TLS session; nil without one.
	State *tls.ConnectionState
	// Chain is the certificate chain the server presented, leaf first.
	Chain []*x509.Certificate
	// ChainErr is the verification of Chain against the roots, without
	// the name; NameErr is whether the leaf is valid for Host (RFC 7672
	// §3.2.3, RFC 8461 §4.2: DNS-ID, a wildcard only as the whole
	// leftmost label, which is what x509.VerifyHostname does).
	ChainErr, NameErr error
	Log               *smtp.Transcript
}

// verified reports whether a sender that checks certificates (MTA-STS
// enforce) would deliver over this session.
func (p *Probe) verified(now time.Time) bool {
	return p.State != nil && p.ChainErr == nil && p.NameErr == nil && !p.Chain[0].NotAfter.Before(now)
}

// answered reports whether the server's answers decide the probe's
// findings: it went through EHLO, and a STARTTLS or handshake that
// failed failed on the server's word, not on a timeout or a local error
// (those say nothing about the domain: couldNotCheck).
func (p *Probe) answered() bool {
	switch p.Step {
	case "done":
		return true
	case "starttls", "handshake":
		return !couldNotCheck(p.Err)
	}
	return false
}

// couldNotCheck reports whether err is this side's, not the server's:
// the run's deadline or a timeout, --offline, a local socket error (an
// address not on this machine, no route, no file descriptors), a DNS
// lookup without a usable answer. Such an error means "could not check
// from here"; only a server's answer (a refusal, a certificate, an
// HTTP status, a reply) counts against the domain.
func couldNotCheck(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, ErrOffline) || errors.Is(err, ErrLoopbackOnly) {
		return true
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.EADDRNOTAVAIL, syscall.EADDRINUSE, syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.ENETDOWN, syscall.EACCES, syscall.EPERM, syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS} {
		if errors.Is(err, e) {
			return true
		}
	}
	if _, ok := errors.AsType[*resolver.LookupError](err); ok && !isNotFound(err) {
		return true
	}
	return false
}

// subject names the address as postfix logs do: host[addr].
func (p *Probe) subject() string { return p.Host + "[" + p.Addr.String() + "]" }

// tlsHost is one MX host and its addresses.
type tlsHost struct {
	host    string
	addrs   []netip.Addr
	dropped int // addresses over maxTLSAddrs
}

// TLS checks transport security of the domain's MX hosts the way a
// sending MTA meets it: every address of every MX host on port 25
// (banner, EHLO, STARTTLS, the handshake, the certificate), the MTA-STS
// record and policy (RFC 8461), and the TLS-RPT record (RFC 8460).
// Connections are made in parallel, through Env.DialHost (--offline:
// loopback only), bounded by the run's deadline.
func TLS(ctx context.Context, env Env, t Target) []report.Finding {
	domain := t.Domain
	if domain == "" {
		return nil
	}
	var out []report.Finding
	var sts stsResult
	var wg sync.WaitGroup
	wg.Go(func() { sts = fetchSTS(ctx, env, domain, env.TLS.Roots) })
	var rpt []report.Finding
	wg.Go(func() { rpt = tlsRPT(ctx, env, domain) })

	var dl *daneLookups // DANE (issue #20): TLSA looked up with DNSSEC meanwhile
	wg.Go(func() { dl = lookupDANE(ctx, env, domain) })
	targets, fs := tlsTargets(ctx, env, domain)
	out = append(out, fs...)
	probes := probeAll(ctx, env, targets)
	wg.Wait()
	dane := dl.published()

	now := env.now()
	if f, ok := noneConnected(env, domain, probes); ok {
		out = append(out, f)
	} else {
		for _, p := range probes {
			out = append(out, dl.authenticated(p, tlsAddrFindings(ctx, env, p, now), now)...)
		}
	}
	out = append(out, dl.findings(probes, now)...)
	out = append(out, consistency(targets, probes)...)
	stsFindings := sts.findings(domain, targets, probes, now)
	if len(dane) > 0 {
		for i := range stsFindings {
			if stsFindings[i].ID == "tls.mta_sts_missing" {
				stsFindings[i].Message = fmt.Sprintf("%s publishes no MTA-STS record (_mta-sts.%s). Its MX %s TLSA records (DANE, RFC 7672), so senders that use DANE verify TLS to %s (when the records are DNSSEC-signed); the others use TLS when offered but accept any certificate, or none.", domain, domain, words.Plural(len(dane), "host publishes", "hosts publish"), strings.Join(dane, ", "))
				stsFindings[i].Evidence = map[string]any{"tlsa": dane}
			}
		}
	}
	out = append(out, stsFindings...)
	rptFindings := rpt
	if slices.ContainsFunc(out, func(f report.Finding) bool { return f.ID == "tls.no_mx" }) {
		// A domain that receives no mail has nothing for MTA-STS or
		// TLS-RPT to protect: no advice to publish them.
		notMissing := func(f report.Finding) bool { return f.ID == "tls.mta_sts_missing" || f.ID == "tls.tlsrpt_missing" }
		out = slices.DeleteFunc(out, notMissing)
		rptFindings = slices.DeleteFunc(rptFindings, notMissing)
	}
	var published []string
	if sts.published {
		published = append(published, "MTA-STS")
	}
	if len(dane) > 0 {
		published = append(published, "DANE (TLSA at "+strings.Join(dane, ", ")+")")
	}
	if len(published) > 0 {
		for i := range rptFindings {
			if rptFindings[i].ID == "tls.tlsrpt_missing" {
				rptFindings[i].Severity = report.Warn
				rptFindings[i].Message += " " + strings.Join(published, " and ") + " " + words.Plural(len(published), "is", "are") + " published: without TLS-RPT, nobody tells the domain when senders cannot deliver over TLS (RFC 8460 §1)."
			}
		}
	}
	return append(out, rptFindings...)
}

// noneConnected is the one finding for a run that connected to no MX
// address at all because it may not (--offline, or the test suite's
// loopback-only dialer): TLS was not checked, and the report says so
// plainly rather than look like a pass (review of #19, item 4).
func noneConnected(env Env, domain string, probes []*Probe) (report.Finding, bool) {
	if len(probes) == 0 {
		return report.Finding{}, false
	}
	var addrs []string
	for _, p := range probes {
		if !errors.Is(p.Err, ErrOffline) && !errors.Is(p.Err, ErrLoopbackOnly) {
			return report.Finding{}, false
		}
		addrs = append(addrs, p.subject())
	}
	why, reason := "connections outside loopback are refused", "loopback_only"
	if env.DNS.Offline() {
		why, reason = "--offline connects to nothing outside this machine", "offline"
	}
	return report.Finding{
		ID: "tls.not_checked", Severity: report.Info, Subject: domain,
		Message:  fmt.Sprintf("TLS on the MX hosts of %s was not checked from here (%s): STARTTLS and certificates on its %d MX %s are unknown, not passed. Run without --offline to check them.", domain, why, len(addrs), words.Plural(len(addrs), "address", "addresses")),
		Evidence: map[string]any{"reason": reason, "addresses": addrs},
	}, true
}

// tlsTargets finds the MX hosts and their addresses: the MX records, or
// the implicit MX (RFC 5321 §5.1); none for a null MX.
func tlsTargets(ctx context.Context, env Env, domain string) ([]tlsHost, []report.Finding) {
	mxs, err := env.DNS.LookupMX(ctx, domain)
	var hosts []string
	switch {
	case isNotFound(err) || err == nil && len(mxs) == 0:
		hosts = []string{domain} // implicit MX
	case err != nil:
		return nil, []report.Finding{dnsError("tls", domain, "the MX records of "+domain, err)}
	case slices.ContainsFunc(mxs, func(m resolver.MX) bool { return m.Host == "." }):
		return nil, []report.Finding{{
			ID: "tls.no_mx", Severity: report.Info, Subject: domain,
			Message: fmt.Sprintf("%s has a null MX (RFC 7505): it receives no mail, so there is no MX host to check TLS on.", domain),
		}}
	default:
		for _, m := range mxs[:min(len(mxs), resolver.MaxNames)] {
			if !slices.Contains(hosts, m.Host) {
				hosts = append(hosts, m.Host)
			}
		}
	}
	var out []report.Finding
	if len(mxs) > resolver.MaxNames {
		out = append(out, report.Finding{
			ID: "tls.not_checked", Severity: report.Info, Subject: domain,
			Message: fmt.Sprintf("%s has %d MX records; the first %d (by preference) were checked.", domain, len(mxs), resolver.MaxNames),
		})
	}
	targets := make([]tlsHost, len(hosts))
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i, h := range hosts {
		targets[i].host = h
		wg.Go(func() { targets[i].addrs, errs[i] = env.DNS.LookupIP(ctx, "ip", h) })
	}
	wg.Wait()
	var kept []tlsHost
	for i, tg := range targets {
		switch {
		case isNotFound(errs[i]) || errs[i] == nil && len(tg.addrs) == 0:
			if len(hosts) == 1 && hosts[0] == domain && len(mxs) == 0 {
				out = append(out, report.Finding{
					ID: "tls.no_mx", Severity: report.Info, Subject: domain,
					Message: fmt.Sprintf("%s has no MX record and no address: it receives no mail, so there is no MX host to check TLS on (the mx check says more).", domain),
				})
			} else {
				out = append(out, report.Finding{
					ID: "tls.not_checked", Severity: report.Info, Subject: tg.host,
					Message: fmt.Sprintf("The MX host %s has no address; the mx check reports it.", tg.host),
				})
			}
			continue
		case errs[i] != nil:
			out = append(out, dnsError("tls", tg.host, "the addresses of the MX host "+tg.host, errs[i]))
			continue
		}
		if n := len(tg.addrs); n > maxTLSAddrs {
			tg.addrs, tg.dropped = capAddrs(tg.addrs), n-maxTLSAddrs
			out = append(out, report.Finding{
				ID: "tls.not_checked", Severity: report.Info, Subject: tg.host,
				Message: fmt.Sprintf("The MX host %s has %d addresses; %d were checked (up to %d of each family).", tg.host, n, maxTLSAddrs, maxTLSAddrs/2),
			})
		}
		kept = append(kept, tg)
	}
	return kept, out
}

// capAddrs keeps maxTLSAddrs of addrs: the first half of each family
// (IPv4, IPv6), then the next of either to fill the rest, in the given
// order. A v6 address without STARTTLS beside v4 addresses that have it
// is the classic failure; six A records must not hide the AAAA.
func capAddrs(addrs []netip.Addr) []netip.Addr {
	perFamily := maxTLSAddrs / 2
	keep := make([]bool, len(addrs))
	n4, n6, kept := 0, 0, 0
	for i, a := range addrs {
		if a.Is4() || a.Is4In6() {
			if n4 < perFamily {
				keep[i], n4, kept = true, n4+1, kept+1
			}
		} else if n6 < perFamily {
			keep[i], n6, kept = true, n6+1, kept+1
		}
	}
	for i := range addrs {
		if kept < maxTLSAddrs && !keep[i] {
			keep[i], kept = true, kept+1
		}
	}
	var out []netip.Addr
	for i, a := range addrs {
		if keep[i] {
			out = append(out, a)
		}
	}
	return out
}

// probeAll probes every address of every target, at most maxTLSConns
// at once, and returns the probes in target and address order.
func probeAll(ctx context.Context, env Env, targets []tlsHost) []*Probe {
	var probes []*Probe
	for _, tg := range targets {
		for _, a := range tg.addrs {
			probes = append(probes, &Probe{Host: tg.host, Addr: a})
		}
	}
	sem := make(chan struct{}, maxTLSConns)
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				probe(ctx, env, p)
			case <-ctx.Done():
				p.Step, p.Err = "connect", context.Cause(ctx)
			}
		})
	}
	wg.Wait()
	return probes
}

// probe connects to one address and goes as far as a sending MTA does
// before MAIL FROM: greeting, EHLO, STARTTLS, the handshake, EHLO again.
func probe(ctx context.Context, env Env, p *Probe) {
	port := cmp.Or(env.TLS.Port, 25)
	p.Log = smtp.NewTranscript()
	p.Step = "connect"
	nc, err := env.DialHost(ctx, "tcp", p.Addr.String(), port)
	if err != nil {
		p.Err = err
		return
	}
	c := smtp.New(ctx, nc, smtp.Timeouts{Greeting: tlsTimeout, Command: tlsTimeout}, p.Log)
	defer c.Close()
	if env.Trace != nil {
		p.Log.OnLine(func(l smtp.Line) { env.tracef("tls %s %s: %s", p.subject(), l.Dir, l.Text) })
	}
	p.Step = "greeting"
	r, err := c.Greeting()
	if len(r.Lines) > 0 {
		p.Banner = r.Lines[0]
	}
	if err != nil {
		p.Err = err
		return
	}
	p.Step = "ehlo"
	if err := c.Hello(probeHELO); err != nil {
		p.Err = err
		return
	}
	if p.StartTLS, _ = c.Extension("STARTTLS"); !p.StartTLS {
		p.Step = "done"
		c.Quit()
		return
	}
	p.Step = "starttls"
	cfg := probeTLSConfig(p.Host)
	if err := c.StartTLS(cfg); err != nil {
		if strings.HasPrefix(err.Error(), "TLS handshake") {
			p.Step = "handshake"
		}
		p.Err = err
		return
	}
	st := c.TLS()
	p.State = st
	p.Chain = st.PeerCertificates
	if len(p.Chain) == 0 {
		p.ChainErr, p.NameErr = errors.New("the server presented no certificate"), errors.New("no certificate")
	} else {
		opts := x509.VerifyOptions{Roots: env.TLS.Roots, Intermediates: x509.NewCertPool(), CurrentTime: env.now()}
		for _, ic := range p.Chain[1:] {
			opts.Intermediates.AddCert(ic)
		}
		_, p.ChainErr = p.Chain[0].Verify(opts)
		p.NameErr = p.Chain[0].VerifyHostname(p.Host)
	}
	p.Step = "done"
	if err := c.Hello(probeHELO); err == nil {
		c.Quit()
	}
}

// probeTLSConfig accepts what a sending MTA accepts: TLS 1.0 and up
// (Go has no SSLv3), every cipher suite Go has, any certificate — the
// certificate is verified after the handshake, so that a bad one is
// reported rather than ending the session.
func probeTLSConfig(host string) *tls.Config {
	var suites []uint16
	for _, s := range tls.CipherSuites() {
		suites = append(suites, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		suites = append(suites, s.ID)
	}
	return &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: true, // verified in probe, into ChainErr and NameErr
		MinVersion:         tls.VersionTLS10,
		CipherSuites:       suites,
	}
}

// probeHELO is the name the probes send in EHLO: they send no mail,
// and a name that cannot exist says so (RFC 6761 §6.4).
const probeHELO = "preflight.invalid"

// postfixTLS is the server-side advice shared by the fixes.
const postfixTLS = "In postfix (main.cf): smtpd_tls_security_level = may, smtpd_tls_chain_files = /etc/postfix/mx-key.pem, /etc/postfix/mx-fullchain.pem, then postfix reload."

// tlsAddrFindings turns one probe into findings. DANE (issue #20) hooks
// in here: p.Chain is the chain the server presented and p.Host the MX
// host name the TLSA records belong to (_25._tcp.HOST).
func tlsAddrFindings(ctx context.Context, env Env, p *Probe, now time.Time) []report.Finding {
	subj := p.subject()
	ev := map[string]any{"host": p.Host, "address": p.Addr.String(), "step": p.Step}
	if p.Banner != "" {
		ev["banner"] = p.Banner
	}
	if p.Log != nil {
		ev["transcript"] = p.Log.Strings()
	}
	if !p.answered() {
		if errors.Is(p.Err, ErrOffline) || errors.Is(p.Err, ErrLoopbackOnly) {
			why, reason := "connections outside loopback are refused", "loopback_only"
			if errors.Is(p.Err, ErrOffline) {
				why, reason = "--offline connects to nothing outside this machine", "offline"
			}
			return []report.Finding{{
				ID: "tls.not_checked", Severity: report.Info, Subject: subj,
				Message:  fmt.Sprintf("TLS on %s was not checked (%s): it is unknown, not passed.", subj, why),
				Evidence: map[string]any{"reason": reason, "error": p.Err.Error()},
			}}
		}
		ev["error"] = p.Err.Error()
		f := report.Finding{
			ID: "tls.connect_failed", Severity: report.Error, Subject: subj,
			Message:  fmt.Sprintf("Could not check TLS on %s: the session ended at %s: %s.", subj, p.Step, shortErr(p.Err)),
			Evidence: ev,
		}
		if couldNotCheck(p.Err) {
			// This side's problem (a timeout, no route): the advice is
			// about this machine. A refusal or a broken greeting is the
			// server's, and the message says it.
			f.Fix = "If this machine cannot connect out on port 25 (many networks block it), run the check from one that can, or give --skip tls."
		} else {
			f.Fix = "The server refused the connection or did not speak SMTP: check that it listens on port 25 on this address and answers with a 220 greeting."
		}
		return []report.Finding{f}
	}
	// The banner is known from here on: informational, beside the rest.
	var out []report.Finding
	if f, ok := bannerFinding(ctx, env, p); ok {
		out = append(out, f)
	}
	if !p.StartTLS {
		return append(out, report.Finding{
			ID: "tls.no_starttls", Severity: report.Fail, Subject: subj,
			Message:  fmt.Sprintf("%s does not offer STARTTLS: mail to it travels in clear text, and senders that require TLS (MTA-STS, DANE, providers' policies) do not deliver to it.", subj),
			Fix:      "Offer STARTTLS on every address of every MX host. " + postfixTLS,
			Evidence: ev,
		})
	}
	if p.State == nil {
		ev["error"] = p.Err.Error()
		return append(out, report.Finding{
			ID: "tls.handshake_failed", Severity: report.Fail, Subject: subj,
			Message:  fmt.Sprintf("%s offers STARTTLS, but TLS could not be negotiated: %s. Senders then retry in clear text or not at all.", subj, shortErr(p.Err)),
			Fix:      "Fix the server's TLS settings: a certificate and key that belong together, TLS 1.2 or 1.3. " + postfixTLS + " smtpd_tls_protocols = >=TLSv1.2 (postfix 3.6+).",
			Evidence: ev,
		})
	}
	leaf := p.Chain[0]
	ev["version"] = tls.VersionName(p.State.Version)
	ev["cipher"] = tls.CipherSuiteName(p.State.CipherSuite)
	if p.State.CurveID != 0 {
		ev["key_exchange"] = p.State.CurveID.String() // 0: RSA key exchange, or not known
	}
	ev["subject"] = leaf.Subject.String()
	ev["issuer"] = leaf.Issuer.String()
	ev["dns_names"] = leaf.DNSNames
	ev["not_after"] = leaf.NotAfter.UTC().Format(time.RFC3339)
	ev["key"] = keyDesc(leaf)
	ev["sha256"] = certHash(leaf)
	problems := 0
	if p.State.Version < tls.VersionTLS12 {
		problems++
		out = append(out, report.Finding{
			ID: "tls.old_version", Severity: report.Warn, Subject: subj,
			Message:  fmt.Sprintf("%s negotiated %s, deprecated by RFC 8996: senders that require TLS 1.2 or later cannot use TLS with it.", subj, tls.VersionName(p.State.Version)),
			Fix:      "Enable TLS 1.2 and 1.3 on the server. In postfix: smtpd_tls_protocols = >=TLSv1.2 and smtpd_tls_mandatory_protocols = >=TLSv1.2 (postfix 3.6+; older: !SSLv2, !SSLv3, !TLSv1, !TLSv1.1), with an OpenSSL that has them.",
			Evidence: ev,
		})
	}
	switch left := leaf.NotAfter.Sub(now); {
	case left < 0:
		problems++
		out = append(out, report.Finding{
			ID: "tls.cert_expired", Severity: report.Fail, Subject: subj,
			Message:  fmt.Sprintf("The certificate of %s expired on %s: senders that verify certificates (MTA-STS enforce, DANE-TA) do not deliver to it.", subj, leaf.NotAfter.UTC().Format("2006-01-02")),
			Fix:      "Renew the certificate and reload the server (in postfix, smtpd_tls_chain_files names it; postfix reload). Automate the renewal.",
			Evidence: ev,
		})
	case left < expiringSoon:
		problems++
		out = append(out, report.Finding{
			ID: "tls.cert_expiring", Severity: report.Warn, Subject: subj,
			Message:  fmt.Sprintf("The certificate of %s expires on %s, in %s.", subj, leaf.NotAfter.UTC().Format("2006-01-02"), daysUntil(now, leaf.NotAfter)),
			Fix:      "Renew the certificate before it expires, and check that renewal is automated and reloads the server.",
			Evidence: ev,
		})
	}
	if p.ChainErr != nil && !(isExpiry(p.ChainErr) && leaf.NotAfter.Before(now)) {
		problems++
		ev["verify_error"] = p.ChainErr.Error()
		out = append(out, report.Finding{
			ID: "tls.cert_unverified", Severity: report.Warn, Subject: subj,
			Message:  fmt.Sprintf("The certificate of %s does not verify against the trusted roots: %s. Opportunistic senders still use TLS; senders that verify (MTA-STS enforce) do not deliver.", subj, shortErr(p.ChainErr)),
			Fix:      "Use a certificate from a public CA (Let's Encrypt and others) and serve the whole chain: in postfix, smtpd_tls_chain_files with the key and the full chain.",
			Evidence: ev,
		})
	}
	if p.NameErr != nil {
		problems++
		out = append(out, report.Finding{
			ID: "tls.name_mismatch", Severity: report.Warn, Subject: subj,
			Message:  fmt.Sprintf("The certificate of %s is not valid for %s (it names %s): MTA-STS senders match the MX host name (RFC 8461 §4.2; a wildcard covers one leftmost label only).", subj, p.Host, certNames(leaf)),
			Fix:      fmt.Sprintf("Get a certificate whose subjectAltName includes %s (a wildcard *.%s also does), and install it on every address of the host.", p.Host, parentName(p.Host)),
			Evidence: ev,
		})
	}
	if weak := weakKey(leaf); weak != "" {
		problems++
		out = append(out, report.Finding{
			ID: "tls.weak_key", Severity: report.Warn, Subject: subj,
			Message:  fmt.Sprintf("The certificate of %s has %s.", subj, weak),
			Fix:      "Use an RSA key of 2048 bits or more, or an ECDSA P-256 key, at the next renewal.",
			Evidence: ev,
		})
	}
	if problems == 0 {
		out = append(out, report.Finding{
			ID: "tls.ok", Severity: report.Pass, Subject: subj,
			Message:  fmt.Sprintf("%s: STARTTLS, %s, %s%s; the certificate (%s) verifies for %s until %s.", subj, tls.VersionName(p.State.Version), tls.CipherSuiteName(p.State.CipherSuite), kexText(p.State), keyDesc(leaf), p.Host, leaf.NotAfter.UTC().Format("2006-01-02")),
			Evidence: ev,
		})
	}
	return out
}

// bannerFinding compares the name in the banner with the address's PTR
// names and the MX name: informational, a mismatch breaks nothing, but
// it shows a load balancer or a forgotten myhostname.
func bannerFinding(ctx context.Context, env Env, p *Probe) (report.Finding, bool) {
	shown, _, _ := strings.Cut(p.Banner, " ")
	shown = strings.TrimSuffix(shown, ".")
	name := strings.ToLower(shown) // compared without case; shown as sent
	if name == "" {
		return report.Finding{}, false
	}
	ptrs, _ := env.DNS.LookupPTR(ctx, p.Addr)
	for i := range ptrs {
		ptrs[i] = strings.ToLower(strings.TrimSuffix(ptrs[i], "."))
	}
	if name == strings.ToLower(p.Host) && (len(ptrs) == 0 || slices.Contains(ptrs, name)) {
		return report.Finding{}, false
	}
	ptr := "none"
	if len(ptrs) > 0 {
		ptr = strings.Join(ptrs, ", ")
	}
	return report.Finding{
		ID: "tls.banner_mismatch", Severity: report.Info, Subject: p.subject(),
		Message:  fmt.Sprintf("%s greets as %s; its MX name is %s and its PTR %s.", p.subject(), shown, p.Host, ptr),
		Evidence: map[string]any{"banner": p.Banner, "ptr": ptrs, "mx": p.Host},
	}, true
}

// consistency: every address of one host should answer alike. A v6
// address without STARTTLS while v4 has it is a classic failure: the
// sender's path decides whether mail is encrypted.
func consistency(targets []tlsHost, probes []*Probe) []report.Finding {
	var out []report.Finding
	for _, tg := range targets {
		var rows []string
		kinds := map[string]bool{}
		for _, p := range probes {
			if p.Host != tg.host || !p.answered() {
				continue
			}
			k := "no STARTTLS"
			switch {
			case p.State != nil && p.ChainErr == nil && p.NameErr == nil:
				k = "TLS, verified"
			case p.State != nil:
				k = "TLS, not verified"
			case p.StartTLS:
				k = "STARTTLS fails"
			}
			kinds[k] = true
			rows = append(rows, p.Addr.String()+": "+k)
		}
		if len(kinds) > 1 {
			out = append(out, report.Finding{
				ID: "tls.inconsistent", Severity: report.Warn, Subject: tg.host,
				Message:  fmt.Sprintf("The addresses of %s answer differently (%s): whether mail to it is encrypted depends on the address a sender picks.", tg.host, strings.Join(rows, "; ")),
				Fix:      "Configure every address (IPv4 and IPv6, every server behind the name) the same way.",
				Evidence: map[string]any{"addresses": rows},
			})
		}
	}
	return out
}

func isExpiry(err error) bool {
	var ce x509.CertificateInvalidError
	return errors.As(err, &ce) && ce.Reason == x509.Expired
}

func keyDesc(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d bits", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}

// weakKey says what is weak about the leaf's key, or "".
func weakKey(c *x509.Certificate) string {
	if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < goodRSABits {
		return fmt.Sprintf("an RSA key of %d bits; 2048 is the least CAs issue", k.N.BitLen())
	}
	return ""
}

// daysUntil counts calendar days (UTC) from now to t: a certificate
// that ends on Dec 4 checked on Nov 29 expires "in 5 days".
func daysUntil(now, t time.Time) string {
	d := func(x time.Time) time.Time {
		y, m, dd := x.UTC().Date()
		return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	}
	n := int(d(t).Sub(d(now)).Hours() / 24)
	switch n {
	case 0:
		return "less than a day (" + t.UTC().Format("15:04 UTC") + ")"
	case 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// kexText is ", key exchange X" when the session says, else "".
func kexText(st *tls.ConnectionState) string {
	if st.CurveID == 0 {
		return ""
	}
	return ", key exchange " + st.CurveID.String()
}

func certHash(c *x509.Certificate) string {
	h := sha256.Sum256(c.Raw)
	return hex.EncodeToString(h[:])
}

func certNames(c *x509.Certificate) string {
	if len(c.DNSNames) == 0 {
		return "no DNS name, CN " + c.Subject.CommonName
	}
	names := c.DNSNames[:min(len(c.DNSNames), 5)]
	s := strings.Join(names, ", ")
	if len(c.DNSNames) > 5 {
		s += fmt.Sprintf(" and %d more", len(c.DNSNames)-5)
	}
	return s
}

func parentName(host string) string {
	_, rest, ok := strings.Cut(host, ".")
	if !ok {
		return host
	}
	return rest
}

// shortErr is an error on one line, cut at 200 octets. Certificate
// errors are worded first, so the cut never takes their point (the
// expiry date, the names the certificate has).
func shortErr(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	if he, ok := errors.AsType[x509.HostnameError](err); ok && he.Certificate != nil {
		s = fmt.Sprintf("the certificate is not valid for %s (it names %s)", he.Host, certNames(he.Certificate))
	} else if ce, ok := errors.AsType[x509.CertificateInvalidError](err); ok && ce.Reason == x509.Expired && ce.Cert != nil {
		s = fmt.Sprintf("the certificate is valid only from %s to %s", ce.Cert.NotBefore.UTC().Format(time.RFC3339), ce.Cert.NotAfter.UTC().Format(time.RFC3339))
	} else if ue, ok := errors.AsType[x509.UnknownAuthorityError](err); ok && ue.Cert != nil {
		s = "the certificate is signed by an unknown authority (issuer " + ue.Cert.Issuer.String() + ")"
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
