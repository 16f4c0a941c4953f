package cmd

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/preflight-mail/preflight/report"
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
		}), "DATA", []string{"--tls", "none"}},
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
			args := append([]string{"send", "--from", "a@example.org", "--to", "b@example.net", "--helo", "client.example.org",
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
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}
