package cmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/preflight-mail/preflight/smtp/smtptest"
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

// notifyWriter closes seen when what it is given holds want.
type notifyWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.seen != nil && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
		w.seen = nil
	}
	return len(p), nil
}

// The --verbose SMTP trace is written as each line is sent or received
// (issue #16: it came when the session ended, every line with the same
// time): the server answers EHLO only once the trace shows it.
func TestTraceAsItHappens(t *testing.T) {
	stderr := &notifyWriter{want: "C: EHLO client.example.org", seen: make(chan struct{})}
	seen := stderr.seen
	addr := smtptest.Script(t, func(c net.Conn, r *bufio.Reader) {
		fmt.Fprint(c, "220 relay.example.test ESMTP\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
			case "EHLO":
				select {
				case <-seen:
					fmt.Fprint(c, "250 relay.example.test saw the trace first\r\n")
				case <-time.After(5 * time.Second):
					fmt.Fprint(c, "250 relay.example.test no trace yet\r\n")
				}
			case "QUIT":
				fmt.Fprint(c, "221 bye\r\n")
				return
			default:
				fmt.Fprint(c, "250 ok\r\n")
			}
		}
	})
	var stdout bytes.Buffer
	getenv := func(k string) string { return map[string]string{loopbackOnlyEnv: "1"}[k] }
	Run(context.Background(), []string{"send", "--mail-from", "a@example.org", "--to", "b@example.net", "--helo", "client.example.org",
		"--path", "relay", "--relay", addr, "--relay-tls", "none", "--offline", "-v"}, Streams{Out: &stdout, Err: stderr, Getenv: getenv})
	trace := stderr.buf.String()
	if !strings.Contains(trace, "S: 250 relay.example.test saw the trace first") {
		t.Errorf("EHLO was not in the trace before its reply:\n%s", trace)
	}
	if !strings.Contains(stdout.String(), "send.accepted") {
		t.Errorf("no send.accepted:\n%s", stdout.String())
	}
}
