package smtp_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/smtp"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// replies runs a scripted server: the greeting, then one reply per line
// the client sends (keyed by the command's first word).
func replies(t *testing.T, greeting string, answer map[string]string) string {
	return smtptest.Script(t, func(c net.Conn, r *bufio.Reader) {
		c.Write([]byte(greeting))
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			word := strings.ToUpper(strings.Fields(line + " x")[0])
			a, ok := answer[word]
			if !ok {
				a = answer["*"]
			}
			c.Write([]byte(a))
			if word == "QUIT" {
				return
			}
		}
	})
}

func dial(t *testing.T, addr string, timeout time.Duration) *smtp.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.New(context.Background(), nc, smtp.Timeouts{Greeting: timeout, Command: timeout, Data: timeout}, nil)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConversation(t *testing.T) {
	addr := replies(t, "220 mx.example ESMTP\r\n", map[string]string{
		"EHLO": "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n",
		"MAIL": "250 2.1.0 Ok\r\n",
		"RCPT": "550 5.7.1 <b@example.net>: Recipient address rejected\r\n",
		"QUIT": "221 2.0.0 Bye\r\n",
	})
	c := dial(t, addr, time.Second)
	if _, err := c.Greeting(); err != nil {
		t.Fatal(err)
	}
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if ok, v := c.Extension("size"); !ok || v != "1000" {
		t.Errorf("SIZE = %v %q", ok, v)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS not offered")
	}
	if err := c.Mail("a@example.com", false); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt("b@example.net")
	var se *smtp.Error
	if !errors.As(err, &se) || !se.Permanent() || se.Code != 550 || se.Enhanced != "5.7.1" {
		t.Errorf("RCPT: %v", err)
	}
	c.Quit()
	got := strings.Join(c.Log.Strings(), "\n")
	for _, want := range []string{"C: EHLO client.example", "S: 250-PIPELINING", "C: RCPT TO:<b@example.net>", "S: 550 5.7.1"} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %q:\n%s", want, got)
		}
	}
}

// Servers that misbehave: every case ends with an error, in time.
func TestHostileServers(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	var many strings.Builder
	for range 10000 {
		many.WriteString("250-more\r\n")
	}
	many.WriteString("250 end\r\n")
	tests := []struct {
		name   string
		handle func(c net.Conn, r *bufio.Reader)
		want   string
	}{
		{"stall before greeting", func(c net.Conn, r *bufio.Reader) { io.Copy(io.Discard, r) }, "timeout"},
		{"endless greeting line", func(c net.Conn, r *bufio.Reader) { c.Write([]byte("220 " + long)) }, "longer than"},
		{"10,000-line reply", func(c net.Conn, r *bufio.Reader) {
			c.Write([]byte("220 hi\r\n"))
			r.ReadString('\n')
			c.Write([]byte(many.String()))
		}, "more than 200 lines"},
		{"invalid reply code", func(c net.Conn, r *bufio.Reader) { c.Write([]byte("hello there\r\n")) }, "no valid reply code"},
		{"code out of range", func(c net.Conn, r *bufio.Reader) { c.Write([]byte("999 what\r\n")) }, "no valid reply code"},
		{"mixed codes", func(c net.Conn, r *bufio.Reader) { c.Write([]byte("220-a\r\n250 b\r\n")) }, "changes the code"},
		{"disconnect mid-line", func(c net.Conn, r *bufio.Reader) { c.Write([]byte("220 partial")) }, "in the middle of a line"},
		{"421 at greeting", func(c net.Conn, r *bufio.Reader) { c.Write([]byte("421 4.3.2 go away\r\n")) }, "421"},
		{"close at once", func(c net.Conn, r *bufio.Reader) {}, "closed the connection"},
	}
	for _, tt := range tests {
		addr := smtptest.Script(t, tt.handle)
		c := dial(t, addr, 300*time.Millisecond)
		start := time.Now()
		_, err := c.Greeting()
		if err == nil {
			err = c.Hello("client.example")
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %v", tt.name, d)
		}
		if n := len(c.Log.Lines()); n > smtp.MaxTranscriptLines+1 {
			t.Errorf("%s: transcript of %d lines", tt.name, n)
		}
	}
}

func TestDisconnectInData(t *testing.T) {
	addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) {
		c.Write([]byte("220 hi\r\n"))
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch {
			case strings.HasPrefix(line, "EHLO"):
				c.Write([]byte("250 hi\r\n"))
			case strings.HasPrefix(line, "DATA"):
				c.Write([]byte("354 go\r\n"))
				r.ReadString('\n')
				return // hang up in the middle of the message
			default:
				c.Write([]byte("250 ok\r\n"))
			}
		}
	})
	c := dial(t, addr, time.Second)
	c.Greeting()
	c.Hello("client.example")
	c.Mail("a@example.com", false)
	c.Rcpt("b@example.net")
	_, err := c.Data([]byte(strings.Repeat("line\r\n", 100000)))
	if err == nil {
		t.Fatal("DATA: no error after the server hung up")
	}
}

func TestContextCancelEndsAtOnce(t *testing.T) {
	addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) { io.Copy(io.Discard, r) })
	nc, _ := net.Dial("tcp", addr)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c := smtp.New(ctx, nc, smtp.Timeouts{Greeting: time.Minute}, nil)
	start := time.Now()
	if _, err := c.Greeting(); err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v with a 100ms context", d)
	}
}

// AUTH LOGIN, scripted: the password never reaches the transcript or
// the error, in any form.
func TestAuthLoginRedacted(t *testing.T) {
	const user, pass = "sender@example.com", "s3cret-Pa55word"
	addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) {
		c.Write([]byte("220 hi\r\n"))
		r.ReadString('\n')
		c.Write([]byte("250-hi\r\n250 AUTH LOGIN\r\n"))
		r.ReadString('\n') // AUTH LOGIN
		c.Write([]byte("334 VXNlcm5hbWU6\r\n"))
		r.ReadString('\n') // user
		c.Write([]byte("334 UGFzc3dvcmQ6\r\n"))
		got, _ := r.ReadString('\n')
		b, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(got))
		// A hostile server echoing the password back in its error.
		c.Write([]byte("535 5.7.8 bad password " + string(b) + " " + strings.TrimSpace(got) + "\r\n"))
	})
	c := dial(t, addr, time.Second)
	c.Greeting()
	c.Hello("client.example")
	err := c.Auth(user, pass)
	if err == nil {
		t.Fatal("AUTH accepted")
	}
	redact := c.Log.Redactor()
	all := strings.Join(c.Log.Strings(), "\n") + "\n" + redact(err.Error())
	for _, secret := range []string{pass, base64.StdEncoding.EncodeToString([]byte(pass))} {
		if strings.Contains(all, secret) {
			t.Errorf("secret %q in the output:\n%s", secret, all)
		}
	}
	if !strings.Contains(all, "C: AUTH LOGIN <redacted>") {
		t.Errorf("transcript:\n%s", all)
	}
}

func TestTLSHandshakeFailure(t *testing.T) {
	addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) {
		c.Write([]byte("220 hi\r\n"))
		r.ReadString('\n')
		c.Write([]byte("250-hi\r\n250 STARTTLS\r\n"))
		r.ReadString('\n')
		c.Write([]byte("220 go ahead\r\n"))
		r.ReadByte() // the client's hello: answer it with garbage
		c.Write([]byte("this is not a TLS server hello\r\n"))
		io.Copy(io.Discard, r)
	})
	c := dial(t, addr, time.Second)
	c.Greeting()
	c.Hello("client.example")
	start := time.Now()
	err := c.StartTLS(&tls.Config{InsecureSkipVerify: true})
	if !errors.Is(err, smtp.ErrPlainText) || !strings.Contains(err.Error(), "TLS handshake") || !strings.Contains(err.Error(), `"this "`) {
		t.Errorf("err = %v, want ErrPlainText with the octets", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// A 421 ("service not available, closing") at every step of a send.
func Test421AtEveryStep(t *testing.T) {
	steps := []string{"EHLO", "MAIL", "RCPT", "DATA", "."}
	for _, step := range steps {
		addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) {
			c.Write([]byte("220 hi\r\n"))
			inData := false
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				word := strings.ToUpper(strings.Fields(line + " x")[0])
				if inData {
					if strings.TrimSpace(line) != "." {
						continue
					}
					word = "."
				}
				if word == step {
					c.Write([]byte("421 4.3.2 shutting down\r\n"))
					return
				}
				switch word {
				case "DATA":
					inData = true
					c.Write([]byte("354 go\r\n"))
				default:
					c.Write([]byte("250 ok\r\n"))
				}
			}
		})
		c := dial(t, addr, time.Second)
		c.Greeting()
		err := c.Hello("client.example")
		if err == nil {
			err = c.Mail("a@example.com", false)
		}
		if err == nil {
			err = c.Rcpt("b@example.net")
		}
		if err == nil {
			_, err = c.Data([]byte("Subject: x\r\n\r\nhi\r\n"))
		}
		var se *smtp.Error
		if !errors.As(err, &se) || se.Code != 421 || se.Permanent() {
			t.Errorf("421 at %s: err = %v", step, err)
		}
	}
}

// Data sent right after "220" to STARTTLS, before the handshake, is an
// injection attempt: the session ends (RFC 3207 §5).
func TestSTARTTLSInjection(t *testing.T) {
	addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) {
		c.Write([]byte("220 hi\r\n"))
		r.ReadString('\n')
		c.Write([]byte("250-hi\r\n250 STARTTLS\r\n"))
		r.ReadString('\n')
		c.Write([]byte("220 go ahead\r\n250 injected\r\n"))
		io.Copy(io.Discard, r)
	})
	c := dial(t, addr, time.Second)
	c.Greeting()
	c.Hello("client.example")
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err == nil || !strings.Contains(err.Error(), "after its 220 reply") {
		t.Errorf("err = %v", err)
	}
}

// AUTH that is not offered, or only with mechanisms this client lacks,
// sends nothing: ErrNoAuthMechanism, and no AUTH line on the wire.
func TestAuthNotOffered(t *testing.T) {
	for _, ehlo := range []string{"250 mx.example\r\n", "250-mx.example\r\n250 AUTH CRAM-MD5 XOAUTH2\r\n"} {
		addr := replies(t, "220 mx.example\r\n", map[string]string{"EHLO": ehlo, "*": "500 what\r\n"})
		c := dial(t, addr, time.Second)
		c.Greeting()
		c.Hello("client.example")
		if err := c.Auth("me@example.org", "secret-password"); !errors.Is(err, smtp.ErrNoAuthMechanism) {
			t.Errorf("EHLO %q: err = %v, want ErrNoAuthMechanism", ehlo, err)
		}
		for _, l := range c.Log.Lines() {
			if strings.HasPrefix(l.Text, "AUTH") {
				t.Errorf("EHLO %q: sent %q", ehlo, l.Text)
			}
		}
	}
}

// Issue #13 item 4: an argument with CR, LF or NUL would inject commands
// (RCPT TO:<victim>, DATA). The client refuses it and nothing of it
// reaches the server.
func TestCommandInjectionRefused(t *testing.T) {
	got := make(chan string, 100)
	addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) {
		c.Write([]byte("220 mx.example\r\n"))
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				close(got)
				return
			}
			got <- strings.TrimRight(line, "\r\n")
			c.Write([]byte("250 ok\r\n"))
		}
	})
	c := dial(t, addr, time.Second)
	c.Greeting()
	c.Hello("client.example")
	for _, bad := range []string{"a@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA", "a@example.org\nDATA", "a@example.org\rDATA", "a@example.org\x00", "a>@example.org"} {
		if err := c.Mail(bad, false); !errors.Is(err, smtp.ErrBadArgument) {
			t.Errorf("Mail(%q) = %v, want ErrBadArgument", bad, err)
		}
		if err := c.Rcpt(bad); !errors.Is(err, smtp.ErrBadArgument) {
			t.Errorf("Rcpt(%q) = %v, want ErrBadArgument", bad, err)
		}
	}
	c.Quit()
	var lines []string
	for l := range got {
		lines = append(lines, l)
	}
	if want := []string{"EHLO client.example", "QUIT"}; strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("the server received %q, want %q", lines, want)
	}
}
