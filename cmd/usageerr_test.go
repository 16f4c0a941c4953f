package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Usage errors quote what they were given — paths from a config a pull
// request may change, file names — and go to stderr, which the Actions
// runner reads for workflow commands and splits at CR as well as LF. A
// CR in a config's zone path, or a targets file named "::warning::x",
// let data start a line with "::"; an escape drove the terminal. Each
// stderr line must be data only: no control character, none starting
// with "::".
func TestUsageErrorsAreData(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ci.yaml")
	os.WriteFile(cfg, []byte("target:\n  domain: example.com\n  ips: [192.0.2.1]\nzones: [\"nope\\r::warning::INJECTED\"]\n"), 0o644)
	targets := filepath.Join(dir, "::warning::x")
	os.WriteFile(targets, []byte("bad..example 192.0.2.1\nbad2..example 192.0.2.1\n"), 0o644)
	for _, args := range [][]string{
		{"check", "--config", cfg, "--offline"},
		{"check", "--config", filepath.Join(dir, "\x1b[2J\x1b]0;title\a.yaml"), "--offline"},
		{"check", "--targets", targets, "--offline"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			t.Chdir(dir)
			args := append([]string(nil), args...)
			if args[1] == "--targets" {
				args[2] = "::warning::x" // relative: the line starts with it
			}
			code, _, stderr := run(t, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", code, stderr)
			}
			for _, l := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
				if strings.ContainsFunc(l, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
					t.Errorf("a control character on stderr: %q", l)
				}
				if strings.HasPrefix(strings.TrimSpace(l), "::") {
					t.Errorf("a stderr line starts a workflow command: %q", l)
				}
			}
			if !strings.Contains(stderr, `\x3a:warning::x:1:`) && args[1] == "--targets" {
				t.Errorf("the bad line does not name the file (escaped): %q", stderr)
			}
		})
	}
}

// An error about a send setting of the config is shown at that key's
// line: README's own example config (send.auth_user, the password on the
// command line only) ran without a password as "c.yaml:1: target: needs
// --password-env ...; for example: target: {domain: ...}".
func TestConfigSendErrorAtItsKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("target:\n  domain: example.com\n  ips: [192.0.2.1]\n  helo: mail.example.com\nsend:\n  to: a@example.net\n  auth_user: me@example.com\n"), 0o644)
	code, _, stderr := run(t, "check", "--config", p, "--offline")
	want := p + ":7: send.auth_user: needs --password-env VAR or --password-file FILE"
	if code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, want)
	}
}
