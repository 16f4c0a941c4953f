package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// TestBatchSIGTERM: SIGTERM stops a batch of the preflight binary: no
// target starts after it, those running finish (their reports are
// whole), the process exits 3 within --timeout of the signal, and the
// summary says how many targets were not checked (issue #21: a batch
// went on for 80,558 more lines).
func TestBatchSIGTERM(t *testing.T) {
	const (
		n       = 2000
		timeout = 2 * time.Second
	)
	srv := dnstest.New(t, benchZones(250)...)
	srv.SetLatency(200 * time.Millisecond) // a target takes 0.4 to 0.6 s
	dir := t.TempDir()
	file := filepath.Join(dir, "targets.txt")
	var lines bytes.Buffer
	for i := range n {
		host := i%250 + 1
		if i%10 == 0 {
			// Not ready (no PTR): a finished target fails its gate,
			// and still the interrupted batch exits 3, not 1.
			host = 251
		}
		fmt.Fprintf(&lines, "bench.test 203.0.113.%d h%d.bench.test s1,t%d\n", host, host, i)
	}
	if err := os.WriteFile(file, lines.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := preflightBinary(t)
	cmd := exec.Command(bin, "check", "--targets", file, "--resolver", srv.Addr, "--list", "bl.test",
		"--treat-as-public", "203.0.113.0/24", "--timeout", timeout.String())
	cmd.Env = append(os.Environ(), loopbackOnlyEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	reports := 0
	var signalled time.Time
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Errorf("report %d is not a whole JSON object: %.80s", reports+1, sc.Bytes())
		}
		if reports++; reports == 100 {
			signalled = time.Now()
			cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	err = cmd.Wait()
	took := time.Since(signalled)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want 3; stderr:\n%s", err, stderr.String())
	}
	t.Logf("%d reports; the process ended %v after SIGTERM; stderr:\n%s", reports, took.Round(time.Millisecond), stderr.String())
	// The bound of the issue; a loaded machine gets half a second more
	// to write the last reports and exit.
	if took > timeout+500*time.Millisecond {
		t.Errorf("the batch ended %v after SIGTERM, more than --timeout %v", took, timeout)
	}
	m := regexp.MustCompile(`checked (\d+) targets .* incomplete for (\d+)\nstopped: interrupted; (\d+) of 2000 targets not checked\n$`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no summary and stop line at the end of stderr")
	}
	checked, _ := strconv.Atoi(m[1])
	incomplete, _ := strconv.Atoi(m[2])
	notChecked, _ := strconv.Atoi(m[3])
	if checked != reports || checked+notChecked != n || notChecked == 0 {
		t.Errorf("summary: %d checked, %d not checked; %d reports written, of %d", checked, notChecked, reports, n)
	}
	// The targets running at the signal had their --timeout to end.
	if incomplete != 0 {
		t.Errorf("%d targets incomplete: those running at the signal were cut short", incomplete)
	}
	if !regexp.MustCompile(`: [1-9]\d* ready, [1-9]\d* not ready`).MatchString(stderr.String()) {
		t.Errorf("want ready and not-ready targets among those checked (exit 3 over a failed gate)")
	}
}

// preflightBinary builds the preflight binary, for the tests of signals
// and pipes, which only a process of its own shows.
func preflightBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "preflight")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/preflight-mail/preflight").CombinedOutput(); err != nil {
		t.Skipf("no preflight binary to run: %v\n%s", err, out)
	}
	return bin
}

// TestBatchSecondSignal: a second SIGTERM cuts the targets running at
// the first short at once, and still the batch writes their reports,
// the summary and how many were not checked, and exits 3 (review of
// #21: the second signal killed the process without a summary).
func TestBatchSecondSignal(t *testing.T) {
	const n = 500
	srv := dnstest.New(t, benchZones(250)...)
	srv.SetLatency(time.Second) // a target takes 2 to 3 s
	file := benchTargets(t, n)
	bin := preflightBinary(t)
	cmd := exec.Command(bin, "check", "--targets", file, "--resolver", srv.Addr, "--list", "bl.test",
		"--treat-as-public", "203.0.113.0/24", "--timeout", "1m")
	cmd.Env = append(os.Environ(), loopbackOnlyEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Both signals while the first targets are half-way: they have
	// asked their first questions, whose answers take a second.
	go func() {
		for srv.Queries() == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGTERM)
		time.Sleep(200 * time.Millisecond) // the handler of the second is set
		cmd.Process.Signal(syscall.SIGTERM)
	}()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	reports := 0
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Errorf("report %d is not a whole JSON object: %.80s", reports+1, sc.Bytes())
		}
		reports++
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want 3; stderr:\n%s", err, stderr.String())
	}
	t.Logf("%d reports; stderr:\n%s", reports, stderr.String())
	m := regexp.MustCompile(`checked (\d+) targets .* incomplete for (\d+)\nstopped: interrupted; (\d+) of 500 targets not checked\n$`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no summary and stop line at the end of stderr")
	}
	checked, _ := strconv.Atoi(m[1])
	incomplete, _ := strconv.Atoi(m[2])
	notChecked, _ := strconv.Atoi(m[3])
	if checked != reports || checked+notChecked != n {
		t.Errorf("summary: %d checked, %d not checked; %d reports written, of %d", checked, notChecked, reports, n)
	}
	// With a minute of --timeout, only the second signal ended them.
	if incomplete == 0 || incomplete != checked {
		t.Errorf("no target incomplete: the second signal did not cut the running ones short")
	}
}
