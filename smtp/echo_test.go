package smtp_test

import (
	"bufio"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/smtp"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

const echoPass = "Tr0ub4dor&3-horse-battery"

// A relay that echoes what the client sent during AUTH, in every way it
// can: in its final reply, decoded, in a 334 challenge, in a line that is
// not SMTP. Nothing of the password reaches the transcript, the error or
// the reply.
func TestAuthEchoRedacted(t *testing.T) {
	// Each scenario answers after the EHLO; sent are the client's lines
	// of the AUTH exchange so far.
	type scenario struct {
		name string
		mech string
		// answer returns the server's reply to the client's latest AUTH
		// line, and whether the exchange goes on.
		answer func(sent []string) (string, bool)
	}
	decoded := func(l string) string {
		f := strings.Fields(l)
		b, _ := base64.StdEncoding.DecodeString(f[len(f)-1])
		return strings.ReplaceAll(string(b), "\x00", " ")
	}
	scenarios := []scenario{
		{"PLAIN echoed in 535", "PLAIN", func(sent []string) (string, bool) {
			l := sent[0]
			return "535-5.7.8 you sent: " + l + "\r\n535 5.7.8 that is " + decoded(l) + ", " + strings.Fields(l)[2] + "\r\n", false
		}},
		{"PLAIN echoed in 334", "PLAIN", func(sent []string) (string, bool) {
			if len(sent) == 1 {
				return "334 " + base64.StdEncoding.EncodeToString([]byte(sent[0])) + "\r\n", true
			}
			return "501 5.7.0 cancelled " + sent[0] + "\r\n", false
		}},
		{"PLAIN echoed in a bad line", "PLAIN", func(sent []string) (string, bool) {
			return "5x5 " + strings.Fields(sent[0])[2] + "\r\n", false
		}},
		{"LOGIN echoed in 535", "LOGIN", func(sent []string) (string, bool) {
			if len(sent) == 1 {
				return "334 UGFzc3dvcmQ6\r\n", true
			}
			return "535 5.7.8 " + strings.Join(sent, " ") + " means " + decoded(sent[1]) + "\r\n", false
		}},
	}
	for _, sc := range scenarios {
		for _, user := range smtptest.EchoUsers {
			t.Run(sc.name+" "+user, func(t *testing.T) {
				addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) {
					c.Write([]byte("220 hi\r\n"))
					r.ReadString('\n')
					c.Write([]byte("250-hi\r\n250 AUTH " + sc.mech + "\r\n"))
					var sent []string
					for {
						l, err := r.ReadString('\n')
						if err != nil {
							return
						}
						sent = append(sent, strings.TrimSpace(l))
						a, more := sc.answer(sent)
						c.Write([]byte(a))
						if !more {
							return
						}
					}
				})
				c := dial(t, addr, time.Second)
				if _, err := c.Greeting(); err != nil {
					t.Fatal(err)
				}
				if err := c.Hello("client.example"); err != nil {
					t.Fatal(err)
				}
				err := c.Auth(user, echoPass)
				if err == nil {
					t.Fatal("AUTH accepted")
				}
				shown := map[string]string{"error": err.Error()}
				var se *smtp.Error
				if errors.As(err, &se) {
					shown["reply"] = se.Reply.String() + " " + strings.Join(se.Lines, " ")
				}
				var clientLines []string
				for _, l := range c.Log.Lines() {
					shown["transcript"] += l.Text + "\n"
					if l.Dir == "C" && l.Text != "EHLO client.example" {
						clientLines = append(clientLines, l.Text)
					}
				}
				for where, text := range shown {
					for _, form := range smtptest.PasswordForms(user, echoPass) {
						if strings.Contains(text, form) {
							t.Errorf("%s holds %q:\n%s", where, form, text)
						}
					}
				}
				for _, l := range clientLines {
					if l != "AUTH "+sc.mech+" <redacted>" && l != "<redacted>" && l != "*" {
						t.Errorf("client line %q recorded beyond the mechanism", l)
					}
				}
				if len(clientLines) == 0 || clientLines[0] != "AUTH "+sc.mech+" <redacted>" {
					t.Errorf("client lines %q, want AUTH %s <redacted> first", clientLines, sc.mech)
				}
			})
		}
	}
}

// The forms the test looks for do occur where a relay echoes them: the
// trimmed encoding at each alignment is inside the base64 blob of one of
// the user names.
func TestEchoFormsOccur(t *testing.T) {
	for i, user := range smtptest.EchoUsers {
		blob := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + echoPass))
		form := smtptest.PasswordForms(user, echoPass)[2+i]
		if !strings.Contains(blob, form) {
			t.Errorf("alignment %d: %q not in the blob of %q, %s", i, form, user, blob)
		}
		if strings.Contains(blob, base64.StdEncoding.EncodeToString([]byte(echoPass))) != (i == 0) {
			t.Errorf("alignment %d: base64(password) in the blob is %v", i, i == 0)
		}
	}
}
