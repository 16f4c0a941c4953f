package checks

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/report"
)

// sendKinds are the send check's findings. A failure blocks the verdict
// of its path (report.Finding.Path): direct delivery, or the relay.
var sendKinds = []report.Kind{
	{ID: "send.rejected", Penalty: report.Penalty{Fail: 35}, Blocks: true},
	{ID: "send.connect_failed", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	{ID: "send.port25_blocked", Penalty: report.Penalty{Fail: 35}, Blocks: true},
	// fail: TLS was required and not offered, so nothing was sent; warn:
	// the mail went in clear text.
	{ID: "send.no_starttls", Penalty: report.Penalty{Fail: 15, Warn: 8}, Blocks: true},
	{ID: "send.tls_unverified", Penalty: report.Penalty{Warn: 3}},
	{ID: "send.deferred", Penalty: report.Penalty{Warn: 5}},
	// warn: refused on one relay, accepted on another (sendPaths).
	{ID: "send.auth_failed", Penalty: report.Penalty{Fail: 15, Warn: 5}, Blocks: true},
	// The auto path fell back to the relays (sendPaths).
	{ID: "send.direct_failed", Penalty: report.Penalty{Fail: 25}, Blocks: true},
	// Only from send --relay-check: a server that relays for anyone is
	// abused and blocklisted within hours; its addresses cannot deliver.
	{ID: "send.open_relay", Penalty: report.Penalty{Fail: 40}, Blocks: true},
	{ID: "send.accepted", Establishes: []report.Fact{report.Accepted}},
	{ID: "send.tls_ok"},
	{ID: "send.relay_refused"},
}

// SendCheck runs the test send of t.Send (or the open-relay probe)
// through package delivery and reports its attempts.
func SendCheck(ctx context.Context, env Env, t Target) []report.Finding {
	s := t.Send
	if s == nil {
		return nil
	}
	deps := delivery.Deps{DNS: env.DNS, Dial: env.Dial, Now: env.Now, Trace: env.Trace}
	if s.RelayCheck != "" {
		p := delivery.ProbeRelay(ctx, deps, s)
		return withAttempts(relayCheckFindings(s, p), []delivery.Attempt{p.Attempt})
	}
	atts, fallback := delivery.Run(ctx, deps, s)
	return sendPaths(s, atts, fallback, sendFindings(s, atts, fallback))
}

// sendFindings turns the attempts into findings: one for each refusal of
// the credentials, one for the decisive attempt, and one for its TLS.
func sendFindings(s *delivery.Send, atts []delivery.Attempt, fallback string) []report.Finding {
	d := delivery.Decisive(atts)
	evidence := map[string]any{"attempts": atts, "to": s.To, "from": s.From, "deliver": s.Deliver}
	if fallback != "" {
		evidence["fallback_reason"] = fallback
	}
	var out []report.Finding
	for _, a := range atts {
		if a.Result == delivery.AuthFailed {
			out = append(out, report.Finding{
				ID: "send.auth_failed", Severity: report.Fail, Subject: a.Host,
				Message: fmt.Sprintf("The relay %s refused the credentials of %s: %s.", a.Host, s.User, a.Error),
				Fix:     "Check the user name and the password (from --password-env or --password-file) with the relay's provider.",
			})
		}
	}
	if d.Result == delivery.AuthFailed && len(out) > 0 {
		// The refusals say it all; keep the attempts with the last.
		out[len(out)-1].Evidence = evidence
		return out
	}
	where := attemptWhere(d)
	out = append(out, decisiveFinding(s, d, where, atts, evidence))
	switch d.Result {
	case delivery.Accepted, delivery.Rejected, delivery.Deferred:
		if d.Addr != "" {
			out = append(out, tlsFinding(d, where))
		}
	}
	return out
}

// attemptWhere names the host of an attempt, with its address when that
// says more.
func attemptWhere(a delivery.Attempt) string {
	if a.Addr != "" && a.Addr != a.Host {
		return a.Host + " (" + a.Addr + ")"
	}
	return a.Host
}

// decisiveFinding reports how the send ended.
func decisiveFinding(s *delivery.Send, d delivery.Attempt, where string, atts []delivery.Attempt, evidence map[string]any) report.Finding {
	f := report.Finding{Subject: s.To.String(), Evidence: evidence}
	switch d.Result {
	case delivery.Accepted:
		f.ID, f.Severity = "send.accepted", report.Pass
		f.Message = acceptedMessage(s, d, where)
		if s.Deliver && d.QueueID != "" {
			evidence["queue_id"] = d.QueueID
		}
	case delivery.Rejected:
		f.ID, f.Severity = "send.rejected", report.Fail
		f.Message = fmt.Sprintf("%s refused the mail for %s: %s.", where, s.To, orDefault(d.Reply, d.Error))
		f.Fix = "Read the refusal: 5.7.x replies usually name the reason (IP reputation, missing PTR, SPF, a blocklist); fix that, or send through a relay."
	case delivery.Deferred:
		f.ID, f.Severity = "send.deferred", report.Warn
		f.Message = fmt.Sprintf("%s deferred the mail for %s (a temporary refusal, perhaps greylisting): %s.", where, s.To, orDefault(d.Reply, d.Error))
		f.Fix = "Try again in a few minutes; if it persists, read the reply."
	case delivery.NoTLS:
		f.ID, f.Severity = "send.no_starttls", report.Fail
		f.Message = fmt.Sprintf("%s does not offer STARTTLS, and TLS was required: nothing was sent.", where)
	default:
		f.ID, f.Severity = "send.connect_failed", report.Fail
		f.Message = fmt.Sprintf("The test send to %s got no answer: %s.", s.To, attemptSummary(atts))
		f.Fix = "Check that the hosts are reachable from here and that the relay settings are right."
		if d.Path == "direct" && delivery.Port25Blocked(s, atts) {
			f.ID = "send.port25_blocked"
			f.Message = fmt.Sprintf("Every connection to port 25 timed out (%s): outbound port 25 looks blocked, as many ISPs and cloud providers do.", attemptSummary(atts))
			f.Fix = "Ask the provider to open outbound port 25 for this server, or send through an authenticated relay (--path relay or auto)."
		}
	}
	return f
}

func acceptedMessage(s *delivery.Send, d delivery.Attempt, where string) string {
	if !s.Deliver {
		return fmt.Sprintf("%s accepted MAIL FROM:<%s> and RCPT TO:<%s> on the %s path; nothing was delivered (probe: QUIT after RCPT TO).", where, s.From, s.To, d.Path)
	}
	m := fmt.Sprintf("%s accepted the test message for %s on the %s path", where, s.To, d.Path)
	if d.QueueID != "" {
		m += " (queue ID " + d.QueueID + ")"
	}
	return m + "."
}

// tlsFinding reports the TLS of the decisive session.
func tlsFinding(a delivery.Attempt, where string) report.Finding {
	if a.TLS == nil {
		return report.Finding{
			ID: "send.no_starttls", Severity: report.Warn, Subject: a.Host,
			Message: fmt.Sprintf("The session with %s was not encrypted: the server did not offer STARTTLS (or TLS was off).", where),
			Fix:     "Mail in clear text can be read on the way; receivers rate it lower. Use a server or relay that offers TLS.",
		}
	}
	ev := map[string]any{"tls": a.TLS}
	if !a.TLS.Verified {
		return report.Finding{
			ID: "send.tls_unverified", Severity: report.Warn, Subject: a.Host, Evidence: ev,
			Message: fmt.Sprintf("%s with %s, but its certificate does not verify: %s.", a.TLS.Version, where, a.TLS.VerifyError),
			Fix:     "Normal for many MX hosts (opportunistic TLS); for your own server or relay, install a certificate for its name.",
		}
	}
	name := a.Host
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	return report.Finding{
		ID: "send.tls_ok", Severity: report.Pass, Subject: a.Host, Evidence: ev,
		Message: fmt.Sprintf("%s with %s (%s), certificate for %s verified, valid until %s.", a.TLS.Version, where, a.TLS.Cipher, name, a.TLS.NotAfter[:10]),
	}
}

func attemptSummary(atts []delivery.Attempt) string {
	var parts []string
	for _, a := range atts {
		where := a.Host
		if a.Addr != "" {
			where = a.Addr
		}
		parts = append(parts, fmt.Sprintf("%s: %s", where, orDefault(a.Error, string(a.Result))))
	}
	return strings.Join(parts, "; ")
}

// relayCheckFindings reports the open-relay probe: accepted is an open
// relay, a refusal is a pass, anything else could not be checked.
func relayCheckFindings(s *delivery.Send, p delivery.RelayProbe) []report.Finding {
	a := p.Attempt
	ev := map[string]any{"attempts": []delivery.Attempt{a}, "from": p.From, "to": p.To}
	switch a.Result {
	case delivery.Accepted:
		return []report.Finding{{
			ID: "send.open_relay", Severity: report.Fail, Subject: s.RelayCheck, Evidence: ev,
			Message: fmt.Sprintf("%s is an open relay: it accepted mail from %s to %s without authentication (DATA was not sent). Spammers find open relays within hours, and blocklists list them.", s.RelayCheck, p.From, p.To),
			Fix:     "Allow relaying only for authenticated users and your own networks (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination).",
		}}
	case delivery.Rejected, delivery.Deferred:
		return []report.Finding{{
			ID: "send.relay_refused", Severity: report.Pass, Subject: s.RelayCheck, Evidence: ev,
			Message: fmt.Sprintf("%s refused to relay from %s to %s without authentication: %s.", s.RelayCheck, p.From, p.To, a.Reply),
		}}
	}
	return []report.Finding{{
		ID: "send.connect_failed", Severity: report.Error, Subject: s.RelayCheck, Evidence: ev,
		Message: fmt.Sprintf("Could not run the open-relay probe against %s: %s.", s.RelayCheck, a.Error),
	}}
}
