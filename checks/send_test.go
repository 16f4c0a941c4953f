package checks

import (
	"bufio"
	"context"
	"encoding/json"
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
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// recipientEnv: example.test's MX (and a null-MX domain) resolve to
// loopback, from zone text.
func recipientEnv(t *testing.T) Env {
	return zoneEnv(t, `
$ORIGIN example.test.
@     SOA ns hm 1 1 1 1 1
@     MX  10 mx
mx    A   127.0.0.1
nomx  A   127.0.0.1
null  MX  0 .
`)
}

func port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

func sendIDs(fs []report.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	slices.Sort(out)
	return out
}

func TestSendDirect(t *testing.T) {
	ca := smtptest.NewCA(t)
	plain := smtptest.Start(t, smtptest.Options{Local: []string{"example.test", "nomx.example.test"}})
	withTLS := smtptest.Start(t, smtptest.Options{Local: []string{"example.test"}, TLS: ca.ServerTLS(t, "mx.example.test")})
	refusing := smtptest.Start(t, smtptest.Options{RcptError: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "IP listed on a blocklist"}})
	deferring := smtptest.Start(t, smtptest.Options{RcptError: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted"}})
	env := recipientEnv(t)
	tests := []struct {
		name string
		s    Send
		want []string
	}{
		{"probe, no TLS", Send{To: names.MustAddress("user@example.test"), Port: port(plain.Addr)}, []string{"send.accepted", "send.no_starttls"}},
		{"TLS verified by the CA", Send{To: names.MustAddress("user@example.test"), Port: port(withTLS.Addr), RootCAs: ca.Pool}, []string{"send.accepted", "send.tls_ok"}},
		{"TLS unverified", Send{To: names.MustAddress("user@example.test"), Port: port(withTLS.Addr)}, []string{"send.accepted", "send.tls_unverified"}},
		{"TLS required, not offered", Send{To: names.MustAddress("user@example.test"), Port: port(plain.Addr), TLS: "required"}, []string{"send.no_starttls"}},
		{"implicit MX", Send{To: names.MustAddress("user@nomx.example.test"), Port: port(plain.Addr)}, []string{"send.accepted", "send.no_starttls"}},
		{"null MX", Send{To: names.MustAddress("user@null.example.test"), Port: port(plain.Addr)}, []string{"send.rejected"}},
		{"rejected", Send{To: names.MustAddress("user@example.test"), Port: port(refusing.Addr)}, []string{"send.no_starttls", "send.rejected"}},
		{"deferred", Send{To: names.MustAddress("user@example.test"), Port: port(deferring.Addr)}, []string{"send.deferred", "send.no_starttls"}},
		{"connection refused", Send{To: names.MustAddress("user@example.test"), Port: 1}, []string{"send.connect_failed"}},
	}
	for _, tt := range tests {
		s := tt.s
		s.From, s.HELO, s.Path = names.MustAddress("sender@example.org"), names.MustHost("client.example.org"), "direct"
		fs := SendCheck(context.Background(), env, Target{Send: &s})
		if got := sendIDs(fs); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if n := len(plain.Messages()) + len(withTLS.Messages()); n != 0 {
		t.Errorf("probes delivered %d messages", n)
	}
}

func TestSendDeliverDKIMSigned(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Local: []string{"example.test"}})
	pemBytes, _ := os.ReadFile("../testdata/lab/keys/ed25519.pem")
	key, err := dkim.LoadPrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	s := Send{From: names.MustAddress("sender@good.example"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"), Path: "direct", Port: port(srv.Addr),
		Deliver: true, DKIMKey: key, DKIMSelector: "ed2026"}
	fs := SendCheck(context.Background(), recipientEnv(t), Target{Send: &s})
	if f, ok := find(fs, "send.accepted"); !ok || !strings.Contains(f.Message, "accepted the test message") {
		t.Fatalf("findings: %v", sendIDs(fs))
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages delivered, want 1", len(msgs))
	}
	for _, h := range []string{"DKIM-Signature: ", "d=good.example", "s=ed2026", "Subject: preflight test ", "Message-ID: <preflight-"} {
		if !strings.Contains(string(msgs[0]), h) {
			t.Errorf("message lacks %q", h)
		}
	}
}

func TestSendRelays(t *testing.T) {
	ca := smtptest.NewCA(t)
	users := map[string]string{"me@example.org": "right-password-123"}
	live := smtptest.Start(t, smtptest.Options{Users: users, TLS: ca.ServerTLS(t, "127.0.0.1")})
	implicit := smtptest.Start(t, smtptest.Options{Users: users, TLS: ca.ServerTLS(t, "127.0.0.1"), Implicit: true})
	plain := smtptest.Start(t, smtptest.Options{Users: users, InsecureAuth: true})
	dead := "127.0.0.1:1"
	env := recipientEnv(t)
	tests := []struct {
		name   string
		relays []Relay
		pass   string
		mod    func(*Send)
		want   []string
	}{
		{"live relay", []Relay{{Addr: live.Addr, Enabled: true}}, "right-password-123", nil, []string{"send.accepted", "send.tls_ok"}},
		{"dead relay first, failover", []Relay{{Addr: dead, Enabled: true}, {Addr: live.Addr, Priority: 1, Enabled: true}}, "right-password-123", nil, []string{"send.accepted", "send.tls_ok"}},
		{"priority order over list order", []Relay{{Addr: live.Addr, Priority: 4, Enabled: true}, {Addr: dead, Priority: 0, Enabled: true}}, "right-password-123", nil, []string{"send.accepted", "send.tls_ok"}},
		{"disabled relay skipped", []Relay{{Addr: dead, Enabled: false}, {Addr: live.Addr, Enabled: true}}, "right-password-123", nil, []string{"send.accepted", "send.tls_ok"}},
		{"implicit TLS", []Relay{{Addr: implicit.Addr, TLS: "implicit", Enabled: true}}, "right-password-123", nil, []string{"send.accepted", "send.tls_ok"}},
		{"wrong password", []Relay{{Addr: live.Addr, Enabled: true}}, "wrong-password-456", nil, []string{"send.auth_failed"}},
		{"wrong password on every relay", []Relay{{Addr: live.Addr, Enabled: true}, {Addr: implicit.Addr, TLS: "implicit", Priority: 1, Enabled: true}}, "wrong-password-456",
			func(s *Send) { s.Insecure = true }, []string{"send.auth_failed", "send.auth_failed"}},
		{"unverified certificate gets no credentials", []Relay{{Addr: live.Addr, Enabled: true}}, "right-password-123", func(s *Send) { s.RootCAs = nil }, []string{"send.connect_failed"}},
		{"... unless --insecure-skip-verify", []Relay{{Addr: live.Addr, Enabled: true}}, "right-password-123", func(s *Send) { s.RootCAs = nil; s.Insecure = true }, []string{"send.accepted", "send.tls_unverified"}},
		{"no credentials in clear", []Relay{{Addr: plain.Addr, TLS: "none", Enabled: true}}, "right-password-123", nil, []string{"send.connect_failed"}},
		{"... unless --allow-plaintext-auth", []Relay{{Addr: plain.Addr, TLS: "none", Enabled: true}}, "right-password-123", func(s *Send) { s.AllowPlaintextAuth = true }, []string{"send.accepted", "send.no_starttls"}},
	}
	for _, tt := range tests {
		s := Send{From: names.MustAddress("me@example.org"), To: names.MustAddress("friend@example.net"), HELO: names.MustHost("client.example.org"), Path: "relay", Relays: tt.relays,
			User: "me@example.org", Password: tt.pass, RootCAs: ca.Pool}
		if tt.mod != nil {
			tt.mod(&s)
		}
		fs := SendCheck(context.Background(), env, Target{Send: &s})
		if got := sendIDs(fs); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
		for _, f := range fs {
			if j := f.Message + f.Fix + fmtEvidence(f); strings.Contains(j, tt.pass) {
				t.Errorf("%s: the password is in finding %s", tt.name, f.ID)
			}
		}
	}
}

func TestSendAutoFallsBack(t *testing.T) {
	ca := smtptest.NewCA(t)
	relay := smtptest.Start(t, smtptest.Options{Users: map[string]string{"me@example.org": "pw-1234"}, TLS: ca.ServerTLS(t, "127.0.0.1")})
	s := Send{From: names.MustAddress("me@example.org"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"), Path: "auto", Port: 1,
		Relays: []Relay{{Addr: relay.Addr, Enabled: true}}, User: "me@example.org", Password: "pw-1234", RootCAs: ca.Pool}
	fs := SendCheck(context.Background(), recipientEnv(t), Target{Send: &s})
	f, ok := find(fs, "send.accepted")
	if !ok || !strings.Contains(f.Evidence["fallback_reason"].(string), "connect_failed") {
		t.Errorf("auto: %v %v", sendIDs(fs), f.Evidence["fallback_reason"])
	}
}

func TestSendPort25Blocked(t *testing.T) {
	env := recipientEnv(t)
	env.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: timeoutErr{}}
	}
	s := Send{From: names.MustAddress("a@example.org"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"), Path: "direct"}
	fs := SendCheck(context.Background(), env, Target{Send: &s})
	if got := sendIDs(fs); !slices.Equal(got, []string{"send.port25_blocked"}) {
		t.Errorf("got %v", got)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestRelayCheck(t *testing.T) {
	open := smtptest.Start(t, smtptest.Options{Open: true})
	closed := smtptest.Start(t, smtptest.Options{Local: []string{"example.test"}})
	for addr, want := range map[string]string{open.Addr: "send.open_relay", closed.Addr: "send.relay_refused"} {
		s := Send{HELO: names.MustHost("client.example.org"), RelayCheck: addr}
		fs := SendCheck(context.Background(), Env{}, Target{Send: &s})
		if got := sendIDs(fs); !slices.Equal(got, []string{want}) {
			t.Errorf("%s: %v, want %s", addr, got, want)
		}
	}
	if len(open.Messages()) != 0 {
		t.Error("the open-relay probe sent DATA")
	}
}

// A stalling server cannot hold the send past its context.
func TestSendStallEndsWithContext(t *testing.T) {
	addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) { r.ReadString(0) })
	s := Send{From: names.MustAddress("a@example.org"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"), Path: "relay", Relays: []Relay{{Addr: addr, Enabled: true}}}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	fs := SendCheck(ctx, recipientEnv(t), Target{Send: &s})
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	if _, ok := find(fs, "send.connect_failed"); !ok {
		t.Errorf("got %v", sendIDs(fs))
	}
}

func fmtEvidence(f report.Finding) string {
	var b strings.Builder
	for k, v := range f.Evidence {
		b.WriteString(k)
		b.WriteString(strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(fmtAny(v), "\n", " "), "\t", " ")))
	}
	return b.String()
}

func fmtAny(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
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
