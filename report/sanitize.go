package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Untrusted data stays data (issue #13). Findings carry text chosen by
// strangers: TXT records, SPF exp= texts, PTR names, SMTP replies. The
// text writer, the baseline difference and the --verbose trace print it to
// terminals and to GitHub Actions logs, where a control sequence clears the
// screen or sets the title, and a line the runner reads as a workflow
// command ("::error::", "::add-mask::", "##[stop-commands]") changes the
// job. The rule, for every text sink:
//
//  1. Every data field goes through Sanitize before it is printed, so data
//     has no control character left to act with and no line break to start
//     a line with. Only the writer's own "\n" (and, with --color, the color
//     library's SGR sequences) reach the output.
//  2. Fix texts are the one field with line breaks of the project's own
//     (multi-line record suggestions); the writers split them on "\n" and
//     sanitise each line, so a line break from data in a fix makes at most
//     an extra, indented, sanitised line.
//  3. Each line a writer prints starts with the writer's own text or
//     indentation, and guardLine escapes a "::" that begins a line after
//     white space: the Actions runner trims leading white space before it
//     looks for "::" (actions/runner ActionCommand.TryParseV2), so
//     indentation alone does not stop a command.
//
// The JSON writer needs none of this (encoding/json escapes C0 controls;
// jsonSafe adds DEL, C1 and "##["), nor does the github writer beyond Sanitize:
// its data follows its own "::error ...::", where "::" and "##[" are
// plain text to the runner.

// Sanitize returns s with everything a terminal or the Actions runner
// would act on shown escaped, for printing as one line of text:
//
//   - C0 controls and DEL as \n, \r, \t or \xHH (ESC is \x1b);
//   - C1 controls (U+0080 to U+009F) as \u00HH: terminals read U+009B as
//     CSI, like ESC [;
//   - bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE and the
//     others isBidi names) as \uHHHH: they reorder what a reader sees
//     ("ex\u202eelpmaxe.org" shows as another domain);
//   - an octet that is not part of valid UTF-8 as \xHH;
//   - "##[" as "##\x5b": the runner's legacy command form, which it finds
//     anywhere in a line.
//
// Other text, backslashes included, is unchanged: the escapes are for
// reading, not to be reversed.
func Sanitize(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f || isBidi(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		case r == '[' && strings.HasSuffix(s[:i], "##"):
			b.WriteString(`\x5b`)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isBidi reports whether r is a bidirectional formatting control
// (Unicode TR9: LRM, RLM, ALM, the embeddings, overrides and isolates).
func isBidi(r rune) bool {
	return r == 0x200e || r == 0x200f || r == 0x061c || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// clean reports whether s needs no escaping, the usual case.
func clean(s string) bool {
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r <= 0x9f || r == utf8.RuneError || isBidi(r) {
			return false
		}
	}
	return !strings.Contains(s, "##[")
}

// sanitizeLines splits a fix text on its own line breaks and sanitises
// each line.
func sanitizeLines(s string) []string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = Sanitize(l)
	}
	return lines
}

// guardLines applies guardLine to each line of a writer's output.
func guardLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = guardLine(l)
	}
	return strings.Join(lines, "\n")
}

// guardLine escapes the first colon of a line that, after white space,
// starts with "::", so the Actions runner does not take it for a workflow
// command. The writers never start a line so themselves; only data can.
func guardLine(line string) string {
	rest := strings.TrimLeftFunc(line, unicode.IsSpace)
	if !strings.HasPrefix(rest, "::") {
		return line
	}
	return line[:len(line)-len(rest)] + `\x3a` + rest[1:]
}
