package report

import (
	"fmt"
	"slices"
	"strings"
)

// Provider verdicts (Provider.Verdict): will this provider take the mail,
// by the rules of its profile (package profiles) that the run could check?
const (
	Accepts = "accepts"
	Rejects = "rejects"
	// Unknown (verdict.go) when a required rule could not be established.
)

// Rule statuses (ProviderRule.Status).
const (
	RulePass          = "pass"
	RuleFail          = "fail"
	RuleUnknown       = "unknown"        // its findings are missing or could not be checked
	RuleNotChecked    = "not_checked"    // the run lacks what it needs (Needs: a test send, a message)
	RuleNotCheckable  = "not_checkable"  // nothing preflight sees can tell (spam rate)
	RuleNotApplicable = "not_applicable" // not about this sender (IPv6 rules, no IPv6 IP)
)

// Provider is one provider profile's verdict over the run's findings
// (check --profile): its rules, each with its status, the findings that
// decided it and the provider's reply codes.
type Provider struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Verdict string         `json:"verdict"`
	Rules   []ProviderRule `json:"rules"`
}

// ProviderRule is one rule of a provider, judged.
type ProviderRule struct {
	ID       string   `json:"id"`
	Status   string   `json:"status"`
	Required bool     `json:"required"`
	Findings []string `json:"findings"` // the finding IDs that decided the status
	Codes    []string `json:"codes"`    // the provider's replies for this rule
	// Needs says what the run lacked (not_checked): send, relay_check,
	// message, helo.
	Needs string `json:"needs,omitempty"`
	// Reason says why a rule is not checkable.
	Reason  string `json:"reason,omitempty"`
	Summary string `json:"summary"`
	Fix     string `json:"fix,omitempty"`
}

// SetProviderSummary gives the text report one line per provider under
// the verdict (check without --profile); the JSON is unchanged.
func (r *Report) SetProviderSummary(ps []Provider) { r.summary = ps }

// providerWidth is the most the providers section is wide: within 80
// columns also in a log, where the rest of the report is not wrapped.
const providerWidth = 80

// needsText says what a rule that was not checked needs.
var needsText = map[string]string{
	"send":        "a test send on the direct path (--to)",
	"relay_check": "a relay check (preflight send --relay-check)",
	"message":     "a sample message",
	"helo":        "the HELO name (--helo)",
}

// NeedsText says in words what a not_checked rule needs.
func NeedsText(needs string) string {
	if s, ok := needsText[needs]; ok {
		return s
	}
	return needs
}

// providerWord is a verdict in capitals with its color.
func providerWord(p palette, verdict string) string {
	switch verdict {
	case Accepts:
		return p.ready.Sprint("ACCEPTS")
	case Rejects:
		return p.blocked.Sprint("REJECTS")
	}
	return p.unknown.Sprint("UNKNOWN")
}

// counts are the rules of a provider by status, for one line.
func (pr Provider) counts() (failed, unknown, unchecked []string) {
	for _, r := range pr.Rules {
		switch {
		case r.Status == RuleFail && r.Required:
			failed = append(failed, r.ID)
		case r.Status == RuleUnknown && r.Required:
			unknown = append(unknown, r.ID)
		case r.Status == RuleNotChecked || r.Status == RuleNotCheckable:
			unchecked = append(unchecked, r.ID)
		}
	}
	return failed, unknown, unchecked
}

// providerLine is a provider's verdict in one line: what fails, or what
// is unknown.
func providerLine(p palette, pr Provider) string {
	failed, unknown, unchecked := pr.counts()
	s := providerWord(p, pr.Verdict)
	switch {
	case len(failed) > 0:
		s += " — fails " + Sanitize(firstFew(failed))
	case len(unknown) > 0:
		s += " — not known: " + Sanitize(firstFew(unknown))
	default:
		s += " — rules checked hold"
	}
	if n := len(unchecked); n > 0 {
		s += fmt.Sprintf(" (%d not checked here)", n)
	}
	return s
}

// firstFew lists up to three IDs, and how many more there are.
func firstFew(ids []string) string {
	if len(ids) <= 3 {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:3], ", "), len(ids)-3)
}

// writeProviderSummary writes one line per provider under the verdict.
func writeProviderSummary(out wrapper, p palette, ps []Provider) {
	for i, pr := range ps {
		label := "            "
		if i == 0 {
			label = "  Providers "
		}
		out.line(label+fmt.Sprintf("%-12s ", Sanitize(pr.ID)), strings.Repeat(" ", 25), providerLine(p, pr))
	}
}

// findingsAbout names each finding ID with what its findings in the
// report are about ("rbl.listed 192.0.2.10 on zen.spamhaus.org"), the
// passing ones left out when others are there: the ID alone does not say
// which IP or list.
func findingsAbout(ids []string, fs []Finding) []string {
	var out []string
	for _, id := range ids {
		var about []string
		for _, f := range fs {
			if f.ID != id || f.Subject == "" {
				continue
			}
			a := f.Subject
			if z, ok := f.Evidence["zone"].(string); ok && z != "" && z != f.Subject {
				a += " on " + z
			}
			if k, ok := f.Evidence["key_type"].(string); ok && k != "" {
				a += ", k=" + k
			}
			if !slices.Contains(about, a) {
				about = append(about, a)
			}
		}
		if len(about) > 3 {
			about = append(about[:3], "…")
		}
		if len(about) > 0 {
			id += " (" + strings.Join(about, ", ") + ")"
		}
		out = append(out, id)
	}
	return out
}

// writeProviders writes the providers section: per provider its verdict,
// the rules that fail with the provider's codes and our fix, the rules
// not known, and those not checkable from here.
func writeProviders(out wrapper, p palette, ps []Provider, fs []Finding) {
	out.b.WriteString("\n" + p.bold.Sprint("Providers") + "\n")
	for _, pr := range ps {
		out.line("  "+p.bold.Sprint(Sanitize(pr.ID))+"  ", "      ", providerWord(p, pr.Verdict)+"  "+Sanitize(pr.Name))
		// What fails first, then what is not known, then what this run
		// could not check; each group in the table's order.
		rules := slices.Clone(pr.Rules)
		rank := map[string]int{RuleFail: 0, RuleUnknown: 1}
		slices.SortStableFunc(rules, func(a, b ProviderRule) int {
			ra, oka := rank[a.Status]
			rb, okb := rank[b.Status]
			if !oka {
				ra = 2
			}
			if !okb {
				rb = 2
			}
			return ra - rb
		})
		for _, r := range rules {
			var sym, what string
			switch r.Status {
			case RulePass, RuleNotApplicable:
				continue
			case RuleFail:
				sym, what = p.sev[Fail].Sprint(symbols[Fail]), Sanitize(r.Summary)
				if !r.Required {
					sym, what = p.sev[Warn].Sprint(symbols[Warn]), "recommended: "+what
				}
			case RuleUnknown:
				sym, what = p.sev[Error].Sprint(symbols[Error]), "not known from this run: "+Sanitize(r.Summary)
			case RuleNotChecked:
				sym, what = p.faint.Sprint("-"), "not checked: needs "+NeedsText(r.Needs)+". "+Sanitize(r.Summary)
			default:
				sym, what = p.faint.Sprint("-"), "not checkable from here: "+Sanitize(r.Reason)+". "+Sanitize(r.Summary)
			}
			out.line("    "+sym+" "+p.bold.Sprint(Sanitize(r.ID))+"  ", "        ", what)
			if r.Status != RuleFail {
				continue
			}
			if len(r.Codes) > 0 {
				out.line("        replies  ", "                 ", Sanitize(strings.Join(r.Codes, ", ")))
			}
			if len(r.Findings) > 0 {
				out.line("        because  ", "                 ", Sanitize(strings.Join(findingsAbout(r.Findings, fs), ", ")))
			}
			if r.Fix != "" {
				out.line("        fix      ", "                 ", Sanitize(r.Fix))
			}
		}
	}
}
