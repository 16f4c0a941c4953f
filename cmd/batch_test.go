package cmd

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// TestTestSendFilesReadOnce checks that the password, CA and relays
// files of check --send-to are read for the first target only: the
// next targets get a copy of that send with their own sender and HELO,
// even once the files are gone.
func TestTestSendFilesReadOnce(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"pass":        []byte("secret\n"),
		"ca.pem":      smtptest.NewCA(t).PEM,
		"relays.yaml": []byte("relays:\n  - host: 127.0.0.1:2525\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	o := &checkOptions{globalOptions: &globalOptions{streams: Streams{Getenv: func(string) string { return "" }}}}
	o.send = sendOptions{to: "friend@example.net", path: "relay", probe: true, user: "me@example.org",
		passwordFile: filepath.Join(dir, "pass"), caFile: filepath.Join(dir, "ca.pem"), relaysFile: filepath.Join(dir, "relays.yaml")}

	first, err := o.target(context.Background(), configTarget{Domain: "a.example", IPs: []string{"203.0.113.5"}, HELO: "mail.a.example"})
	if err != nil {
		t.Fatal(err)
	}
	for name := range files {
		os.Remove(filepath.Join(dir, name))
	}
	second, err := o.target(context.Background(), configTarget{Domain: "b.example", IPs: []string{"203.0.113.6"}, HELO: "mail.b.example"})
	if err != nil {
		t.Fatalf("second target read the files again: %v", err)
	}
	for _, c := range []struct{ got, want string }{
		{first.Send.From.String(), "postmaster@a.example"},
		{first.Send.HELO.String(), "mail.a.example"},
		{second.Send.From.String(), "postmaster@b.example"},
		{second.Send.HELO.String(), "mail.b.example"},
		{second.Send.Password, "secret"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if len(second.Send.Relays) != 1 || second.Send.RootCAs == nil {
		t.Errorf("second target's send lost the relays file or the CA file: %+v", second.Send)
	}
}
