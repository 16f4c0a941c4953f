// Package smtp is the SMTP client of the test send: a small client
// (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954) over any net.Conn that
// keeps a transcript of the conversation and bounds everything a hostile
// server could use against it: time, line length, lines per reply.
//
// Not go-smtp's client: it decides STARTTLS before the greeting
// (NewClientStartTLS), so it cannot do opportunistic STARTTLS on one
// connection, and it gives no transcript of the plaintext after TLS.
package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
)

// Limits on what a server may send. RFC 5321 §4.5.3.1.5 allows reply
// lines of 512 octets; servers in the wild exceed it, so twice the
// command-line limit is accepted. A multiline reply longer than
// MaxReplyLines is an attack or a bug, not an answer.
const (
	MaxLineLen    = 2000
	MaxReplyLines = 200
)

// Timeouts, after RFC 5321 §4.5.3.2 but shorter: a preflight waits for
// a verdict, not for a queue run. The caller's context bounds the whole.
type Timeouts struct {
	Greeting time.Duration // connect to 220
	Command  time.Duration // each command to its reply
	Data     time.Duration // the message body to its reply
}

// DefaultTimeouts are used for zero fields.
var DefaultTimeouts = Timeouts{Greeting: 30 * time.Second, Command: 30 * time.Second, Data: 60 * time.Second}

// Reply is a server reply.
type Reply struct {
	Code     int
	Enhanced string   // "5.7.1", when the server gave one (RFC 3463)
	Lines    []string // text of each line, without the code
}

// Text is the reply's text on one line.
func (r Reply) Text() string { return strings.Join(r.Lines, " ") }

func (r Reply) String() string { return fmt.Sprintf("%d %s", r.Code, r.Text()) }

// Error is a 4xx or 5xx reply to a command.
type Error struct {
	Command string // what was sent ("RCPT TO", "AUTH")
	Reply
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Command, e.Reply) }

// Permanent reports a 5xx reply; 4xx is temporary.
func (e *Error) Permanent() bool { return e.Code >= 500 }

// ProtocolError is a reply that is not SMTP.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "protocol error: " + e.Msg }

// Conn is one SMTP conversation.
type Conn struct {
	ctx      context.Context
	nc       net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	t        Timeouts
	Log      *Transcript
	ext      map[string]string
	tls      *tls.ConnectionState
	stopWait func() bool
	// inAuth is set while AUTH is in progress, from the AUTH command to
	// its final reply, and authPass holds the password meanwhile: server
	// lines read then are masked by maskAuth (auth.go).
	inAuth   bool
	authPass string
}

// New starts a conversation on nc; cancelling ctx closes nc at once.
func New(ctx context.Context, nc net.Conn, t Timeouts, log *Transcript) *Conn {
	if t.Greeting == 0 {
		t.Greeting = DefaultTimeouts.Greeting
	}
	if t.Command == 0 {
		t.Command = DefaultTimeouts.Command
	}
	if t.Data == 0 {
		t.Data = DefaultTimeouts.Data
	}
	if log == nil {
		log = NewTranscript()
	}
	c := &Conn{ctx: ctx, t: t, Log: log}
	c.setConn(nc)
	c.stopWait = context.AfterFunc(ctx, func() { nc.Close() })
	return c
}

func (c *Conn) setConn(nc net.Conn) {
	c.nc = nc
	c.r = bufio.NewReaderSize(nc, 4096)
	c.w = bufio.NewWriter(nc)
}

// Close ends the connection without QUIT.
func (c *Conn) Close() error {
	c.stopWait()
	return c.nc.Close()
}

// deadline is now+d, or the context's deadline if sooner.
func (c *Conn) deadline(d time.Duration) time.Time {
	t := time.Now().Add(d)
	if cd, ok := c.ctx.Deadline(); ok && cd.Before(t) {
		return cd
	}
	return t
}

// Greeting reads the 220 greeting.
func (c *Conn) Greeting() (Reply, error) {
	c.nc.SetDeadline(c.deadline(c.t.Greeting))
	r, err := c.readReply()
	if err != nil {
		return r, c.netErr("greeting", err)
	}
	if r.Code != 220 {
		return r, &Error{Command: "greeting", Reply: r}
	}
	return r, nil
}

// Hello sends EHLO, and HELO when EHLO is refused (RFC 5321 §4.1.4).
func (c *Conn) Hello(name string) error {
	r, err := c.cmd("EHLO", "EHLO "+name)
	if err != nil {
		var se *Error
		if !errors.As(err, &se) || se.Code < 500 {
			return err
		}
		if _, err := c.cmd("HELO", "HELO "+name); err != nil {
			return err
		}
		c.ext = map[string]string{}
		return nil
	}
	c.ext = map[string]string{}
	for _, l := range r.Lines[1:] {
		k, v, _ := strings.Cut(l, " ")
		c.ext[strings.ToUpper(k)] = v
	}
	return nil
}

// Extension reports whether the server offered an EHLO keyword, and its
// parameters.
func (c *Conn) Extension(name string) (bool, string) {
	v, ok := c.ext[strings.ToUpper(name)]
	return ok, v
}

// StartTLS upgrades the connection (RFC 3207). The caller sends EHLO
// again afterwards.
func (c *Conn) StartTLS(cfg *tls.Config) error {
	if _, err := c.cmd("STARTTLS", "STARTTLS"); err != nil {
		return err
	}
	if n := c.r.Buffered(); n > 0 {
		// Bytes after the 220 and before the handshake are either a
		// broken server or an injection attempt (CVE-2011-0411 class):
		// RFC 3207 §5 says to discard them; end the session instead.
		return &ProtocolError{Msg: fmt.Sprintf("the server sent %d octets after its 220 reply to STARTTLS, before TLS started", n)}
	}
	return c.handshake(cfg)
}

// ErrPlainText is the handshake's error when the server answers a TLS
// client hello in plain text: a plain SMTP server where TLS was expected.
var ErrPlainText = errors.New("smtp: the server answered in plain text, not TLS")

// Handshake starts TLS at once (implicit TLS, RFC 8314), before the
// greeting.
func (c *Conn) Handshake(cfg *tls.Config) error { return c.handshake(cfg) }

func (c *Conn) handshake(cfg *tls.Config) error {
	tc := tls.Client(c.nc, cfg)
	tc.SetDeadline(c.deadline(c.t.Command))
	if err := tc.HandshakeContext(c.ctx); err != nil {
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) && rh.Conn != nil {
			// The first octets of the answer are not a TLS record: the
			// server talks plain text here ("220 m" of a greeting).
			err = fmt.Errorf("%w (%q)", ErrPlainText, rh.RecordHeader[:])
		}
		c.Log.note("TLS handshake failed: " + err.Error())
		return fmt.Errorf("TLS handshake: %w", err)
	}
	st := tc.ConnectionState()
	c.tls = &st
	c.Log.note(fmt.Sprintf("TLS %s, %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)))
	c.setConn(tc)
	c.ext = nil
	return nil
}

// TLS returns the TLS state, or nil before TLS.
func (c *Conn) TLS() *tls.ConnectionState { return c.tls }

// Auth authenticates with PLAIN, or LOGIN when only that is offered
// (RFC 4954, RFC 4616). Of the client's side the transcript shows the
// mechanism and "<redacted>" for each line sent; the server's lines, and
// the reply in a returned *Error, are masked as maskAuth says.
func (c *Conn) Auth(user, password string) error {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return fmt.Errorf("%w: the server offers no AUTH", ErrNoAuthMechanism)
	}
	var client sasl.Client
	offered := strings.Fields(strings.ToUpper(mechs))
	switch {
	case slices.Contains(offered, "PLAIN"):
		client = sasl.NewPlainClient("", user, password)
	case slices.Contains(offered, "LOGIN"):
		client = sasl.NewLoginClient(user, password)
	default:
		return fmt.Errorf("%w: the server offers AUTH %s, and only PLAIN and LOGIN are supported", ErrNoAuthMechanism, mechs)
	}
	c.Log.redact(password)
	mech, ir, err := client.Start()
	if err != nil {
		return err
	}
	// What is recorded is built from the mechanism name alone, never
	// from a line that carries credentials.
	line, shown := "AUTH "+mech, "AUTH "+mech
	if ir != nil {
		line += " " + encode(ir)
		shown += " <redacted>"
	}
	c.inAuth, c.authPass = true, password
	defer func() { c.inAuth, c.authPass = false, "" }()
	r, err := c.exchange("AUTH", line, shown)
	for err == nil && r.Code == 334 {
		challenge, derr := base64.StdEncoding.DecodeString(r.Text())
		if derr != nil {
			c.exchange("AUTH", "*", "*")
			return &ProtocolError{Msg: "AUTH challenge is not base64"}
		}
		resp, serr := client.Next(challenge)
		if serr != nil {
			c.exchange("AUTH", "*", "*")
			return serr
		}
		r, err = c.exchange("AUTH", encode(resp), "<redacted>")
	}
	var se *Error
	if errors.As(err, &se) {
		return &Error{Command: se.Command, Reply: c.maskReply(se.Reply)}
	}
	if err != nil {
		return err
	}
	if r.Code != 235 {
		return &Error{Command: "AUTH", Reply: c.maskReply(r)}
	}
	return nil
}

// ErrNoAuthMechanism is Auth's error when the server offers no AUTH, or
// no mechanism this client has: nothing was sent.
var ErrNoAuthMechanism = errors.New("smtp: no AUTH mechanism to use")

// Mail sends MAIL FROM.
//
// With smtputf8 the command carries the SMTPUTF8 parameter (RFC 6531
// §3.4), which an address with a UTF-8 local part needs; it is an error
// when the server did not offer the extension.
func (c *Conn) Mail(from string, smtputf8 bool) error {
	line := "MAIL FROM:<" + from + ">"
	if smtputf8 {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			return ErrNoSMTPUTF8
		}
		line += " SMTPUTF8"
	}
	_, err := c.cmd("MAIL FROM", line)
	return err
}

// ErrNoSMTPUTF8 is Mail's error for an address that needs SMTPUTF8 when
// the server does not offer it.
var ErrNoSMTPUTF8 = errors.New("smtp: the address has a UTF-8 local part, and the server does not offer SMTPUTF8 (RFC 6531)")

// ErrBadArgument is the error for a command argument that would change
// the command: CR, LF or NUL in it, or unbalanced angle brackets.
var ErrBadArgument = errors.New("smtp: a command argument holds CR, LF, NUL or an unbalanced '<' or '>'")

// Rcpt sends RCPT TO.
func (c *Conn) Rcpt(to string) error {
	_, err := c.cmd("RCPT TO", "RCPT TO:<"+to+">")
	return err
}

// Data sends the message and returns the final reply (which usually
// holds the queue ID). Lines are dot-stuffed (RFC 5321 §4.5.2); the
// transcript shows the size, not the message.
func (c *Conn) Data(msg []byte) (Reply, error) {
	if _, err := c.cmd("DATA", "DATA"); err != nil {
		return Reply{}, err
	}
	c.nc.SetDeadline(c.deadline(c.t.Data))
	text := strings.ReplaceAll(string(msg), "\r\n", "\n")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, ".") {
			l = "." + l
		}
		c.w.WriteString(l + "\r\n")
	}
	c.w.WriteString(".\r\n")
	c.Log.add("C", fmt.Sprintf("<message: %d lines, %d octets>", len(lines), len(msg)))
	c.Log.add("C", ".")
	if err := c.w.Flush(); err != nil {
		return Reply{}, c.netErr("DATA", err)
	}
	r, err := c.readReply()
	if err != nil {
		return r, c.netErr("DATA", err)
	}
	if r.Code >= 400 {
		return r, &Error{Command: "DATA", Reply: r}
	}
	return r, nil
}

// Reset sends RSET.
func (c *Conn) Reset() error {
	_, err := c.cmd("RSET", "RSET")
	return err
}

// Quit sends QUIT and closes the connection.
func (c *Conn) Quit() error {
	_, err := c.cmd("QUIT", "QUIT")
	c.Close()
	return err
}

// cmd sends one command line and reads its reply; 4xx and 5xx are
// *Error.
func (c *Conn) cmd(name, line string) (Reply, error) { return c.exchange(name, line, line) }

// exchange is cmd with shown written to the transcript in place of line.
func (c *Conn) exchange(name, line, shown string) (Reply, error) {
	if strings.ContainsAny(line, "\r\n\x00") || strings.Count(line, "<") != strings.Count(line, ">") {
		return Reply{}, fmt.Errorf("%s: %w", name, ErrBadArgument)
	}
	c.nc.SetDeadline(c.deadline(c.t.Command))
	c.Log.add("C", shown)
	if _, err := c.w.WriteString(line + "\r\n"); err != nil {
		return Reply{}, c.netErr(name, err)
	}
	if err := c.w.Flush(); err != nil {
		return Reply{}, c.netErr(name, err)
	}
	r, err := c.readReply()
	if err != nil {
		return r, c.netErr(name, err)
	}
	if r.Code >= 400 {
		return r, &Error{Command: name, Reply: r}
	}
	return r, nil
}

// readReply reads one (multiline) reply within the limits.
func (c *Conn) readReply() (Reply, error) {
	var r Reply
	for n := 0; ; n++ {
		if n == MaxReplyLines {
			return r, &ProtocolError{Msg: fmt.Sprintf("a reply of more than %d lines", MaxReplyLines)}
		}
		line, err := c.readLine()
		if err != nil {
			return r, err
		}
		// shown is the line as the transcript and errors may show it;
		// r keeps the line itself (AUTH decodes its challenges).
		shown := c.maskAuth(line)
		c.Log.add("S", shown)
		if len(line) < 3 {
			return r, &ProtocolError{Msg: fmt.Sprintf("reply line %q is too short", shown)}
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code < 200 || code > 599 {
			return r, &ProtocolError{Msg: fmt.Sprintf("reply line %q has no valid reply code", truncate(shown, 60))}
		}
		if n > 0 && code != r.Code {
			return r, &ProtocolError{Msg: fmt.Sprintf("reply line %q changes the code from %d", truncate(shown, 60), r.Code)}
		}
		r.Code = code
		more := len(line) > 3 && line[3] == '-'
		if len(line) > 3 && line[3] != '-' && line[3] != ' ' {
			return r, &ProtocolError{Msg: fmt.Sprintf("reply line %q: want a space or '-' after the code", truncate(shown, 60))}
		}
		text := ""
		if len(line) > 4 {
			text = line[4:]
		}
		if n == 0 {
			r.Enhanced = enhancedCode(text, code)
		}
		r.Lines = append(r.Lines, text)
		if !more {
			return r, nil
		}
	}
}

// readLine reads a CRLF (or LF) line of at most MaxLineLen octets.
func (c *Conn) readLine() (string, error) {
	var b []byte
	for {
		frag, err := c.r.ReadSlice('\n')
		if len(b)+len(frag) > MaxLineLen+2 {
			return "", &ProtocolError{Msg: fmt.Sprintf("a reply line longer than %d octets", MaxLineLen)}
		}
		b = append(b, frag...)
		switch {
		case err == nil:
			return strings.TrimRight(string(b), "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(b) > 0:
			return "", &ProtocolError{Msg: "connection closed in the middle of a line"}
		default:
			return "", err
		}
	}
}

// netErr names the step at which the connection failed.
func (c *Conn) netErr(step string, err error) error {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", step, err)
	}
	if errors.Is(c.ctx.Err(), context.DeadlineExceeded) {
		// The caller's time for this session ran out: the server did
		// not answer within it.
		return fmt.Errorf("%s: timeout waiting for the server", step)
	}
	if c.ctx.Err() != nil {
		return fmt.Errorf("%s: %w", step, c.ctx.Err())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: timeout waiting for the server", step)
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: the server closed the connection", step)
	}
	return fmt.Errorf("%s: %w", step, err)
}

func enhancedCode(text string, code int) string {
	f, _, _ := strings.Cut(text, " ")
	parts := strings.Split(f, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || parts[0][0] != byte('0'+code/100) {
		return ""
	}
	for _, p := range parts[1:] {
		if _, err := strconv.Atoi(p); err != nil || len(p) > 3 {
			return ""
		}
	}
	return f
}

func encode(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
