package cmd

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
)

// demoConfig is the README's demo, from the cmd directory.
const demoConfig = "../testdata/demo/preflight.yaml"

// inPTY runs the shell command script with preflight (the test binary,
// as testscript put it in $PATH) in a terminal of cols columns, and
// returns what the terminal received, without the carriage returns the
// terminal adds.
func inPTY(t *testing.T, cols uint16, script string, env ...string) string {
	t.Helper()
	if _, err := exec.LookPath("preflight"); err != nil {
		t.Skipf("no preflight in $PATH: %v", err)
	}
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), loopbackOnlyEnv+"=1", "TERM=xterm")
	cmd.Env = append(cmd.Env, env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: cols})
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer f.Close()
	done := make(chan []byte)
	go func() {
		b, err := io.ReadAll(f)
		if err != nil && !errors.Is(err, syscall.EIO) { // EIO: the other side closed
			t.Errorf("reading the terminal: %v", err)
		}
		done <- b
	}()
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
	}
	var out []byte
	select {
	case out = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal did not close")
	}
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestTerminalWidth: in an 80-column terminal the README's demo fits
// (issue #16: 27 of its 43 lines were wider, and broke their hanging
// indents). The check, as it is:
//
//	preflight check --config testdata/demo/preflight.yaml | awk 'length > 80'
//
// prints nothing (the width is the terminal's that stderr is on when
// stdout is a pipe); with stdout the terminal itself, in color, no line
// is wider either. With -v, the evidence is lines, never JSON.
func TestTerminalWidth(t *testing.T) {
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk")
	}
	dir := t.TempDir()
	if got := inPTY(t, 80, "preflight check --config "+demoConfig+" | tee "+filepath.Join(dir, "out.txt")+" | awk 'length > 80'"); got != "" {
		t.Errorf("awk 'length > 80' printed:\n%s", got)
	}
	out, err := os.ReadFile(filepath.Join(dir, "out.txt"))
	if err != nil || !bytes.Contains(out, []byte("READY for direct delivery")) {
		t.Fatalf("no report through the pipe (%v):\n%s", err, out)
	}

	for _, args := range []string{"", " -v", " --no-color -v"} {
		// stderr (the -v trace) to a file: its lines are data, not wrapped.
		got := inPTY(t, 80, "preflight check --config "+demoConfig+args+" 2>"+filepath.Join(dir, "trace.txt"))
		if !strings.Contains(got, "READY") {
			t.Fatalf("check%s: no report:\n%s", args, got)
		}
		for _, l := range strings.Split(got, "\n") {
			if n := len(ansi.ReplaceAllString(l, "")); n > 80 {
				t.Errorf("check%s: a line of %d octets in an 80-column terminal: %q", args, n, l)
			}
		}
		if plain := ansi.ReplaceAllString(got, ""); args != "" && (strings.Contains(plain, `{"`) || !strings.Contains(plain, "record: v=DMARC1; p=none")) {
			t.Errorf("check%s: the evidence is not readable lines:\n%s", args, got)
		}
	}
}

// TestNoWrapOffTerminal: when neither stdout nor stderr is a terminal
// (a CI log, a file), nothing is wrapped: a finding stays on one line,
// for grep.
func TestNoWrapOffTerminal(t *testing.T) {
	_, stdout, _ := run(t, "check", "--config", demoConfig)
	if !strings.Contains(stdout, "The DMARC policy for demo.example is p=none (at _dmarc.demo.example): monitoring mode. Receivers send reports but do nothing against forged mail.\n") {
		t.Errorf("a finding was wrapped off a terminal:\n%s", stdout)
	}
}

// render is what a terminal shows of line: a carriage return goes back
// to the first column, ESC [ K erases to the end of the line.
func render(line string) string {
	var shown []rune
	col := 0
	for i := 0; i < len(line); {
		switch {
		case line[i] == '\r':
			col = 0
			i++
		case strings.HasPrefix(line[i:], "\x1b[K"):
			shown = shown[:min(col, len(shown))]
			i += 3
		default:
			r, size := utf8.DecodeRuneInString(line[i:])
			if col < len(shown) {
				shown[col] = r
			} else {
				shown = append(shown, r)
			}
			col++
			i += size
		}
	}
	return string(shown)
}

// TestProgressBarSharesTerminal: with stdout and stderr on one terminal,
// the batch's progress bar (stderr) clears its line before each report
// (stdout), so every report line starts with the report (issue #16: the
// bar was written into the NDJSON lines).
func TestProgressBarSharesTerminal(t *testing.T) {
	dir := t.TempDir()
	targets := filepath.Join(dir, "targets.txt")
	os.WriteFile(targets, []byte(strings.Repeat("demo.example 198.51.100.7 mail.demo.example\n", 40)), 0o644)
	got := inPTY(t, 200, "preflight check --targets "+targets+" --zone ../testdata/demo --offline --list bl.demo.example --treat-as-public 198.51.100.0/24 --jobs 2")
	if !strings.Contains(got, "] 40/40") {
		t.Errorf("no progress bar on the terminal:\n%q", got)
	}
	reports := 0
	for _, l := range strings.Split(got, "\n") {
		if !strings.Contains(l, `{"schema_version"`) {
			continue
		}
		reports++
		if shown := render(l); !strings.HasPrefix(shown, `{"schema_version"`) {
			t.Errorf("a report line shows %q", shown[:min(len(shown), 60)])
		}
	}
	if reports != 40 {
		t.Errorf("%d reports, want 40", reports)
	}
}
