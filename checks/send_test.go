package checks

import (
	"context"
	"encoding/json"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/profiles"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// The mechanics of the send (MX order, relays, TLS, fallback) are tested
// in package delivery; these tests are about the findings.

// recipientEnv: example.test's MX (and a null-MX domain) resolve to
// loopback, from zone text.
func recipientEnv(t *testing.T) Env {
	return zoneEnv(t, `
$ORIGIN example.test.
@     SOA ns hm 1 1 1 1 1
@     MX  10 mx
mx    A   127.0.0.1
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
	plain := smtptest.Start(t, smtptest.Options{Local: []string{"example.test"}})
	withTLS := smtptest.Start(t, smtptest.Options{Local: []string{"example.test"}, TLS: ca.ServerTLS(t, "mx.example.test")})
	refusing := smtptest.Start(t, smtptest.Options{RcptError: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "IP listed on a blocklist"}})
	deferring := smtptest.Start(t, smtptest.Options{RcptError: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted"}})
	noUser := smtptest.Start(t, smtptest.Options{RcptError: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}})
	env := recipientEnv(t)
	tests := []struct {
		name string
		s    delivery.Send
		want []string
	}{
		{"probe, no TLS", delivery.Send{To: names.MustAddress("user@example.test"), Port: port(plain.Addr)}, []string{"send.accepted", "send.no_starttls"}},
		{"TLS verified by the CA", delivery.Send{To: names.MustAddress("user@example.test"), Port: port(withTLS.Addr), RootCAs: ca.Pool}, []string{"send.accepted", "send.tls_ok"}},
		{"TLS unverified", delivery.Send{To: names.MustAddress("user@example.test"), Port: port(withTLS.Addr)}, []string{"send.accepted", "send.tls_unverified"}},
		{"TLS required, not offered", delivery.Send{To: names.MustAddress("user@example.test"), Port: port(plain.Addr), TLS: delivery.TLSRequired}, []string{"send.no_starttls"}},
		{"null MX", delivery.Send{To: names.MustAddress("user@null.example.test"), Port: port(plain.Addr)}, []string{"send.recipient_cannot_receive"}},
		{"rejected", delivery.Send{To: names.MustAddress("user@example.test"), Port: port(refusing.Addr)}, []string{"send.no_starttls", "send.rejected"}},
		{"deferred", delivery.Send{To: names.MustAddress("user@example.test"), Port: port(deferring.Addr)}, []string{"send.deferred", "send.no_starttls"}},
		// 5.1.x is about the address: not a fail of the sender, and no
		// gateway advice (review of #22, item 7).
		{"no such user", delivery.Send{To: names.MustAddress("user@example.test"), Port: port(noUser.Addr)}, []string{"send.no_starttls", "send.recipient_cannot_receive"}},
		{"connection refused", delivery.Send{To: names.MustAddress("user@example.test"), Port: 1}, []string{"send.connect_failed"}},
	}
	for _, tt := range tests {
		s := tt.s
		s.From, s.HELO, s.Path = names.MustAddress("sender@example.org"), names.MustHost("client.example.org"), "direct"
		fs := SendCheck(context.Background(), env, Target{Send: &s})
		if got := sendIDs(fs); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSendRelays(t *testing.T) {
	env := recipientEnv(t)
	ca := smtptest.NewCA(t)
	users := map[string]string{"me@example.org": "right-password-123"}
	live := smtptest.Start(t, smtptest.Options{Users: users, TLS: ca.ServerTLS(t, "127.0.0.1")})
	plain := smtptest.Start(t, smtptest.Options{Users: users, InsecureAuth: true})
	tests := []struct {
		name   string
		relays []delivery.Relay
		pass   string
		mod    func(*delivery.Send)
		want   []string
	}{
		{"live relay", []delivery.Relay{{Addr: live.Addr, Enabled: true}}, "right-password-123", nil, []string{"send.accepted", "send.tls_ok"}},
		{"wrong password", []delivery.Relay{{Addr: live.Addr, Enabled: true}}, "wrong-password-456", nil, []string{"send.auth_failed"}},
		{"wrong password on every relay", []delivery.Relay{{Addr: live.Addr, Enabled: true}, {Addr: live.Addr, Priority: 1, Enabled: true}}, "wrong-password-456",
			func(s *delivery.Send) { s.Insecure = true }, []string{"send.auth_failed", "send.auth_failed"}},
		{"unverified certificate gets no credentials", []delivery.Relay{{Addr: live.Addr, Enabled: true}}, "right-password-123", func(s *delivery.Send) { s.RootCAs = nil }, []string{"send.tls_unverified"}},
		{"... unless --insecure-skip-verify", []delivery.Relay{{Addr: live.Addr, Enabled: true}}, "right-password-123", func(s *delivery.Send) { s.RootCAs = nil; s.Insecure = true }, []string{"send.accepted", "send.tls_unverified"}},
		{"no credentials in clear", []delivery.Relay{{Addr: plain.Addr, TLS: delivery.TLSNone, Enabled: true}}, "right-password-123", nil, []string{"send.connect_failed"}},
		{"... unless --allow-plaintext-auth", []delivery.Relay{{Addr: plain.Addr, TLS: delivery.TLSNone, Enabled: true}}, "right-password-123", func(s *delivery.Send) { s.AllowPlaintextAuth = true }, []string{"send.accepted", "send.no_starttls"}},
	}
	for _, tt := range tests {
		s := delivery.Send{From: names.MustAddress("me@example.org"), To: names.MustAddress("friend@example.net"), HELO: names.MustHost("client.example.org"), Path: "relay", Relays: tt.relays,
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
			// A gateway the file sets to tls: none is in clear text by
			// the admin's choice: said, at no cost (acceptance pass of #22).
			if f.ID == "send.no_starttls" && (f.Severity != report.Info || !strings.Contains(f.Message, "tls: none")) {
				t.Errorf("%s: %s at %s: %s", tt.name, f.ID, f.Severity, f.Message)
			}
		}
	}
}

// The findings of a send keep their wording and evidence keys: scripts
// read them.
func TestSendFindingEvidence(t *testing.T) {
	ca := smtptest.NewCA(t)
	relay := smtptest.Start(t, smtptest.Options{Users: map[string]string{"me@example.org": "pw-1234"}, TLS: ca.ServerTLS(t, "127.0.0.1")})
	s := delivery.Send{From: names.MustAddress("me@example.org"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"), Path: "auto", Port: 1,
		Relays: []delivery.Relay{{Addr: relay.Addr, Enabled: true}}, User: "me@example.org", Password: "pw-1234", RootCAs: ca.Pool}
	fs := SendCheck(context.Background(), recipientEnv(t), Target{Send: &s})
	f, ok := find(fs, "send.accepted")
	if !ok || !strings.Contains(f.Evidence["fallback_reason"].(string), "connect_failed") {
		t.Fatalf("auto: %v %v", sendIDs(fs), f.Evidence["fallback_reason"])
	}
	want := relay.Addr + " accepted MAIL FROM:<me@example.org> and RCPT TO:<user@example.test> on the relay path; nothing was delivered (probe: QUIT after RCPT TO)." + gatewayHopOnly(delivery.Attempt{Path: "relay"})
	if f.Message != want {
		t.Errorf("message %q, want %q", f.Message, want)
	}
	var ev map[string]json.RawMessage
	json.Unmarshal([]byte(fmtAny(f.Evidence)), &ev)
	var atts []map[string]any
	json.Unmarshal(ev["attempts"], &atts)
	if len(atts) != 2 || len(ev) != 6 || string(ev["host"]) != `"`+relay.Addr+`"` || atts[1]["result"] != "accepted" || atts[1]["tls"] == nil || atts[0]["path"] != "direct" {
		t.Errorf("evidence %s", fmtAny(f.Evidence))
	}
}

// A UTF-8 local part to a server without SMTPUTF8: a finding that says
// so, and no MAIL command on the wire.
func TestSendNoSMTPUTF8(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Local: []string{"example.test"}})
	s := delivery.Send{From: names.MustAddress("jörg@example.com"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"), Path: "direct", Port: port(srv.Addr)}
	fs := SendCheck(context.Background(), recipientEnv(t), Target{Send: &s})
	f, ok := find(fs, "send.smtputf8_unsupported")
	if !ok || f.Severity != report.Error || !strings.Contains(f.Message, "does not offer SMTPUTF8 (RFC 6531), which the address jörg@example.com needs") {
		t.Errorf("findings %v: %q", sendIDs(fs), f.Message)
	}
	if m := srv.Mails(); len(m) != 0 {
		t.Errorf("MAIL sent: %+v", m)
	}
}

func TestSendPort25Blocked(t *testing.T) {
	env := recipientEnv(t)
	env.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: timeoutErr{}}
	}
	s := delivery.Send{From: names.MustAddress("a@example.org"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"), Path: "direct"}
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
	for addr, want := range map[string]string{open.Addr: "send.open_relay", closed.Addr: "send.relay_refused", "127.0.0.1:1": "send.connect_failed"} {
		s := delivery.Send{HELO: names.MustHost("client.example.org"), RelayCheck: addr}
		fs := SendCheck(context.Background(), recipientEnv(t), Target{Send: &s})
		if got := sendIDs(fs); !slices.Equal(got, []string{want}) {
			t.Errorf("%s: %v, want %s", addr, got, want)
		}
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

// Each way a send ends has its own finding, with the severity that says
// whether the sender is at fault (fail), nothing could be concluded
// (error), or another relay took the mail (warn).
func TestSendOutcomes(t *testing.T) {
	ca := smtptest.NewCA(t)
	users := map[string]string{"me@example.org": "right-password-123"}
	live := smtptest.Start(t, smtptest.Options{Users: users, TLS: ca.ServerTLS(t, "127.0.0.1")})
	implicit := smtptest.Start(t, smtptest.Options{Users: users, TLS: ca.ServerTLS(t, "127.0.0.1"), Implicit: true})
	noAuth := smtptest.Start(t, smtptest.Options{TLS: ca.ServerTLS(t, "127.0.0.1")})
	otherCA := smtptest.Start(t, smtptest.Options{Users: users, TLS: smtptest.NewCA(t).ServerTLS(t, "127.0.0.1")})
	relay := func(addrs ...string) []delivery.Relay {
		var out []delivery.Relay
		for i, a := range addrs {
			out = append(out, delivery.Relay{Addr: a, Priority: i, Enabled: true})
		}
		return out
	}
	tests := []struct {
		name string
		s    delivery.Send
		want map[string]report.Severity
	}{
		{"recipient domain not in the zones, offline", delivery.Send{To: names.MustAddress("user@elsewhere.example"), Path: "direct"},
			map[string]report.Severity{"send.dns_error": report.Error}},
		{"recipient domain does not exist", delivery.Send{To: names.MustAddress("user@nx.example.test"), Path: "direct"},
			map[string]report.Severity{"send.recipient_cannot_receive": report.Error}},
		{"null MX", delivery.Send{To: names.MustAddress("user@null.example.test"), Path: "direct"},
			map[string]report.Severity{"send.recipient_cannot_receive": report.Error}},
		{"relay with an unknown CA", delivery.Send{Path: "relay", Relays: relay(live.Addr)},
			map[string]report.Severity{"send.tls_unverified": report.Error}},
		{"unknown CA, then a relay that verifies", delivery.Send{Path: "relay", Relays: relay(otherCA.Addr, live.Addr), RootCAs: ca.Pool},
			map[string]report.Severity{"send.tls_unverified": report.Warn, "send.accepted": report.Pass, "send.tls_ok": report.Pass}},
		{"relay without AUTH", delivery.Send{Path: "relay", Relays: relay(noAuth.Addr), RootCAs: ca.Pool},
			map[string]report.Severity{"send.auth_not_offered": report.Error}},
		{"relay without AUTH, then one with", delivery.Send{Path: "relay", Relays: relay(noAuth.Addr, live.Addr), RootCAs: ca.Pool},
			map[string]report.Severity{"send.auth_not_offered": report.Warn, "send.accepted": report.Pass, "send.tls_ok": report.Pass}},
		{"STARTTLS to an implicit-TLS relay", delivery.Send{Path: "relay", Relays: []delivery.Relay{{Addr: implicit.Addr, TLS: delivery.TLSStartTLS, Enabled: true}}, RootCAs: ca.Pool},
			map[string]report.Severity{"send.tls_failed": report.Fail}},
	}
	for _, tt := range tests {
		s := tt.s
		s.From, s.HELO, s.User, s.Password = names.MustAddress("me@example.org"), names.MustHost("client.example.org"), "me@example.org", "right-password-123"
		if s.To.IsZero() {
			s.To = names.MustAddress("friend@example.net")
		}
		if s.Path == "direct" {
			s.User, s.Password = "", ""
		}
		fs := SendCheck(context.Background(), recipientEnv(t), Target{Send: &s})
		got := map[string]report.Severity{}
		for _, f := range fs {
			got[f.ID] = f.Severity
		}
		if !maps.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestSendRejectionExplained: a refusal the provider table knows names
// the provider and rule in the finding, with the rule's fix (issue #17);
// one it does not know keeps the generic advice. Gmail's words from a
// host that is not Gmail's MX name the rule they are worded like, keep
// its fix, and count for no profile (acceptance pass of #17: the message
// and the providers section agree).
func TestSendRejectionExplained(t *testing.T) {
	gmailReply := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 25},
		Message: "The IP address sending this message does not have a PTR record setup. https://support.google.com/mail/answer/81126 - gsmtp"}
	gmail := smtptest.Start(t, smtptest.Options{RcptError: gmailReply})
	other := smtptest.Start(t, smtptest.Options{RcptError: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 25}, Message: "no PTR"}})
	env := zoneEnv(t, `
$ORIGIN example.test.
@     SOA ns hm 1 1 1 1 1
@     MX  10 mx
mx    A   127.0.0.1
ws    MX  1 aspmx.l.google.com.
`, `
$ORIGIN google.com.
@        SOA ns hm 1 1 1 1 1
aspmx.l  A   127.0.0.1
`)
	for _, c := range []struct {
		name, addr, to, rule, msg string
		ptrFails                  bool // gmail.ptr fails in the gmail profile from the finding alone
	}{
		{"Gmail's MX behind a company domain", gmail.Addr, "user@ws.example.test", "gmail.ptr", "Gmail: Every sending IP has a PTR record", true},
		{"Gmail's words from another host", gmail.Addr, "user@example.test", "", "worded like Gmail's rule gmail.ptr", false},
		{"a reply not in the table", other.Addr, "user@example.test", "", "", false},
	} {
		s := delivery.Send{To: names.MustAddress(c.to), Port: port(c.addr), Path: "direct",
			From: names.MustAddress("sender@example.org"), HELO: names.MustHost("client.example.org")}
		seen := false
		for _, f := range SendCheck(context.Background(), env, Target{Send: &s}) {
			if f.ID != "send.rejected" {
				continue
			}
			seen = true
			rule, _ := f.Evidence["provider_rule"].(string)
			if rule != c.rule || !strings.Contains(f.Message, c.msg) {
				t.Errorf("%s: rule %q, message %q; want %q and %q", c.name, rule, f.Message, c.rule, c.msg)
			}
			if c.msg != "" && !strings.Contains(f.Fix, "preflight rdns") {
				t.Errorf("%s: fix %q does not name the command", c.name, f.Fix)
			}
			// The providers section follows the refusal (review of #17,
			// item 11): Gmail's PTR rule fails from Gmail's refusal,
			// though DNS said nothing of PTRs here; not from another's.
			rep := report.Report{Checks: []report.CheckResult{{ID: "send", Findings: []report.Finding{f}}}}
			for _, p := range profiles.MustLoad().Evaluate([]string{"gmail"}, rep) {
				for _, r := range p.Rules {
					if r.ID == "gmail.ptr" && (r.Status == report.RuleFail) != c.ptrFails {
						t.Errorf("%s: gmail.ptr %s (gmail %s); want fail %v", c.name, r.Status, p.Verdict, c.ptrFails)
					}
				}
			}
		}
		if !seen {
			t.Errorf("%s: no send.rejected", c.name)
		}
	}
}

// TestSendSpamhausQueryRefused: a receiver whose Spamhaus queries are
// refused (an open or public resolver: 127.255.255.254) refuses every
// sender "as listed". The test send says so, as could-not-check, never a
// verdict on the sender (acceptance pass of #17).
func TestSendSpamhausQueryRefused(t *testing.T) {
	for _, msg := range []string{
		"Rejected: 127.0.0.1 listed at zen.spamhaus.org (127.255.255.254)",
		"Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org; Error: open resolver; https://check.spamhaus.org/returnc/pub/172.16.0.1/",
	} {
		srv := smtptest.Start(t, smtptest.Options{RcptError: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: msg}})
		s := delivery.Send{To: names.MustAddress("user@example.test"), Port: port(srv.Addr), Path: "direct",
			From: names.MustAddress("sender@example.org"), HELO: names.MustHost("client.example.org")}
		fs := SendCheck(context.Background(), recipientEnv(t), Target{Send: &s})
		i := slices.IndexFunc(fs, func(f report.Finding) bool { return f.ID == "send.rejected" })
		if i < 0 {
			t.Fatalf("%s: no send.rejected in %v", msg, sendIDs(fs))
		}
		f := fs[i]
		if f.Severity != report.Error || f.Evidence["provider_rule"] != "spamhaus.query_refused" || !strings.Contains(f.Message, "says nothing about the sender") || !strings.Contains(f.Fix, "receiver's postmaster") {
			t.Errorf("%s: %s %s %v: %s / %s", msg, f.ID, f.Severity, f.Evidence["provider_rule"], f.Message, f.Fix)
		}
	}
}
