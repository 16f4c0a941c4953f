package cmd

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// A good sender, as the hostile servers start from.
const hostileBase = `
$ORIGIN test.
@                         SOA  ns hm 1 1 1 1 1
example                   MX   10 mail.example
example                   TXT  "v=spf1 ip4:203.0.113.0/24 -all"
mail.example              A    203.0.113.5
s1._domainkey.example     TXT  "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
_dmarc.example            TXT  "v=DMARC1; p=reject"
2.0.0.127.bl              A    127.0.0.2
`

const hostileReverse = `
$ORIGIN 113.0.203.in-addr.arpa.
@  SOA ns.test. hm.test. 1 1 1 1 1
5  PTR mail.example.test.
`

func cnameChain(n int) string {
	var b strings.Builder
	b.WriteString("$ORIGIN test.\n@ SOA ns hm 1 1 1 1 1\nexample CNAME c1\n*.example CNAME c1\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "c%d CNAME c%d\n", i, i+1)
	}
	fmt.Fprintf(&b, "c%d A 203.0.113.5\nc%d TXT \"v=spf1 -all\"\n", n, n)
	return b.String()
}

func bigTXT() string {
	var b strings.Builder
	b.WriteString(strings.Replace(hostileBase, `example                   TXT  "v=spf1 ip4:203.0.113.0/24 -all"`, "", 1))
	b.WriteString("example TXT ( \"v=spf1 ip4:203.0.113.0/24 \"")
	for range 240 {
		b.WriteString(" \"" + strings.Repeat("x", 250) + "\"")
	}
	b.WriteString(" )\n")
	return b.String()
}

func spfThousand() string {
	var b strings.Builder
	b.WriteString(strings.Replace(hostileBase, `example                   TXT  "v=spf1 ip4:203.0.113.0/24 -all"`, "", 1))
	// example → 10 includes → 10 each → 10 each: 1,110 names.
	inc := func(prefix string) string {
		var s strings.Builder
		s.WriteString("\"v=spf1")
		for i := range 10 {
			fmt.Fprintf(&s, " include:%s%d.spf.test", prefix, i)
		}
		s.WriteString(" -all\"")
		return s.String()
	}
	fmt.Fprintf(&b, "example TXT %s\n", inc("a"))
	for i := range 10 {
		fmt.Fprintf(&b, "a%d.spf TXT %s\n", i, inc(fmt.Sprintf("a%db", i)))
		for j := range 10 {
			fmt.Fprintf(&b, "a%db%d.spf TXT %s\n", i, j, inc(fmt.Sprintf("a%db%dc", i, j)))
			for k := range 10 {
				fmt.Fprintf(&b, "a%db%dc%d.spf TXT \"v=spf1 ip4:198.51.100.%d -all\"\n", i, j, k, k)
			}
		}
	}
	return b.String()
}

// TestHostileDNS: every hostile server of issue 8 against the full
// check. Each run must end within --timeout + 10 %, without a panic,
// with error findings naming what failed (exit 3) — or, where the data
// itself is the problem (a 1,000-name SPF tree), with that finding.
func TestHostileDNS(t *testing.T) {
	noLeaks(t)
	const timeout = 2 * time.Second
	tests := []struct {
		name   string
		zones  []string
		setup  func(*dnstest.Server)
		code   int
		expect string // in the report
	}{
		{"no answer", nil, func(s *dnstest.Server) { s.DropAll(true) }, 3, "no answer within the time limit"},
		{"SERVFAIL", nil, func(s *dnstest.Server) { s.SetRcode("", dns.RcodeServerFailure) }, 3, "SERVFAIL"},
		{"REFUSED", nil, func(s *dnstest.Server) { s.SetRcode("", dns.RcodeRefused) }, 3, "REFUSED"},
		{"truncated UDP, dead TCP", nil, func(s *dnstest.Server) { s.TruncateUDP(true); s.DisableTCP(true) }, 3, "no usable answer"},
		{"CNAME loop", []string{"$ORIGIN test.\n@ SOA ns hm 1 1 1 1 1\nexample CNAME loop\n*.example CNAME loop\nloop CNAME example\n", hostileReverse}, nil, 3, "CNAME loop"},
		{"CNAME chain of 20", []string{cnameChain(20), hostileReverse}, nil, 3, "CNAME chain longer than 10"},
		{"TXT answer of 60 KB", []string{bigTXT(), hostileReverse}, nil, 3, "more than the 16384"},
		{"answer for another question", nil, func(s *dnstest.Server) {
			s.SetHook(func(q, reply *dns.Msg, proto string) []byte {
				reply.Question[0].Name = "other.test."
				b, _ := reply.Pack()
				return b
			})
		}, 3, "no answer within the time limit"},
		{"wrong message ID", nil, func(s *dnstest.Server) {
			s.SetHook(func(q, reply *dns.Msg, proto string) []byte {
				reply.Id = q.Id + 1
				b, _ := reply.Pack()
				return b
			})
		}, 3, "no answer within the time limit"},
		{"compression-pointer loop", nil, func(s *dnstest.Server) {
			s.SetHook(func(q, reply *dns.Msg, proto string) []byte {
				b := make([]byte, 12, 64)
				binary.BigEndian.PutUint16(b[0:], q.Id)
				binary.BigEndian.PutUint16(b[2:], 0x8180) // response, NOERROR
				binary.BigEndian.PutUint16(b[4:], 1)      // one question
				binary.BigEndian.PutUint16(b[6:], 1)      // one answer
				b = append(b, 0xC0, 0x0C, 0, 1, 0, 1)     // its name points at itself
				b = append(b, 0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 5)
				return b
			})
		}, 3, "malformed reply"},
		{"SPF include tree of 1,110 names", []string{spfThousand(), hostileReverse}, nil, 1, "spf.lookup_limit"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			zones := tt.zones
			if zones == nil {
				zones = []string{hostileBase, hostileReverse}
			}
			srv := dnstest.New(t, zones...)
			if tt.setup != nil {
				tt.setup(srv)
			}
			start := time.Now()
			code, stdout, stderr := run(t, "check", "example.test", "--ip", "203.0.113.5", "-s", "s1",
				"--resolver", srv.Addr, "--list", "bl.test", "--treat-as-public", "203.0.113.0/24",
				"--timeout", timeout.String(), "--format", "json")
			elapsed := time.Since(start)
			if elapsed > timeout+timeout/10 {
				t.Errorf("took %v with --timeout %v", elapsed, timeout)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			var rep report.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("no report: %v\n%s", err, stderr)
			}
			if !strings.Contains(stdout, tt.expect) {
				var msgs []string
				for _, f := range rep.Findings() {
					msgs = append(msgs, f.Message)
				}
				t.Errorf("report does not say %q: %s", tt.expect, strings.Join(msgs, "\n"))
			}
			for _, f := range rep.Findings() {
				if strings.HasSuffix(f.ID, ".internal_error") || strings.HasSuffix(f.ID, ".unfinished") {
					t.Errorf("%s: %s", f.ID, f.Message)
				}
			}
		})
	}
}

// TestHostileSMTP: hostile SMTP servers against the test send, through
// the CLI. Each run ends within --timeout + 10 %, without a panic, with
// a report that names the failing step.
func TestHostileSMTP(t *testing.T) {
	noLeaks(t)
	const timeout = 2 * time.Second
	long := strings.Repeat("x", 1<<20)
	var many strings.Builder
	for range 10000 {
		many.WriteString("250-more\r\n")
	}
	many.WriteString("250 end\r\n")
	greetThen := func(after func(c net.Conn, r *bufio.Reader)) func(c net.Conn, r *bufio.Reader) {
		return func(c net.Conn, r *bufio.Reader) {
			c.Write([]byte("220 hi\r\n"))
			after(c, r)
		}
	}
	tests := []struct {
		name   string
		handle func(c net.Conn, r *bufio.Reader)
		expect string
		args   []string
	}{
		{"stall before the greeting", func(c net.Conn, r *bufio.Reader) { io.Copy(io.Discard, r) }, "greeting", nil},
		{"greeting that never ends", func(c net.Conn, r *bufio.Reader) { c.Write([]byte("220 " + long)) }, "longer than 2000", nil},
		{"10,000-line reply", greetThen(func(c net.Conn, r *bufio.Reader) { r.ReadString('\n'); c.Write([]byte(many.String())) }), "more than 200 lines", nil},
		{"invalid reply code", greetThen(func(c net.Conn, r *bufio.Reader) { r.ReadString('\n'); c.Write([]byte("2x0 hello\r\n")) }), "no valid reply code", nil},
		{"TLS handshake failure", greetThen(func(c net.Conn, r *bufio.Reader) {
			r.ReadString('\n')
			c.Write([]byte("250-hi\r\n250 STARTTLS\r\n"))
			r.ReadString('\n')
			c.Write([]byte("220 go\r\n"))
			r.ReadByte()
			c.Write([]byte("not TLS at all\r\n"))
			io.Copy(io.Discard, r)
		}), "TLS handshake", nil},
		{"disconnect in DATA", greetThen(func(c net.Conn, r *bufio.Reader) {
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if strings.HasPrefix(line, "DATA") {
					c.Write([]byte("354 go\r\n"))
					r.ReadString('\n')
					return
				}
				c.Write([]byte("250 ok\r\n"))
			}
		}), "DATA", []string{"--relay-tls", "none"}},
		{"421 at MAIL", greetThen(func(c net.Conn, r *bufio.Reader) {
			r.ReadString('\n')
			c.Write([]byte("250 hi\r\n"))
			r.ReadString('\n')
			c.Write([]byte("421 4.3.2 closing\r\n"))
		}), "421", nil},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			addr := smtptest.Script(t, tt.handle)
			start := time.Now()
			args := append([]string{"send", "--mail-from", "a@example.org", "--to", "b@example.net", "--helo", "client.example.org",
				"--path", "relay", "--relay", addr, "--deliver", "--timeout", timeout.String(), "--format", "json"}, tt.args...)
			_, stdout, stderr := run(t, args...)
			if d := time.Since(start); d > timeout+timeout/10 {
				t.Errorf("took %v with --timeout %v", d, timeout)
			}
			var rep report.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("no report: %v (stderr %q)", err, stderr)
			}
			if !strings.Contains(stdout, tt.expect) {
				t.Errorf("report does not name %q:\n%s", tt.expect, stdout)
			}
			for _, f := range rep.Findings() {
				if strings.HasSuffix(f.ID, ".internal_error") || strings.HasSuffix(f.ID, ".unfinished") {
					t.Errorf("%s: %s", f.ID, f.Message)
				}
			}
			if len(stdout) > 256<<10 {
				t.Errorf("report of %d bytes: the hostile server's output leaked into it", len(stdout))
			}
		})
	}
}

// noLeaks fails the test if goroutines it started outlive it (checked
// after every cleanup, servers included).
func noLeaks(t *testing.T) {
	before := goleak.IgnoreCurrent()
	// Pooled DNS sockets of the run's lookups outlive it by design
	// (closed when idle); close them now.
	t.Cleanup(func() { resolver.CloseIdle(); goleak.VerifyNone(t, before) })
}

// recorder is a scripted SMTP server's record of the lines it read, and
// of its connections.
type recorder struct {
	mu    sync.Mutex
	conns int
	lines []string
}

func (r *recorder) conn() {
	r.mu.Lock()
	r.conns++
	r.mu.Unlock()
}

// read reads one line and records it.
func (r *recorder) read(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err == nil {
		r.mu.Lock()
		r.lines = append(r.lines, strings.TrimRight(line, "\r\n"))
		r.mu.Unlock()
	}
	return line, err
}

func (r *recorder) seen() (int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns, slices.Clone(r.lines)
}

// script answers each command by its first word ("greeting" for the
// greeting, "EHLO/TLS" for EHLO after STARTTLS) until QUIT or a 421;
// upgrade, when set, is called on STARTTLS after the reply and returns
// the conversation's new connection.
func (r *recorder) script(answers map[string]string, upgrade func(net.Conn) net.Conn) func(net.Conn, *bufio.Reader) {
	return func(c net.Conn, br *bufio.Reader) {
		r.conn()
		c.Write([]byte(answers["greeting"]))
		inTLS := false
		for {
			line, err := r.read(br)
			if err != nil {
				return
			}
			word := strings.ToUpper(strings.Fields(line + " x")[0])
			a, ok := answers[word]
			if b, found := answers[word+"/TLS"]; found && inTLS {
				a, ok = b, true
			}
			if !ok {
				a = "250 ok\r\n"
			}
			c.Write([]byte(a))
			switch {
			case word == "QUIT" || strings.HasPrefix(a, "421"):
				return
			case word == "STARTTLS" && upgrade != nil:
				c = upgrade(c)
				br = bufio.NewReader(c)
				inTLS = true
			}
		}
	}
}

// TestSendOutcomes: hostile and misconfigured SMTP peers against the
// test send, through the CLI (issue #13 item 14, issue #12 "Send
// outcomes that name the real cause"): each ends in its own finding,
// severity and exit code, with the reply, within a second where the
// cause is a TLS/plain mismatch.
func TestSendOutcomes(t *testing.T) {
	noLeaks(t)
	ca := smtptest.NewCA(t)
	serverTLS := ca.ServerTLS(t, "127.0.0.1")
	dir := t.TempDir()
	passFile := filepath.Join(dir, "password")
	os.WriteFile(passFile, []byte("a-long-relay-password"), 0o600)
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca.PEM, 0o600)
	upgrade := func(c net.Conn) net.Conn {
		tc := tls.Server(c, serverTLS)
		tc.Handshake()
		return tc
	}
	users := map[string]string{"me@example.org": "a-long-relay-password"}
	implicit := smtptest.Start(t, smtptest.Options{Users: users, TLS: serverTLS, Implicit: true})
	plain := smtptest.Start(t, smtptest.Options{Users: users, InsecureAuth: true})
	unknownCA := smtptest.Start(t, smtptest.Options{Users: users, TLS: smtptest.NewCA(t).ServerTLS(t, "127.0.0.1")})
	auth := []string{"--auth-user", "me@example.org", "--password-file", passFile}
	tests := []struct {
		name     string
		answers  map[string]string // a scripted relay, or
		upgrade  bool              // ... one that does STARTTLS
		addr     string            // a go-smtp relay
		args     []string
		id       string
		severity report.Severity
		code     int
		expect   string
		absent   string // a finding that must not be there
	}{
		{name: "421 at the greeting", answers: map[string]string{"greeting": "421 4.3.2 mx.example.test too busy\r\n"},
			id: "send.deferred", severity: report.Warn, code: 3, expect: "at the greeting (a temporary refusal, perhaps greylisting): 421 4.3.2 mx.example.test too busy",
			absent: "send.no_starttls"},
		{name: "421 at EHLO", answers: map[string]string{"greeting": "220 hi\r\n", "EHLO": "421 4.7.0 try later\r\n"},
			id: "send.deferred", severity: report.Warn, code: 3, expect: "at EHLO (a temporary refusal, perhaps greylisting): 421 4.7.0 try later"},
		{name: "554 at the greeting", answers: map[string]string{"greeting": "554 5.7.1 no SMTP service for you\r\n"},
			id: "send.rejected", severity: report.Fail, code: 1, expect: "at the greeting: 554 5.7.1 no SMTP service for you"},
		{name: "454 to STARTTLS", answers: map[string]string{"greeting": "220 hi\r\n", "EHLO": "250-hi\r\n250 STARTTLS\r\n", "STARTTLS": "454 4.7.0 TLS not available due to local problem\r\n"},
			id: "send.tls_failed", severity: report.Fail, code: 1, expect: "454 4.7.0 TLS not available due to local problem"},
		{name: "AUTH only before STARTTLS", answers: map[string]string{"greeting": "220 hi\r\n", "EHLO": "250-hi\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n", "STARTTLS": "220 go ahead\r\n", "EHLO/TLS": "250-hi\r\n250 8BITMIME\r\n"}, upgrade: true,
			args: append([]string{"--ca-file", caFile}, auth...), id: "send.auth_not_offered", severity: report.Error, code: 3, expect: "offered AUTH PLAIN LOGIN before STARTTLS and no AUTH after it: nothing was sent"},
		{name: "no AUTH at all", answers: map[string]string{"greeting": "220 hi\r\n", "EHLO": "250-hi\r\n250 8BITMIME\r\n"},
			args: append([]string{"--relay-tls", "none", "--allow-plaintext-auth"}, auth...), id: "send.auth_not_offered", severity: report.Error, code: 3, expect: "offers no AUTH on this unencrypted connection"},
		{name: "454 to AUTH", answers: map[string]string{"greeting": "220 hi\r\n", "EHLO": "250-hi\r\n250 AUTH PLAIN\r\n", "AUTH": "454 4.7.0 Temporary authentication failure\r\n"},
			args: append([]string{"--relay-tls", "none", "--allow-plaintext-auth"}, auth...), id: "send.deferred", severity: report.Warn, code: 3, expect: "at AUTH (a temporary refusal, perhaps greylisting): 454 4.7.0 Temporary authentication failure"},
		{name: "STARTTLS client, implicit TLS relay", addr: implicit.Addr, args: append([]string{"--ca-file", caFile}, auth...),
			id: "send.tls_failed", severity: report.Fail, code: 1, expect: "speaks TLS from the first byte"},
		{name: "implicit TLS client, plain relay", addr: plain.Addr, args: append([]string{"--relay-tls", "implicit"}, auth...),
			id: "send.tls_failed", severity: report.Fail, code: 1, expect: "speaks plain SMTP on port"},
		{name: "relay with an unknown CA", addr: unknownCA.Addr, args: auth,
			id: "send.tls_unverified", severity: report.Error, code: 3, expect: "--ca-file"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			rec := &recorder{}
			addr := tt.addr
			if addr == "" {
				var up func(net.Conn) net.Conn
				if tt.upgrade {
					up = upgrade
				}
				addr = smtptest.Script(t, rec.script(maps.Clone(tt.answers), up))
			}
			start := time.Now()
			args := append([]string{"send", "--mail-from", "me@example.org", "--to", "b@example.net", "--helo", "client.example.org",
				"--path", "relay", "--relay", addr, "--timeout", "10s", "--format", "json"}, tt.args...)
			code, stdout, stderr := run(t, args...)
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
			var rep report.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("no report: %v (stderr %q)", err, stderr)
			}
			f, ok := findingByID(rep, tt.id)
			if !ok || f.Severity != tt.severity || code != tt.code || !strings.Contains(f.Message+f.Fix, tt.expect) {
				t.Errorf("exit %d, %s %s %q; want exit %d, %s %s saying %q\n%s", code, f.ID, f.Severity, f.Message, tt.code, tt.id, tt.severity, tt.expect, stdout)
			}
			if _, there := findingByID(rep, tt.absent); tt.absent != "" && there {
				t.Errorf("%s reported: before EHLO nothing is known of it\n%s", tt.absent, stdout)
			}
			if strings.Contains(stdout, "got no answer") {
				t.Errorf("the report says 'got no answer'")
			}
			if _, lines := rec.seen(); slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "AUTH") }) && tt.id != "send.deferred" {
				t.Errorf("credentials sent: %q", lines)
			}
			if tt.addr == unknownCA.Addr && len(unknownCA.Authenticated()) > 0 {
				t.Errorf("credentials sent to a relay whose certificate does not verify")
			}
		})
	}
}

func findingByID(r report.Report, id string) (report.Finding, bool) {
	for _, f := range r.Findings() {
		if f.ID == id {
			return f, true
		}
	}
	return report.Finding{}, false
}

// Issue #13 item 4: CR or LF in --from or --to injected RCPT TO:<victim>
// and DATA into the open-relay probe. Every path that takes an address
// refuses it at the command line (exit 2): the server sees no
// connection, no injected command, no DATA.
func TestAddressInjection(t *testing.T) {
	noLeaks(t)
	rec := &recorder{}
	addr := smtptest.Script(t, rec.script(map[string]string{"greeting": "220 hi\r\n", "DATA": "354 go\r\n"}, nil))
	_, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	zone := filepath.Join(dir, "example.test.zone")
	os.WriteFile(zone, []byte("$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\n@ MX 10 mx\nmx A 127.0.0.1\n"), 0o600)
	for _, bad := range []string{
		"me@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA",
		"me@example.org\nDATA",
		"me@example.org\rDATA",
		"me\r\nDATA\r\n@example.org",
		"me@example.org\x00",
	} {
		for _, args := range [][]string{
			{"send", "--relay-check", addr, "--helo", "client.example.org", "--mail-from", bad},
			{"send", "--relay-check", addr, "--helo", "client.example.org", "--to", bad},
			{"send", "--path", "relay", "--relay", addr, "--relay-tls", "none", "--helo", "client.example.org", "--mail-from", bad, "--to", "b@example.net"},
			{"send", "--path", "relay", "--relay", addr, "--relay-tls", "none", "--helo", "client.example.org", "--mail-from", "me@example.org", "--to", bad},
			{"send", "--port", port, "--zone", zone, "--offline", "--helo", "client.example.org", "--mail-from", bad, "--to", "user@example.test"},
			{"check", "example.test", "--ip", "127.0.0.1", "--send-to", bad, "--port", port, "--zone", zone, "--offline", "--helo", "client.example.org"},
			{"check", "example.test", "--ip", "127.0.0.1", "--mail-from", bad, "--send-to", "user@example.test", "--port", port, "--zone", zone, "--offline", "--helo", "client.example.org"},
		} {
			code, stdout, stderr := run(t, append(args, "--deliver=false")...)
			if code != 2 || stdout != "" || !strings.Contains(stderr, "--") {
				t.Errorf("%q: exit %d, stderr %q; want a usage error (2)", args, code, stderr)
			}
		}
	}
	if conns, lines := rec.seen(); conns != 0 || len(lines) != 0 {
		t.Errorf("the server saw %d connections: %q", conns, lines)
	}
}

// Issue #13 item 11: a domain with 2,000 MX hosts gets at most 10
// connections on the send path, and the report's text says how many
// hosts were left out.
func TestSendManyMXHosts(t *testing.T) {
	noLeaks(t)
	rec := &recorder{}
	addr := smtptest.Script(t, rec.script(map[string]string{"greeting": "421 4.3.2 busy\r\n"}, nil))
	_, port, _ := net.SplitHostPort(addr)
	var zone strings.Builder
	zone.WriteString("$ORIGIN wide.test.\n@ SOA ns hm 1 1 1 1 1\n")
	for i := range 2000 {
		fmt.Fprintf(&zone, "@ MX 10 h%d\nh%d A 127.0.0.1\n", i, i)
	}
	file := filepath.Join(t.TempDir(), "wide.zone")
	os.WriteFile(file, []byte(zone.String()), 0o600)
	_, stdout, stderr := run(t, "send", "--mail-from", "me@example.org", "--to", "user@wide.test", "--helo", "client.example.org",
		"--port", port, "--zone", file, "--offline", "--no-color")
	if conns, _ := rec.seen(); conns != 10 {
		t.Errorf("%d connections, want 10 (stderr %q)", conns, stderr)
	}
	if !strings.Contains(stdout, "wide.test has 2000 MX hosts; the first 10 (by preference) were tried, 1990 left out") {
		t.Errorf("the report does not say hosts were left out:\n%s", stdout)
	}
}
