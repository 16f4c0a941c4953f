package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
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

// TestBatchInterruptedWhileReading: SIGINT while the targets file, a
// named pipe whose writer stays open, is still being read stops the
// batch with exit 3 and "interrupted", not a usage error (exit 2, "ff:4:
// reading stopped", found by the review of #21).
func TestBatchInterruptedWhileReading(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "targets")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	bin := preflightBinary(t)
	cmd := exec.Command(bin, "check", "--targets", fifo, "--resolver", "127.0.0.1:9", "--timeout", "5s")
	cmd.Env = append(os.Environ(), loopbackOnlyEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for preflight to open it
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fmt.Fprintln(w, "example.test 203.0.113.5\nexample.test 203.0.113.6")
	cmd.Process.Signal(os.Interrupt)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want 3; stderr:\n%s", err, stderr.String())
	}
	if want := "stopped: interrupted while " + fifo + " was read; nothing was checked\n"; stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("stdout %q, stderr %q; want no report, stderr %q", stdout.String(), stderr.String(), want)
	}
}

// TestBatchInterruptedWhileReadingStdin: --targets - on a pipe whose
// writer stays open stops on SIGINT as a named pipe does: exit 3, and
// stderr names standard input.
func TestBatchInterruptedWhileReadingStdin(t *testing.T) {
	bin := preflightBinary(t)
	cmd := exec.Command(bin, "check", "--targets", "-", "--resolver", "127.0.0.1:9", "--timeout", "5s")
	cmd.Env = append(os.Environ(), loopbackOnlyEnv+"=1")
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(w, "example.test 203.0.113.5\nexample.test 203.0.113.6")
	time.Sleep(200 * time.Millisecond) // preflight is reading, waiting for more
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(slack(5 * time.Second)):
		cmd.Process.Kill()
		t.Fatalf("still running 5 s after SIGINT; stderr:\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want 3; stderr:\n%s", err, stderr.String())
	}
	if want := "stopped: interrupted while standard input was read; nothing was checked\n"; stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("stdout %q, stderr %q; want no report, stderr %q", stdout.String(), stderr.String(), want)
	}
}
