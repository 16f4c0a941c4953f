package cmd

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/profiles"
	"github.com/preflight-mail/preflight/report"
)

// Bounds on what explain reads: a pasted bounce is a few KiB; standard
// input is read up to maxExplainInput, in at most maxReplies replies.
const (
	maxExplainInput = 1 << 20
	maxReplies      = 1000
	// replyExcerpt is how much of a reply the text output quotes.
	replyExcerpt = 200
)

func newCmdExplain(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "explain [REPLY...]",
		Short: "Explain a bounce or SMTP reply: which provider, which rule, what to fix",
		Long: `Explain an SMTP reply or the part of a bounce that quotes it: the provider
and rule it is about (from the same table as check --profile), what it
means, which preflight command shows the cause, and the likely fix.

The arguments, each a line (or with none, standard input), are read as
replies: a line with a reply code of its own ("550 5.1.1 ...", a log's
"said: 553 5.7.2 ...") starts a new reply, and so does a blank line; the
lines of a multi-line reply ("550-5.7.26 ..." up to "550 5.7.26 ...") and
lines without a code are one reply with the line before. So a reply typed
without quotes is one reply, and so is each quoted reply of its own code.

A reply is attributed to a provider only when it carries the provider's
mark (Gmail's "gsmtp", Outlook's server names) or words only that provider
uses ("[TSS09]"), and the code and words of one of its rules: receivers
share codes. Any other reply gets the meaning of its codes by the RFC that
defines them (RFC 3463 and those after it) and RFC 5321, and "not in the
table".

Exit codes: 0 every reply was read, 2 usage error (no reply, bad format).
--format text, json, or github (a notice per reply: explain gates nothing).`,
		Example: `  preflight explain '550-5.7.26 This mail has been blocked because the sender is unauthenticated. - gsmtp'
  preflight explain "553 5.7.2 [TSS09] All messages from 203.0.113.5 will be permanently deferred"

  # A reply from a log, on standard input
  grep 'said: 5' /var/log/mail.log | tail -1 | preflight explain --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			// explain asks no DNS and gates nothing: a flag that would do
			// either is a mistake to say, not to ignore.
			for _, name := range []string{"resolver", "zone", "offline", "fail-on", "min-score"} {
				if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
					return fmt.Errorf("--%s: explain reads replies only (no DNS, no gate); leave it out", name)
				}
			}
			return runExplain(cmd.Context(), g, args)
		},
	}
}

// runExplain reads the replies and writes what the table says of each.
func runExplain(ctx context.Context, g *globalOptions, args []string) error {
	// The arguments are lines of one text, cut into replies as standard
	// input is: a reply typed without quotes (explain 550 5.7.26 This
	// mail ...), or split at white space by the GitHub Action, is one
	// reply again, and each quoted reply with its own code is its own.
	var replies []string
	if len(args) > 0 {
		for _, p := range strings.Split(strings.ReplaceAll(strings.Join(args, "\n"), "\r\n", "\n"), "\n\n") {
			replies = append(replies, splitReplies(p)...)
		}
	}
	if len(args) == 0 {
		if f, ok := g.streams.In.(*os.File); ok && isTerminal(f) {
			fmt.Fprintln(g.streams.Err, "preflight explain: paste the reply (replies apart by a blank line), then Ctrl-D")
		}
		var err error
		if replies, err = readReplies(ctx, g.streams.In); err != nil {
			return err
		}
	}
	if len(replies) == 0 {
		return errors.New("no reply to explain: give one as an argument, or on standard input")
	}
	if len(replies) > maxReplies {
		return fmt.Errorf("%d replies: at most %d at once", len(replies), maxReplies)
	}
	table := profiles.MustLoad()
	var out []profiles.Explanation
	for _, r := range replies {
		out = append(out, table.Explain(r))
	}
	// A whole bounce pasted: its paragraphs without a reply code (the
	// apology, the DSN's headers) are not replies; say only the replies.
	if slices.ContainsFunc(out, hasCode) {
		out = slices.DeleteFunc(out, func(e profiles.Explanation) bool { return !hasCode(e) })
	}
	var b bytes.Buffer
	switch g.format {
	case "json":
		writeExplainJSON(&b, out)
	case "github":
		writeExplainGitHub(&b, out)
	default:
		writeExplainText(&b, out, min(g.width(), 100))
	}
	if _, err := g.streams.Out.Write(b.Bytes()); err != nil {
		fmt.Fprintf(g.streams.Err, "preflight: the explanation could not be written: %v\n", err)
		return exitError{report.ExitIncomplete}
	}
	return nil
}

// hasCode reports whether an explained reply had a reply code, basic
// or enhanced.
func hasCode(e profiles.Explanation) bool { return e.Reply.Basic != 0 || e.Reply.Enhanced != "" }

// readReplies reads standard input, within ctx (a pipe whose writer never
// closes it ends with the run's deadline), into paragraphs.
func readReplies(ctx context.Context, in io.Reader) ([]string, error) {
	if in == nil {
		return nil, nil
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(io.LimitReader(in, maxExplainInput+1))
		done <- result{b, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("standard input: nothing read within --timeout (%v)", context.Cause(ctx))
	}
	if res.err != nil {
		return nil, fmt.Errorf("standard input: %w", res.err)
	}
	if len(res.b) > maxExplainInput {
		return nil, fmt.Errorf("standard input: more than %d octets; paste the reply lines only", maxExplainInput)
	}
	text := strings.ReplaceAll(string(res.b), "\r\n", "\n")
	var out []string
	for _, p := range strings.Split(text, "\n\n") {
		out = append(out, splitReplies(p)...)
	}
	return out, nil
}

// splitReplies cuts a paragraph into replies: a line with a reply code
// of its own ("550 5.1.1 ...", "... said: 553 5.7.2 [TSS09] ...") starts
// a new reply, unless the reply so far ended in a continuation of the
// same code ("550-5.7.26 ..." lines, RFC 5321 §4.2.1) or has no code yet
// (a bounce's "host ... said:" line); a line without a code goes on the
// reply before it (a wrapped bounce line).
func splitReplies(p string) []string {
	var out []string
	var cur []string
	open := ""     // the code of a continuation line ending the current reply: "550"
	coded := false // the current reply has a line with a code
	for _, line := range strings.Split(p, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		code, cont := lineCode(line)
		if code != "" && coded && code != open {
			out = append(out, strings.Join(cur, "\n"))
			cur, coded = nil, false
		}
		cur = append(cur, line)
		coded = coded || code != ""
		switch {
		case cont:
			open = code
		case code != "":
			open = ""
		}
	}
	if len(cur) > 0 {
		out = append(out, strings.Join(cur, "\n"))
	}
	return out
}

// lineCode finds the reply code a line carries: a token "550-" or
// "550" followed by an enhanced status code, or "550" opening the line.
// cont says the line's last code is a continuation ("550-"): a log line
// that joined a multi-line reply ends with the last line's "550 ".
func lineCode(line string) (code string, cont bool) {
	f := strings.Fields(line)
	for i, w := range f {
		c, rest, dash := strings.Cut(w, "-")
		if len(c) != 3 || c[0] < '4' || c[0] > '5' || strings.Trim(c, "0123456789") != "" {
			continue
		}
		switch {
		case dash && (rest == "" || isEnhanced(rest)):
			code = cmp.Or(code, c)
			cont = true
		case !dash && (i == 0 || i+1 < len(f) && isEnhanced(strings.TrimRight(f[i+1], ".,;:"))):
			code = cmp.Or(code, c)
			cont = false
		}
	}
	return code, cont
}

// isEnhanced reports whether s looks like an enhanced status code (5.7.1).
func isEnhanced(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.Contains("245", parts[0]) {
		return false
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// explainJSON is explain's JSON document (docs/explain.schema.json).
type explainJSON struct {
	Tool    report.Tool `json:"tool"`
	Command string      `json:"command"`
	Replies []replyJSON `json:"replies"`
}

type replyJSON struct {
	Reply     string      `json:"reply"`
	Code      int         `json:"code,omitempty"`
	Enhanced  string      `json:"enhanced,omitempty"`
	Temporary bool        `json:"temporary"`
	Generic   string      `json:"generic"`
	InTable   bool        `json:"in_table"`
	Matches   []matchJSON `json:"matches"`
}

type matchJSON struct {
	Provider     string   `json:"provider"`
	ProviderName string   `json:"provider_name"`
	Profile      bool     `json:"profile"`
	Rule         string   `json:"rule"`
	Required     bool     `json:"required"`
	Summary      string   `json:"summary"`
	Codes        []string `json:"codes"`
	Command      string   `json:"command,omitempty"`
	Fix          string   `json:"fix"`
	Source       string   `json:"source"`
	Read         string   `json:"read"`
}

func writeExplainJSON(w io.Writer, es []profiles.Explanation) {
	doc := explainJSON{Tool: report.Tool{Name: "preflight", Version: Version()}, Command: "explain", Replies: []replyJSON{}}
	for _, e := range es {
		r := replyJSON{Reply: e.Reply.Text, Code: e.Reply.Basic, Enhanced: e.Reply.Enhanced, Temporary: e.Reply.Temporary(),
			Generic: e.Generic, InTable: len(e.Matches) > 0, Matches: []matchJSON{}}
		for _, m := range e.Matches {
			r.Matches = append(r.Matches, matchJSON{Provider: m.Provider.ID, ProviderName: m.Provider.Name, Profile: m.Profile,
				Rule: m.Rule.ID, Required: m.Rule.Required(), Summary: m.Rule.Summary, Codes: append([]string{}, m.Rule.Codes...),
				Command: m.Rule.Command, Fix: m.Rule.Fix, Source: sourceOf(m), Read: readOf(m)})
		}
		doc.Replies = append(doc.Replies, r)
	}
	report.JSONWriter{}.WriteValue(w, doc)
}

func sourceOf(m profiles.Match) string {
	if m.Rule.Source != "" {
		return m.Rule.Source
	}
	return m.Provider.Source
}

func readOf(m profiles.Match) string {
	if m.Rule.Read != "" {
		return m.Rule.Read
	}
	return m.Provider.Read
}

// writeExplainGitHub writes a ::notice per reply (GitHub Actions
// workflow commands), titled by the rule or the code: explain gates
// nothing, so nothing is an error or a warning.
func writeExplainGitHub(w io.Writer, es []profiles.Explanation) {
	var b strings.Builder
	for _, e := range es {
		title := "preflight explain"
		var lines []string
		lines = append(lines, clipText(e.Reply.Text, replyExcerpt))
		if len(e.Matches) == 0 {
			title += ": " + strings.TrimSpace(fmt.Sprintf("%s %s", codeOf(e), e.Reply.Enhanced)) + " not in the table"
		}
		for i, m := range e.Matches {
			if i == 0 {
				title += ": " + m.Rule.ID
			}
			lines = append(lines, fmt.Sprintf("%s (%s): %s (%s): %s", m.Provider.Name, m.Provider.ID, m.Rule.ID, m.Rule.Level, m.Rule.Summary))
			if m.Rule.Command != "" {
				lines = append(lines, "Check: "+m.Rule.Command)
			}
			lines = append(lines, "Fix: "+m.Rule.Fix, "Source: "+sourceOf(m)+" (read "+readOf(m)+")")
		}
		lines = append(lines, "Means: "+e.Generic)
		b.WriteString(report.GitHubNotice(title, strings.Join(lines, "\n")))
	}
	io.WriteString(w, b.String())
}

// codeOf is a reply's basic code as text, or "" when it has none.
func codeOf(e profiles.Explanation) string {
	if e.Reply.Basic == 0 {
		return ""
	}
	return fmt.Sprint(e.Reply.Basic)
}

// writeExplainText writes each reply, quoted (sanitised and cut), then
// what the table says of it, wrapped at width (80 when not a terminal).
func writeExplainText(w io.Writer, es []profiles.Explanation, width int) {
	if width <= 0 {
		width = 80
	}
	var b strings.Builder
	line := func(label, text string) {
		b.WriteString(report.Wrap(fmt.Sprintf("  %-9s ", label), "            ", report.Sanitize(text), width))
	}
	for i, e := range es {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(report.Wrap("", "  ", report.Sanitize(clipText(e.Reply.Text, replyExcerpt)), width))
		if len(e.Matches) == 0 {
			line("Provider", "not in the table: no provider's mark and rule match this reply")
		}
		for _, m := range e.Matches {
			who := "Provider"
			if !m.Profile {
				who = "From"
			}
			line(who, fmt.Sprintf("%s (%s)", m.Provider.Name, m.Provider.ID))
			line("Rule", fmt.Sprintf("%s (%s): %s", m.Rule.ID, m.Rule.Level, m.Rule.Summary))
			if m.Rule.Command != "" {
				line("Check", m.Rule.Command)
			}
			line("Fix", m.Rule.Fix)
			line("Source", sourceOf(m)+" (read "+readOf(m)+")")
		}
		line("Means", e.Generic)
	}
	io.WriteString(w, b.String())
}

// clipText cuts s to about n octets, on a character boundary, with "…".
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
