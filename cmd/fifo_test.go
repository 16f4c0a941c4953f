package cmd

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A named pipe nobody writes to, given as a file flag, ends the run
// within --timeout with a usage error that says so: opening it waits for
// a writer, and the wait is bounded (found by the review of issue #13:
// --config, --baseline and --zone on a FIFO hung past --timeout and
// Ctrl-C).
func TestFileFlagFIFOEndsInTime(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	for _, flag := range []string{"--config", "--baseline", "--zone"} {
		args := []string{"check", "--offline", "--timeout", "1s", flag, fifo}
		if flag != "--config" {
			args = append(args, "example.test", "--ip", "203.0.113.5")
		}
		start := time.Now()
		code, _, stderr := run(t, args...)
		took := time.Since(start)
		if code != 2 || !strings.Contains(stderr, "nothing to read within the time limit") || took > slack(1500*time.Millisecond) {
			t.Errorf("%s FIFO: exit %d in %v, %q", flag, code, took.Round(time.Millisecond), stderr)
		}
	}
}
