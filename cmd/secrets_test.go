package cmd

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// TestSecretsNeverPrinted runs every command path that takes a password
// — send and check --send-to, from an env var and from a file, AUTH
// accepted and refused, TLS verified and not, plaintext refused — in
// every format with --verbose, and greps everything printed for the
// password and its base64 forms (alone, and in a SASL PLAIN response).
func TestSecretsNeverPrinted(t *testing.T) {
	noLeaks(t)
	const user, pass = "me@example.org", "Correct-Horse-9876"
	ca := smtptest.NewCA(t)
	users := map[string]string{user: pass}
	relay := smtptest.Start(t, smtptest.Options{Users: users, TLS: ca.ServerTLS(t, "127.0.0.1")})
	plain := smtptest.Start(t, smtptest.Options{Users: users, InsecureAuth: true})
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca.PEM, 0o644)
	passFile := filepath.Join(dir, "pass")
	os.WriteFile(passFile, []byte(pass+"\n"), 0o600)
	wrongFile := filepath.Join(dir, "wrong")
	os.WriteFile(wrongFile, []byte(pass+"-wrong\n"), 0o600)

	forbidden := []string{
		pass,
		base64.StdEncoding.EncodeToString([]byte(pass)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass)),
		base64.StdEncoding.EncodeToString([]byte(user + "\x00" + user + "\x00" + pass)),
	}
	getenv := func(k string) string {
		switch k {
		case "SMTP_PASSWORD":
			return pass
		case loopbackOnlyEnv:
			return "1"
		}
		return ""
	}
	sendArgs := []string{"send", "--from", user, "--to", "friend@example.net", "--helo", "client.example.org", "--path", "relay", "--auth-user", user}
	cases := [][]string{
		append(sendArgs, "--relay", relay.Addr, "--password-env", "SMTP_PASSWORD", "--ca-file", caFile),
		append(sendArgs, "--relay", relay.Addr, "--password-file", passFile, "--ca-file", caFile, "--deliver"),
		append(sendArgs, "--relay", relay.Addr, "--password-file", wrongFile, "--ca-file", caFile),
		append(sendArgs, "--relay", relay.Addr, "--password-env", "SMTP_PASSWORD"),                           // unverified: refused
		append(sendArgs, "--relay", relay.Addr, "--password-env", "SMTP_PASSWORD", "--insecure-skip-verify"), // unverified: allowed
		append(sendArgs, "--relay", plain.Addr, "--tls", "none", "--password-env", "SMTP_PASSWORD"),          // plaintext: refused
		append(sendArgs, "--relay", plain.Addr, "--tls", "none", "--password-env", "SMTP_PASSWORD", "--allow-plaintext-auth"),
		{"check", "example.test", "--ip", "203.0.113.5", "--offline", "--send-to", "friend@example.net", "--mail-from", user,
			"--path", "relay", "--relay", relay.Addr, "--auth-user", user, "--password-file", passFile, "--ca-file", caFile},
		{"check", "example.test", "--ip", "203.0.113.5", "--offline", "--send-to", "friend@example.net", "--mail-from", user,
			"--path", "auto", "--relay", relay.Addr, "--auth-user", user, "--password-file", wrongFile, "--ca-file", caFile, "--port", "1"},
	}
	ran := 0
	for _, args := range cases {
		for _, format := range []string{"text", "json", "github"} {
			var out, errb strings.Builder
			full := append(append([]string{}, args...), "--format", format, "--verbose")
			Run(context.Background(), full, Streams{Out: &out, Err: &errb, Getenv: getenv})
			ran++
			all := out.String() + errb.String()
			for _, secret := range forbidden {
				if strings.Contains(all, secret) {
					t.Errorf("%q printed a secret form %q:\n%s", strings.Join(full, " "), secret, all)
				}
			}
			if format == "json" {
				validateOutput(t, strings.Join(full, " "), out.String())
			}
		}
	}
	if got := relay.Authenticated(); len(got) == 0 {
		t.Error("no run authenticated: the test proves nothing")
	}
	t.Logf("%d runs, no secret printed", ran)
}
