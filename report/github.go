package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/preflight-mail/preflight/internal/words"
)

// GitHubWriter writes GitHub Actions workflow commands: one annotation
// per failing, warning or error finding, then a notice with the score
// and verdict (for preflight route, a notice per route and no score) (docs.github.com, "Workflow commands for GitHub Actions").
type GitHubWriter struct{}

func (GitHubWriter) Write(w io.Writer, r Report) error {
	var b strings.Builder
	plan := len(r.Target.RouteTo) > 0 // preflight route: the routes are the result
	for _, f := range r.Findings() {
		level := ""
		switch {
		case f.Severity == Fail:
			level = "error"
		case f.Severity == Warn || f.Severity == Error:
			level = "warning"
		case plan && f.Severity == Info:
			level = "notice"
		default:
			continue
		}
		title := Sanitize(f.ID)
		if f.Severity == Error {
			title += " (could not check)"
		}
		// Data is sanitised (sanitize.go); the fix keeps its own line
		// breaks, which escapeData turns into %0A.
		msg := Sanitize(f.Message)
		if f.Subject != "" {
			msg = Sanitize(f.Subject) + ": " + msg
		}
		if fix := fixText(f); fix != "" {
			msg += "\nFix: " + strings.Join(sanitizeLines(fix), "\n")
		}
		props := ""
		if file, line := location(f); file != "" {
			// On the pull request's changed line (docs.github.com,
			// "Workflow commands": file, line).
			props = "file=" + escapeProperty(Sanitize(file)) + ","
			if line > 0 {
				props += fmt.Sprintf("line=%d,", line)
			}
		}
		props += "title=" + escapeProperty(title)
		fmt.Fprintf(&b, "::%s %s::%s\n", level, props, escapeData(msg))
	}
	verdict := Sanitize(r.Verdict.DirectDelivery)
	if len(r.Verdict.Blocking) > 0 {
		verdict += " (" + Sanitize(strings.Join(r.Verdict.Blocking, ", ")) + ")"
	}
	if r.Verdict.Relay != "" {
		verdict += ", relay " + Sanitize(r.Verdict.Relay)
		if len(r.Verdict.RelayBlocking) > 0 {
			verdict += " (" + Sanitize(strings.Join(r.Verdict.RelayBlocking, ", ")) + ")"
		}
	}
	for _, p := range r.Providers {
		failed, unknown, _ := p.counts()
		verdict += "; " + Sanitize(p.ID) + " " + Sanitize(p.Verdict)
		switch {
		case len(failed) > 0:
			verdict += " (" + Sanitize(strings.Join(failed, ", ")) + ")"
		case len(unknown) > 0:
			verdict += " (not known: " + Sanitize(strings.Join(unknown, ", ")) + ")"
		}
	}
	omitted := 0
	for _, c := range r.Checks {
		omitted += c.OmittedFindings
	}
	if omitted > 0 {
		verdict += fmt.Sprintf("; %d more %s not shown (at most %d per check)", omitted, words.Plural(omitted, "finding", "findings"), MaxFindings)
	}
	score := "score —, incomplete (" + Sanitize(strings.Join(r.Incomplete, ", ")) + ")"
	if r.Score != nil && r.Grade != nil {
		score = fmt.Sprintf("score %d/100 (%s)", *r.Score, *r.Grade)
	}
	if plan {
		fmt.Fprintf(&b, "::notice title=preflight %s::%s: a dry run from DNS only, nothing was sent\n",
			escapeProperty(Sanitize(r.Command)), escapeData(targetLine(r.Target)))
	} else {
		fmt.Fprintf(&b, "::notice title=preflight %s::%s %s, direct delivery %s\n",
			escapeProperty(Sanitize(r.Command)), escapeData(targetLine(r.Target)), escapeData(score), escapeData(verdict))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// GitHubGateErrors writes an ::error annotation for each reason a gate
// failed on a provider's verdict ("provider gmail-bulk rejects (...)"):
// the findings' annotations do not show a provider's rule, so without it
// a job failed by --fail-on-profile had no error to point at.
func GitHubGateErrors(w io.Writer, reasons []string) error {
	var b strings.Builder
	for _, r := range reasons {
		if strings.HasPrefix(r, "provider ") {
			fmt.Fprintf(&b, "::error title=preflight --fail-on-profile::%s\n", escapeData(Sanitize(r)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// GitHubNotice is one ::notice workflow command, title and message
// sanitised and escaped: for commands whose output is not a report
// (preflight explain).
func GitHubNotice(title, message string) string {
	return "::notice title=" + escapeProperty(Sanitize(title)) + "::" + escapeData(strings.Join(sanitizeLines(message), "\n")) + "\n"
}

// escapeData escapes a workflow command's message.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
