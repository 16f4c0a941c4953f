package cmd

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/resolver/dnstest"
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
	sendArgs := []string{"send", "--mail-from", user, "--to", "friend@example.net", "--helo", "client.example.org", "--path", "relay", "--auth-user", user, "--zone", recipientZone(t)}
	cases := [][]string{
		append(sendArgs, "--relay", relay.Addr, "--password-env", "SMTP_PASSWORD", "--ca-file", caFile),
		append(sendArgs, "--relay", relay.Addr, "--password-file", passFile, "--ca-file", caFile, "--deliver"),
		append(sendArgs, "--relay", relay.Addr, "--password-file", wrongFile, "--ca-file", caFile),
		append(sendArgs, "--relay", relay.Addr, "--password-env", "SMTP_PASSWORD"),                           // unverified: refused
		append(sendArgs, "--relay", relay.Addr, "--password-env", "SMTP_PASSWORD", "--insecure-skip-verify"), // unverified: allowed
		append(sendArgs, "--relay", plain.Addr, "--relay-tls", "none", "--password-env", "SMTP_PASSWORD"),    // plaintext: refused
		append(sendArgs, "--relay", plain.Addr, "--relay-tls", "none", "--password-env", "SMTP_PASSWORD", "--allow-plaintext-auth"),
		{"check", "example.test", "--ip", "203.0.113.5", "--offline", "--send-to", "friend@example.net", "--mail-from", user,
			"--path", "relay", "--relay", relay.Addr, "--auth-user", user, "--password-file", passFile, "--ca-file", caFile, "--zone", recipientZone(t)},
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

// recipientZone is a zone file in which friend@example.net can receive
// mail, for the tests that send to it: the relay path asks the
// recipient's MX first (a gateway would bounce mail for a domain that
// cannot receive), and that question must not go to the machine's
// resolver.
func recipientZone(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "example.net.zone")
	zone := "$ORIGIN example.net.\n@ SOA ns hm 1 1 1 1 1\n@ MX 10 mx\nmx A 192.0.2.25\n"
	if err := os.WriteFile(path, []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// dqsZones are a hostile DNS server's answers for Spamhaus DQS names:
// every ZEN name a CNAME chain longer than the resolver follows, every
// DBL name a loop, through names that carry the key (in both cases, as
// a server may answer). With listed, the ZEN names answer instead, and
// the target is listed with a TXT record quoting the key.
func dqsZones(key string, listed bool) []string {
	up := strings.ToUpper(key)
	var zen strings.Builder
	fmt.Fprintf(&zen, "$ORIGIN %s.zen.dq.spamhaus.net.\n@ SOA ns.test. hm.test. 1 1 1 1 1\n", key)
	if listed {
		fmt.Fprintf(&zen, "2.0.0.127 A 127.0.0.2\n5.113.0.203 A 127.0.0.2\n5.113.0.203 TXT \"listed: see https://check.example/%s/203.0.113.5\"\n", up)
	} else {
		zen.WriteString("* CNAME c1\n")
		for i := 1; i < 15; i++ {
			fmt.Fprintf(&zen, "c%d CNAME c%d.%s.zen.dq.spamhaus.net.\n", i, i+1, up)
		}
	}
	dbl := fmt.Sprintf("$ORIGIN %s.dbl.dq.spamhaus.net.\n@ SOA ns.test. hm.test. 1 1 1 1 1\n* CNAME loop1\nloop1 CNAME loop2.%s.dbl.dq.spamhaus.net.\nloop2 CNAME loop1\n", key, up)
	return []string{zen.String(), dbl, hostileBase, hostileReverse}
}

// TestDQSKeyNeverPrinted runs every command path that queries the
// Spamhaus lists — rbl, ip, check, check --targets, check --config —
// with the DQS key from the environment, --spamhaus-key-file and the
// config file, in every format with --verbose, against a hostile server
// answering the DQS names with CNAME chains and loops through names
// carrying the key, and against one that lists the target with a TXT
// record quoting it. Nothing printed may hold the key, in any case
// (issue #13 item 5).
func TestDQSKeyNeverPrinted(t *testing.T) {
	noLeaks(t)
	const key = "k3yS3cretDQS0123456789abcd"
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "dqs.key")
	os.WriteFile(keyFile, []byte(key+"\n"), 0o600)
	targets := filepath.Join(dir, "targets.txt")
	os.WriteFile(targets, []byte("example.test 203.0.113.5 mail.example.test s1\n"), 0o644)

	var said strings.Builder // what the runs said about the lists, to prove they got there
	ran := 0
	for _, listed := range []bool{false, true} {
		srv := dnstest.New(t, dqsZones(key, listed)...)
		config := filepath.Join(dir, fmt.Sprintf("preflight-%v.yaml", listed))
		os.WriteFile(config, fmt.Appendf(nil, "target: {domain: example.test, ips: [203.0.113.5], selectors: [s1]}\nresolvers: [%q]\nspamhaus_key_file: %s\ntreat_as_public: [203.0.113.0/24]\ntimeout: 5s\n", srv.Addr, keyFile), 0o644)
		withServer := func(args ...string) []string {
			if args[0] != "rbl" {
				args = append(args, "--treat-as-public", "203.0.113.0/24")
			}
			return append(args, "--resolver", srv.Addr, "--timeout", "5s")
		}
		cases := []struct {
			args   []string
			envKey bool
			batch  bool // JSON lines only
		}{
			{withServer("rbl", "203.0.113.5", "example.test"), true, false},
			{withServer("rbl", "203.0.113.5", "mail.example.test", "--spamhaus-key-file", keyFile), false, false},
			{withServer("ip", "203.0.113.5"), true, false},
			{withServer("check", "example.test", "--ip", "203.0.113.5", "-s", "s1", "--helo", "mail.example.test"), true, false},
			{withServer("check", "example.test", "--ip", "203.0.113.5", "-s", "s1", "--spamhaus-key-file", keyFile), false, false},
			{withServer("check", "--targets", targets, "--spamhaus-key-file", keyFile), false, true},
			{withServer("check", "--targets", targets), true, true},
			{[]string{"check", "--config", config}, false, false},
		}
		for _, c := range cases {
			formats := []string{"text", "json", "github"}
			if c.batch {
				formats = []string{"json"}
			}
			for _, format := range formats {
				full := append(append([]string{}, c.args...), "--format", format, "--verbose")
				getenv := func(k string) string {
					if k == spamhausKeyEnv && c.envKey {
						return key
					}
					return ""
				}
				var out, errb strings.Builder
				code := Run(context.Background(), full, Streams{Out: &out, Err: &errb, Getenv: getenv})
				ran++
				all := out.String() + errb.String()
				if code == 2 {
					t.Errorf("%q: usage error: %s", strings.Join(full, " "), errb.String())
				}
				if strings.Contains(strings.ToLower(all), strings.ToLower(key)) {
					t.Errorf("%q printed the DQS key:\n%s", strings.Join(full, " "), all)
				}
				if format == "json" {
					validateOutput(t, strings.Join(full, " "), out.String())
				}
				said.WriteString(all)
			}
		}
	}
	for _, want := range []string{"CNAME loop", "CNAME chain longer", "<key>.zen.dq.spamhaus.net", "<key>.dbl.dq.spamhaus.net", "rbl.listed", "check.example/<key>/"} {
		if !strings.Contains(said.String(), want) {
			t.Errorf("no run said %q: the test proves less than it claims", want)
		}
	}
	t.Logf("%d runs, the key never printed", ran)
}
