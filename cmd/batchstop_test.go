package cmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// benchTargets writes a targets file of n targets of benchZones(250),
// each with a DKIM selector of its own (t0, t1, ...): the server's log
// shows which targets were checked.
func benchTargets(t *testing.T, n int) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "targets.txt")
	var lines bytes.Buffer
	for i := range n {
		host := i%250 + 1
		fmt.Fprintf(&lines, "bench.test 203.0.113.%d h%d.bench.test s1,t%d\n", host, host, i)
	}
	if err := os.WriteFile(file, lines.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// checkedTargets counts the targets whose own selector the server was
// asked for.
func checkedTargets(srv *dnstest.Server) int {
	n := 0
	for _, l := range srv.Log() {
		if strings.HasPrefix(l, "udp TXT t") && strings.HasSuffix(l, "._domainkey.bench.test") {
			n++
		}
	}
	return n
}

// fullWriter takes ok writes, then fails every one like a full disk.
type fullWriter struct{ ok, writes atomic.Int64 }

func (w *fullWriter) Write(p []byte) (int, error) {
	if w.writes.Add(1) > w.ok.Load() {
		return 0, errors.New("no space left on device")
	}
	return len(p), nil
}

// TestBatchWriteFailureStops: a report that cannot be written (a full
// disk) stops the batch: no target starts after it, stderr says the
// reports could not be written and how many were not, exit 3 — as a
// single check's unwritten report (review of #21: the batch went on and
// exited 0, "20 ready", with nothing written).
func TestBatchWriteFailureStops(t *testing.T) {
	const n = 2000
	srv := dnstest.New(t, benchZones(250)...)
	file := benchTargets(t, n)
	out := &fullWriter{}
	out.ok.Store(5)
	var stderr strings.Builder
	getenv := func(k string) string {
		if k == loopbackOnlyEnv {
			return "1"
		}
		return ""
	}
	code := Run(context.Background(), []string{"check", "--targets", file, "--resolver", srv.Addr, "--list", "bl.test",
		"--treat-as-public", "203.0.113.0/24", "--jobs", "4"}, Streams{Out: out, Err: &stderr, Getenv: getenv})
	if code != report.ExitIncomplete {
		t.Errorf("exit %d, want 3; stderr:\n%s", code, stderr.String())
	}
	want := "stopped: the reports could not be written: no space left on device; 1995 of 2000 targets not written\n"
	if !strings.HasSuffix(stderr.String(), want) || !strings.Contains(stderr.String(), "checked 5 targets") {
		t.Errorf("stderr:\n%s\nwant it to end with the 5 reports written and:\n%s", stderr.String(), want)
	}
	if w := out.writes.Load(); w != 6 {
		t.Errorf("%d writes to stdout, want 6: none after the first that failed", w)
	}
	// The batch stopped: only the targets running at the failure ran.
	if c := checkedTargets(srv); c > 5+1+4+4 {
		t.Errorf("%d of %d targets checked after the 6th report could not be written", c, n)
	}
}

// TestBatchBrokenPipe: a batch of the binary whose stdout's reader goes
// away (`| head -1`) stops, says on stderr that the reports could not
// be written, and exits 3; SIGPIPE does not kill it silently (review of
// #21: exit 141, no summary).
func TestBatchBrokenPipe(t *testing.T) {
	const n = 2000
	srv := dnstest.New(t, benchZones(250)...)
	srv.SetLatency(20 * time.Millisecond)
	file := benchTargets(t, n)
	bin := preflightBinary(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "check", "--targets", file, "--resolver", srv.Addr, "--list", "bl.test",
		"--treat-as-public", "203.0.113.0/24")
	cmd.Env = append(os.Environ(), loopbackOnlyEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		t.Fatalf("no first report: %v", sc.Err())
	}
	r.Close() // head -1 has its line
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want 3; stderr:\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`\nstopped: the reports could not be written: write /dev/stdout: broken pipe; (\d+) of 2000 targets not written\n$`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("stderr does not end with the stop line:\n%s", stderr.String())
	}
	if notWritten, _ := strconv.Atoi(m[1]); notWritten < n/2 {
		t.Errorf("%d targets not written: the batch went on after the pipe closed", notWritten)
	}
}
