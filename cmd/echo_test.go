package cmd

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"unicode"

	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// A relay that echoes the AUTH PLAIN line in its 535 reply, with escape
// sequences around it, for user names that put the password at each of
// the three base64 alignments: nothing of the password, and no raw
// control, reaches any format's output or the --verbose trace.
func TestAuthEchoNeverPrinted(t *testing.T) {
	noLeaks(t)
	const pass = "Tr0ub4dor&3-horse-battery"
	addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) {
		c.Write([]byte("220 hi\r\n"))
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimSpace(l)
			switch strings.ToUpper(strings.Fields(l + " x")[0]) {
			case "EHLO":
				c.Write([]byte("250-hi\r\n250 AUTH PLAIN\r\n"))
			case "AUTH":
				c.Write([]byte("535-5.7.8 \x1b]0;pwned\x07\x1b[2J you sent\r\n535 5.7.8 " + l + "\r\n"))
			case "QUIT":
				c.Write([]byte("221 bye\r\n"))
				return
			default:
				c.Write([]byte("250 ok\r\n"))
			}
		}
	})
	env := map[string]string{"SMTP_PASSWORD": pass, loopbackOnlyEnv: "1"}
	zone := recipientZone(t)
	for _, user := range smtptest.EchoUsers {
		forbidden := smtptest.PasswordForms(user, pass)
		for _, format := range []string{"text", "json", "github"} {
			args := []string{"send", "--mail-from", user, "--to", "friend@example.net", "--helo", "client.example.org",
				"--path", "relay", "--relay", addr, "--relay-tls", "none", "--allow-plaintext-auth",
				"--auth-user", user, "--password-env", "SMTP_PASSWORD", "--format", format, "--verbose", "--zone", zone}
			var out, errb strings.Builder
			Run(context.Background(), args, Streams{Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] }})
			all := out.String() + errb.String()
			if !strings.Contains(all, "535") {
				t.Fatalf("%s: the refusal is not reported:\n%s", format, all)
			}
			for _, f := range forbidden {
				if strings.Contains(all, f) {
					t.Errorf("%s, %s: %q printed:\n%s", user, format, f, all)
				}
			}
			for i, r := range all {
				if r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f {
					t.Errorf("%s, %s: raw %U at %d:\n%s", user, format, r, i, all)
					break
				}
			}
			for _, l := range strings.Split(errb.String(), "\n") {
				if strings.HasPrefix(strings.TrimLeftFunc(l, unicode.IsSpace), "::") {
					t.Errorf("%s: a stderr line starts with \"::\": %q", format, l)
				}
			}
		}
	}
}
