package checks

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/report"
)

// A test send answers two questions (DESIGN §8): can this server deliver
// directly, and can it through the relays. The findings of sendFindings
// say how the send went; sendPaths says which question each answers.

// sendPaths tags every finding of a send with the path it is about
// (report.Finding.Path: its failures block that path's verdict only),
// puts each attempt on the finding that reports it (one line each in the
// text), and, when the auto path fell back to the relays, adds what the
// direct attempts say: send.direct_failed, or send.port25_blocked. A
// relay accepting says nothing for direct delivery, so a fallback makes
// direct delivery not_ready.
//
// On a path that a relay accepted, refused credentials on another relay
// (send.auth_failed) are warnings: the failover worked.
func sendPaths(s *delivery.Send, o delivery.Outcome, fs []report.Finding) []report.Finding {
	atts := o.Attempts
	fellBack := o.Fallback != nil && o.Fallback.Allowed
	var direct, relay []delivery.Attempt
	for _, a := range atts {
		if a.Path == report.PathDirect {
			direct = append(direct, a)
		} else {
			relay = append(relay, a)
		}
	}
	path := report.PathDirect
	if o.Plan.Path == "relay" || fellBack {
		path = report.PathRelay
	}
	accepted := delivery.Decisive(atts).Result == delivery.Accepted
	for i := range fs {
		fs[i].Path = path
		if fs[i].ID == "send.auth_failed" && accepted {
			fs[i].Severity = report.Warn
		}
	}
	if !fellBack {
		return withAttempts(fs, atts)
	}
	return append([]report.Finding{directFailed(s, direct, o.Fallback)}, withAttempts(fs, relay)...)
}

// directFailed is the finding for the direct attempts of an auto send
// that fell back to the relays.
func directFailed(s *delivery.Send, direct []delivery.Attempt, fb *delivery.Fallback) report.Finding {
	fallback := fb.String()
	f := report.Finding{
		ID: "send.direct_failed", Severity: report.Fail, Subject: s.To.String(), Path: report.PathDirect,
		Message: fmt.Sprintf("Direct delivery to %s failed (%s); the last attempt failed with %s error, so the test send fell back to the relays, as %s allows: what a relay does says nothing about direct delivery.",
			s.To.Domain, attemptSummary(direct), fb.Class.Article(), fb.Rule),
		Fix:      "Until the recipient's servers take mail from this server directly, keep sending through the relays. Read the replies below: a 5.7.x refusal usually names the reason (IP reputation, reverse DNS, SPF, a blocklist).",
		Evidence: map[string]any{"fallback_reason": fallback, "fallback": fb},
		Attempts: attemptLines(direct),
	}
	if fb.Class == delivery.ClassDNS {
		// No MX host was reached: the recipient's DNS (or this run's)
		// says nothing about the sender, so direct delivery could not be
		// checked, rather than failed.
		f.ID, f.Severity = "send.dns_error", report.Error
		f.Message = fmt.Sprintf("Direct delivery to %s could not be tried: a dns error (%s), so the test send fell back to the relays, as %s allows. This says nothing about direct delivery from this server.",
			s.To.Domain, attemptSummary(direct), fb.Rule)
		f.Fix = dnsFix
	}
	if slices.ContainsFunc(direct, func(a delivery.Attempt) bool { return a.Result == delivery.NotTried }) {
		// A host the time limit left out was never contacted: the
		// direct path was not tried in full, and has not failed.
		f.ID, f.Severity = "send.unfinished", report.Error
		f.Message = fmt.Sprintf("Direct delivery to %s was not tried in full before the time limit (%s); the test send went on to the relays, as %s allows. This says nothing about direct delivery from this server.",
			s.To.Domain, attemptSummary(direct), fb.Rule)
		f.Fix = "Run again with a longer --timeout; --verbose shows which server was slow."
		return f
	}
	if m, ok := receiverSide(delivery.Decisive(direct).Reply); ok {
		// The receiver refuses every sender so (its Spamhaus queries
		// refused): the direct path was not judged, as without a fallback.
		f.Severity = report.Error
		f.Message += fmt.Sprintf(" The refusal is the receiver's setup (%s: %s), not a verdict on this server.", m.Rule.ID, strings.TrimSuffix(m.Rule.Summary, "."))
		f.Fix = m.Rule.Fix
		return f
	}
	if delivery.Port25Blocked(s, direct) {
		f.ID, f.Severity = "send.port25_blocked", report.Fail
		f.Message = fmt.Sprintf("Every connection to port 25 timed out (%s): outbound port 25 looks blocked, as many ISPs and cloud providers do. The test send fell back to the relays.", attemptSummary(direct))
		f.Fix = "Ask the provider to open outbound port 25 for this server, or keep sending through an authenticated relay."
	}
	return f
}

// withAttempts puts the attempts on the finding that carries them in its
// evidence (the one that decides the send), else on the first.
func withAttempts(fs []report.Finding, atts []delivery.Attempt) []report.Finding {
	if len(fs) == 0 || len(atts) == 0 {
		return fs
	}
	at := 0
	for i, f := range fs {
		if _, ok := f.Evidence["attempts"]; ok {
			at = i
		}
	}
	fs[at].Attempts = attemptLines(atts)
	return fs
}

// attemptLines are the attempts as the report shows them.
func attemptLines(atts []delivery.Attempt) []report.Attempt {
	out := make([]report.Attempt, len(atts))
	for i, a := range atts {
		out[i] = report.Attempt{Path: a.Path, Host: a.Host, Addr: a.Addr, Step: attemptStep(a), Result: string(a.Result), Class: string(a.Class), Reply: attemptReply(a)}
	}
	return out
}

// attemptStep is the step an attempt ended at, as delivery recorded it:
// the command whose reply ended it, or the last one before QUIT.
func attemptStep(a delivery.Attempt) string {
	return cmp.Or(a.Step, "no connection")
}

// attemptReply is the server's answer that ended the attempt, why there
// was none, or, for an accepted probe, the last reply before QUIT.
func attemptReply(a delivery.Attempt) string {
	if r := cmp.Or(a.Reply, a.Error); r != "" {
		return r
	}
	last := ""
	for _, l := range a.Transcript {
		switch {
		case l.Dir == "C" && strings.EqualFold(l.Text, "QUIT"):
			return last
		case l.Dir == "S":
			last = l.Text
		}
	}
	return last
}

// routeFindings say which way the send went and why, when a relays
// file's policy had a say: the policy's choice (or --path overriding
// it), a fallback the policy refused, and a policy that falls back on
// dns errors.
func routeFindings(s *delivery.Send, o delivery.Outcome) []report.Finding {
	if s.Policy == nil {
		return nil
	}
	pl := o.Plan
	path := report.PathDirect
	if pl.Path == "relay" {
		path = report.PathRelay
	}
	f := report.Finding{ID: "send.route", Severity: report.Info, Subject: s.To.String(), Path: path,
		Evidence: map[string]any{"plan": pl, "policy": s.Policy}}
	switch {
	case pl.Overrides != "":
		f.Message = fmt.Sprintf("The test send to %s went %s because %s overrides the gateway policy at %s.", s.To, pathWords(pl.Path), pl.Rule, pl.Overrides)
	case pl.Path == "relay" && len(o.Attempts) > 0 && slices.ContainsFunc(o.Attempts, func(a delivery.Attempt) bool {
		return a.Result == delivery.CannotReceive || a.Result == delivery.NoAddress
	}):
		// Looked up first, the recipient cannot receive: no gateway
		// was contacted, and "went through the gateways" would say one was.
		f.Message = fmt.Sprintf("The test send to %s would go %s, as the gateway policy says: %s; it was not sent, since the recipient domain cannot receive mail.", s.To, pathWords(pl.Path), pl.Rule)
	default:
		f.Message = fmt.Sprintf("The test send to %s went %s, as the gateway policy says: %s.", s.To, pathWords(pl.Path), pl.Rule)
	}
	out := []report.Finding{f}
	if fb := o.Fallback; fb != nil && !fb.Allowed {
		out = append(out, report.Finding{ID: "send.fallback_refused", Severity: report.Info, Subject: s.To.String(), Path: report.PathDirect,
			Evidence: map[string]any{"fallback": fb},
			Message:  fmt.Sprintf("No fallback to the gateways for %s: the direct path failed, its last attempt with %s error (%s), and %s.", s.To, fb.Class.Article(), fb.Reason, fb.Rule)})
	}
	if pl.Overrides == "" && s.Policy.FallsBackOnDNS() {
		msg, fix := s.Policy.DNSWarning()
		out = append(out, report.Finding{ID: "send.policy_dns_fallback", Severity: report.Warn, Subject: s.Policy.At["policy"], Message: msg, Fix: fix,
			Evidence: map[string]any{"policy": s.Policy}})
	}
	return out
}

// pathWords names a plan's path for a message.
func pathWords(path string) string {
	switch path {
	case "auto":
		return "direct, with the gateways on failure"
	case "relay":
		return "through the gateways"
	}
	return "direct"
}
