package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

func TestTimeoutAgainstSilentServer(t *testing.T) {
	srv := dnstest.New(t, "example.test. SOA ns hm 1 1 1 1 1\n")
	srv.DropAll(true)
	start := time.Now()
	code, stdout, _ := run(t, "rdns", "203.0.113.5", "--helo", "mail.example.test", "--resolver", srv.Addr, "--timeout", "2s", "--format", "json")
	elapsed := time.Since(start)
	if code != report.ExitIncomplete {
		t.Errorf("exit %d, want 3", code)
	}
	if elapsed > 2500*time.Millisecond {
		t.Errorf("took %v with --timeout 2s, want at most 2.5s", elapsed)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("no JSON report: %v\n%s", err, stdout)
	}
	for _, f := range rep.Findings() {
		if f.Severity != report.Error {
			t.Errorf("finding %s is %s; with no answers everything is unknown", f.ID, f.Severity)
		}
	}
	if rep.Verdict.DirectDelivery != report.Unknown {
		t.Errorf("verdict %s, want unknown", rep.Verdict.DirectDelivery)
	}
}

func TestJSONOutputIsOneDocument(t *testing.T) {
	code, stdout, stderr := run(t, "ip", "10.0.0.1", "--format", "json", "--offline")
	if code != report.ExitGateFailed {
		t.Errorf("exit %d, want 1 (stderr %q)", code, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var rep report.Report
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Error("more than one JSON document on stdout")
	}
	if rep.SchemaVersion != 2 || rep.Tool.Name != "preflight" || rep.Checks[0].Findings[0].ID != "ip.not_public" {
		t.Errorf("unexpected report: %+v", rep)
	}
}

func TestNoColorWhenNotATerminal(t *testing.T) {
	_, stdout, _ := run(t, "ip", "10.0.0.1", "--offline")
	if strings.Contains(stdout, "\x1b[") {
		t.Error("color codes written to a non-terminal")
	}
}

// failingWriter is a stdout that cannot be written, like a full disk.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

func TestReportWriteFailureIsSaid(t *testing.T) {
	for _, args := range [][]string{
		{"ip", "203.0.113.5", "--offline"},
		{"ip", "203.0.113.5", "--offline", "--format", "json"},
		{"check", "example.test", "--ip", "203.0.113.5", "--offline"},
	} {
		var stderr strings.Builder
		code := Run(context.Background(), args, Streams{Out: failingWriter{}, Err: &stderr})
		want := "preflight: the report could not be written: no space left on device\n"
		if code != report.ExitIncomplete || stderr.String() != want {
			t.Errorf("%q: exit %d, stderr %q; want exit 3, stderr %q", args, code, stderr.String(), want)
		}
	}
}

// TestConfigValidatedWithFlags: the config file's values are checked
// when it is read, and a bad one is an error at file:line naming the key,
// with an example (issue #16: the error named --fail-on, which was not
// given) — also when a flag would replace it: the file is wrong for
// every other run.
func TestConfigValidatedWithFlags(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "preflight.yaml")
	os.WriteFile(conf, []byte("target: {domain: example.test, ips: [10.0.0.1]}\noffline: true\nthresholds: {fail_on: info}\n"), 0o644)
	want := "preflight check: " + conf + `:3: thresholds.fail_on: "info": want warn or fail; for example: fail_on: warn`
	for _, extra := range [][]string{nil, {"--fail-on", "warn"}} {
		code, stdout, stderr := run(t, append([]string{"check", "--config", conf}, extra...)...)
		if code != report.ExitUsage || stdout != "" || !strings.HasPrefix(stderr, want) {
			t.Errorf("bad fail_on in the file, %q: exit %d, stdout %q, stderr %q; want exit 2, stderr %q...", extra, code, stdout, stderr, want)
		}
	}
}

// With loopbackOnlyEnv set (as the suite sets it), DNS servers outside
// loopback are not asked, whether resolv.conf or --resolver names them:
// the lookup says why, and no packet leaves the machine. A loopback
// server beside them is asked.
func TestLoopbackOnlyDNS(t *testing.T) {
	srv := dnstest.New(t, "example.test. SOA ns hm 1 1 1 1 1\nexample.test. MX 10 mx.example.test.\nmx.example.test. A 192.0.2.25\n")
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver 192.0.2.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{loopbackOnlyEnv: "1", resolvConfEnv: conf}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{nil, "192.0.2.53:53 not asked"},
		{[]string{"--resolver", "192.0.2.54"}, "192.0.2.54:53 not asked"},
		{[]string{"--resolver", "192.0.2.54", "--resolver", srv.Addr}, "mx.example.test"},
	} {
		var out, errb strings.Builder
		args := append([]string{"mx", "example.test", "--format", "json", "--timeout", "3s"}, tc.flags...)
		Run(context.Background(), args, Streams{Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] }})
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("%q: want %q in:\n%s%s", tc.flags, tc.want, out.String(), errb.String())
		}
	}
}
