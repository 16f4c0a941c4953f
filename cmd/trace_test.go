package cmd

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

var timed = regexp.MustCompile(`^ *[0-9]+\.[0-9]{3}s `)

// stringer is a fmt.Stringer with data in it, as smtp.Line is.
type stringer string

func (s stringer) String() string { return string(s) }

// The --verbose trace prints DNS answers and SMTP lines: their line
// breaks and escape sequences are shown escaped, the format's are kept.
func TestTraceSanitisesArguments(t *testing.T) {
	const hostile = "x\n::error::x\r\x1b]0;title\x07\x1b[2J\x9b\u009b\xff ##[stop-commands]tok"
	var buf bytes.Buffer
	g := &globalOptions{streams: Streams{Err: &buf}, verbose: true}
	trace := g.tracer()
	trace("dns: %s %q → %v: %s", hostile, hostile, errors.New(hostile), stringer(hostile))
	trace("check %s panicked: %v\n%s", "spf", hostile, []byte(hostile))
	trace("width %*d|%-6s|%x", 4, 7, "ab", "\x1b")

	out := buf.String()
	for i, r := range out {
		if r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f || r == unicode.ReplacementChar {
			t.Fatalf("raw %U at offset %d in the trace:\n%q", r, i, out)
		}
	}
	if strings.Contains(out, "##[") {
		t.Errorf("the trace holds ##[:\n%s", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	// Three calls, one of them with a line break of its own format.
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), out)
	}
	for _, l := range lines[:2] {
		if !strings.Contains(l, `x\n::error::x\r\x1b]0;title\x07\x1b[2J\x9b\u009b\xff ##\x5bstop-commands]tok`) {
			t.Errorf("data not shown escaped: %q", l)
		}
	}
	for _, l := range lines {
		if !timed.MatchString(l) {
			t.Errorf("a line does not start with the time: %q", l)
		}
	}
	if !strings.HasSuffix(lines[3], "width    7|ab    |1b") {
		t.Errorf("verbs not kept: %q", lines[3])
	}
}
