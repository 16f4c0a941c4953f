package delivery

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/preflight-mail/preflight/dkim"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/resolver"
	smtpc "github.com/preflight-mail/preflight/smtp"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// recipientDeps: example.test's MX (and a null-MX domain) resolve to
// loopback, from zone text.
func recipientDeps(t *testing.T) Deps {
	t.Helper()
	z, err := resolver.ParseZone(strings.NewReader(`
$ORIGIN example.test.
@     SOA ns hm 1 1 1 1 1
@     MX  10 mx
mx    A   127.0.0.1
nomx  A   127.0.0.1
null  MX  0 .
two   MX  10 mx
two   MX  20 mx2
mx2   A   127.0.0.1
gone  MX  10 nohost
gone  MX  20 nohost2
txt   TXT "no MX, no address"
`), "test.zone")
	if err != nil {
		t.Fatal(err)
	}
	o, err := resolver.NewOverlay(z)
	if err != nil {
		t.Fatal(err)
	}
	return Deps{DNS: resolver.New(resolver.Config{Overlay: o, Offline: true}), DialHost: dialAddr, Trace: t.Logf}
}

// dialAddr connects to host (an address in these tests) at port.
func dialAddr(ctx context.Context, network, host string, port int) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort(host, strconv.Itoa(port)))
}

func port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// results lists the attempts as "host result".
func results(atts []Attempt) []string {
	var out []string
	for _, a := range atts {
		out = append(out, a.Host+" "+string(a.Result))
	}
	return out
}

func sender() Send {
	return Send{From: names.MustAddress("me@example.org"), HELO: names.MustHost("client.example.org")}
}

func TestDirect(t *testing.T) {
	ca := smtptest.NewCA(t)
	plain := smtptest.Start(t, smtptest.Options{Local: []string{"example.test", "nomx.example.test", "two.example.test"}})
	withTLS := smtptest.Start(t, smtptest.Options{Local: []string{"example.test"}, TLS: ca.ServerTLS(t, "mx.example.test")})
	refusing := smtptest.Start(t, smtptest.Options{RcptError: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "IP listed on a blocklist"}})
	deferring := smtptest.Start(t, smtptest.Options{RcptError: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted"}})
	d := recipientDeps(t)
	tests := []struct {
		name, to string
		port     int
		tls      TLSMode
		roots    bool
		want     []string
		verified bool
	}{
		{"probe, no TLS", "user@example.test", port(plain.Addr), TLSDefault, false, []string{"mx.example.test accepted"}, false},
		{"TLS verified by the CA", "user@example.test", port(withTLS.Addr), TLSDefault, true, []string{"mx.example.test accepted"}, true},
		{"TLS unverified", "user@example.test", port(withTLS.Addr), TLSDefault, false, []string{"mx.example.test accepted"}, false},
		{"TLS required, not offered", "user@example.test", port(plain.Addr), TLSRequired, false, []string{"mx.example.test no_starttls"}, false},
		{"TLS none, offered", "user@example.test", port(withTLS.Addr), TLSNone, false, []string{"mx.example.test accepted"}, false},
		{"starttls is a relay mode: direct stays opportunistic", "user@example.test", port(plain.Addr), TLSStartTLS, false, []string{"mx.example.test accepted"}, false},
		{"implicit MX", "user@nomx.example.test", port(plain.Addr), TLSDefault, false, []string{"nomx.example.test accepted"}, false},
		{"null MX", "user@null.example.test", port(plain.Addr), TLSDefault, false, []string{"null.example.test recipient_cannot_receive"}, false},
		{"MX in preference order", "user@two.example.test", port(plain.Addr), TLSDefault, false, []string{"mx.example.test accepted"}, false},
		{"rejected is final", "user@two.example.test", port(refusing.Addr), TLSDefault, false, []string{"mx.example.test rejected"}, false},
		{"deferred tries the next MX", "user@two.example.test", port(deferring.Addr), TLSDefault, false, []string{"mx.example.test deferred", "mx2.example.test deferred"}, false},
		{"connection refused", "user@example.test", 1, TLSDefault, false, []string{"mx.example.test connect_failed"}, false},
	}
	for _, tt := range tests {
		s := sender()
		s.To, s.Port, s.TLS, s.Path = names.MustAddress(tt.to), tt.port, tt.tls, "direct"
		if tt.roots {
			s.RootCAs = ca.Pool
		}
		o := Run(context.Background(), d, &s)
		atts, fallback := o.Attempts, fallbackString(o)
		if got := results(atts); !slices.Equal(got, tt.want) || fallback != "" {
			t.Errorf("%s: %v %q, want %v", tt.name, got, fallback, tt.want)
		}
		last := atts[len(atts)-1]
		if verified := last.TLS != nil && last.TLS.Verified; verified != tt.verified {
			t.Errorf("%s: TLS %+v, want verified %v", tt.name, last.TLS, tt.verified)
		}
	}
	if n := len(plain.Messages()) + len(withTLS.Messages()); n != 0 {
		t.Errorf("probes delivered %d messages", n)
	}
}

func TestRelays(t *testing.T) {
	ca := smtptest.NewCA(t)
	users := map[string]string{"me@example.org": "right-password-123"}
	live := smtptest.Start(t, smtptest.Options{Users: users, TLS: ca.ServerTLS(t, "127.0.0.1")})
	implicit := smtptest.Start(t, smtptest.Options{Users: users, TLS: ca.ServerTLS(t, "127.0.0.1"), Implicit: true})
	plain := smtptest.Start(t, smtptest.Options{Users: users, InsecureAuth: true})
	dead := "127.0.0.1:1"
	tests := []struct {
		name   string
		relays []Relay
		pass   string
		mod    func(*Send)
		want   []string
	}{
		{"live relay", []Relay{{Addr: live.Addr, Enabled: true}}, "right-password-123", nil, []string{live.Addr + " accepted"}},
		{"dead relay first, failover", []Relay{{Addr: dead, Enabled: true}, {Addr: live.Addr, Priority: 1, Enabled: true}}, "right-password-123", nil, []string{dead + " connect_failed", live.Addr + " accepted"}},
		{"priority order over list order", []Relay{{Addr: live.Addr, Priority: 4, Enabled: true}, {Addr: dead, Priority: 0, Enabled: true}}, "right-password-123", nil, []string{dead + " connect_failed", live.Addr + " accepted"}},
		{"disabled relay skipped", []Relay{{Addr: dead, Enabled: false}, {Addr: live.Addr, Enabled: true}}, "right-password-123", nil, []string{live.Addr + " accepted"}},
		{"no enabled relay", []Relay{{Addr: live.Addr}}, "right-password-123", nil, []string{" connect_failed"}},
		{"implicit TLS", []Relay{{Addr: implicit.Addr, TLS: TLSImplicit, Enabled: true}}, "right-password-123", nil, []string{implicit.Addr + " accepted"}},
		{"wrong password, next relay", []Relay{{Addr: live.Addr, Enabled: true}, {Addr: implicit.Addr, TLS: TLSImplicit, Priority: 1, Enabled: true}}, "wrong-password-456",
			nil, []string{live.Addr + " auth_failed", implicit.Addr + " auth_failed"}},
		{"unverified certificate gets no credentials", []Relay{{Addr: live.Addr, Enabled: true}}, "right-password-123", func(s *Send) { s.RootCAs = nil }, []string{live.Addr + " auth_not_attempted"}},
		{"... unless Insecure", []Relay{{Addr: live.Addr, Enabled: true}}, "right-password-123", func(s *Send) { s.RootCAs = nil; s.Insecure = true }, []string{live.Addr + " accepted"}},
		{"STARTTLS required by default", []Relay{{Addr: plain.Addr, Enabled: true}}, "right-password-123", nil, []string{plain.Addr + " no_starttls"}},
		{"no credentials in clear", []Relay{{Addr: plain.Addr, TLS: TLSNone, Enabled: true}}, "right-password-123", nil, []string{plain.Addr + " auth_not_attempted"}},
		{"... unless AllowPlaintextAuth", []Relay{{Addr: plain.Addr, TLS: TLSNone, Enabled: true}}, "right-password-123", func(s *Send) { s.AllowPlaintextAuth = true }, []string{plain.Addr + " accepted"}},
	}
	for _, tt := range tests {
		s := sender()
		s.To, s.Path, s.Relays, s.User, s.Password, s.RootCAs = names.MustAddress("friend@example.net"), "relay", tt.relays, "me@example.org", tt.pass, ca.Pool
		if tt.mod != nil {
			tt.mod(&s)
		}
		atts := Run(context.Background(), recipientDeps(t), &s).Attempts
		if got := results(atts); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
		for _, a := range atts {
			if strings.Contains(a.Error+a.Reply+strings.Join(transcript(a), "\n"), tt.pass) {
				t.Errorf("%s: the password is in the attempt with %s", tt.name, a.Host)
			}
		}
	}
}

func transcript(a Attempt) []string {
	var out []string
	for _, l := range a.Transcript {
		out = append(out, l.Dir+": "+l.Text)
	}
	return out
}

func TestAutoFallsBack(t *testing.T) {
	ca := smtptest.NewCA(t)
	relay := smtptest.Start(t, smtptest.Options{Users: map[string]string{"me@example.org": "pw-1234"}, TLS: ca.ServerTLS(t, "127.0.0.1")})
	s := sender()
	s.To, s.Path, s.Port = names.MustAddress("user@example.test"), "auto", 1
	s.Relays, s.User, s.Password, s.RootCAs = []Relay{{Addr: relay.Addr, Enabled: true}}, "me@example.org", "pw-1234", ca.Pool
	o := Run(context.Background(), recipientDeps(t), &s)
	atts, fallback := o.Attempts, fallbackString(o)
	if got, want := results(atts), []string{"mx.example.test connect_failed", relay.Addr + " accepted"}; !slices.Equal(got, want) {
		t.Errorf("attempts %v, want %v", got, want)
	}
	if !strings.Contains(fallback, "connect_failed") {
		t.Errorf("fallback %q, want the direct path's result", fallback)
	}
}

func TestPort25Blocked(t *testing.T) {
	d := recipientDeps(t)
	d.DialHost = func(ctx context.Context, network, host string, port int) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: timeoutErr{}}
	}
	for _, tt := range []struct {
		port int
		want bool
	}{{0, true}, {25, true}, {2525, false}} {
		s := sender()
		s.To, s.Path, s.Port = names.MustAddress("user@example.test"), "direct", tt.port
		atts := Run(context.Background(), d, &s).Attempts
		if got := Port25Blocked(&s, atts); got != tt.want {
			t.Errorf("port %d: blocked %v, want %v (%v)", tt.port, got, tt.want, results(atts))
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestDeliverDKIMSigned(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Local: []string{"example.test"}})
	pemBytes, _ := os.ReadFile("../testdata/lab/keys/ed25519.pem")
	key, err := dkim.LoadPrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	s := Send{From: names.MustAddress("sender@good.example"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"), Path: "direct", Port: port(srv.Addr),
		Deliver: true, DKIMKey: key, DKIMSelector: "ed2026"}
	d := recipientDeps(t)
	d.Now = func() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }
	atts := Run(context.Background(), d, &s).Attempts
	if a := Decisive(atts); a.Result != Accepted || !strings.HasPrefix(a.Reply, "250 ") {
		t.Fatalf("attempts: %v", results(atts))
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages delivered, want 1", len(msgs))
	}
	for _, h := range []string{"DKIM-Signature: ", "d=good.example", "s=ed2026", "Subject: preflight test ", "Message-ID: <preflight-", "Date: Sun, 22 Nov 2026 10:00:00 +0000"} {
		if !strings.Contains(string(msgs[0]), h) {
			t.Errorf("message lacks %q", h)
		}
	}
}

func TestProbeRelay(t *testing.T) {
	open := smtptest.Start(t, smtptest.Options{Open: true})
	closed := smtptest.Start(t, smtptest.Options{Local: []string{"example.test"}})
	for addr, want := range map[string]Result{open.Addr: Accepted, closed.Addr: Rejected} {
		s := Send{HELO: names.MustHost("client.example.org"), RelayCheck: addr, User: "me", Password: "pw-1234"}
		p := ProbeRelay(context.Background(), recipientDeps(t), &s)
		if p.Attempt.Result != want || p.From.String() != "postmaster@client.example.org" || p.To.String() != "preflight-relay-check@example.net" {
			t.Errorf("%s: %s from %s to %s, want %s", addr, p.Attempt.Result, p.From, p.To, want)
		}
		if slices.ContainsFunc(transcript(p.Attempt), func(l string) bool { return strings.Contains(l, "AUTH") }) {
			t.Errorf("%s: the probe authenticated", addr)
		}
	}
	if len(open.Messages()) != 0 {
		t.Error("the open-relay probe sent DATA")
	}
}

// A stalling server cannot hold the send past its context.
func TestStallEndsWithContext(t *testing.T) {
	addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) { r.ReadString(0) })
	s := sender()
	s.To, s.Path, s.Relays = names.MustAddress("user@example.test"), "relay", []Relay{{Addr: addr, Enabled: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	atts := Run(ctx, recipientDeps(t), &s).Attempts
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	if got := results(atts); !slices.Equal(got, []string{addr + " smtp_failed"}) {
		t.Errorf("got %v", got)
	}
}

func TestShuffleEqualKeepsPreferenceOrder(t *testing.T) {
	mxs := []resolver.MX{{Host: "a", Pref: 10}, {Host: "b", Pref: 10}, {Host: "c", Pref: 10}, {Host: "d", Pref: 20}, {Host: "e", Pref: 30}, {Host: "f", Pref: 30}}
	seen := map[string]bool{}
	for range 200 {
		got := slices.Clone(mxs)
		shuffleEqual(got)
		for i := 1; i < len(got); i++ {
			if got[i].Pref < got[i-1].Pref {
				t.Fatalf("preference order broken: %v", got)
			}
		}
		seen[got[0].Host] = true
	}
	if len(seen) != 3 {
		t.Errorf("first host over 200 shuffles: %v, want each of a, b, c", seen)
	}
}

func TestParseTLSMode(t *testing.T) {
	tests := []struct {
		in                      string
		want                    TLSMode
		direct, relay, relay465 TLSMode
		forRelays               bool
	}{
		{"", TLSDefault, TLSOpportunistic, TLSStartTLS, TLSImplicit, true},
		{"opportunistic", TLSOpportunistic, TLSOpportunistic, TLSStartTLS, TLSImplicit, false},
		{"required", TLSRequired, TLSRequired, TLSStartTLS, TLSImplicit, false},
		{"starttls", TLSStartTLS, TLSOpportunistic, TLSStartTLS, TLSStartTLS, true},
		{"implicit", TLSImplicit, TLSOpportunistic, TLSImplicit, TLSImplicit, true},
		{"none", TLSNone, TLSNone, TLSNone, TLSNone, true},
	}
	for _, tt := range tests {
		m, err := ParseTLSMode(tt.in)
		if err != nil || m != tt.want || m.direct() != tt.direct || m.relay(587) != tt.relay || m.relay(465) != tt.relay465 || m.ForRelays() != tt.forRelays || m.String() != tt.in {
			t.Errorf("ParseTLSMode(%q) = %v (direct %v, relay %v, on 465 %v, for relays %v), %v; want %v (%v, %v, %v, %v)",
				tt.in, m, m.direct(), m.relay(587), m.relay(465), m.ForRelays(), err, tt.want, tt.direct, tt.relay, tt.relay465, tt.forRelays)
		}
	}
	for _, in := range []string{"TLS", "Required", "smtps", " none"} {
		if _, err := ParseTLSMode(in); !errors.Is(err, ErrTLSMode) {
			t.Errorf("ParseTLSMode(%q): %v, want ErrTLSMode", in, err)
		}
	}
}

func TestParsePriority(t *testing.T) {
	for in, want := range map[string]int{"highest": 0, "High": 1, "normal": 2, "belownormal": 3, "low": 4,
		"below normal": 3, "Below Normal": 3, "below_normal": 3, "below-normal": 3} { // as the issue and MTAs' settings write it
		if got, err := ParsePriority(in); err != nil || got != want {
			t.Errorf("ParsePriority(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	// Numbers are refused, not mapped (review of #22).
	for _, in := range []string{"urgent", "0", "4", "5", "-1", "2.5", "", "below  normal x", "_"} {
		if _, err := ParsePriority(in); err == nil {
			t.Errorf("ParsePriority(%q): no error", in)
		}
	}
}

// What DNS says about the recipient decides before any connection: no
// usable answer is a DNS error (could not check), a domain that does not
// exist, has a null MX or no MX host with an address cannot receive.
func TestDirectDNS(t *testing.T) {
	d := recipientDeps(t)
	for _, tt := range []struct {
		to       string
		want     []string
		decisive Result
	}{
		{"user@not-in-the-zones.example", []string{"not-in-the-zones.example dns_error"}, DNSFailed},
		{"user@nx.example.test", []string{"nx.example.test recipient_cannot_receive"}, CannotReceive},
		{"user@null.example.test", []string{"null.example.test recipient_cannot_receive"}, CannotReceive},
		{"user@gone.example.test", []string{"nohost.example.test no_address", "nohost2.example.test no_address"}, NoAddress},
		{"user@txt.example.test", []string{"txt.example.test no_address"}, NoAddress},
	} {
		s := sender()
		s.To, s.Path = names.MustAddress(tt.to), "direct"
		atts := Run(context.Background(), d, &s).Attempts
		if got := results(atts); !slices.Equal(got, tt.want) || Decisive(atts).Result != tt.decisive {
			t.Errorf("%s: %v (decisive %s), want %v (%s)", tt.to, got, Decisive(atts).Result, tt.want, tt.decisive)
		}
		if a := Decisive(atts); a.Step != "DNS" || a.Error == "" {
			t.Errorf("%s: step %q, error %q", tt.to, a.Step, a.Error)
		}
	}
}

// Issue #13 item 11: a domain with 2,000 MX hosts gets at most
// resolver.MaxNames of them tried, and the attempts say how many were
// left out.
func TestMXHostsCapped(t *testing.T) {
	var zone strings.Builder
	zone.WriteString("$ORIGIN wide.test.\n@ SOA ns hm 1 1 1 1 1\n")
	for i := range 2000 {
		fmt.Fprintf(&zone, "@ MX 10 h%d\nh%d A 127.0.0.1\n", i, i)
	}
	z, err := resolver.ParseZone(strings.NewReader(zone.String()), "wide.zone")
	if err != nil {
		t.Fatal(err)
	}
	o, _ := resolver.NewOverlay(z)
	var dials atomic.Int64
	d := Deps{DNS: resolver.New(resolver.Config{Overlay: o, Offline: true}), Trace: t.Logf,
		DialHost: func(ctx context.Context, network, host string, port int) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("connection refused")
		}}
	s := sender()
	s.To, s.Path = names.MustAddress("user@wide.test"), "direct"
	atts := Run(context.Background(), d, &s).Attempts
	if n := dials.Load(); n != resolver.MaxNames || len(atts) != resolver.MaxNames {
		t.Errorf("%d connections, %d attempts; want %d", n, len(atts), resolver.MaxNames)
	}
	if want := "wide.test has 2000 MX hosts; the first 10 (by preference) were tried, 1990 left out"; atts[0].Note != want {
		t.Errorf("note %q, want %q", atts[0].Note, want)
	}
}

// Port 465 is implicit TLS unless the mode says otherwise (RFC 8314
// §3.3), and a relay's name is resolved by Deps.DialHost.
func TestRelayPort465(t *testing.T) {
	ca := smtptest.NewCA(t)
	users := map[string]string{"me@example.org": "right-password-123"}
	implicit := smtptest.Start(t, smtptest.Options{Users: users, TLS: ca.ServerTLS(t, "smtps.example.test"), Implicit: true})
	d := recipientDeps(t)
	var dialed []string
	implicitPort := port(implicit.Addr)
	d.DialHost = func(ctx context.Context, network, host string, p int) (net.Conn, error) {
		// Port 465 needs root: the test's name and port stand for the
		// implicit-TLS server's.
		dialed = append(dialed, net.JoinHostPort(host, strconv.Itoa(p)))
		if p == 465 {
			host, p = "127.0.0.1", implicitPort
		}
		return dialAddr(ctx, network, host, p)
	}
	for _, tt := range []struct {
		mode TLSMode
		want Result
	}{{TLSDefault, Accepted}, {TLSImplicit, Accepted}, {TLSStartTLS, TLSFailed}} {
		dialed = nil
		s := sender()
		s.To, s.Path, s.User, s.Password, s.RootCAs = names.MustAddress("friend@example.net"), "relay", "me@example.org", "right-password-123", ca.Pool
		s.Relays = []Relay{{Addr: "smtps.example.test:465", TLS: tt.mode, Enabled: true}}
		start := time.Now()
		atts := Run(context.Background(), d, &s).Attempts
		a := Decisive(atts)
		if a.Result != tt.want || dialed[0] != "smtps.example.test:465" {
			t.Errorf("--tls %q on 465: %s (%s), dialed %v; want %s", tt.mode, a.Result, a.Error, dialed, tt.want)
		}
		if tt.want == Accepted && (a.TLS == nil || !a.TLS.Verified) {
			t.Errorf("--tls %q on 465: TLS %+v, want verified", tt.mode, a.TLS)
		}
		if tt.want == TLSFailed && (time.Since(start) > 1500*time.Millisecond || !strings.Contains(a.Error, "speaks TLS from the first byte")) {
			t.Errorf("--tls starttls on 465: after %v: %q", time.Since(start), a.Error)
		}
	}
}

// A TLS/plain mismatch is found within a second and named: a plain
// client to a TLS server (it never greets in plain text), a TLS client
// to a plain server (it answers the hello with its greeting).
func TestTLSMismatch(t *testing.T) {
	ca := smtptest.NewCA(t)
	implicit := smtptest.Start(t, smtptest.Options{TLS: ca.ServerTLS(t, "127.0.0.1"), Implicit: true})
	plain := smtptest.Start(t, smtptest.Options{})
	for _, tt := range []struct {
		name  string
		relay Relay
		want  string
	}{
		{"STARTTLS client, implicit TLS server", Relay{Addr: implicit.Addr, Enabled: true}, "speaks TLS from the first byte"},
		{"plain client, implicit TLS server", Relay{Addr: implicit.Addr, TLS: TLSNone, Enabled: true}, "speaks TLS from the first byte"},
		{"implicit TLS client, plain server", Relay{Addr: plain.Addr, TLS: TLSImplicit, Enabled: true}, "speaks plain SMTP on port"},
	} {
		s := sender()
		s.To, s.Path, s.Relays = names.MustAddress("friend@example.net"), "relay", []Relay{tt.relay}
		start := time.Now()
		atts := Run(context.Background(), recipientDeps(t), &s).Attempts
		a := Decisive(atts)
		if d := time.Since(start); d > time.Second || a.Result != TLSFailed || !strings.Contains(a.Error, tt.want) {
			t.Errorf("%s: %s after %v: %q; want tls_failed within 1s saying %q", tt.name, a.Result, d, a.Error, tt.want)
		}
	}
}

// Only a refusal to relay at RCPT TO is one; greylisting, a refusal at
// MAIL FROM, and Postfix's sender, client and HELO restrictions applied
// at RCPT TO are not.
func TestRelayRefusal(t *testing.T) {
	for _, tt := range []struct {
		result   Result
		step     string
		code     int
		enhanced string
		text     string
		want     bool
	}{
		{Rejected, "RCPT TO", 554, "5.7.1", "<x@example.net>: Relay access denied", true},                    // Postfix
		{Rejected, "RCPT TO", 550, "5.7.1", "<x@example.net>... Relaying denied", true},                      // Sendmail
		{Rejected, "RCPT TO", 550, "", "relay not permitted", true},                                          // Exim
		{Rejected, "RCPT TO", 550, "5.7.54", "SMTP; Unable to relay recipient in non-accepted domain", true}, // Exchange
		{Rejected, "RCPT TO", 550, "5.7.1", "Message rejected by policy", true},
		{Rejected, "RCPT TO", 554, "5.7.1", "<a@b.example>: Sender address rejected: Access denied", false},
		{Rejected, "RCPT TO", 554, "5.7.1", "<unknown[192.0.2.1]>: Client host rejected: Access denied", false},
		{Rejected, "RCPT TO", 550, "5.1.2", "<x@example.net>: Recipient address rejected: Domain not found", false},
		{Rejected, "RCPT TO", 550, "", "no such user", false},
		{Deferred, "RCPT TO", 450, "4.2.0", "<x@example.net>: Recipient address rejected: Greylisted", false},
		{Rejected, "MAIL FROM", 553, "5.7.1", "sender rejected: relay access denied", false},
		{Accepted, "", 0, "", "", false},
	} {
		a := Attempt{Result: tt.result, Step: tt.step, reply: smtpc.Reply{Code: tt.code, Enhanced: tt.enhanced, Lines: []string{tt.enhanced + " " + tt.text}}}
		if got := relayRefusal(a); got != tt.want {
			t.Errorf("%s at %s %d %s %q: refusal %v, want %v", tt.result, tt.step, tt.code, tt.enhanced, tt.text, got, tt.want)
		}
	}
}

// fallbackString is the fallback decision of o in words; "" for none.
func fallbackString(o Outcome) string {
	if o.Fallback == nil || !o.Fallback.Allowed {
		return ""
	}
	return o.Fallback.String()
}

// A silent MX host gets its share of the time, not all of it: the second
// MX host and the gateway are still tried (review of #22, item 1).
func TestSilentHostLeavesTimeForTheOthers(t *testing.T) {
	var silent atomic.Int32
	addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) { silent.Add(1); r.ReadString(0) })
	gw := smtptest.Start(t, smtptest.Options{Open: true})
	s := sender()
	s.To, s.Port = names.MustAddress("user@two.example.test"), port(addr)
	s.Policy = &Policy{Name: PolicyOnError, FallbackOn: []ErrorClass{ClassConnect}, At: map[string]string{"policy": "r.yaml:1"}}
	s.Relays = []Relay{{Addr: gw.Addr, TLS: TLSNone, Enabled: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	o := Run(ctx, recipientDeps(t), &s)
	got := strings.ReplaceAll(strings.Join(results(o.Attempts), ", "), gw.Addr, "GW")
	if want := "mx.example.test smtp_failed, mx2.example.test smtp_failed, GW accepted"; got != want {
		t.Errorf("attempts %s, want %s", got, want)
	}
	if c := o.Attempts[0].Class; c != ClassConnect {
		t.Errorf("a server that never greets: class %q, want connect", c)
	}
	if n := silent.Load(); n != 2 {
		t.Errorf("the silent server saw %d connections, want 2 (one per MX host, no probe)", n)
	}
}

// When the time is up, the hosts not reached are not tried, never failed,
// and no fallback is made on them (review of #22, item 1).
func TestTimeLimitLeavesHostsNotTried(t *testing.T) {
	gw := smtptest.Start(t, smtptest.Options{Open: true})
	s := sender()
	s.To = names.MustAddress("user@two.example.test")
	s.Policy = &Policy{Name: PolicyOnError, FallbackOn: ErrorClasses, At: map[string]string{"policy": "r.yaml:1"}}
	s.Relays = []Relay{{Addr: gw.Addr, TLS: TLSNone, Enabled: true}}
	ctx, cancel := context.WithCancel(context.Background())
	d := recipientDeps(t)
	cancel()
	o := Run(ctx, d, &s)
	for _, a := range o.Attempts {
		if a.Result != NotTried {
			t.Errorf("attempt %s %s after the time limit, want not_tried", a.Host, a.Result)
		}
	}
	if o.Fallback != nil && o.Fallback.Allowed {
		t.Errorf("fallback %v on hosts never tried", o.Fallback)
	}
	s.Policy, s.Path = nil, "relay"
	o = Run(ctx, d, &s)
	if got := results(o.Attempts); !slices.Equal(got, []string{gw.Addr + " not_tried"}) {
		t.Errorf("relay path after the time limit: %v, want the gateway not tried", got)
	}
	if gw.Conns() != 0 {
		t.Errorf("the gateway saw %d connections", gw.Conns())
	}
}

// The TLS probe of a silent relay is a second connection: the transcript
// says so, whatever it finds (review of #22: a ClientHello that was in
// no attempt and no trace).
func TestTLSProbeIsInTheTranscript(t *testing.T) {
	var conns atomic.Int32
	addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) { conns.Add(1); r.ReadString(0) })
	s := sender()
	s.To, s.Path, s.Relays = names.MustAddress("user@example.test"), "relay", []Relay{{Addr: addr, Enabled: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	atts := Run(ctx, recipientDeps(t), &s).Attempts
	var notes []string
	for _, l := range atts[0].Transcript {
		notes = append(notes, l.Text)
	}
	if n := conns.Load(); n != 2 || !strings.Contains(strings.Join(notes, "\n"), "opening a second connection to "+addr) {
		t.Errorf("%d connections; transcript %q, want the second connection noted", n, notes)
	}
}
