package profiles_test

import (
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/profiles"
	"github.com/preflight-mail/preflight/report"
)

// rep is a report with the given findings, as check would build it.
func rep(target report.Target, fs ...report.Finding) report.Report {
	byCheck := map[string][]report.Finding{}
	var order []string
	for _, f := range fs {
		if _, ok := byCheck[f.Check()]; !ok {
			order = append(order, f.Check())
		}
		byCheck[f.Check()] = append(byCheck[f.Check()], f)
	}
	r := report.Report{Target: target}
	for _, c := range order {
		r.Checks = append(r.Checks, report.CheckResult{ID: c, Findings: byCheck[c]})
	}
	return r
}

func ruleStatus(t *testing.T, r report.Report, profile, rule string) report.ProviderRule {
	t.Helper()
	for _, p := range profiles.MustLoad().Evaluate([]string{profile}, r) {
		for _, rr := range p.Rules {
			if rr.ID == rule {
				return rr
			}
		}
	}
	t.Fatalf("no rule %s in %s", rule, profile)
	return report.ProviderRule{}
}

// TestProfileRulesFromSends: the rules a test send, a relay check or
// --helo establish are "not checked" without them (never a guess), and
// judged by their findings with them; an IPv6 rule does not apply to an
// IPv4 sender.
func TestProfileRulesFromSends(t *testing.T) {
	v4 := report.Target{Domain: "example.com", IPs: []string{"192.0.2.1"}}
	tlsOK := report.Finding{ID: "send.tls_ok", Severity: report.Pass, Path: report.PathDirect, Subject: "gmail-smtp-in.l.google.com"}
	noTLS := report.Finding{ID: "send.no_starttls", Severity: report.Warn, Path: report.PathDirect, Subject: "gmail-smtp-in.l.google.com"}
	relayTLS := report.Finding{ID: "send.no_starttls", Severity: report.Warn, Path: report.PathRelay, Subject: "gmail-smtp-in.l.google.com"}
	elsewhere := report.Finding{ID: "send.no_starttls", Severity: report.Warn, Path: report.PathDirect, Subject: "mx.example.net"}
	for _, c := range []struct {
		name          string
		r             report.Report
		profile, rule string
		status, needs string
	}{
		{"no test send", rep(v4), "gmail", "gmail.tls", report.RuleNotChecked, "send"},
		{"TLS to the MX", rep(v4, tlsOK), "gmail", "gmail.tls", report.RulePass, ""},
		{"no STARTTLS at the MX", rep(v4, noTLS), "gmail", "gmail.tls", report.RuleFail, ""},
		{"a relay's TLS says nothing of the MX's", rep(v4, relayTLS), "gmail", "gmail.tls", report.RuleNotChecked, "send"},
		{"no STARTTLS at another receiver's MX says nothing of Gmail", rep(v4, elsewhere), "gmail", "gmail.tls", report.RuleNotChecked, "send"},
		{"a direct send that ended before TLS", rep(v4, report.Finding{ID: "send.connect_failed", Severity: report.Fail, Path: report.PathDirect, Subject: "someone@gmail.com"}),
			"gmail", "gmail.tls", report.RuleUnknown, ""},
		{"no relay check", rep(v4), "outlook", "outlook.not_open_relay", report.RuleNotChecked, "relay_check"},
		{"an open relay", rep(report.Target{RelayCheck: "192.0.2.1:25"}, report.Finding{ID: "send.open_relay", Severity: report.Fail}),
			"outlook", "outlook.not_open_relay", report.RuleFail, ""},
		{"relaying refused", rep(report.Target{RelayCheck: "192.0.2.1:25"}, report.Finding{ID: "send.relay_refused", Severity: report.Pass}),
			"outlook", "outlook.not_open_relay", report.RulePass, ""},
		{"no HELO name", rep(v4), "gmx", "gmx.helo", report.RuleNotChecked, "helo"},
		{"a message rule", rep(v4), "gmail-bulk", "gmail-bulk.unsubscribe", report.RuleNotChecked, "message"},
		// The message rules read preflight message's findings (issue #18).
		{"one-click unsubscribe, signed", rep(v4, report.Finding{ID: "format.ok", Severity: report.Pass}, report.Finding{ID: "unsubscribe.one_click", Severity: report.Pass}),
			"gmail-bulk", "gmail-bulk.unsubscribe", report.RulePass, ""},
		{"one-click unsubscribe missing", rep(v4, report.Finding{ID: "format.ok", Severity: report.Pass}, report.Finding{ID: "unsubscribe.one_click_missing", Severity: report.Warn}),
			"gmail-bulk", "gmail-bulk.unsubscribe", report.RuleFail, ""},
		{"a mailto URI is Yahoo's way too", rep(v4, report.Finding{ID: "format.ok", Severity: report.Pass}, report.Finding{ID: "unsubscribe.mailto", Severity: report.Pass},
			report.Finding{ID: "unsubscribe.one_click_missing", Severity: report.Warn}), "yahoo-bulk", "yahoo-bulk.unsubscribe", report.RulePass, ""},
		{"no mailto for Outlook", rep(v4, report.Finding{ID: "format.ok", Severity: report.Pass}, report.Finding{ID: "unsubscribe.no_mailto", Severity: report.Warn}),
			"outlook-bulk", "outlook-bulk.unsubscribe", report.RuleFail, ""},
		{"RFC 5322 format", rep(v4, report.Finding{ID: "format.ok", Severity: report.Pass}), "yahoo", "yahoo.format", report.RulePass, ""},
		{"two From fields", rep(v4, report.Finding{ID: "format.from_count", Severity: report.Warn}), "apple", "apple.format", report.RuleFail, ""},
		{"no Feedback-ID", rep(v4, report.Finding{ID: "format.ok", Severity: report.Pass}, report.Finding{ID: "unsubscribe.no_feedback_id", Severity: report.Info}),
			"gmail-bulk", "gmail-bulk.feedback_id", report.RuleFail, ""},
		{"the domain's MX offers no STARTTLS", rep(v4, report.Finding{ID: "tls.no_starttls", Severity: report.Fail, Subject: "mx.example.com[192.0.2.25]"}),
			"gmail", "gmail.mx_tls", report.RuleFail, ""},
		{"the domain's MX does TLS", rep(v4, report.Finding{ID: "tls.ok", Severity: report.Pass, Subject: "mx.example.com[192.0.2.25]"}),
			"gmail", "gmail.mx_tls", report.RulePass, ""},
		{"not checkable", rep(v4), "gmail", "gmail.spam_rate", report.RuleNotCheckable, ""},
		{"IPv6 rule, IPv4 sender", rep(v4), "gmail", "gmail.ipv6", report.RuleNotApplicable, ""},
		{"PTR for one IP of two", rep(report.Target{IPs: []string{"192.0.2.1", "192.0.2.2"}},
			report.Finding{ID: "rdns.fcrdns_ok", Severity: report.Pass, Subject: "192.0.2.1"}), "gmail", "gmail.ptr", report.RuleUnknown, ""},
		{"PTR, then an error about the same IP", rep(v4,
			report.Finding{ID: "rdns.fcrdns_ok", Severity: report.Pass, Subject: "192.0.2.1"},
			report.Finding{ID: "rdns.dns_error", Severity: report.Error, Subject: "192.0.2.1"}), "gmail", "gmail.ptr", report.RuleUnknown, ""},
		{"a domain on a domain list is not the IP on Spamhaus' lists", rep(v4,
			report.Finding{ID: "rbl.clean", Severity: report.Pass, Subject: "192.0.2.1"},
			report.Finding{ID: "rbl.listed", Severity: report.Fail, Subject: "example.com", Evidence: map[string]any{"zone": "dbl.spamhaus.org"}}), "yahoo", "yahoo.not_listed", report.RulePass, ""},
		{"the IP on a list other than Spamhaus'", rep(v4,
			report.Finding{ID: "rbl.listed", Severity: report.Fail, Subject: "192.0.2.1", Evidence: map[string]any{"zone": "psbl.surriel.com"}}), "outlook", "outlook.not_listed", report.RulePass, ""},
		{"the IP on Spamhaus' list", rep(v4,
			report.Finding{ID: "rbl.clean", Severity: report.Pass, Subject: "192.0.2.1"},
			report.Finding{ID: "rbl.listed", Severity: report.Fail, Subject: "192.0.2.1", Evidence: map[string]any{"zone": "zen.spamhaus.org"}}), "yahoo", "yahoo.not_listed", report.RuleFail, ""},
		{"end-user space only (PBL): established, not unknown", rep(v4,
			report.Finding{ID: "rbl.policy_listed", Severity: report.Fail, Subject: "192.0.2.1", Evidence: map[string]any{"zone": "zen.spamhaus.org"}}), "yahoo", "yahoo.not_listed", report.RulePass, ""},
		{"a leftover weak key beside a good one", rep(v4,
			report.Finding{ID: "dkim.key_ok", Severity: report.Pass, Subject: "s1", Evidence: map[string]any{"key_type": "rsa"}},
			report.Finding{ID: "dkim.key_unusable", Severity: report.Warn, Subject: "old"}), "gmail", "gmail.dkim_key", report.RulePass, ""},
		{"no DKIM key: no key size to judge", rep(v4,
			report.Finding{ID: "dkim.missing", Severity: report.Warn, Subject: "s1"}), "gmail", "gmail.dkim_key", report.RuleNotApplicable, ""},
		{"an Ed25519 key alone is no DKIM pass", rep(v4,
			report.Finding{ID: "dkim.key_ok", Severity: report.Pass, Subject: "ed", Evidence: map[string]any{"key_type": "ed25519"}}), "gmx", "gmx.dkim_aligned", report.RuleFail, ""},
		{"DMARC p=monitor with rua: p=none to receivers", rep(v4,
			report.Finding{ID: "dmarc.syntax_error", Severity: report.Warn, Subject: "example.com", Evidence: map[string]any{"policy": "none"}}), "apple", "apple.dmarc", report.RulePass, ""},
		{"DMARC record with no policy and no rua: no DMARC", rep(v4,
			report.Finding{ID: "dmarc.syntax_error", Severity: report.Warn, Subject: "example.com"}), "apple", "apple.dmarc", report.RuleFail, ""},
		{"another list that could not be asked: Spamhaus' rule still known", rep(v4,
			report.Finding{ID: "rbl.clean", Severity: report.Pass, Subject: "192.0.2.1"},
			report.Finding{ID: "rbl.list_unusable", Severity: report.Error, Subject: "psbl.surriel.com"}), "yahoo", "yahoo.not_listed", report.RulePass, ""},
		{"a Spamhaus list that could not be asked", rep(v4,
			report.Finding{ID: "rbl.clean", Severity: report.Pass, Subject: "192.0.2.1"},
			report.Finding{ID: "rbl.list_unusable", Severity: report.Error, Subject: "zen.spamhaus.org"}), "yahoo", "yahoo.not_listed", report.RuleUnknown, ""},
		{"a list that could not be asked (any list, for a rule about any)", rep(v4,
			report.Finding{ID: "ip.static_likely", Severity: report.Pass, Subject: "192.0.2.1"},
			report.Finding{ID: "rbl.list_unusable", Severity: report.Error, Subject: "bl.example"}), "gmx", "gmx.not_dynamic", report.RuleUnknown, ""},
		{"one good DKIM selector of two", rep(v4,
			report.Finding{ID: "dkim.key_ok", Severity: report.Pass, Subject: "s1", Evidence: map[string]any{"key_type": "rsa"}},
			report.Finding{ID: "dkim.missing", Severity: report.Warn, Subject: "s2"}), "gmx", "gmx.dkim_aligned", report.RulePass, ""},
	} {
		got := ruleStatus(t, c.r, c.profile, c.rule)
		if got.Status != c.status || got.Needs != c.needs {
			t.Errorf("%s: %s is %s (needs %q), want %s (needs %q)", c.name, c.rule, got.Status, got.Needs, c.status, c.needs)
		}
	}
}

// TestVerdictIgnoresUncheckedRules: rules not checked from this run and
// recommended rules that fail decide no verdict; a required failure does.
func TestVerdictIgnoresUncheckedRules(t *testing.T) {
	v4 := report.Target{Domain: "example.com", IPs: []string{"192.0.2.1"}, HELO: "mail.example.com"}
	good := []report.Finding{
		{ID: "rdns.fcrdns_ok", Severity: report.Pass, Subject: "192.0.2.1"},
		{ID: "rdns.ptr_in_domain", Severity: report.Pass, Subject: "192.0.2.1"},
		{ID: "rdns.helo_ok", Severity: report.Pass, Subject: "192.0.2.1"},
		{ID: "ip.static_likely", Severity: report.Pass, Subject: "192.0.2.1"},
		{ID: "rbl.clean", Severity: report.Pass, Subject: "192.0.2.1"},
		{ID: "dkim.key_ok", Severity: report.Pass, Subject: "s1", Evidence: map[string]any{"key_type": "rsa"}},
		{ID: "mx.ok", Severity: report.Pass, Subject: "example.com"},
	}
	p := profiles.MustLoad().Evaluate([]string{"gmx"}, rep(v4, good...))[0]
	if p.Verdict != report.Accepts {
		t.Errorf("gmx: %s, want accepts: %+v", p.Verdict, p.Rules)
	}
	bad := append(good[:len(good)-1:len(good)-1], report.Finding{ID: "mx.null", Severity: report.Warn, Subject: "example.com"})
	p = profiles.MustLoad().Evaluate([]string{"gmx"}, rep(v4, bad...))[0]
	if p.Verdict != report.Rejects {
		t.Errorf("gmx with a null MX: %s, want rejects", p.Verdict)
	}
}

// TestWhenJoinsMessageFindings: a part with when: message counts only in
// a run with a message (the check "format" ran), so wiring a message's
// findings into a DNS rule is a change to rules.yaml alone: without a
// message the DNS part decides; with one, both must hold.
func TestWhenJoinsMessageFindings(t *testing.T) {
	table, err := profiles.Parse([]byte(`
providers:
  - id: x
    name: X
    source: https://example.com/
    read: 2026-11-29
    rules:
      - id: x.dkim
        level: required
        summary: s
        fix: f
        establish:
          all:
            - {pass: [dkim.key_ok], fail: [dkim.missing]}
            - {when: message, pass: [format.dkim_aligned], fail: [format.dkim_failed]}
`))
	if err != nil {
		t.Fatal(err)
	}
	v4 := report.Target{IPs: []string{"192.0.2.1"}}
	key := report.Finding{ID: "dkim.key_ok", Severity: report.Pass, Subject: "s1"}
	for _, c := range []struct {
		name string
		r    report.Report
		want string
	}{
		{"no message: DNS decides", rep(v4, key), report.RulePass},
		{"a message signed and aligned", rep(v4, key, report.Finding{ID: "format.dkim_aligned", Severity: report.Pass}), report.RulePass},
		{"a message whose signature fails", rep(v4, key, report.Finding{ID: "format.dkim_failed", Severity: report.Fail}), report.RuleFail},
		{"a message check with nothing to say", rep(v4, key, report.Finding{ID: "format.other", Severity: report.Info}), report.RuleUnknown},
	} {
		got := table.Evaluate([]string{"x"}, c.r)[0].Rules[0].Status
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// TestQualifiedIDs: a finding ID with a condition on its evidence in
// brackets is checked when the table is read.
func TestQualifiedIDs(t *testing.T) {
	for _, bad := range []string{"dkim.key_ok[", "dkim.key_ok[]", "dkim.key_ok[key_type=]", "dkim.key_ok[~x]"} {
		_, err := profiles.Parse([]byte(`
providers:
  - id: x
    name: X
    source: https://example.com/
    read: 2026-11-29
    rules:
      - {id: x.r, level: required, summary: s, fix: f, establish: {pass: ["` + bad + `"]}}
`))
		if err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestSendRefusalFailsRule: a direct test send the provider refused, with
// the explainer's rule in its evidence, fails that rule for the provider
// (and a profile that extends it), a not-checkable rule too; a relay's
// refusal does not (review of #17, item 11).
func TestSendRefusalFailsRule(t *testing.T) {
	v4 := report.Target{Domain: "example.com", IPs: []string{"192.0.2.1"}}
	refused := func(path, rule string) report.Finding {
		return report.Finding{ID: "send.rejected", Severity: report.Fail, Path: path, Subject: "someone@gmail.com", Evidence: map[string]any{"provider_rule": rule}}
	}
	spf := report.Finding{ID: "spf.ip_pass", Severity: report.Pass, Subject: "192.0.2.1"}
	for _, c := range []struct {
		name          string
		r             report.Report
		profile, rule string
		status        string
	}{
		{"Gmail refused as unauthenticated", rep(v4, spf, refused(report.PathDirect, "gmail.auth")), "gmail", "gmail.auth", report.RuleFail},
		{"the bulk profile too", rep(v4, spf, refused(report.PathDirect, "gmail.auth")), "gmail-bulk", "gmail.auth", report.RuleFail},
		{"Google's MX behind another recipient domain", rep(v4, spf, report.Finding{ID: "send.rejected", Severity: report.Fail, Path: report.PathDirect, Subject: "bob@company.example", Evidence: map[string]any{"provider_rule": "gmail.auth", "host": "aspmx.l.google.com"}}), "gmail", "gmail.auth", report.RuleFail},
		{"another receiver's refusal is not Gmail's", rep(v4, spf, report.Finding{ID: "send.rejected", Severity: report.Fail, Path: report.PathDirect, Subject: "bob@company.example", Evidence: map[string]any{"provider_rule": "gmail.auth", "host": "mx.company.example"}}), "gmail", "gmail.auth", report.RulePass},
		{"through a relay: not Gmail's word", rep(v4, spf, refused(report.PathRelay, "gmail.auth")), "gmail", "gmail.auth", report.RulePass},
		{"Yahoo's TSS09 fails its complaints rule", rep(v4, report.Finding{ID: "send.rejected", Severity: report.Fail, Path: report.PathDirect, Subject: "someone@yahoo.com", Evidence: map[string]any{"provider_rule": "yahoo.complaints"}}), "yahoo", "yahoo.complaints", report.RuleFail},
	} {
		got := ruleStatus(t, c.r, c.profile, c.rule)
		if got.Status != c.status {
			t.Errorf("%s: %s is %s, want %s", c.name, c.rule, got.Status, c.status)
		}
	}
	p := profiles.MustLoad().Evaluate([]string{"yahoo"}, rep(v4, report.Finding{ID: "send.rejected", Severity: report.Fail, Path: report.PathDirect, Evidence: map[string]any{"provider_rule": "yahoo.complaints"}}))[0]
	if p.Verdict != report.Rejects {
		t.Errorf("yahoo after a TSS09 refusal: %s, want rejects", p.Verdict)
	}
}

// TestExplainThroughEscapes: a reply with terminal escapes around the
// provider's mark is still attributed (matching is on the text without
// them).
func TestExplainThroughEscapes(t *testing.T) {
	e := profiles.MustLoad().Explain("550-5.7.26 This mail has been blocked because the sender is unauthenticated. \x1b[31m\x1b]0;x\x07- gsmtp\x1b[0m")
	if len(e.Matches) == 0 || e.Matches[0].Rule.ID != "gmail.auth" {
		t.Errorf("matches %+v, want gmail.auth", e.Matches)
	}
	if strings.ContainsRune(e.Reply.Text, 0x1b) || strings.Contains(e.Reply.Text, "[31m") {
		t.Errorf("escapes left in %q", e.Reply.Text)
	}
}

// TestGenericNamesTheDefiningRFC: an enhanced code is labelled by the
// RFC that defines it, a class mismatch is said as such, and a subject
// no RFC defines reads as that (review of #17, minor items).
func TestGenericNamesTheDefiningRFC(t *testing.T) {
	for in, want := range map[string]string{
		"550 5.7.27 null MX": "5.7.27 (RFC 7505): ",
		"550 5.7.29 ARC":     "5.7.29 (RFC 8617): ",
		"535 5.7.8 bad":      "5.7.8 (RFC 4954): ",
		"550 5.7.1 no":       "5.7.1 (RFC 3463): ",
		"550 5.7.10 tls":     "5.7.10 (RFC 5248 registry): ",
		"450 5.7.1 x":        "its enhanced status code 5.7.1 is of another class than 450",
		"550 5.9.9 whatever": "(no such subject)",
		"550 user unknown":   "the reply has no enhanced status code",
	} {
		if got := profiles.Generic(profiles.ParseReply(in)); !strings.Contains(got, want) {
			t.Errorf("Generic(%q) = %q, want %q in it", in, got, want)
		}
	}
}
