package checks

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/preflight-mail/preflight/dkim"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/smtp"
)

// Send describes a test send (DESIGN §9).
type Send struct {
	From, To names.Address
	Path     string // "direct", "relay" or "auto"
	Relays   []Relay
	HELO     names.Host
	// TLS: for the direct path "opportunistic" (default), "required" or
	// "none"; relays have their own.
	TLS                string
	Port               int // direct path port; 25 when 0
	User               string
	Password           string // never printed, never in a report
	AllowPlaintextAuth bool
	Deliver            bool // send DATA; otherwise stop after RCPT TO
	DKIMKey            crypto.Signer
	DKIMSelector       string
	RootCAs            *x509.CertPool // nil: the system's roots
	Insecure           bool           // relays: send credentials over unverified TLS
	// RelayCheck, when set ("host:port"), runs the open-relay probe
	// against it instead of a send.
	RelayCheck string
	Timeouts   smtp.Timeouts
}

// Relay is one smarthost.
type Relay struct {
	Addr     string `json:"addr"`     // host:port
	Priority int    `json:"priority"` // 0 highest ... 4 low
	TLS      string `json:"tls"`      // "starttls" (default), "implicit" or "none"
	Enabled  bool   `json:"enabled"`
}

// Priorities, highest first, as relay files name them.
var Priorities = []string{"highest", "high", "normal", "belownormal", "low"}

// Limits of a send.
const (
	// maxAttempts bounds the connections of one send: MX hosts × their
	// addresses, or relays.
	maxAttempts = 12
	// connectTimeout bounds one TCP connect; ISPs that block port 25
	// drop the SYN, so it times out rather than being refused.
	connectTimeout = 10 * time.Second
)

// attempt is one connection of the send, for the report.
type attempt struct {
	Path       string      `json:"path"`
	Host       string      `json:"host"`
	Addr       string      `json:"addr,omitempty"`
	Result     string      `json:"result"`
	Error      string      `json:"error,omitempty"`
	Reply      string      `json:"reply,omitempty"`
	TLS        *tlsInfo    `json:"tls,omitempty"`
	QueueID    string      `json:"queue_id,omitempty"`
	Transcript []smtp.Line `json:"transcript,omitempty"`

	timedOut bool // the connect timed out
}

type tlsInfo struct {
	Version     string `json:"version"`
	Cipher      string `json:"cipher"`
	Subject     string `json:"subject,omitempty"`
	Issuer      string `json:"issuer,omitempty"`
	NotAfter    string `json:"not_after,omitempty"`
	Verified    bool   `json:"verified"`
	VerifyError string `json:"verify_error,omitempty"`
}

// Attempt results.
const (
	resAccepted      = "accepted"
	resRejected      = "rejected"
	resDeferred      = "deferred"
	resConnectFailed = "connect_failed"
	resSMTPFailed    = "smtp_failed"
	resNoTLS         = "no_starttls"
	resTLSFailed     = "tls_failed"
	resAuthFailed    = "auth_failed"
	resAuthRefused   = "auth_not_attempted"
	resOpenRelay     = "open_relay"
	resRelayRefused  = "relay_refused"
)

// SendCheck runs the test send of t.Send (or the open-relay probe).
func SendCheck(ctx context.Context, env Env, t Target) []report.Finding {
	s := t.Send
	if s == nil {
		return nil
	}
	if s.RelayCheck != "" {
		return relayCheck(ctx, env, s)
	}
	var atts []attempt
	var fallback string
	switch s.Path {
	case "relay":
		atts = sendRelays(ctx, env, s)
	case "auto":
		atts = sendDirect(ctx, env, s)
		if a := decisive(atts); a.Result != resAccepted {
			fallback = fmt.Sprintf("the direct path ended in %s (%s)", a.Result, a.Error)
			env.tracef("send: %s; falling back to the relays", fallback)
			atts = append(atts, sendRelays(ctx, env, s)...)
		}
	default:
		atts = sendDirect(ctx, env, s)
	}
	return sendFindings(s, atts, fallback)
}

// sendDirect delivers to the recipient domain's MX hosts, in preference
// order (shuffled within a preference, RFC 5321 §5.1), every address of
// each, until one gives a final answer.
func sendDirect(ctx context.Context, env Env, s *Send) []attempt {
	domain := s.To.Domain
	mxs, err := env.DNS.LookupMX(ctx, domain)
	switch {
	case resolver.IsNotFound(err):
		mxs = []resolver.MX{{Host: domain}} // implicit MX
	case err != nil:
		return []attempt{{Path: "direct", Host: domain, Result: resConnectFailed, Error: "looking up the MX of " + domain + ": " + err.Error()}}
	}
	for _, m := range mxs {
		if m.Host == "." {
			return []attempt{{Path: "direct", Host: domain, Result: resRejected, Error: domain + " has a null MX (RFC 7505): it accepts no mail"}}
		}
	}
	shuffleEqual(mxs)
	port := s.Port
	if port == 0 {
		port = 25
	}
	var atts []attempt
	for _, m := range mxs {
		addrs, err := env.DNS.LookupIP(ctx, "ip", m.Host)
		if err != nil {
			atts = append(atts, attempt{Path: "direct", Host: m.Host, Result: resConnectFailed, Error: "no address: " + err.Error()})
			continue
		}
		for _, ip := range addrs {
			if len(atts) >= maxAttempts || ctx.Err() != nil {
				return atts
			}
			a := session(ctx, env, s, "direct", m.Host, netip.AddrPortFrom(ip, uint16(port)).String(), s.directTLS(), false)
			atts = append(atts, a)
			switch a.Result {
			case resAccepted, resRejected:
				return atts // a final answer from the receiver
			}
		}
	}
	return atts
}

func (s *Send) directTLS() string {
	switch s.TLS {
	case "required", "none":
		return s.TLS
	}
	return "opportunistic"
}

// sendRelays tries the enabled relays by priority until one accepts.
func sendRelays(ctx context.Context, env Env, s *Send) []attempt {
	relays := slices.Clone(s.Relays)
	slices.SortStableFunc(relays, func(a, b Relay) int { return a.Priority - b.Priority })
	var atts []attempt
	for _, r := range relays {
		if !r.Enabled {
			continue
		}
		if len(atts) >= maxAttempts || ctx.Err() != nil {
			break
		}
		host, _, _ := net.SplitHostPort(r.Addr)
		a := session(ctx, env, s, "relay", host, r.Addr, orDefault(r.TLS, "starttls"), true)
		a.Host = r.Addr
		atts = append(atts, a)
		if a.Result == resAccepted {
			break
		}
	}
	if len(atts) == 0 {
		atts = append(atts, attempt{Path: "relay", Result: resConnectFailed, Error: "no enabled relay"})
	}
	return atts
}

// session is one SMTP conversation. tlsMode: "opportunistic",
// "required", "starttls" (required), "implicit" or "none".
func session(ctx context.Context, env Env, s *Send, path, host, addr, tlsMode string, auth bool) (a attempt) {
	a = attempt{Path: path, Host: host, Addr: addr}
	log := smtp.NewTranscript()
	redact := func(err error) string { return log.Redactor()(smtp.Redact(err.Error(), s.Password)) }
	defer func() {
		a.Transcript = log.Lines()
		for _, l := range a.Transcript {
			env.tracef("send %s %s", addr, l)
		}
	}()

	dctx, cancel := context.WithTimeout(ctx, connectTimeout)
	nc, err := env.dial(dctx, "tcp", addr)
	cancel()
	if err != nil {
		log.Note("connect failed: " + err.Error())
		a.Result, a.Error = resConnectFailed, err.Error()
		var ne net.Error
		a.timedOut = errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
		return a
	}
	c := smtp.New(ctx, nc, s.Timeouts, log)
	defer c.Close()

	verify := &verification{}
	cfg := tlsConfig(host, s.RootCAs, verify)
	fail := func(result string, err error) attempt {
		a.Result, a.Error = result, redact(err)
		var se *smtp.Error
		if errors.As(err, &se) {
			a.Reply = log.Redactor()(se.Reply.String())
		}
		a.TLS = tlsEvidence(c.TLS(), verify)
		return a
	}
	if tlsMode == "implicit" {
		if err := c.Handshake(cfg); err != nil {
			return fail(resTLSFailed, err)
		}
	}
	if _, err := c.Greeting(); err != nil {
		return fail(resSMTPFailed, err)
	}
	if err := c.Hello(s.HELO.EHLO()); err != nil {
		return fail(resSMTPFailed, err)
	}
	if c.TLS() == nil && tlsMode != "none" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(cfg); err != nil {
				return fail(resTLSFailed, err)
			}
			if err := c.Hello(s.HELO.EHLO()); err != nil {
				return fail(resSMTPFailed, err)
			}
		} else if tlsMode == "required" || tlsMode == "starttls" {
			c.Quit()
			return fail(resNoTLS, errors.New("the server does not offer STARTTLS, and TLS is required"))
		}
	}
	a.TLS = tlsEvidence(c.TLS(), verify)

	if auth && s.User != "" {
		switch {
		case c.TLS() == nil && !s.AllowPlaintextAuth:
			c.Quit()
			return fail(resAuthRefused, errors.New("not sending credentials over an unencrypted connection (--allow-plaintext-auth to override)"))
		case c.TLS() != nil && !verify.ok && !s.Insecure:
			c.Quit()
			return fail(resAuthRefused, fmt.Errorf("not sending credentials: the certificate of %s does not verify (%s); --ca-file for a private CA, or --insecure-skip-verify", host, verify.err))
		}
		if err := c.Auth(s.User, s.Password); err != nil {
			c.Quit()
			return fail(resAuthFailed, err) // 535 and any other refusal of the credentials
		}
	}
	if err := c.Mail(s.From.String(), s.From.NeedsSMTPUTF8() || s.To.NeedsSMTPUTF8()); err != nil {
		c.Quit()
		return fail(replyResult(err), err)
	}
	if err := c.Rcpt(s.To.String()); err != nil {
		c.Quit()
		return fail(replyResult(err), err)
	}
	if !s.Deliver {
		c.Quit()
		a.Result = resAccepted
		return a
	}
	msg, err := testMessageFor(s, env)
	if err != nil {
		c.Quit()
		return fail(resSMTPFailed, err)
	}
	r, err := c.Data(msg)
	if err != nil {
		c.Quit()
		return fail(replyResult(err), err)
	}
	c.Quit()
	a.Result, a.Reply, a.QueueID = resAccepted, r.String(), queueID(r.Text())
	return a
}

// replyResult classifies an SMTP error: 5xx rejected, 4xx deferred,
// anything else a failed session.
func replyResult(err error) string {
	var se *smtp.Error
	if errors.As(err, &se) {
		if se.Permanent() {
			return resRejected
		}
		return resDeferred
	}
	return resSMTPFailed
}

var queuedAs = regexp.MustCompile(`(?i)queued as ([A-Za-z0-9._-]+)`)

// queueID finds the queue ID in a 250 reply ("Ok: queued as 4B9F8").
func queueID(text string) string {
	if m := queuedAs.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// verification is what the TLS handshake's certificate check found.
type verification struct {
	done bool
	ok   bool
	err  string
}

// tlsConfig verifies the certificate itself (against roots, or the
// system's) and records the result instead of failing the handshake:
// MX hosts often have certificates that do not verify, and mail to them
// is still encrypted; relays get no credentials over an unverified one.
func tlsConfig(host string, roots *x509.CertPool, v *verification) *tls.Config {
	return &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: true, // verified below, into v
		MinVersion:         tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			v.done = true
			if len(cs.PeerCertificates) == 0 {
				v.err = "no certificate"
				return nil
			}
			opts := x509.VerifyOptions{Roots: roots, DNSName: host, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				v.err = err.Error()
				return nil
			}
			v.ok = true
			return nil
		},
	}
}

func tlsEvidence(st *tls.ConnectionState, v *verification) *tlsInfo {
	if st == nil {
		return nil
	}
	info := &tlsInfo{Version: tls.VersionName(st.Version), Cipher: tls.CipherSuiteName(st.CipherSuite), Verified: v.ok, VerifyError: v.err}
	if len(st.PeerCertificates) > 0 {
		c := st.PeerCertificates[0]
		info.Subject, info.Issuer = c.Subject.String(), c.Issuer.String()
		info.NotAfter = c.NotAfter.UTC().Format(time.RFC3339)
	}
	return info
}

// decisive picks the attempt that decides: the accepting one, else the
// receiver's final refusal, else the last.
func decisive(atts []attempt) attempt {
	for _, res := range []string{resAccepted, resRejected} {
		for _, a := range atts {
			if a.Result == res {
				return a
			}
		}
	}
	if len(atts) == 0 {
		return attempt{Result: resConnectFailed, Error: "no attempt"}
	}
	return atts[len(atts)-1]
}

// sendFindings turns the attempts into findings.
func sendFindings(s *Send, atts []attempt, fallback string) []report.Finding {
	d := decisive(atts)
	evidence := map[string]any{"attempts": atts, "to": s.To, "from": s.From, "deliver": s.Deliver}
	if fallback != "" {
		evidence["fallback_reason"] = fallback
	}
	where := d.Host
	if d.Addr != "" && d.Addr != d.Host {
		where += " (" + d.Addr + ")"
	}
	var out []report.Finding
	for _, a := range atts {
		if a.Result == resAuthFailed {
			out = append(out, report.Finding{
				ID: "send.auth_failed", Severity: report.Fail, Subject: a.Host,
				Message: fmt.Sprintf("The relay %s refused the credentials of %s: %s.", a.Host, s.User, a.Error),
				Fix:     "Check the user name and the password (from --password-env or --password-file) with the relay's provider.",
			})
		}
	}
	if d.Result == resAuthFailed && len(out) > 0 {
		// The refusals say it all; keep the attempts with the last.
		out[len(out)-1].Evidence = evidence
		return out
	}
	main := report.Finding{Subject: s.To.String(), Evidence: evidence}
	switch d.Result {
	case resAccepted:
		main.ID, main.Severity = "send.accepted", report.Pass
		if s.Deliver {
			main.Message = fmt.Sprintf("%s accepted the test message for %s on the %s path", where, s.To, d.Path)
			if d.QueueID != "" {
				main.Message += " (queue ID " + d.QueueID + ")"
				evidence["queue_id"] = d.QueueID
			}
			main.Message += "."
		} else {
			main.Message = fmt.Sprintf("%s accepted MAIL FROM:<%s> and RCPT TO:<%s> on the %s path; nothing was delivered (probe: QUIT after RCPT TO).", where, s.From, s.To, d.Path)
		}
	case resRejected:
		main.ID, main.Severity = "send.rejected", report.Fail
		main.Message = fmt.Sprintf("%s refused the mail for %s: %s.", where, s.To, orDefault(d.Reply, d.Error))
		main.Fix = "Read the refusal: 5.7.x replies usually name the reason (IP reputation, missing PTR, SPF, a blocklist); fix that, or send through a relay."
	case resDeferred:
		main.ID, main.Severity = "send.deferred", report.Warn
		main.Message = fmt.Sprintf("%s deferred the mail for %s (a temporary refusal, perhaps greylisting): %s.", where, s.To, orDefault(d.Reply, d.Error))
		main.Fix = "Try again in a few minutes; if it persists, read the reply."
	case resNoTLS:
		main.ID, main.Severity = "send.no_starttls", report.Fail
		main.Message = fmt.Sprintf("%s does not offer STARTTLS, and TLS was required: nothing was sent.", where)
	default:
		main.ID, main.Severity = "send.connect_failed", report.Fail
		main.Message = fmt.Sprintf("The test send to %s got no answer: %s.", s.To, attemptSummary(atts))
		main.Fix = "Check that the hosts are reachable from here and that the relay settings are right."
		if blocked(s, atts) {
			main.ID = "send.port25_blocked"
			main.Message = fmt.Sprintf("Every connection to port 25 timed out (%s): outbound port 25 looks blocked, as many ISPs and cloud providers do.", attemptSummary(atts))
			main.Fix = "Ask the provider to open outbound port 25 for this server, or send through an authenticated relay (--path relay or auto)."
		}
	}
	out = append(out, main)
	if d.Addr != "" && (d.Result == resAccepted || d.Result == resRejected || d.Result == resDeferred) {
		out = append(out, tlsFinding(s, d, where))
	}
	return out
}

// tlsFinding reports the TLS of the decisive session.
func tlsFinding(s *Send, a attempt, where string) report.Finding {
	if a.TLS == nil {
		return report.Finding{
			ID: "send.no_starttls", Severity: report.Warn, Subject: a.Host,
			Message: fmt.Sprintf("The session with %s was not encrypted: the server did not offer STARTTLS (or TLS was off).", where),
			Fix:     "Mail in clear text can be read on the way; receivers rate it lower. Use a server or relay that offers TLS.",
		}
	}
	ev := map[string]any{"tls": a.TLS}
	if !a.TLS.Verified {
		return report.Finding{
			ID: "send.tls_unverified", Severity: report.Warn, Subject: a.Host, Evidence: ev,
			Message: fmt.Sprintf("%s with %s, but its certificate does not verify: %s.", a.TLS.Version, where, a.TLS.VerifyError),
			Fix:     "Normal for many MX hosts (opportunistic TLS); for your own server or relay, install a certificate for its name.",
		}
	}
	name := a.Host
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	return report.Finding{
		ID: "send.tls_ok", Severity: report.Pass, Subject: a.Host, Evidence: ev,
		Message: fmt.Sprintf("%s with %s (%s), certificate for %s verified, valid until %s.", a.TLS.Version, where, a.TLS.Cipher, name, a.TLS.NotAfter[:10]),
	}
}

// blocked: the direct path to port 25, every connect timed out.
func blocked(s *Send, atts []attempt) bool {
	if s.Port != 0 && s.Port != 25 {
		return false
	}
	n := 0
	for _, a := range atts {
		if a.Path != "direct" {
			continue
		}
		if !a.timedOut {
			return false
		}
		n++
	}
	return n > 0
}

func attemptSummary(atts []attempt) string {
	var parts []string
	for _, a := range atts {
		where := a.Host
		if a.Addr != "" {
			where = a.Addr
		}
		parts = append(parts, fmt.Sprintf("%s: %s", where, orDefault(a.Error, a.Result)))
	}
	return strings.Join(parts, "; ")
}

// shuffleEqual shuffles hosts of equal preference (RFC 5321 §5.1); the
// list is sorted by preference.
func shuffleEqual(mxs []resolver.MX) {
	for i := 0; i < len(mxs); {
		j := i
		for j < len(mxs) && mxs[j].Pref == mxs[i].Pref {
			j++
		}
		mrand.Shuffle(j-i, func(a, b int) { mxs[i+a], mxs[i+b] = mxs[i+b], mxs[i+a] })
		i = j
	}
}

// relayCheck tries to relay from an outside sender to an outside
// recipient without authentication. Accepted RCPT TO means an open
// relay; DATA is never sent.
func relayCheck(ctx context.Context, env Env, s *Send) []report.Finding {
	host, _, err := net.SplitHostPort(s.RelayCheck)
	if err != nil {
		host = s.RelayCheck
	}
	probe := *s
	probe.User, probe.Deliver = "", false
	probe.From = cmp.Or(s.From, names.Address{Local: "preflight-relay-check", Domain: "example.com"})
	probe.To = cmp.Or(s.To, names.Address{Local: "preflight-relay-check", Domain: "example.net"})
	a := session(ctx, env, &probe, "relay-check", host, s.RelayCheck, "opportunistic", false)
	ev := map[string]any{"attempts": []attempt{a}, "from": probe.From, "to": probe.To}
	switch a.Result {
	case resAccepted:
		return []report.Finding{{
			ID: "send.open_relay", Severity: report.Fail, Subject: s.RelayCheck, Evidence: ev,
			Message: fmt.Sprintf("%s is an open relay: it accepted mail from %s to %s without authentication (DATA was not sent). Spammers find open relays within hours, and blocklists list them.", s.RelayCheck, probe.From, probe.To),
			Fix:     "Allow relaying only for authenticated users and your own networks (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination).",
		}}
	case resRejected, resDeferred:
		return []report.Finding{{
			ID: "send.relay_refused", Severity: report.Pass, Subject: s.RelayCheck, Evidence: ev,
			Message: fmt.Sprintf("%s refused to relay from %s to %s without authentication: %s.", s.RelayCheck, probe.From, probe.To, a.Reply),
		}}
	}
	return []report.Finding{{
		ID: "send.connect_failed", Severity: report.Error, Subject: s.RelayCheck, Evidence: ev,
		Message: fmt.Sprintf("Could not run the open-relay probe against %s: %s.", s.RelayCheck, a.Error),
	}}
}

// testMessageFor builds the message --deliver sends: RFC 5322 headers, a
// Subject with a unique token, a MIME text body; DKIM-signed when a key
// is given.
func testMessageFor(s *Send, env Env) ([]byte, error) {
	token := make([]byte, 8)
	rand.Read(token)
	tok := hex.EncodeToString(token)
	domain := s.From.Domain
	now := env.now()
	msg := []byte("From: <" + s.From.String() + ">\r\n" +
		"To: <" + s.To.String() + ">\r\n" +
		"Subject: preflight test " + tok + "\r\n" +
		"Date: " + now.Format("Mon, 02 Jan 2006 15:04:05 -0700") + "\r\n" +
		"Message-ID: <preflight-" + tok + "@" + domain + ">\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 7bit\r\n" +
		"\r\n" +
		"This is a test message sent by preflight at " + now.UTC().Format(time.RFC3339) + ".\r\n" +
		"Token: " + tok + "\r\n")
	if s.DKIMKey == nil {
		return msg, nil
	}
	return dkim.Sign(msg, domain, s.DKIMSelector, s.DKIMKey)
}

// dial connects through Env's dialer, or a net.Dialer.
func (e Env) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if e.Dial != nil {
		return e.Dial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// ParsePriority reads a relay priority name.
func ParsePriority(s string) (int, error) {
	if i := slices.Index(Priorities, strings.ToLower(s)); i >= 0 {
		return i, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < len(Priorities) {
		return n, nil
	}
	return 0, fmt.Errorf("priority %q: want %s", s, strings.Join(Priorities, ", "))
}
