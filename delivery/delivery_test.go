package delivery

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/preflight-mail/preflight/dkim"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/resolver"
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
`), "test.zone")
	if err != nil {
		t.Fatal(err)
	}
	o, err := resolver.NewOverlay(z)
	if err != nil {
		t.Fatal(err)
	}
	return Deps{DNS: resolver.New(resolver.Config{Overlay: o, Offline: true}), Trace: t.Logf}
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
		{"null MX", "user@null.example.test", port(plain.Addr), TLSDefault, false, []string{"null.example.test rejected"}, false},
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
		atts, fallback := Run(context.Background(), d, &s)
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
		atts, _ := Run(context.Background(), recipientDeps(t), &s)
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
	atts, fallback := Run(context.Background(), recipientDeps(t), &s)
	if got, want := results(atts), []string{"mx.example.test connect_failed", relay.Addr + " accepted"}; !slices.Equal(got, want) {
		t.Errorf("attempts %v, want %v", got, want)
	}
	if !strings.Contains(fallback, "connect_failed") {
		t.Errorf("fallback %q, want the direct path's result", fallback)
	}
}

func TestPort25Blocked(t *testing.T) {
	d := recipientDeps(t)
	d.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: timeoutErr{}}
	}
	for _, tt := range []struct {
		port int
		want bool
	}{{0, true}, {25, true}, {2525, false}} {
		s := sender()
		s.To, s.Path, s.Port = names.MustAddress("user@example.test"), "direct", tt.port
		atts, _ := Run(context.Background(), d, &s)
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
	atts, _ := Run(context.Background(), d, &s)
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
		p := ProbeRelay(context.Background(), Deps{}, &s)
		if p.Attempt.Result != want || p.From.String() != "preflight-relay-check@example.com" || p.To.String() != "preflight-relay-check@example.net" {
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
	atts, _ := Run(ctx, recipientDeps(t), &s)
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
		in            string
		want          TLSMode
		direct, relay TLSMode
		forRelays     bool
	}{
		{"", TLSDefault, TLSOpportunistic, TLSStartTLS, true},
		{"opportunistic", TLSOpportunistic, TLSOpportunistic, TLSStartTLS, false},
		{"required", TLSRequired, TLSRequired, TLSStartTLS, false},
		{"starttls", TLSStartTLS, TLSOpportunistic, TLSStartTLS, true},
		{"implicit", TLSImplicit, TLSOpportunistic, TLSImplicit, true},
		{"none", TLSNone, TLSNone, TLSNone, true},
	}
	for _, tt := range tests {
		m, err := ParseTLSMode(tt.in)
		if err != nil || m != tt.want || m.direct() != tt.direct || m.relay() != tt.relay || m.ForRelays() != tt.forRelays || m.String() != tt.in {
			t.Errorf("ParseTLSMode(%q) = %v (direct %v, relay %v, for relays %v), %v; want %v (%v, %v, %v)",
				tt.in, m, m.direct(), m.relay(), m.ForRelays(), err, tt.want, tt.direct, tt.relay, tt.forRelays)
		}
	}
	for _, in := range []string{"TLS", "Required", "smtps", " none"} {
		if _, err := ParseTLSMode(in); !errors.Is(err, ErrTLSMode) {
			t.Errorf("ParseTLSMode(%q): %v, want ErrTLSMode", in, err)
		}
	}
}

func TestParsePriority(t *testing.T) {
	for in, want := range map[string]int{"highest": 0, "High": 1, "normal": 2, "belownormal": 3, "low": 4, "0": 0, "4": 4} {
		if got, err := ParsePriority(in); err != nil || got != want {
			t.Errorf("ParsePriority(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"urgent", "5", "-1", ""} {
		if _, err := ParsePriority(in); err == nil {
			t.Errorf("ParsePriority(%q): no error", in)
		}
	}
}
