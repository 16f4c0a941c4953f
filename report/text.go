package report

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/fatih/color"
	"github.com/preflight-mail/preflight/internal/words"
)

// TextWriter writes the report for people: score, verdict and the fixes
// that matter most first, then every check with its findings.
type TextWriter struct {
	Options
}

// maxTopFixes bounds the "Fix first" list; the rest are in the checks.
const maxTopFixes = 5

type palette struct {
	sev     map[Severity]*color.Color
	bold    *color.Color
	faint   *color.Color
	ready   *color.Color
	blocked *color.Color
	unknown *color.Color
}

// newPalette builds colors that are on or off by the writer's option
// alone; fatih/color's global NoColor is not consulted.
func newPalette(on bool) palette {
	mk := func(attrs ...color.Attribute) *color.Color {
		c := color.New(attrs...)
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	return palette{
		sev: map[Severity]*color.Color{
			Pass:  mk(color.FgGreen),
			Info:  mk(color.FgCyan),
			Warn:  mk(color.FgYellow),
			Fail:  mk(color.FgRed, color.Bold),
			Error: mk(color.FgMagenta),
		},
		bold:    mk(color.Bold),
		faint:   mk(color.Faint),
		ready:   mk(color.FgGreen, color.Bold),
		blocked: mk(color.FgRed, color.Bold),
		unknown: mk(color.FgYellow, color.Bold),
	}
}

var symbols = map[Severity]string{Pass: "✓", Info: "i", Warn: "!", Fail: "✗", Error: "?"}

func (t TextWriter) Write(w io.Writer, r Report) error {
	p := newPalette(t.Color)
	var b strings.Builder
	out := wrapper{b: &b, width: t.Width}

	// Headline: what was checked.
	head := p.bold.Sprint("preflight " + Sanitize(r.Command))
	if s := targetWrapped(r.Target); s != "" {
		out.line(head+"  ", "  ", s)
	} else {
		b.WriteString(head + "\n")
	}
	b.WriteString("\n")

	// Score and verdicts.
	const label = "            " // under "  Delivery  "
	var summary []Provider
	var refusals []refusal
	if len(r.Target.RouteTo) > 0 {
		// preflight route plans and tests nothing: a score of its
		// info findings, or "Delivery UNKNOWN", would read as a result.
		out.line("  Plan      ", label, "a dry run from DNS only: nothing was sent, so no score and no verdict")
	} else {
		out.line("  Score     ", label, scoreLine(p, r, t.barWidth()))
		summary = r.summary
		if len(summary) == 0 {
			summary = r.Providers
		}
		refusals = providerRefusals(summary)
		if r.Command != "message" {
			// A message's report judges the message, not direct delivery
			// from its client (the ip, rdns and rbl checks do not run).
			out.line("  Delivery  ", label, verdictLine(p, r)+refusingNote(r.Verdict, refusals))
		}
		if m := r.Verdict.Message; m != "" {
			out.line("  Message   ", label, messageLine(p, m))
		}
		if r.Verdict.Relay != "" {
			out.line("  Relay     ", label, relayLine(p, r.Verdict))
		}
	}
	narrow := wrapper{b: &b, width: min(cmp.Or(t.Width, providerWidth), providerWidth)}
	writeProviderSummary(narrow, p, summary)

	// The fixes that matter most: a provider's refusal first (READY says
	// nothing of a provider's own rules), then the findings, each fix once.
	fixes, same := distinctFixes(TopFixes(r))
	if len(fixes) > 0 || len(refusals) > 0 {
		b.WriteString("\n" + p.bold.Sprint("Fix first") + "\n")
	}
	n := 0
	for _, rf := range refusals {
		n++
		first := fmt.Sprintf("  %d. %s %s  ", n, p.sev[Fail].Sprint(symbols[Fail]), p.bold.Sprint(Sanitize(rf.rule.ID)))
		out.line(first, "       ", Sanitize(strings.Join(rf.providers, ", "))+" would refuse: "+Sanitize(rf.rule.Summary)+codesNote(rf.rule.Codes))
		if rf.rule.Fix != "" {
			writeIndented(out, "     → ", "       ", Sanitize(rf.rule.Fix))
		}
	}
	for i, f := range fixes {
		if n+i >= maxTopFixes {
			fmt.Fprintf(&b, "  … and %d more below\n", len(fixes)-i)
			break
		}
		first := fmt.Sprintf("  %d. %s %s  ", n+i+1, p.sev[f.Severity].Sprint(symbols[f.Severity]), p.bold.Sprint(Sanitize(f.ID)))
		msg := Sanitize(f.Message)
		if c := same[i]; c > 0 {
			msg += fmt.Sprintf(" (and %d more %s with this fix below)", c, words.Plural(int64(c), "finding", "findings"))
		}
		out.line(first, "       ", msg)
		if fix := fixText(f); fix != "" {
			writeIndented(out, "     → ", "       ", fix)
		}
	}

	// Every check.
	b.WriteString("\n" + p.bold.Sprint("Checks") + "\n")
	t.writeChecks(out, p, r)
	if len(r.Providers) > 0 {
		writeProviders(narrow, p, r.Providers, r.Findings())
	}

	// Where the answers came from, and what was not known.
	if r.Resolver != nil {
		b.WriteString("\n")
		out.line("", "  ", p.faint.Sprint(resolverLine(*r.Resolver)))
	}
	if n := countSeverity(r, Error); n > 0 {
		b.WriteString("\n")
		out.line("", "  ", fmt.Sprintf("%s %d %s could not be checked: the result is incomplete.",
			p.sev[Error].Sprint(symbols[Error]), n, words.Plural(int64(n), "thing", "things")))
	}
	_, err := io.WriteString(w, guardLines(b.String()))
	return err
}

// distinctFixes drops the fixes that repeat an earlier one (the same ID
// and fix text: ten signatures of one key, say), counting them in same.
func distinctFixes(fixes []Finding) (out []Finding, same []int) {
	seen := map[string]int{}
	for _, f := range fixes {
		k := f.ID + "\x00" + fixText(f)
		if i, ok := seen[k]; ok {
			same[i]++
			continue
		}
		seen[k] = len(out)
		out = append(out, f)
		same = append(same, 0)
	}
	return out, same
}

// writeChecks writes every check with its findings, their fixes and
// attempts, and with -v their evidence.
func (t TextWriter) writeChecks(out wrapper, p palette, r Report) {
	width := 0
	for _, f := range r.Findings() {
		width = max(width, len(f.ID))
	}
	pad := strings.Repeat(" ", 4+2+5+2+width+2)
	for _, c := range r.Checks {
		out.line("  ", "      ", p.bold.Sprint(Sanitize(c.ID))+"  "+p.sev[c.Status].Sprint(strings.ToUpper(c.Status.String()))+"  "+
			p.faint.Sprintf("%d ms · %d DNS %s", c.DurationMS, c.DNSQueries, words.Plural(c.DNSQueries, "query", "queries")))
		for _, f := range c.Findings {
			sc := p.sev[f.Severity]
			first := fmt.Sprintf("    %s %s  %-*s  ", sc.Sprint(symbols[f.Severity]), sc.Sprintf("%-5s", f.Severity), width, Sanitize(f.ID))
			out.line(first, pad, Sanitize(f.Message))
			if fix := fixText(f); fix != "" && f.Severity != Pass {
				writeIndented(out, pad+"fix: ", pad+"     ", fix)
			}
			for _, a := range f.Attempts {
				out.line(pad+p.faint.Sprint("attempt  "), pad+"         ", attemptLine(a))
			}
			if t.Verbose {
				writeEvidence(out, p, pad, f.Evidence)
			}
		}
		if c.OmittedFindings > 0 {
			out.line("    ", "      ", fmt.Sprintf("… %d more %s, not shown (at most %d per check)", c.OmittedFindings, words.Plural(c.OmittedFindings, "finding", "findings"), MaxFindings))
		}
	}
}

// writeEvidence writes a finding's evidence as readable lines under pad.
func writeEvidence(out wrapper, p palette, pad string, ev map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(ev)) {
		for _, l := range evidenceLines(k, ev[k]) {
			indent := pad + strings.Repeat("  ", l.depth)
			hang := indent + strings.Repeat(" ", l.hang)
			key, rest, ok := strings.Cut(Sanitize(l.text), ": ")
			if ok && l.depth == 0 {
				out.line(indent+p.faint.Sprint(key+": "), hang, rest)
			} else {
				out.line(indent, hang, Sanitize(l.text))
			}
		}
	}
}

// targetLine is what was checked, on one line, sanitised.
func targetLine(t Target) string { return strings.Join(targetParts(t), "  ") }

// targetWrapped is targetLine for the text writer: wrapping keeps each
// part but a list on one line.
func targetWrapped(t Target) string {
	parts := targetParts(t)
	for i, p := range parts {
		if !strings.Contains(p, ", ") {
			parts[i] = unbroken(p)
		}
	}
	return strings.Join(parts, "  ")
}

// targetParts are the parts of what was checked, sanitised.
func targetParts(t Target) []string {
	var parts []string
	if t.Domain != "" {
		parts = append(parts, t.Domain)
	}
	if len(t.IPs) > 0 {
		parts = append(parts, strings.Join(t.IPs, ", "))
	}
	if len(t.Names) > 0 {
		parts = append(parts, strings.Join(t.Names, ", "))
	}
	if t.HELO != "" {
		parts = append(parts, "helo "+t.HELO)
	}
	if t.MailFrom != "" {
		parts = append(parts, "mail from "+t.MailFrom)
	}
	if len(t.Selectors) > 0 {
		parts = append(parts, "selectors "+strings.Join(t.Selectors, ","))
	}
	if t.SendTo != "" {
		parts = append(parts, "send to "+t.SendTo)
	}
	if t.RelayCheck != "" {
		parts = append(parts, "relay check "+t.RelayCheck)
	}
	if len(t.RouteTo) > 0 {
		parts = append(parts, "route to "+strings.Join(t.RouteTo, ", "))
	}
	for i, p := range parts {
		parts[i] = Sanitize(p)
	}
	return parts
}

// scoreLine is the score with its grade and bar, or, for an incomplete
// run, a dash and why: a score over what could be checked would read as
// the score of the whole.
func scoreLine(p palette, r Report, bar int) string {
	if r.Score == nil || r.Grade == nil {
		n := len(r.Incomplete)
		return fmt.Sprintf("%s  incomplete: %d %s could not run (%s)", p.bold.Sprint("—"), n,
			words.Plural(int64(n), "check", "checks"), Sanitize(strings.Join(r.Incomplete, ", ")))
	}
	filled := *r.Score * bar / 100
	blocks := strings.Repeat("█", filled) + p.faint.Sprint(strings.Repeat("░", bar-filled))
	return fmt.Sprintf("%s  %s  %s", p.bold.Sprintf("%d/100", *r.Score), p.bold.Sprint(*r.Grade), blocks)
}

// barWidth is the score bar's length: 20 blocks of 5 points, or 10 of
// 10, or 5 of 20, the longest that fits on the line (24 octets before
// the bar; a block is 3).
func (t TextWriter) barWidth() int {
	switch {
	case t.Width <= 0 || t.Width >= 24+3*20:
		return 20
	case t.Width >= 24+3*10:
		return 10
	}
	return 5
}

// verdictLine is the direct-delivery verdict. When the test send went
// through a relay only, it says that the verdict rests on the DNS and
// IP facts: a relay accepting says nothing about direct delivery.
func verdictLine(p palette, r Report) string {
	v := r.Verdict
	switch v.DirectDelivery {
	case Ready:
		s := p.ready.Sprint("READY") + " for direct delivery"
		if v.Relay != "" && !sentDirect(r) {
			s += " (from DNS and the IPs; the test send went through a relay, not direct)"
		}
		return s
	case NotReady:
		return p.blocked.Sprint("NOT READY") + " for direct delivery — blocked by " + Sanitize(strings.Join(v.Blocking, ", "))
	}
	s := p.unknown.Sprint("UNKNOWN")
	if len(v.Unchecked) > 0 {
		s += " — not known from this run: " + Sanitize(strings.Join(v.Unchecked, ", "))
	}
	return s
}

// messageLine is a received message's DMARC verdict.
func messageLine(p palette, m string) string {
	switch m {
	case MessagePass:
		return p.ready.Sprint("PASS") + " — DMARC passes: receivers take the message as from its From domain"
	case MessageFail:
		return p.blocked.Sprint("FAIL") + " — DMARC fails: the From domain's policy decides what receivers do"
	}
	return p.unknown.Sprint("UNKNOWN") + " — DMARC could not be evaluated"
}

// refusal is a required rule that fails, and the providers it fails for.
type refusal struct {
	rule      ProviderRule
	providers []string
}

// providerRefusals lists the required rules that fail, each once with the
// providers that refuse for it (gmail-bulk repeats gmail's rules), in the
// providers' order.
func providerRefusals(ps []Provider) []refusal {
	var out []refusal
	for _, pr := range ps {
		if pr.Verdict != Rejects {
			continue
		}
		for _, r := range pr.Rules {
			if r.Status != RuleFail || !r.Required {
				continue
			}
			i := slices.IndexFunc(out, func(x refusal) bool { return x.rule.ID == r.ID })
			if i < 0 {
				out = append(out, refusal{rule: r})
				i = len(out) - 1
			}
			out[i].providers = append(out[i].providers, pr.ID)
		}
	}
	return out
}

// refusingNote qualifies a READY verdict when a provider would refuse:
// direct delivery in general is not delivery to that provider.
func refusingNote(v Verdict, rs []refusal) string {
	if v.DirectDelivery != Ready || len(rs) == 0 {
		return ""
	}
	var who, rules []string
	for _, r := range rs {
		rules = append(rules, r.rule.ID)
		for _, p := range r.providers {
			if !slices.Contains(who, p) {
				who = append(who, p)
			}
		}
	}
	return " — but " + Sanitize(strings.Join(who, ", ")) + " would refuse: " + Sanitize(strings.Join(rules, ", "))
}

// codesNote is a rule's reply codes, for a line about it.
func codesNote(codes []string) string {
	if len(codes) == 0 {
		return ""
	}
	return " (" + strings.Join(codes, ", ") + ")"
}

// relayLine is the relay's verdict.
func relayLine(p palette, v Verdict) string {
	switch v.Relay {
	case Ready:
		return p.ready.Sprint("READY") + " — a relay accepted the test send (the gateway hop only: not proof that the recipient takes it)"
	case NotReady:
		return p.blocked.Sprint("NOT READY") + " — blocked by " + Sanitize(strings.Join(v.RelayBlocking, ", "))
	}
	return p.unknown.Sprint("UNKNOWN") + " — no relay gave a final answer"
}

// sentDirect reports whether a test send ran on the direct path.
func sentDirect(r Report) bool {
	return slices.ContainsFunc(r.Findings(), func(f Finding) bool { return f.Path == PathDirect })
}

// attemptLine is one connection of a test send: path, host, the step it
// ended at, and the reply.
func attemptLine(a Attempt) string {
	where := a.Host
	if a.Addr != "" && a.Addr != a.Host {
		where += " (" + a.Addr + ")"
	}
	step := a.Step
	if a.Class != "" {
		step += " [" + a.Class + "]" // the error class a relays file's fallback_on names
	}
	parts := []string{unbroken(Sanitize(a.Path)), unbroken(Sanitize(where)), unbroken(Sanitize(step)), Sanitize(cmp.Or(a.Reply, a.Result))}
	return strings.Join(parts, "  ")
}

func resolverLine(r Resolver) string {
	var parts []string
	if r.Config != "" {
		parts = append(parts, "config "+r.Config)
	}
	switch {
	case r.Offline:
		parts = append(parts, "DNS offline")
	case len(r.Servers) > 0:
		parts = append(parts, "DNS via "+strings.Join(r.Servers, ", "))
	}
	switch n := len(r.Zones); {
	case n > 3:
		parts = append(parts, fmt.Sprintf("%d zone files (%s, %s, …)", n, r.Zones[0], r.Zones[1]))
	case n > 0:
		parts = append(parts, "zone files "+strings.Join(r.Zones, ", "))
	}
	parts = append(parts, fmt.Sprintf("%d %s sent", r.Queries, words.Plural(r.Queries, "query", "queries")))
	return Sanitize(strings.Join(parts, " · "))
}

// writeIndented writes a fix, its first line after first and the rest
// after rest, so multi-line fixes (records) stay readable; each line is
// sanitised. A record line that wraps goes on under its name ("Replace "
// and "   with " are as wide).
func writeIndented(out wrapper, first, rest, s string) {
	for i, line := range sanitizeLines(s) {
		lead := first
		if i > 0 {
			lead = rest
		}
		cont := rest
		if isRecordLine(line) {
			cont = rest + strings.Repeat(" ", len("Replace "))
		}
		out.line(lead, cont, line)
	}
}

// isRecordLine reports whether a line of fixText is a record change.
func isRecordLine(line string) bool {
	for _, p := range []string{"Replace ", "   with ", "Add ", "Remove "} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func countSeverity(r Report, s Severity) int {
	n := 0
	for _, f := range r.Findings() {
		if f.Severity == s {
			n++
		}
	}
	return n
}
