package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// findingLines is each finding as "id severity path", with its attempts
// as "  path step result reply" lines under it.
func findingLines(fs []report.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %s %s\n", f.ID, f.Severity, f.Path)
		for _, a := range f.Attempts {
			fmt.Fprintf(&b, "  %s %s %s %s\n", a.Path, a.Step, a.Result, a.Reply)
		}
	}
	return b.String()
}

// Each finding of a send says which path it is about, and carries the
// attempts it reports, each with the step it ended at and the reply.
func TestSendPaths(t *testing.T) {
	env := recipientEnv(t)
	refusing := smtptest.Start(t, smtptest.Options{RcptError: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "IP listed"}})
	mx := smtptest.Start(t, smtptest.Options{Local: []string{"example.test"}})
	// A receiver whose Spamhaus queries are refused refuses everyone.
	noDNSBL := smtptest.Start(t, smtptest.Options{RcptError: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Rejected: listed at zen.spamhaus.org (127.255.255.254)"}})
	relay := smtptest.Start(t, smtptest.Options{Open: true})
	users := map[string]string{"me@example.org": "right-password-123"}
	authRelay := smtptest.Start(t, smtptest.Options{Users: users, InsecureAuth: true})
	otherRelay := smtptest.Start(t, smtptest.Options{Users: map[string]string{"me@example.org": "other-password-456"}, InsecureAuth: true})
	to := names.MustAddress("user@example.test")
	relayTo := func(addrs ...string) []delivery.Relay {
		var out []delivery.Relay
		for i, a := range addrs {
			out = append(out, delivery.Relay{Addr: a, Priority: i, TLS: delivery.TLSNone, Enabled: true})
		}
		return out
	}
	tests := []struct {
		name string
		s    delivery.Send
		want string
	}{
		{"direct, accepted", delivery.Send{Path: "direct", To: to, Port: port(mx.Addr)},
			"send.accepted pass direct\n  direct RCPT TO accepted 250 2.0.0 I'll make sure <user@example.test> gets this\nsend.no_starttls info direct\n"},
		{"direct, refused at RCPT", delivery.Send{Path: "direct", To: to, Port: port(refusing.Addr)},
			"send.rejected fail direct\n  direct RCPT TO rejected 550 5.7.1 IP listed\nsend.no_starttls info direct\n"},
		{"direct, TLS required and not offered", delivery.Send{Path: "direct", To: to, Port: port(mx.Addr), TLS: delivery.TLSRequired},
			"send.no_starttls fail direct\n  direct STARTTLS no_starttls the server does not offer STARTTLS, and TLS is required\n"},
		{"direct, null MX", delivery.Send{Path: "direct", To: names.MustAddress("user@null.example.test"), Port: port(mx.Addr)},
			"send.recipient_cannot_receive error direct\n  direct DNS recipient_cannot_receive null.example.test has a null MX (RFC 7505): it accepts no mail\n"},
		{"auto: direct refused, the relay accepts", delivery.Send{Path: "auto", To: to, Port: port(refusing.Addr), Relays: relayTo(relay.Addr)},
			"send.direct_failed fail direct\n  direct RCPT TO rejected 550 5.7.1 IP listed\nsend.accepted pass relay\n  relay RCPT TO accepted 250 2.0.0 I'll make sure <user@example.test> gets this\nsend.no_starttls info relay\n"},
		{"auto: direct refused, the relay dead: the relay's own failure, the direct refusal on direct", delivery.Send{Path: "auto", To: to, Port: port(refusing.Addr), Relays: relayTo("127.0.0.1:1")},
			"send.direct_failed fail direct\n  direct RCPT TO rejected 550 5.7.1 IP listed\nsend.connect_failed fail relay\n  relay connect connect_failed dial tcp 127.0.0.1:1: connect: connection refused\n"},
		// The receiver's setup, not the sender's: could not check, with
		// or without a fallback (acceptance pass of #17).
		{"direct, refused by a receiver whose blocklist queries fail", delivery.Send{Path: "direct", To: to, Port: port(noDNSBL.Addr)},
			"send.rejected error direct\n  direct RCPT TO rejected 554 5.7.1 Rejected: listed at zen.spamhaus.org (127.255.255.254)\nsend.no_starttls info direct\n"},
		{"auto: the same refusal, the relay accepts", delivery.Send{Path: "auto", To: to, Port: port(noDNSBL.Addr), Relays: relayTo(relay.Addr)},
			"send.direct_failed error direct\n  direct RCPT TO rejected 554 5.7.1 Rejected: listed at zen.spamhaus.org (127.255.255.254)\nsend.accepted pass relay\n  relay RCPT TO accepted 250 2.0.0 I'll make sure <user@example.test> gets this\nsend.no_starttls info relay\n"},
		{"relay only", delivery.Send{Path: "relay", To: to, Relays: relayTo(relay.Addr)},
			"send.accepted pass relay\n  relay RCPT TO accepted 250 2.0.0 I'll make sure <user@example.test> gets this\nsend.no_starttls info relay\n"},
		{"relays: a dead one, then one that refuses the password, then one that accepts", delivery.Send{Path: "relay", To: to, Relays: relayTo("127.0.0.1:1", authRelay.Addr, otherRelay.Addr),
			User: "me@example.org", Password: "other-password-456", AllowPlaintextAuth: true},
			"send.auth_failed warn relay\nsend.accepted pass relay\n  relay connect connect_failed dial tcp 127.0.0.1:1: connect: connection refused\n" +
				"  relay AUTH auth_failed 535 5.7.8 authentication failed\n  relay RCPT TO accepted 250 2.0.0 I'll make sure <user@example.test> gets this\nsend.no_starttls info relay\n"},
	}
	for _, tt := range tests {
		s := tt.s
		s.From, s.HELO = names.MustAddress("sender@example.org"), names.MustHost("client.example.org")
		fs := SendCheck(context.Background(), env, Target{Send: &s})
		if got := findingLines(fs); got != tt.want {
			t.Errorf("%s:\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}
