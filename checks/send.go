package checks

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/mtasts"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/profiles"
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
	{ID: "send.tls_failed", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	{ID: "send.recipient_cannot_receive"},
	{ID: "send.auth_not_offered", Penalty: report.Penalty{Warn: 3}},
	{ID: "send.relay_check_inconclusive"},
	{ID: "send.smtputf8_unsupported"},
	{ID: "send.session_failed"},
	// The recipient's MTA-STS policy in enforce mode forbade every MX
	// session: a compliant MTA does not deliver.
	{ID: "send.mta_sts_refused", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	// The recipient's DNSSEC-secure TLSA records forbade every MX session
	// (no STARTTLS, no match, bogus): a DANE-aware MTA does not deliver.
	{ID: "send.dane_refused", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	// The way the send went and what chose it (the relays file's policy,
	// or --path overriding it); the refused fallback of a failed direct
	// path; a policy that falls back on dns errors (issue #22).
	{ID: "send.route"},
	{ID: "send.fallback_refused"},
	// A warning (it fails --fail-on warn), so it has a warning's cost
	// and help lists it with the warnings, not as no cost.
	{ID: "send.policy_dns_fallback", Penalty: report.Penalty{Warn: 2}},
}

// SendCheck runs the test send of t.Send (or the open-relay probe)
// through package delivery and reports its attempts.
func SendCheck(ctx context.Context, env Env, t Target) []report.Finding {
	s := t.Send
	if s == nil {
		return nil
	}
	deps := delivery.Deps{DNS: env.DNS, DialHost: env.DialHost, Now: env.Now, Trace: env.Trace}
	if s.RelayCheck != "" {
		p := delivery.ProbeRelay(ctx, deps, s)
		return withAttempts(relayCheckFindings(s, p), []delivery.Attempt{p.Attempt})
	}
	stsNote := ""
	if s.Path != "relay" {
		// The direct path applies the recipient's MTA-STS policy, as a
		// compliant MTA does (RFC 8461 §5).
		var fetched *mtasts.Fetched
		if fetched, stsNote = recipientSTS(ctx, env, s); fetched != nil {
			applied := *s
			applied.STS, applied.STSURL = &fetched.Policy, fetched.URL
			s = &applied
		}
	}
	daneNote := ""
	if s.Path != "relay" {
		// And its DANE TLSA records, as a DANE-aware MTA does (RFC 7672).
		hosts, note, mxBogus := recipientDANE(ctx, env, s)
		daneNote = note
		if hosts != nil || mxBogus != "" {
			applied := *s
			applied.DANE, applied.MXBogus = hosts, mxBogus
			s = &applied
		}
	}
	o := delivery.Run(ctx, deps, s)
	atts, fallback := o.Attempts, ""
	judged := atts
	if o.Fallback != nil && o.Fallback.Allowed {
		// After a fallback the findings are the relays'; the direct
		// attempts have send.direct_failed (sendPaths).
		fallback = o.Fallback.String()
		judged = slices.DeleteFunc(slices.Clone(atts), func(a delivery.Attempt) bool { return a.Path == report.PathDirect })
	}
	fs := sendPaths(s, o, sendFindings(s, judged, atts, fallback))
	if s.Path != "relay" {
		for i := range fs {
			if fs[i].Path != report.PathRelay && fs[i].Evidence != nil {
				fs[i].Evidence["mta_sts"] = stsEvidence(s, stsNote)
				fs[i].Evidence["dane"] = daneEvidence(s, daneNote)
				if strings.HasPrefix(stsNote, "no policy applied") && !strings.Contains(fs[i].Message, stsNote) {
					// Said where it is read: a policy the send could
					// not fetch changes what was tested.
					fs[i].Message += " MTA-STS: " + stsNote + "."
				}
			}
		}
	}
	return append(fs, routeFindings(s, o)...)
}

// stsEvidence says which MTA-STS policy the direct path applied.
func stsEvidence(s *delivery.Send, note string) map[string]any {
	if s.STS == nil {
		return map[string]any{"applied": false, "reason": note}
	}
	return map[string]any{"applied": true, "url": s.STSURL, "mode": string(s.STS.Mode), "mx": s.STS.MX[:min(len(s.STS.MX), maxShownPatterns)], "mx_count": len(s.STS.MX)}
}

// sendFindings turns the attempts into findings: one for each relay
// that refused the credentials or was not given them, one for the
// decisive attempt, and one for its TLS. atts are the attempts judged;
// all, every attempt, goes in the evidence.
func sendFindings(s *delivery.Send, atts, all []delivery.Attempt, fallback string) []report.Finding {
	d := delivery.Decisive(atts)
	evidence := map[string]any{"attempts": all, "to": s.To, "from": s.From, "deliver": s.Deliver}
	if fallback != "" {
		evidence["fallback_reason"] = fallback
	}
	var out []report.Finding
	for _, a := range atts {
		if f, ok := credentialFinding(s, a, d.Result == delivery.Accepted); ok {
			out = append(out, f)
		}
	}
	if _, ok := credentialFinding(s, d, false); ok && len(out) > 0 {
		// The relays' findings say it all; keep the attempts with the last.
		out[len(out)-1].Evidence = evidence
		return out
	}
	where := attemptWhere(d)
	f := decisiveFinding(s, d, where, atts, evidence)
	for _, a := range atts {
		if a.Note != "" && !strings.Contains(f.Message, a.Note) {
			f.Message += " " + a.Note + "."
		}
	}
	out = append(out, f)
	switch d.Result {
	case delivery.Accepted, delivery.Rejected, delivery.Deferred:
		if d.Addr != "" && d.Step != "greeting" {
			// Refused or deferred at the greeting: no EHLO, so nothing
			// is known about STARTTLS.
			f := tlsFinding(d, where)
			if d.TLS == nil && d.Path == report.PathRelay && relayTLSOff(s.Relays, d.Host) {
				// The admin's choice for this gateway (a relay on the
				// local network): said, at no cost.
				f.Severity = report.Info
				f.Message = fmt.Sprintf("The session with the gateway %s was not encrypted: its TLS is off (tls: none in the relays file, or --relay-tls none), so STARTTLS was not used.", where)
				f.Fix = "Fine on a network you control; a gateway reached over the Internet should have tls: starttls (587) or implicit (465), so that mail and credentials are not sent in clear text."
			}
			if d.TLS == nil && d.Path == report.PathDirect && s.TLS != delivery.TLSNone {
				// The recipient's MX offered no STARTTLS: its setup, at
				// no cost to the sender's score, unless something on
				// the sender's own network stripped the offer — which
				// shows when the receiver is one that always offers it
				// (the gmail.tls rule of the providers reads this ID).
				f.Severity = report.Info
				f.Message = fmt.Sprintf("The session with %s was not encrypted: it did not offer STARTTLS, so mail to this receiver goes in clear text. That is the receiver's setup, unless something between you and it removed the offer.", where)
				f.Fix = "Nothing to fix on the sending side for this receiver. If a receiver that always offers STARTTLS (Gmail, Outlook, Yahoo) shows none here too, a firewall on your network rewrites SMTP (\"SMTP inspection\", \"fixup smtp\"): turn that off."
			}
			if d.TLS == nil && d.Path == report.PathDirect && s.TLS == delivery.TLSNone {
				// The user's flag, not the server's doing.
				f.Message = fmt.Sprintf("The session with %s was not encrypted: --tls none was given, so STARTTLS was not used.", where)
				f.Fix = "Leave out --tls none to test the session as an MTA makes it (STARTTLS when offered)."
				if s.STS != nil && s.STS.Mode == mtasts.Enforce {
					f.Message += " The recipient's MTA-STS policy is in enforce mode: a compliant MTA would not deliver without verified TLS."
				}
			}
			out = append(out, f)
		}
	}
	return out
}

// credentialFinding reports a relay that refused the credentials, or
// that was not given them: no AUTH to use, or a certificate that does
// not verify. When another relay took the mail (accepted) the last two
// are warnings; otherwise they made the send impossible and it could
// not be checked.
func credentialFinding(s *delivery.Send, a delivery.Attempt, accepted bool) (report.Finding, bool) {
	switch {
	case a.Result == delivery.AuthFailed:
		return report.Finding{
			ID: "send.auth_failed", Severity: report.Fail, Subject: a.Host,
			Message: fmt.Sprintf("The relay %s refused the credentials of %s: %s.", a.Host, s.User, a.Error),
			Fix:     "Check the user name and the password (from --password-env or --password-file) with the relay's provider.",
		}, true
	case a.Result == delivery.AuthNotOffered:
		return report.Finding{
			ID: "send.auth_not_offered", Severity: unlessAccepted(accepted), Subject: a.Host,
			Message: fmt.Sprintf("The relay %s gave no way to send the credentials of %s: %s.", a.Host, s.User, a.Error),
			Fix:     "Use the relay's submission port, where AUTH is offered after TLS: 587 with STARTTLS or 465 with implicit TLS (--relay-tls implicit); or ask the provider which port and mechanism (PLAIN or LOGIN) to use.",
		}, true
	case a.Result == delivery.AuthRefused && a.TLS != nil && !a.TLS.Verified:
		return report.Finding{
			ID: "send.tls_unverified", Severity: unlessAccepted(accepted), Subject: a.Host, Evidence: map[string]any{"tls": a.TLS},
			Message: fmt.Sprintf("The certificate of the relay %s does not verify (%s): the credentials were not sent, and nothing was relayed.", attemptWhere(a), a.TLS.VerifyError),
			Fix:     "For a relay with a private CA, give that CA with --ca-file FILE (PEM); to send the credentials anyway, --insecure-skip-verify. For a public relay, check the name you gave against its certificate.",
		}, true
	}
	return report.Finding{}, false
}

// attemptWhere names the host of an attempt, with its address when that
// says more.
func attemptWhere(a delivery.Attempt) string {
	if a.Addr != "" && a.Addr != a.Host {
		return a.Host + " (" + a.Addr + ")"
	}
	return a.Host
}

// explainReply adds what the provider table (profiles/rules.yaml, the
// same as preflight explain's) says of a refusal: the provider and rule
// in the message, the rule's fix and the command that shows the cause.
// A reply the table does not know is left as it is.
//
// A reply worded like a provider with MX domains of its own (Gmail's
// "- gsmtp") from a host that is not one of them is not that provider's
// refusal: the message says so, the fix (what the words mean) stays, and
// no provider_rule is set, so no profile counts it (profiles.Evaluate
// judges a provider by the send to its own MX only).
func explainReply(f *report.Finding, reply, host string) {
	if reply == "" {
		return
	}
	table, err := profiles.Load()
	if err != nil {
		return
	}
	e := table.Explain(reply)
	if len(e.Matches) == 0 {
		return
	}
	m := e.Matches[0]
	f.Fix = m.Rule.Fix
	if m.Rule.Command != "" {
		f.Fix += " The cause shows in: " + m.Rule.Command + "."
	}
	if m.Profile && host != "" && !table.FromProvider(m.Provider, host) {
		f.Message += fmt.Sprintf(" The reply is worded like %s's rule %s (%s), but %s is not one of %s's MX hosts: the %s profile does not count it.",
			m.Provider.Name, m.Rule.ID, strings.TrimSuffix(m.Rule.Summary, "."), host, m.Provider.Name, m.Provider.ID)
		return
	}
	f.Message += fmt.Sprintf(" %s: %s (%s).", m.Provider.Name, strings.TrimSuffix(m.Rule.Summary, "."), m.Rule.ID)
	f.Evidence["provider_rule"] = m.Rule.ID
	if m.Rule.ReceiverSide && f.Severity == report.Fail {
		// The receiver refuses every sender this way (Spamhaus answered
		// its queries with an error code): could not check, like a
		// 5.1.x refusal, never a verdict on the sender.
		f.Severity = report.Error
		f.Message += " This is the receiver's setup and says nothing about the sender: test with another recipient."
	}
}

// receiverSide returns the table's rule for a reply about the
// receiver's own setup (profiles.Rule.ReceiverSide), if it is one.
func receiverSide(reply string) (profiles.Match, bool) {
	table, err := profiles.Load()
	if reply == "" || err != nil {
		return profiles.Match{}, false
	}
	for _, m := range table.Explain(reply).Matches {
		if m.Rule.ReceiverSide {
			return m, true
		}
	}
	return profiles.Match{}, false
}

// decisiveFinding reports how the send ended.
func decisiveFinding(s *delivery.Send, d delivery.Attempt, where string, atts []delivery.Attempt, evidence map[string]any) report.Finding {
	f := report.Finding{Subject: s.To.String(), Evidence: evidence}
	if d.Host != "" {
		// The host the send ended at: a provider profile counts the send
		// for the provider whose MX it was (Google Workspace behind any
		// recipient domain).
		evidence["host"] = d.Host
	}
	switch d.Result {
	case delivery.Accepted:
		f.ID, f.Severity = "send.accepted", report.Pass
		f.Message = acceptedMessage(s, d, where)
		if s.Deliver && d.QueueID != "" {
			evidence["queue_id"] = d.QueueID
		}
	case delivery.Rejected:
		f.ID, f.Severity = "send.rejected", report.Fail
		f.Message = fmt.Sprintf("%s refused the mail for %s %s: %s.", where, s.To, atStep(d.Step), cmp.Or(d.Reply, d.Error))
		f.Fix = "Read the refusal: 5.7.x replies usually name the reason (IP reputation, missing PTR, SPF, a blocklist); fix that, or send through a relay."
		switch {
		case d.AboutAddress():
			// 5.1.x is about the address (RFC 3463 §3.2), not the
			// sender: the test send could not say anything about this
			// server, and no gateway would change it.
			f.ID, f.Severity = "send.recipient_cannot_receive", report.Error
			f.Message = fmt.Sprintf("%s refused the address %s %s: %s. The reply is about the recipient's address (5.1.x), not about this server: this says nothing about the sender.", where, s.To, atStep(d.Step), cmp.Or(d.Reply, d.Error))
			f.Fix = fmt.Sprintf("Check the recipient address %s: the receiver says it does not exist or cannot take mail. Test with a mailbox you know exists.", s.To)
		case d.Path == report.PathDirect:
			f.Fix += fmt.Sprintf(" For this receiver only, a relays file with policy: for-domains and domains: [%s]; for all mail, policy: always (README, Gateway policy).", s.To.Domain)
		}
		if f.ID == "send.rejected" {
			explainReply(&f, d.Reply, d.Host)
		}
	case delivery.Deferred:
		f.ID, f.Severity = "send.deferred", report.Warn
		f.Message = fmt.Sprintf("%s deferred the mail for %s %s (a temporary refusal, perhaps greylisting): %s.", where, s.To, atStep(d.Step), cmp.Or(d.Reply, d.Error))
		f.Fix = "Try again in a few minutes; if it persists, read the reply."
		explainReply(&f, d.Reply, d.Host)
	case delivery.NoTLS:
		f.ID, f.Severity = "send.no_starttls", report.Fail
		f.Message = fmt.Sprintf("%s does not offer STARTTLS, and TLS was required: nothing was sent.", where)
	case delivery.DANERefused:
		f.ID, f.Severity = "send.dane_refused", report.Fail
		f.Message = fmt.Sprintf("A DNSSEC-validating, DANE-aware MTA would not deliver to %s: %s. Nothing was sent.", where, d.Error)
		f.Fix = "This is the recipient's setup (its TLSA records, certificates or DNSSEC), not the sender's: try another recipient, or tell the recipient's postmaster; preflight dnssec " + s.To.Domain + " and preflight tls " + s.To.Domain + " show the details and the records that would match."
	case delivery.STSRefused:
		f.ID, f.Severity = "send.mta_sts_refused", report.Fail
		f.Message = fmt.Sprintf("The recipient's MTA-STS policy (%s, mode %s) allows no delivery to %s: %s. A compliant MTA would not deliver; nothing was sent.", s.STSURL, s.STS.Mode, where, d.Error)
		f.Fix = "This is the recipient's setup (its MX certificates or its policy's mx lines), not the sender's: try another recipient, or tell the recipient's postmaster; preflight tls " + s.To.Domain + " shows the details."
	case delivery.TLSFailed:
		f.ID, f.Severity = "send.tls_failed", report.Fail
		f.Message = fmt.Sprintf("TLS with %s failed %s, and nothing was sent: %s.", where, atStep(d.Step), d.Error)
		f.Fix = "Match the TLS mode to the port: 465 speaks TLS from the first byte (--relay-tls implicit), 587 and 25 STARTTLS (--relay-tls starttls). A server that refuses STARTTLS (454) or fails the handshake has a TLS setup to fix: certificate, key, protocol versions."
	case delivery.CannotReceive, delivery.NoAddress:
		f.ID, f.Severity = "send.recipient_cannot_receive", report.Error
		reason := d.Error
		if d.Result == delivery.NoAddress {
			reason = fmt.Sprintf("no MX host of %s has an address (%s)", s.To.Domain, attemptSummary(atts))
		}
		f.Message = fmt.Sprintf("The test send to %s could not be made: %s. This says nothing about the sender.", s.To, reason)
		f.Fix = "Choose another recipient: an address at a domain that receives mail, such as a mailbox of yours at a large provider."
	case delivery.SMTPFailed:
		// A connection was made and the session broke: a reply that is
		// no SMTP, a reset, a stall. The server is the problem, and
		// whether it would take the mail is not known.
		f.ID, f.Severity = "send.session_failed", report.Error
		f.Message = fmt.Sprintf("The SMTP session with %s broke off %s: %s.", where, atStep(d.Step), d.Error)
		f.Fix = "The server answered with something that is not SMTP, or dropped the connection: check that the port is the mail server's, or try again later."
	case delivery.NoSMTPUTF8:
		f.ID, f.Severity = "send.smtputf8_unsupported", report.Error
		f.Message = fmt.Sprintf("%s does not offer SMTPUTF8 (RFC 6531), which the address %s needs: the test send could not be made as asked, and nothing was sent after EHLO. This says nothing about the sender.", where, utf8Address(s))
		f.Fix = "Test with an ASCII address, or with a recipient whose servers support SMTPUTF8 (the large providers do)."
	case delivery.NotTried:
		// The time limit ended the send before this host: it was never
		// contacted, and says nothing (DESIGN §7: could not check).
		f.ID, f.Severity = "send.unfinished", report.Error
		f.Message = fmt.Sprintf("The test send to %s was not finished: the time limit was reached (%s).", s.To, attemptSummary(atts))
		f.Fix = "Run again with a longer --timeout; --verbose shows which server was slow."
	case delivery.DNSFailed:
		f.ID, f.Severity = "send.dns_error", report.Error
		reason := d.Error
		if len(atts) > 1 {
			reason = attemptSummary(atts)
		}
		f.Message = fmt.Sprintf("Could not make the test send to %s: %s.", s.To, reason)
		f.Fix = dnsFix
	default:
		f.ID, f.Severity = "send.connect_failed", report.Fail
		f.Message = fmt.Sprintf("The test send to %s did not get through: %s.", s.To, attemptSummary(atts))
		f.Fix = "Check that the hosts are reachable from here and that the relay settings are right."
		if len(atts) == 0 {
			// Nothing was tried (the run's time was gone): that says
			// nothing about the sender or the recipient.
			f.Severity = report.Error
			f.Message = fmt.Sprintf("The test send to %s was not attempted: the run's time (--timeout) ran out before the first connection.", s.To)
			f.Fix = "Run again with a longer --timeout."
		}
		if d.Path == "direct" && delivery.Port25Blocked(s, atts) {
			f.ID = "send.port25_blocked"
			f.Message = fmt.Sprintf("Every connection to port 25 timed out (%s): outbound port 25 looks blocked, as many ISPs and cloud providers do.", attemptSummary(atts))
			f.Fix = "Ask the provider to open outbound port 25 for this server, or send through an authenticated relay: --path relay, or a relays file with policy: always (README, Gateway policy)."
		}
	}
	return f
}

// atStep names the step an attempt ended at, for a message.
func atStep(step string) string {
	switch step {
	case "":
		return ""
	case "greeting":
		return "at the greeting"
	}
	return "at " + step
}

func acceptedMessage(s *delivery.Send, d delivery.Attempt, where string) string {
	if !s.Deliver {
		return fmt.Sprintf("%s accepted MAIL FROM:<%s> and RCPT TO:<%s> on the %s path; nothing was delivered (probe: QUIT after RCPT TO).", where, s.From, s.To, d.Path) + gatewayHopOnly(d)
	}
	m := fmt.Sprintf("%s accepted the test message for %s on the %s path", where, s.To, d.Path)
	if d.QueueID != "" {
		m += " (queue ID " + d.QueueID + ")"
	}
	return m + "." + gatewayHopOnly(d)
}

// gatewayHopOnly is what a relay's acceptance does not prove: the
// gateway took the message; the recipient's servers have not seen it.
func gatewayHopOnly(d delivery.Attempt) string {
	if d.Path != report.PathRelay {
		return ""
	}
	return " This proves the gateway hop only: the gateway took the message, and whether the recipient's servers accept it from the gateway is not tested."
}

// relayTLSOff reports whether the relay at addr was given TLS mode none.
func relayTLSOff(relays []delivery.Relay, addr string) bool {
	i := slices.IndexFunc(relays, func(r delivery.Relay) bool { return r.Addr == addr })
	return i >= 0 && relays[i].TLS == delivery.TLSNone
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
	if a.TLS.DANE != "" {
		// Authenticated by the recipient's TLSA records (RFC 7672): a
		// DANE-EE match ignores the certificate's names and expiry, a
		// DANE-TA match the public roots, so a failed PKIX check is
		// no warning.
		msg := fmt.Sprintf("%s with %s (%s), the server authenticated by its DNSSEC-validated %s", a.TLS.Version, where, a.TLS.Cipher, a.TLS.DANE)
		switch {
		case strings.HasPrefix(a.TLS.DANE, "TLSA 3 "):
			msg += " (DANE-EE: the certificate's names and expiry do not apply, RFC 7672 §3.1.1)"
		case !a.TLS.Verified:
			msg += " (DANE-TA: the chain need not lead to a public root, RFC 7672 §3.1.2)"
		}
		if !a.TLS.Verified {
			msg += "; against the public roots it does not verify: " + a.TLS.VerifyError
		}
		return report.Finding{ID: "send.tls_ok", Severity: report.Pass, Subject: a.Host, Evidence: ev, Message: msg + "."}
	}
	if !a.TLS.Verified {
		fix := "Normal for many MX hosts (opportunistic TLS); for your own server, install a certificate for its name."
		if a.Path != "direct" {
			fix = "For a relay with a private CA, give that CA with --ca-file FILE (PEM); otherwise install a certificate for the name you connect to."
		}
		return report.Finding{
			ID: "send.tls_unverified", Severity: report.Warn, Subject: a.Host, Evidence: ev,
			Message: fmt.Sprintf("%s with %s, but its certificate does not verify: %s.", a.TLS.Version, where, a.TLS.VerifyError),
			Fix:     fix,
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
		parts = append(parts, fmt.Sprintf("%s: %s", where, cmp.Or(a.Error, string(a.Result))))
		if a.Note != "" {
			parts = append(parts, a.Note)
		}
	}
	return strings.Join(parts, "; ")
}

// relayCheckFindings reports the open-relay probe: an accepted RCPT TO
// is an open relay, a refusal to relay a pass, anything else leaves the
// question open.
func relayCheckFindings(s *delivery.Send, p delivery.RelayProbe) []report.Finding {
	a := p.Attempt
	f := report.Finding{Subject: s.RelayCheck, Evidence: map[string]any{"attempts": []delivery.Attempt{a}, "from": p.From, "to": p.To}}
	switch {
	case a.Result == delivery.Accepted:
		f.ID, f.Severity = "send.open_relay", report.Fail
		f.Message = fmt.Sprintf("%s is an open relay: it accepted mail from %s to %s without authentication (DATA was not sent). Spammers find open relays within hours, and blocklists list them.", s.RelayCheck, p.From, p.To)
		f.Fix = "Allow relaying only for authenticated users and your own networks (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination)."
	case p.Refused:
		f.ID, f.Severity = "send.relay_refused", report.Pass
		f.Message = fmt.Sprintf("%s refused to relay from %s to %s without authentication: %s.", s.RelayCheck, p.From, p.To, a.Reply)
	case a.Result == delivery.DNSFailed:
		f.ID, f.Severity = "send.dns_error", report.Error
		f.Message = fmt.Sprintf("Could not run the open-relay probe against %s: %s.", s.RelayCheck, a.Error)
		f.Fix = dnsFix
	case a.Result == delivery.ConnectFailed:
		f.ID, f.Severity = "send.connect_failed", report.Error
		f.Message = fmt.Sprintf("Could not run the open-relay probe against %s: %s.", s.RelayCheck, a.Error)
	default:
		why, fix := inconclusive(p)
		f.ID, f.Severity = "send.relay_check_inconclusive", report.Error
		f.Message = fmt.Sprintf("Could not determine whether %s relays for strangers: %s; relaying was not tested.", s.RelayCheck, why)
		f.Fix = fix
	}
	return []report.Finding{f}
}

// inconclusive says why the probe decided nothing, and what to do.
func inconclusive(p delivery.RelayProbe) (why, fix string) {
	a := p.Attempt
	reply := cmp.Or(a.Reply, a.Error)
	switch {
	case a.Result == delivery.Deferred:
		return fmt.Sprintf("it deferred the probe %s (%s), perhaps greylisting", atStep(a.Step), reply),
			"Run the probe again after the greylisting delay (usually 1 to 15 minutes), from the same address."
	case a.Result == delivery.CannotReceive:
		return a.Error, "Give --mail-from an address at a domain of yours that receives mail."
	case a.Result == delivery.Rejected && a.Step == "MAIL FROM":
		return fmt.Sprintf("it refused the probe's sender %s at MAIL FROM (%s), before any relay decision", p.From, reply),
			"Give --mail-from an address at a domain of yours that exists and receives mail, which the server accepts as a sender."
	case a.Result == delivery.Rejected && a.Step == "RCPT TO":
		return fmt.Sprintf("it refused the recipient %s for another reason than relaying (%s)", p.To, reply),
			"Read the reply; give --to an address at another outside domain that receives mail, or --from one the server accepts."
	case a.Result == delivery.Rejected:
		return fmt.Sprintf("it refused the probe %s (%s), before any relay decision", atStep(a.Step), reply),
			"Run the probe from an address and with a HELO name (--helo) the server accepts."
	}
	return fmt.Sprintf("the session ended %s: %s", atStep(a.Step), a.Error), "Read the transcript (--verbose) and run again."
}

// utf8Address is the address of the send that needs SMTPUTF8.
func utf8Address(s *delivery.Send) names.Address {
	if s.From.NeedsSMTPUTF8() {
		return s.From
	}
	return s.To
}

// unlessAccepted is the severity of a relay that could not be given the
// credentials: a warning when another relay took the mail, else the
// send could not be checked.
func unlessAccepted(accepted bool) report.Severity {
	if accepted {
		return report.Warn
	}
	return report.Error
}
