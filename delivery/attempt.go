package delivery

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/smtp"
)

// connectTimeout bounds one TCP connect; ISPs that block port 25 drop
// the SYN, so it times out rather than being refused.
const connectTimeout = 10 * time.Second

// Attempt is one connection of a send, for the report.
type Attempt struct {
	Path       string      `json:"path"`
	Host       string      `json:"host"`
	Addr       string      `json:"addr,omitempty"`
	Result     Result      `json:"result"`
	Error      string      `json:"error,omitempty"`
	Reply      string      `json:"reply,omitempty"`
	TLS        *TLSInfo    `json:"tls,omitempty"`
	QueueID    string      `json:"queue_id,omitempty"`
	Transcript []smtp.Line `json:"transcript,omitempty"`

	timedOut bool // the connect timed out
}

// Result is how an attempt ended.
type Result string

// Results of an attempt.
const (
	Accepted      Result = "accepted"           // RCPT TO (a probe) or DATA accepted
	Rejected      Result = "rejected"           // a 5xx reply, or a null MX
	Deferred      Result = "deferred"           // a 4xx reply
	ConnectFailed Result = "connect_failed"     // no connection, or no host to connect to
	SMTPFailed    Result = "smtp_failed"        // the session broke off without a reply code
	NoTLS         Result = "no_starttls"        // TLS was required and not offered
	TLSFailed     Result = "tls_failed"         // the TLS handshake failed
	AuthFailed    Result = "auth_failed"        // the relay refused the credentials
	AuthRefused   Result = "auth_not_attempted" // we would not send the credentials
)

// hop is one place to try: where, and how.
type hop struct {
	path, host, addr string
	tls              TLSMode // the path's own: see TLSMode.direct and relay
	auth             bool    // send the credentials
}

// session is one SMTP conversation in progress.
type session struct {
	s      *Send
	h      hop
	c      *smtp.Conn
	log    *smtp.Transcript
	verify *verification
	cfg    *tls.Config
}

// failure ends a session: the attempt's result and why.
type failure struct {
	result Result
	err    error
}

// attempt runs one SMTP session with h and returns how it went, with its
// transcript (sent to the trace too).
func attempt(ctx context.Context, d Deps, s *Send, h hop) (a Attempt) {
	a = Attempt{Path: h.path, Host: h.host, Addr: h.addr}
	log := smtp.NewTranscript()
	defer func() {
		a.Transcript = log.Lines()
		for _, l := range a.Transcript {
			d.Trace("send %s %s", h.addr, l)
		}
	}()
	nc, err := connect(ctx, d, h.addr)
	if err != nil {
		log.Note("connect failed: " + err.Error())
		a.Result, a.Error = ConnectFailed, err.Error()
		var ne net.Error
		a.timedOut = errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
		return a
	}
	ss := &session{s: s, h: h, c: smtp.New(ctx, nc, s.Timeouts, log), log: log, verify: &verification{}}
	defer ss.c.Close()
	ss.cfg = tlsConfig(h.host, s.RootCAs, ss.verify)
	if f := ss.open(); f != nil {
		return ss.fail(a, f)
	}
	a.TLS = tlsEvidence(ss.c.TLS(), ss.verify)
	reply, f := ss.transact(d)
	ss.c.Quit()
	if f != nil {
		return ss.fail(a, f)
	}
	a.Result = Accepted
	if reply != nil {
		a.Reply, a.QueueID = reply.String(), queueID(reply.Text())
	}
	return a
}

// connect dials addr within connectTimeout.
func connect(ctx context.Context, d Deps, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	return d.Dial(ctx, "tcp", addr)
}

// fail completes a with f, the reply of its SMTP error and the TLS.
func (ss *session) fail(a Attempt, f *failure) Attempt {
	a.Result = f.result
	a.Error = ss.log.Redactor()(smtp.Redact(f.err.Error(), ss.s.Password))
	var se *smtp.Error
	if errors.As(f.err, &se) {
		a.Reply = ss.log.Redactor()(se.Reply.String())
	}
	a.TLS = tlsEvidence(ss.c.TLS(), ss.verify)
	return a
}

// open runs the session up to the MAIL command: implicit TLS, greeting,
// EHLO, STARTTLS and EHLO again.
func (ss *session) open() *failure {
	c := ss.c
	if ss.h.tls == TLSImplicit {
		if err := c.Handshake(ss.cfg); err != nil {
			return &failure{TLSFailed, err}
		}
	}
	if _, err := c.Greeting(); err != nil {
		return &failure{SMTPFailed, err}
	}
	if err := c.Hello(ss.s.HELO.EHLO()); err != nil {
		return &failure{SMTPFailed, err}
	}
	if c.TLS() != nil || ss.h.tls == TLSNone {
		return nil
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		if ss.h.tls.mandatory() {
			c.Quit()
			return &failure{NoTLS, errors.New("the server does not offer STARTTLS, and TLS is required")}
		}
		return nil
	}
	if err := c.StartTLS(ss.cfg); err != nil {
		return &failure{TLSFailed, err}
	}
	if err := c.Hello(ss.s.HELO.EHLO()); err != nil {
		return &failure{SMTPFailed, err}
	}
	return nil
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
		return nil, &failure{replyResult(err), err}
	}
	if err := ss.c.Rcpt(s.To.String()); err != nil {
		return nil, &failure{replyResult(err), err}
	}
	if !s.Deliver {
		return nil, nil
	}
	msg, err := testMessage(s, d.Now())
	if err != nil {
		return nil, &failure{SMTPFailed, err}
	}
	r, err := ss.c.Data(msg)
	if err != nil {
		return nil, &failure{replyResult(err), err}
	}
	return &r, nil
}

// authenticate sends the credentials, but only over TLS (unless
// AllowPlaintextAuth) with a certificate that verifies (unless Insecure).
func (ss *session) authenticate() *failure {
	s, c := ss.s, ss.c
	switch {
	case c.TLS() == nil && !s.AllowPlaintextAuth:
		return &failure{AuthRefused, errors.New("not sending credentials over an unencrypted connection (--allow-plaintext-auth to override)")}
	case c.TLS() != nil && !ss.verify.ok && !s.Insecure:
		return &failure{AuthRefused, fmt.Errorf("not sending credentials: the certificate of %s does not verify (%s); --ca-file for a private CA, or --insecure-skip-verify", ss.h.host, ss.verify.err)}
	}
	if err := c.Auth(s.User, s.Password); err != nil {
		return &failure{AuthFailed, err} // 535 and any other refusal of the credentials
	}
	return nil
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

// RelayProbe is the open-relay probe: one session, and the addresses it
// used.
type RelayProbe struct {
	From, To names.Address
	Attempt  Attempt
}

// ProbeRelay tries to relay through s.RelayCheck from an outside sender
// to an outside recipient (s.From and s.To when given), without
// authentication. An accepted RCPT TO means an open relay; DATA is never
// sent.
func ProbeRelay(ctx context.Context, d Deps, s *Send) RelayProbe {
	host, _, err := net.SplitHostPort(s.RelayCheck)
	if err != nil {
		host = s.RelayCheck
	}
	d = d.withDefaults()
	probe := *s
	probe.User, probe.Deliver = "", false
	probe.From = cmp.Or(s.From, names.Address{Local: "preflight-relay-check", Domain: "example.com"})
	probe.To = cmp.Or(s.To, names.Address{Local: "preflight-relay-check", Domain: "example.net"})
	a := attempt(ctx, d, &probe, hop{path: "relay-check", host: host, addr: s.RelayCheck, tls: TLSOpportunistic})
	return RelayProbe{From: probe.From, To: probe.To, Attempt: a}
}
