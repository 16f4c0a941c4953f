package delivery

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/smtp"
)

// connectTimeout bounds one TCP connect; ISPs that block port 25 drop
// the SYN, so it times out rather than being refused.
const connectTimeout = 10 * time.Second

// Attempt is one connection of a send, for the report.
type Attempt struct {
	Path   string `json:"path"`
	Host   string `json:"host"`
	Addr   string `json:"addr,omitempty"`
	Result Result `json:"result"`
	// Class is the error class of a failed attempt (ClassOf): what a
	// gateway policy's fallback_on names. Empty when accepted.
	Class ErrorClass `json:"class,omitempty"`
	// Step is where the attempt ended: "DNS", "connect", "TLS", or the
	// SMTP command whose reply ended it ("greeting", "EHLO", "STARTTLS",
	// "AUTH", "MAIL FROM", "RCPT TO", "DATA"); empty when accepted.
	Step       string      `json:"step,omitempty"`
	Error      string      `json:"error,omitempty"`
	Reply      string      `json:"reply,omitempty"`
	Note       string      `json:"note,omitempty"` // what else the report should say (MX hosts left out)
	TLS        *TLSInfo    `json:"tls,omitempty"`
	QueueID    string      `json:"queue_id,omitempty"`
	Transcript []smtp.Line `json:"transcript,omitempty"`

	timedOut bool       // the connect timed out
	reply    smtp.Reply // the reply that ended the session, if one did
}

// Result is how an attempt ended.
type Result string

// Results of an attempt.
const (
	Accepted       Result = "accepted"                 // RCPT TO (a probe) or DATA accepted
	Rejected       Result = "rejected"                 // a 5xx reply
	Deferred       Result = "deferred"                 // a 4xx reply, at any step
	CannotReceive  Result = "recipient_cannot_receive" // the recipient domain does not exist, or has a null MX
	NoAddress      Result = "no_address"               // the host has no address (NXDOMAIN or NODATA)
	DNSFailed      Result = "dns_error"                // a lookup gave no usable answer (timeout, SERVFAIL, offline), or --offline kept the connection on this machine
	ConnectFailed  Result = "connect_failed"           // no connection, or no host to connect to
	SMTPFailed     Result = "smtp_failed"              // the session broke off without a reply code
	NoTLS          Result = "no_starttls"              // TLS was required and not offered
	TLSFailed      Result = "tls_failed"               // STARTTLS refused, or the TLS handshake failed
	AuthFailed     Result = "auth_failed"              // the relay refused the credentials
	AuthRefused    Result = "auth_not_attempted"       // we would not send the credentials
	AuthNotOffered Result = "auth_not_offered"         // no AUTH mechanism to use: nothing was sent
	NoSMTPUTF8     Result = "smtputf8_unsupported"     // an address needs SMTPUTF8 and the server does not offer it
	STSRefused     Result = "mta_sts_refused"          // the recipient's MTA-STS policy (enforce) forbids this host or session
	// NotTried: the run's time limit (--timeout) ended the send before
	// this host was contacted; it says nothing about the host.
	NotTried Result = "not_tried"
)

// AboutAddress reports whether the reply that ended a is about the
// recipient's address (RFC 3463 §3.2: X.1.X, such as 5.1.1 no such
// user), not about the sender: a gateway would get the same answer.
func (a Attempt) AboutAddress() bool {
	return a.Step == "RCPT TO" && strings.HasPrefix(a.reply.Enhanced, "5.1.")
}

// hop is one place to try: where, and how.
type hop struct {
	path string
	host string // the name the certificate is checked against, and reported
	dial string // what to connect to: an address, or a name (resolved by Deps.DialHost)
	port int
	tls  TLSMode // the path's own: see TLSMode.direct and relay
	auth bool    // send the credentials
}

// session is one SMTP conversation in progress.
type session struct {
	s      *Send
	h      hop
	c      *smtp.Conn
	log    *smtp.Transcript
	verify *verification
	// daneMatched is the TLSA record that authenticated the server, if
	// one did (delivery/dane.go).
	daneMatched string
	cfg         *tls.Config
	// greeted ends the watch for a server that speaks TLS from the
	// first byte (watchGreeting); nil when there is none.
	greeted func()
	// authBeforeTLS is the AUTH line of the EHLO reply before STARTTLS.
	authBeforeTLS string
}

// failure ends a session: the attempt's result, the step and why.
type failure struct {
	result Result
	step   string
	err    error
}

// newFailure is a failure at step; the command of an SMTP reply names
// the step when there is one.
func newFailure(r Result, step string, err error) *failure {
	var se *smtp.Error
	if errors.As(err, &se) {
		step = se.Command
	}
	return &failure{r, step, err}
}

// replyFailure is a failure at step classified by its reply: 5xx
// rejected, 4xx deferred, anything else a failed session.
func replyFailure(step string, err error) *failure {
	return newFailure(replyResult(err), step, err)
}

// errImplicitTLS is the cause a session is cancelled with when the
// server turned out to speak TLS from the first byte.
var errImplicitTLS = errors.New("the server speaks TLS from the first byte")

// attempt runs one SMTP session with h and returns how it went, with its
// transcript (sent to the trace too).
func attempt(ctx context.Context, d Deps, s *Send, h hop) (a Attempt) {
	a = Attempt{Path: h.path, Host: h.host}
	if ip, err := netip.ParseAddr(h.dial); err == nil {
		a.Addr = netip.AddrPortFrom(ip, uint16(h.port)).String()
	}
	log := smtp.NewTranscript()
	where := cmp.Or(a.Addr, a.Host)
	log.OnLine(func(l smtp.Line) { d.Trace("send %s %s", where, l) })
	defer func() { a.Transcript = log.Lines() }()
	nc, err := connect(ctx, d, h)
	if err != nil {
		log.Note("connect failed: " + err.Error())
		a.Result, a.Step, a.Error = ConnectFailed, "connect", err.Error()
		var le *resolver.LookupError
		switch {
		case errors.As(err, &le) && resolver.IsTemporary(le):
			a.Result, a.Step = DNSFailed, "DNS"
		case errors.Is(err, resolver.ErrOffline):
			a.Result = DNSFailed // --offline: could not check, as for a lookup
		}
		var ne net.Error
		a.timedOut = errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
		return a
	}
	if a.Addr == "" {
		a.Addr = nc.RemoteAddr().String()
		where = a.Addr // before any line of the session, or its watcher, is traced
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ss := &session{s: s, h: h, c: smtp.New(sctx, nc, s.Timeouts, log), log: log, verify: &verification{}}
	defer ss.c.Close()
	ss.cfg = tlsConfig(h.host, s.RootCAs, ss.verify)
	if h.path != "direct" && h.tls != TLSImplicit && h.port != 25 {
		// Only a relay (a submission port) is probed: an MX host is
		// reached on port 25 (--port is a lab's setting), where a late
		// greeting is no sign of TLS, and an MX host that was sent a
		// ClientHello on a second connection would see a client the
		// report does not mention.
		ss.greeted = ss.watchGreeting(sctx, d, nc.RemoteAddr(), cancel)
		defer ss.greeted()
	}
	if f := ss.open(); f != nil {
		if errors.Is(context.Cause(sctx), errImplicitTLS) {
			f = &failure{TLSFailed, "greeting", fmt.Errorf("no greeting in plain text after %v, and %s answers a TLS handshake: it speaks TLS from the first byte (implicit TLS, RFC 8314 §3.3, as on port 465), where plain SMTP was expected; for a relay, --relay-tls implicit (tls: implicit in a relays file)", plainWait, cmp.Or(a.Addr, h.host))}
		}
		return ss.fail(a, f)
	}
	a.TLS = ss.tlsInfo()
	reply, f := ss.transact(d)
	ss.c.Quit()
	if f != nil {
		return ss.fail(a, f)
	}
	a.Result, a.Step = Accepted, "RCPT TO"
	if reply != nil {
		a.Step = "DATA"
		a.Reply, a.QueueID = reply.String(), queueID(reply.Text())
	}
	return a
}

// connect dials the hop within connectTimeout, through Deps.DialHost: a
// name is resolved by the run's resolver.
func connect(ctx context.Context, d Deps, h hop) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	return d.DialHost(ctx, "tcp", h.dial, h.port)
}

// fail completes a with f, the reply of its SMTP error and the TLS.
func (ss *session) fail(a Attempt, f *failure) Attempt {
	a.Result, a.Step = f.result, f.step
	a.Error = ss.log.Redactor()(smtp.Redact(f.err.Error(), ss.s.Password))
	var se *smtp.Error
	if errors.As(f.err, &se) {
		a.reply = se.Reply
		a.Reply = ss.log.Redactor()(se.Reply.String())
	}
	a.TLS = ss.tlsInfo()
	return a
}

// open runs the session up to the MAIL command: implicit TLS, greeting,
// EHLO, STARTTLS and EHLO again.
func (ss *session) open() *failure {
	c := ss.c
	if ss.h.tls == TLSImplicit {
		if err := c.Handshake(ss.cfg); err != nil {
			if errors.Is(err, smtp.ErrPlainText) {
				err = fmt.Errorf("%w: the server speaks plain SMTP on port %d, not implicit TLS (RFC 8314 §3.3); for a relay, --tls starttls (tls: starttls in a relays file)", err, ss.h.port)
			}
			return newFailure(TLSFailed, "TLS", err)
		}
	}
	_, err := c.Greeting()
	if ss.greeted != nil {
		ss.greeted()
	}
	if err != nil {
		return replyFailure("greeting", err)
	}
	if err := c.Hello(ss.s.HELO.EHLO()); err != nil {
		return replyFailure("EHLO", err)
	}
	if c.TLS() != nil || ss.h.tls == TLSNone {
		return nil
	}
	starttls, _ := c.Extension("STARTTLS")
	if f := ss.daneBeforeTLS(starttls); f != nil {
		return f
	}
	if !starttls {
		if ss.h.path == "direct" && ss.s.enforced() {
			c.Quit()
			return newFailure(STSRefused, "STARTTLS", errors.New("the server does not offer STARTTLS, and the recipient's MTA-STS policy is in enforce mode (RFC 8461 §5.1): a compliant sender does not deliver here"))
		}
		if ss.h.tls.mandatory() {
			c.Quit()
			return newFailure(NoTLS, "STARTTLS", errors.New("the server does not offer STARTTLS, and TLS is required"))
		}
		return nil
	}
	if ok, mechs := c.Extension("AUTH"); ok {
		ss.authBeforeTLS = cmp.Or(mechs, "(no mechanism)")
	}
	if err := c.StartTLS(ss.cfg); err != nil {
		return newFailure(TLSFailed, "TLS", err) // a refusal of STARTTLS (454) or the handshake
	}
	daneOK, f := ss.daneAfterTLS(time.Now())
	if f != nil {
		return f
	}
	if ss.h.path == "direct" && ss.s.enforced() && !ss.verify.ok && !daneOK {
		c.Quit()
		return newFailure(STSRefused, "TLS", fmt.Errorf("the certificate does not verify for %s (%s), and the recipient's MTA-STS policy is in enforce mode (RFC 8461 §4.2): a compliant sender does not deliver here", ss.h.host, ss.verify.err))
	}
	if err := c.Hello(ss.s.HELO.EHLO()); err != nil {
		return replyFailure("EHLO", err)
	}
	return nil
}

// plainWait is how long a session that expects plain SMTP waits for the
// greeting before it asks, on a second connection, whether the server
// speaks TLS from the first byte: such a server waits for a TLS client
// hello and never greets, and the session would wait out its timeout.
// A plain server greets at once (Postfix's postscreen sends the first
// line of its greeting at once too).
const plainWait = 500 * time.Millisecond

// watchGreeting starts the check for a server that speaks TLS from the
// first byte: if no greeting has come after plainWait, a TLS handshake
// on a second connection to the same address tells (noted in the
// transcript, so the -v trace shows that connection); when it succeeds
// the session is cancelled with errImplicitTLS. It returns the function
// that ends the watch (after the greeting, or with the session), which
// waits for it. Not on port 25, where a late greeting is a deliberate
// delay (RFC 5321 §4.5.3.2 allows 5 minutes) and a client that talks
// first is taken for a spammer; and not on the direct path (attempt).
func (ss *session) watchGreeting(ctx context.Context, d Deps, remote net.Addr, cancel context.CancelCauseFunc) func() {
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTimer(plainWait)
		defer t.Stop()
		select {
		case <-wctx.Done():
			return
		case <-t.C:
		}
		// The probe is a second connection: the transcript (and the
		// -v trace) says so, whatever it finds.
		ss.log.Note(fmt.Sprintf("no greeting after %v; opening a second connection to %s to send a TLS ClientHello: does it speak TLS from the first byte?", plainWait, remote))
		if speaksTLS(wctx, d, remote, ss.h.host) {
			ss.log.Note(fmt.Sprintf("the second connection to %s completed a TLS handshake: the server speaks TLS from the first byte", remote))
			cancel(errImplicitTLS)
			return
		}
		ss.log.Note(fmt.Sprintf("the second connection to %s got no TLS answer; still waiting for the greeting", remote))
	}()
	return sync.OnceFunc(func() { stop(); <-done })
}

// speaksTLS reports whether remote answers a TLS client hello with TLS
// (a handshake, or a TLS alert) within plainWait. Nothing is sent over
// the connection, so the certificate is not checked.
func speaksTLS(ctx context.Context, d Deps, remote net.Addr, host string) bool {
	ap, err := netip.ParseAddrPort(remote.String())
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, plainWait)
	defer cancel()
	nc, err := d.DialHost(ctx, "tcp", ap.Addr().String(), int(ap.Port()))
	if err != nil {
		return false
	}
	defer nc.Close()
	tc := tls.Client(nc, &tls.Config{ServerName: host, InsecureSkipVerify: true}) // only asks whether it is TLS
	err = tc.HandshakeContext(ctx)
	var oe *net.OpError
	return err == nil || errors.As(err, &oe) && oe.Op == "remote error"
}

// transact authenticates when the hop wants it, then sends the envelope
// and, with Deliver, the message. The reply is DATA's; nil for a probe.
// The caller QUITs.
func (ss *session) transact(d Deps) (*smtp.Reply, *failure) {
	if ss.h.auth && ss.s.User != "" {
		if f := ss.authenticate(); f != nil {
			return nil, f
		}
	}
	s := ss.s
	// RFC 6531 §3.4: a UTF-8 local part needs SMTPUTF8; Mail fails
	// without sending when the server does not offer it.
	if err := ss.c.Mail(s.From.String(), s.From.NeedsSMTPUTF8() || s.To.NeedsSMTPUTF8()); err != nil {
		if errors.Is(err, smtp.ErrNoSMTPUTF8) {
			return nil, newFailure(NoSMTPUTF8, "MAIL FROM", err)
		}
		return nil, replyFailure("MAIL FROM", err)
	}
	if err := ss.c.Rcpt(s.To.String()); err != nil {
		return nil, replyFailure("RCPT TO", err)
	}
	if !s.Deliver {
		return nil, nil
	}
	msg, err := testMessage(s, d.Now())
	if err != nil {
		return nil, newFailure(SMTPFailed, "DATA", err)
	}
	r, err := ss.c.Data(msg)
	if err != nil {
		return nil, replyFailure("DATA", err)
	}
	if s.Delivered != nil {
		s.Delivered(msg)
	}
	return &r, nil
}

// authenticate sends the credentials, but only over TLS (unless
// AllowPlaintextAuth) with a certificate that verifies (unless Insecure),
// and only when the server offers AUTH.
func (ss *session) authenticate() *failure {
	s, c := ss.s, ss.c
	if ok, _ := c.Extension("AUTH"); !ok {
		return newFailure(AuthNotOffered, "AUTH", ss.noAuth())
	}
	switch {
	case c.TLS() == nil && !s.AllowPlaintextAuth:
		return newFailure(AuthRefused, "AUTH", errors.New("not sending credentials over an unencrypted connection (--allow-plaintext-auth to override)"))
	case c.TLS() != nil && !ss.verify.ok && !s.Insecure:
		return newFailure(AuthRefused, "AUTH", fmt.Errorf("not sending credentials: the certificate of %s does not verify (%s); --ca-file for a private CA, or --insecure-skip-verify", ss.h.host, ss.verify.err))
	}
	err := c.Auth(s.User, s.Password)
	var se *smtp.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, smtp.ErrNoAuthMechanism):
		return newFailure(AuthNotOffered, "AUTH", err) // nothing was sent
	case errors.As(err, &se) && !se.Permanent():
		return newFailure(Deferred, "AUTH", err) // 454 4.7.0: a temporary failure (RFC 4954 §6)
	}
	return newFailure(AuthFailed, "AUTH", err) // 535 and any other refusal of the credentials
}

// noAuth says why there is no AUTH to use: none offered, or offered
// only before STARTTLS (RFC 3207 §4.2: the client discards what it
// learnt before TLS, so AUTH must be offered again after it).
func (ss *session) noAuth() error {
	switch {
	case ss.authBeforeTLS != "":
		return fmt.Errorf("the server offered AUTH %s before STARTTLS and no AUTH after it: nothing was sent", ss.authBeforeTLS)
	case ss.c.TLS() == nil:
		return errors.New("the server offers no AUTH on this unencrypted connection (many offer it only after STARTTLS): nothing was sent")
	}
	return errors.New("the server offers no AUTH: nothing was sent")
}

// replyResult classifies an SMTP error: 5xx rejected, 4xx deferred,
// anything else a failed session.
func replyResult(err error) Result {
	var se *smtp.Error
	if errors.As(err, &se) {
		if se.Permanent() {
			return Rejected
		}
		return Deferred
	}
	return SMTPFailed
}

var queuedAs = regexp.MustCompile(`(?i)queued as ([A-Za-z0-9._-]+)`)

// queueID finds the queue ID in a 250 reply ("Ok: queued as 4B9F8").
func queueID(text string) string {
	if m := queuedAs.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// RelayProbe is the open-relay probe: one session, the addresses it
// used, and whether the server refused to relay.
type RelayProbe struct {
	From, To names.Address
	Attempt  Attempt
	// Refused: the server refused the outside recipient at RCPT TO
	// because it would not relay (relayRefusal). Anything else that is
	// not an accepted RCPT TO leaves the question open.
	Refused bool
}

// ProbeRelay tries to relay through s.RelayCheck without
// authentication, from s.From (else postmaster@ the HELO name: a domain
// the user names, never one with a null MX, which servers refuse at
// MAIL FROM before any relay decision) to an outside recipient (s.To, or
// one at example.net). An accepted RCPT TO means an open relay; DATA is
// never sent. Port 465 is implicit TLS; elsewhere STARTTLS when offered.
func ProbeRelay(ctx context.Context, d Deps, s *Send) RelayProbe {
	d = d.withDefaults()
	probe := *s
	probe.User, probe.Deliver = "", false
	probe.From = cmp.Or(s.From, names.Address{Local: "postmaster", Domain: s.HELO.Name})
	probe.To = cmp.Or(s.To, names.Address{Local: "preflight-relay-check", Domain: "example.net"})
	p := RelayProbe{From: probe.From, To: probe.To}
	host, port := splitHostPort(s.RelayCheck)
	end := Attempt{Path: "relay-check", Host: host, Step: "MAIL FROM"}
	switch {
	case probe.From.Domain == "":
		end.Result, end.Error = SMTPFailed, "no sender for the probe: give --mail-from ADDR (the HELO name is an address literal)"
		p.Attempt = end
		return p
	case nullMX(ctx, d, probe.From.Domain):
		end.Result, end.Error = CannotReceive, fmt.Sprintf("the probe's sender domain %s publishes a null MX (RFC 7505): servers refuse such a sender at MAIL FROM, before any relay decision; give --mail-from an address at a domain that receives mail", probe.From.Domain)
		p.Attempt = end
		return p
	}
	mode := TLSOpportunistic
	if port == 465 {
		mode = TLSImplicit
	}
	p.Attempt = attempt(ctx, d, &probe, hop{path: "relay-check", host: host, dial: host, port: port, tls: mode})
	p.Refused = relayRefusal(p.Attempt)
	return p
}

// nullMX reports whether domain publishes a null MX (RFC 7505). A failed
// lookup is no answer: the server will say.
func nullMX(ctx context.Context, d Deps, domain string) bool {
	mxs, err := d.DNS.LookupMX(ctx, domain)
	return err == nil && slices.ContainsFunc(mxs, func(m resolver.MX) bool { return m.Host == "." })
}

// relayRefusal reports whether a ended in a refusal to relay: a
// permanent reply to RCPT TO for the outside recipient that is about
// relaying. Servers say so in the text ("Relay access denied", Postfix;
// "Relaying denied", Sendmail; "relay not permitted", Exim; "Unable to
// relay", Exchange) or with a 5.7.x code (RFC 3463 §3.8: security or
// policy). Postfix applies its client, HELO and sender restrictions at
// RCPT TO too (smtpd_delay_reject), and those refusals say nothing about
// relaying; nor does a 5.1.x about the address, a 4xx (greylisting), or
// a refusal at MAIL FROM.
func relayRefusal(a Attempt) bool {
	if a.Result != Rejected || a.Step != "RCPT TO" {
		return false
	}
	text := strings.ToLower(a.reply.Text())
	if strings.Contains(text, "relay") {
		return true
	}
	if !strings.HasPrefix(a.reply.Enhanced, "5.7.") {
		return false
	}
	for _, other := range []string{"sender address", "client host", "helo command"} {
		if strings.Contains(text, other) {
			return false
		}
	}
	return true
}
