package report

import (
	"fmt"
	"io"
	"strings"
)

// maxSummaryFixes bounds the fixes in a step summary, as the text
// writer's "Fix first" list does.
const maxSummaryFixes = maxTopFixes

// WriteSummary writes the report as a Markdown summary for a CI job page
// (GitHub's $GITHUB_STEP_SUMMARY): the score and verdict, then the fixes
// that matter most, each with its records in a code block ready to
// paste. Data from DNS and SMTP is sanitised and Markdown-escaped
// (mdText), and records go in fenced blocks, so a hostile record can add
// neither HTML, nor links, nor table cells, nor close the fence.
func WriteSummary(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### preflight %s — %s\n\n", mdText(r.Command), mdText(targetLine(r.Target)))
	score := "— (incomplete: " + mdText(strings.Join(r.Incomplete, ", ")) + ")"
	if r.Score != nil && r.Grade != nil {
		score = fmt.Sprintf("%d/100 (%s)", *r.Score, *r.Grade)
	}
	fmt.Fprintf(&b, "| | |\n|---|---|\n| Score | %s |\n| Direct delivery | %s |\n", score, mdText(verdictSummary(r.Verdict.DirectDelivery, r.Verdict.Blocking)))
	if r.Verdict.Relay != "" {
		fmt.Fprintf(&b, "| Relay | %s |\n", mdText(verdictSummary(r.Verdict.Relay, r.Verdict.RelayBlocking)))
	}
	for _, p := range r.Providers {
		failed, unknown, _ := p.counts()
		why := ""
		switch {
		case len(failed) > 0:
			why = " (" + strings.Join(failed, ", ") + ")"
		case len(unknown) > 0:
			why = " (not known: " + strings.Join(unknown, ", ") + ")"
		}
		fmt.Fprintf(&b, "| %s | %s |\n", mdText(p.Name), mdText(p.Verdict+why))
	}
	fixes := TopFixes(r)
	if len(fixes) > 0 {
		b.WriteString("\n**Fix first**\n\n")
	}
	for i, f := range fixes {
		if i == maxSummaryFixes {
			fmt.Fprintf(&b, "… and %d more in the full report.\n", len(fixes)-maxSummaryFixes)
			break
		}
		fmt.Fprintf(&b, "%d. **%s** (%s) %s\n", i+1, mdText(f.ID), f.Severity, mdText(f.Message))
		if f.Fix != "" {
			writeFixText(&b, f.Fix)
		}
		if len(f.FixRecords) > 0 {
			var lines []string
			for _, fr := range f.FixRecords {
				for _, l := range fr.Lines() {
					lines = append(lines, Sanitize(l))
				}
			}
			fence := fenceFor(lines)
			fmt.Fprintf(&b, "\n   %s\n   %s\n   %s\n\n", fence, strings.Join(lines, "\n   "), fence)
		}
	}
	_, err := io.WriteString(w, b.String()+"\n")
	return err
}

// writeFixText writes a fix's advice under its list item: each of its
// lines a line of text, and a run of indented lines (a relays file's
// policy lines, ready to paste) in a fenced block, indentation kept.
// Joined into one paragraph, those lines ran together ("For the
// receivers that refuse this IP:   policy: for-domains   domains: ..."),
// which pasted as no valid YAML.
func writeFixText(b *strings.Builder, fix string) {
	lines := strings.Split(strings.TrimRight(fix, "\n"), "\n")
	for i := 0; i < len(lines); {
		if !strings.HasPrefix(lines[i], "  ") {
			sep := "  " // a Markdown line break
			if i == len(lines)-1 || strings.HasPrefix(lines[i+1], "  ") {
				sep = ""
			}
			fmt.Fprintf(b, "   %s%s\n", mdText(lines[i]), sep)
			i++
			continue
		}
		var block []string
		for ; i < len(lines) && strings.HasPrefix(lines[i], "  "); i++ {
			block = append(block, Sanitize(lines[i]))
		}
		fence := fenceFor(block)
		fmt.Fprintf(b, "\n   %s\n   %s\n   %s\n\n", fence, strings.Join(block, "\n   "), fence)
	}
}

// verdictSummary is a verdict with what blocks it.
func verdictSummary(v string, blocking []string) string {
	if len(blocking) == 0 {
		return v
	}
	return v + " (" + strings.Join(blocking, ", ") + ")"
}

// mdText is data shown as Markdown text: sanitised to one line, with
// every character that Markdown or HTML give a meaning escaped.
func mdText(s string) string {
	s = strings.Join(sanitizeLines(s), " ")
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]()<>#+-.!|~&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fenceFor is a code fence longer than any run of backticks in lines.
func fenceFor(lines []string) string {
	longest := 0
	for _, l := range lines {
		run := 0
		for _, r := range l {
			if r == '`' {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}
