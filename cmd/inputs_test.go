package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/internal/inputfile"
	"github.com/preflight-mail/preflight/report"
)

// maxPeakHeap is issue #13's bound on memory for hostile inputs.
const maxPeakHeap = 200 << 20

// peakHeap runs f and returns the largest heap in use seen while it ran
// (sampled every 5 ms, so a lower bound) and the octets it allocated in
// all (an upper bound on what it added to the heap).
func peakHeap(f func()) (peak, allocated uint64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var max atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > max.Load() {
				max.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return max.Load(), after.TotalAlloc - before.TotalAlloc
}

// timedRun is run, and how long it took.
func timedRun(t *testing.T, args ...string) (took time.Duration, code int, stdout, stderr string) {
	start := time.Now()
	code, stdout, stderr = run(t, args...)
	return time.Since(start), code, stdout, stderr
}

// devZero returns a symbolic link to /dev/zero in a temporary directory:
// what a pull request can add to a repository for any file flag.
func devZero(t *testing.T) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), "zero")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Skip(err)
	}
	return link
}

// TestFileFlagsFromDevZero: every file flag pointed at /dev/zero is a
// usage error that names the flag and why, read in bounded memory and
// time (issue #13 item 6).
func TestFileFlagsFromDevZero(t *testing.T) {
	zero := devZero(t)
	send := []string{"send", "--mail-from", "a@example.org", "--to", "b@example.net", "--helo", "c.example.org", "--path", "relay", "--relay", "127.0.0.1:1"}
	tests := []struct {
		flag string
		args []string
		want string
	}{
		{"--password-file", append(send, "--auth-user", "u", "--password-file", zero), "--password-file: " + zero + ": not a regular file but a character device; a secret file must be one"},
		{"--spamhaus-key-file", []string{"rbl", "203.0.113.5", "--offline", "--spamhaus-key-file", zero}, "not a regular file but a character device"},
		{"--config", []string{"check", "--config", zero}, "--config: " + zero + ": too large: more than 1 MiB, the limit for a YAML file"},
		{"--baseline", []string{"check", "example.test", "--ip", "203.0.113.5", "--offline", "--baseline", zero}, "too large: more than 1 MiB, the limit for a JSON report"},
		{"--relays", append(send, "--relays", zero), "too large: more than 1 MiB, the limit for a YAML file"},
		{"--ca-file", append(send, "--ca-file", zero), "too large: more than 1 MiB, the limit for a certificate file"},
		{"--dkim-key", []string{"dkim", "example.test", "-s", "s1", "--offline", "--dkim-key", zero}, "too large: more than 16 KiB, the limit for a private key file"},
		{"--zone", []string{"mx", "example.test", "--offline", "--zone", zero}, "--zone: " + zero + ":1:1: control character 0x00: a zone file is text"},
		{"--targets", []string{"check", "--offline", "--targets", zero}, zero + ":1: a line longer than 64 KiB"},
		{"--psl", []string{"dmarc", "example.test", "--offline", "--psl", zero}, "--psl: " + zero + ":1: a line longer than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			var code int
			var stdout, stderr string
			var took time.Duration
			peak, alloc := peakHeap(func() { took, code, stdout, stderr = timedRun(t, tt.args...) })
			t.Logf("%s /dev/zero: %v, peak heap %.1f MB, allocated %.1f MB", tt.flag, took.Round(time.Millisecond), float64(peak)/(1<<20), float64(alloc)/(1<<20))
			if code != report.ExitUsage || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, stdout, stderr, tt.want)
			}
			if peak > maxPeakHeap || alloc > maxPeakHeap {
				t.Errorf("peak heap %d, allocated %d: over %d", peak, alloc, maxPeakHeap)
			}
			if took > 5*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

// TestPasswordFile: a password file other users can read works with a
// warning on stderr; a FIFO is refused at once, without waiting for a
// writer (issue #13 item 16).
func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	send := []string{"send", "--mail-from", "a@example.org", "--to", "b@example.net", "--helo", "c.example.org",
		"--path", "relay", "--relay", "127.0.0.1:1", "--auth-user", "u", "--format", "json", "--timeout", "2s"}
	pw := filepath.Join(dir, "pw")
	for mode, warn := range map[os.FileMode]bool{0o600: false, 0o400: false, 0o640: true, 0o644: true} {
		os.WriteFile(pw, []byte("s3cret-pw\n"), 0o600)
		os.Chmod(pw, mode)
		code, _, stderr := run(t, append(send, "--password-file", pw)...)
		want := fmt.Sprintf("preflight: warning: --password-file %s can be read by other users (mode %04o); chmod 600 it\n", pw, mode)
		if code == report.ExitUsage || strings.Contains(stderr, want) != warn {
			t.Errorf("mode %04o: exit %d, stderr %q; warning expected: %v", mode, code, stderr, warn)
		}
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	start := time.Now()
	code, _, stderr := run(t, append(send, "--password-file", fifo)...)
	if want := "--password-file: " + fifo + ": not a regular file but a named pipe (FIFO); a secret file must be one"; code != report.ExitUsage || !strings.Contains(stderr, want) {
		t.Errorf("FIFO: exit %d, stderr %q; want exit 2 and %q", code, stderr, want)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing the FIFO took %v", d)
	}
	// A file of two lines is refused before any connection: its password
	// would hold a line break, and a relay echoing it in a reply split it
	// into two lines, neither redacted (the first printed in clear). The
	// same for the environment.
	os.WriteFile(pw, []byte("line1secret\nline2secret\n"), 0o600)
	code, stdout, stderr := run(t, append(send, "--password-file", pw)...)
	if want := "--password-file " + pw + ": smtp: a password with a control character"; code != report.ExitUsage || !strings.Contains(stderr, want) || stdout != "" {
		t.Errorf("two-line password file: exit %d, stdout %q, stderr %q; want exit 2 and %q", code, stdout, stderr, want)
	}
	if strings.Contains(stdout+stderr, "secret") {
		t.Errorf("the refusal quotes the password: %q", stderr)
	}
	var out, errb strings.Builder
	getenv := func(k string) string {
		switch k {
		case "PF_TEST_PW":
			return "line1secret\nline2secret"
		case loopbackOnlyEnv:
			return "1"
		}
		return ""
	}
	code = Run(context.Background(), append(send, "--password-env", "PF_TEST_PW"), Streams{Out: &out, Err: &errb, Getenv: getenv})
	if code != report.ExitUsage || !strings.Contains(errb.String(), "--password-env PF_TEST_PW: smtp: a password with a control character") {
		t.Errorf("two-line password in the environment: exit %d, stderr %q; want exit 2", code, errb.String())
	}
}

// blankZone writes a zone file of a SOA and then size octets of empty
// lines, as issue #13 found taking 2.4 GB.
func blankZone(t *testing.T, path, apex string, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "$ORIGIN %s.\n@ SOA ns hm 1 1 1 1 1\n", apex)
	lines := make([]byte, 1<<20)
	for i := range lines {
		lines[i] = '\n'
	}
	for n := 0; n < size; n += len(lines) {
		if _, err := f.Write(lines[:min(len(lines), size-n)]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBlankLineZones: a 63 MB zone of blank lines, and a directory of
// three 22 MB ones, load in flat memory and stop at --timeout (issue
// #13 item 6: 2.4 GB and 14 s, 5.5 GB and 66 s).
func TestBlankLineZones(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "blank.zone")
	blankZone(t, one, "example.test", 63<<20)
	three := filepath.Join(dir, "three")
	os.Mkdir(three, 0o755)
	for _, name := range []string{"a", "b", "c"} {
		blankZone(t, filepath.Join(three, name+".zone"), name+".example.test", 22<<20)
	}
	for _, zone := range []string{one, three} {
		var code int
		var stderr string
		var took time.Duration
		peak, _ := peakHeap(func() {
			took, code, _, stderr = timedRun(t, "mx", "example.test", "--zone", zone, "--offline", "--timeout", "1s")
		})
		t.Logf("%s: exit %d in %v, peak heap %.1f MB", filepath.Base(zone), code, took.Round(time.Millisecond), float64(peak)/(1<<20))
		if took > slack(1100*time.Millisecond) {
			t.Errorf("%s: took %v with --timeout 1s", zone, took)
		}
		if peak > maxPeakHeap {
			t.Errorf("%s: peak heap %d", zone, peak)
		}
		// Parsed in time (a fast machine) or refused: nothing else.
		if code != report.ExitOK && !strings.Contains(stderr, "(the zone files must load within --timeout 1s)") {
			t.Errorf("%s: exit %d, stderr %q", zone, code, stderr)
		}
		os.RemoveAll(zone)
	}
}

// TestFileErrorsQuoteNoSecrets: a file flag pointed at a file of another
// kind (an environment with its secrets, a .env file) is a usage error
// that names file:line:col and quotes nothing of the file (issue #13
// item 9: --zone /proc/self/environ printed every secret).
func TestFileErrorsQuoteNoSecrets(t *testing.T) {
	const secret = "hunter2-s3cret-value"
	dir := t.TempDir()
	environ := filepath.Join(dir, "environ")
	os.WriteFile(environ, []byte("SHELL=/bin/sh\x00SECRET_TOKEN="+secret+"\x00HOME=/root\x00"), 0o600)
	dotenv := filepath.Join(dir, "secrets.env")
	os.WriteFile(dotenv, []byte("SECRET_TOKEN="+secret+"\nOTHER="+secret+" and more\n"), 0o600)
	files := []string{environ, dotenv, "/proc/self/environ"}
	var procSecrets []string // what /proc/self/environ holds that no message would say
	if b, err := os.ReadFile("/proc/self/environ"); err == nil {
		for kv := range strings.SplitSeq(string(b), "\x00") {
			if _, v, ok := strings.Cut(kv, "="); ok && len(v) >= 12 {
				procSecrets = append(procSecrets, v)
			}
		}
	}
	send := []string{"send", "--mail-from", "a@example.org", "--to", "b@example.net", "--helo", "c.example.org", "--path", "relay", "--relay", "127.0.0.1:1"}
	flags := map[string]func(file string) []string{
		"--zone":   func(f string) []string { return []string{"mx", "example.test", "--offline", "--zone", f} },
		"--config": func(f string) []string { return []string{"check", "--config", f} },
		"--baseline": func(f string) []string {
			return []string{"check", "example.test", "--ip", "203.0.113.5", "--offline", "--baseline", f}
		},
		"--relays":  func(f string) []string { return append(send, "--relays", f) },
		"--ca-file": func(f string) []string { return append(send, "--ca-file", f) },
		"--dkim-key": func(f string) []string {
			return []string{"dkim", "example.test", "-s", "s1", "--offline", "--dkim-key", f}
		},
		"--spamhaus-key-file": func(f string) []string {
			return []string{"rbl", "203.0.113.5", "--offline", "--spamhaus-key-file", f}
		},
	}
	for flag, args := range flags {
		for _, file := range files {
			code, stdout, stderr := run(t, args(file)...)
			if code != report.ExitUsage || stdout != "" {
				t.Errorf("%s %s: exit %d, stdout %q; want a usage error", flag, file, code, stdout)
			}
			for _, s := range append([]string{secret}, procSecrets...) {
				if strings.Contains(stderr, s) {
					t.Errorf("%s %s: the error quotes the file: %s", flag, file, stderr)
					break
				}
			}
			t.Logf("%s %s: %s", flag, filepath.Base(file), strings.TrimSpace(stderr))
		}
	}
	// A password file with a NUL is not a password, to be sent nowhere.
	code, _, stderr := run(t, append(send, "--auth-user", "u", "--password-file", environ)...)
	if code != report.ExitUsage || !strings.Contains(stderr, "control character 0x00: a secret file is text") || strings.Contains(stderr, secret) {
		t.Errorf("--password-file environ: exit %d, stderr %q", code, stderr)
	}
}

// TestConfigErrors: errors in a config name file:line and what was
// wanted, and quote a value only as a short excerpt.
func TestConfigErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	tests := []struct{ text, want string }{
		{"- a\n- b\n", p + ":1:1: want keys with values (key: value) at the top, not a list"},
		{"target: [a, b]\n", p + ":1: target: want keys with values, not a list; for example: target: {domain: example.com, ips: [203.0.113.5]}"},
		{"offline: definitely-not\n", p + `:1: offline: want true or false, not the single value "definitely-not"; for example: offline: true`},
		{"target: {domain: x}\nzone: [a]\nresolver: [b]\n", p + `:2: zone: unknown key; did you mean zones? For example: zones: [dns/, reverse.zone]; ` +
			p + `:3: resolver: unknown key; did you mean resolvers? For example: resolvers: [127.0.0.1, "[::1]:53"]`},
		{"timeout: " + strings.Repeat("9", 100) + "\n", p + `:1: timeout: "` + strings.Repeat("9", 40) + `…" is not a positive duration; for example: timeout: 30s`},
		{"target:\n  domain: x\n  ips: 203.0.113.5\n", p + `:3: target.ips: want a list, not the single value "203.0.113.5"; for example: ips: [203.0.113.5, "2001:db8::5"]`},
		{"targets:\n  - {domain: a.example, ips: [203.0.113.5]}\n  - {domain: b.example, ips: [203.0.113.5, x]}\n", p + `:3: targets.ips: "x" is not an IP address; for example: ips: [203.0.113.5, "2001:db8::5"]`},
		{"relays: {host: x}\n", p + `:1: relays: want a list, not keys with values; for example: relays: [{host: "smtp.example.net:587", priority: high}]`},
		{"relays:\n  - {host: \"a:25\", tls: required}\n", p + `:2: relays.tls: relay a:25: tls "required": a mode of the direct path, whose TLS is --tls (tls in a config); the relays' modes are starttls, implicit and none; for example: tls: implicit`},
		{"send: {tls: implicit}\n", p + `:1: send.tls: "implicit": a mode of the relays, whose TLS is --relay-tls (relay_tls in a config); the direct path's modes are opportunistic, required and none; for example: tls: required`},
		{"offline: true\nresolvers: [127.0.0.1]\n", p + `:1: offline: true, and resolvers (line 2) name servers: offline sends no DNS packet to any server; keep one of them; for example: offline: true`},
		{"timeout: 5s\ntimeout: 6s\n", p + `:2: timeout: given twice (also at line 1); for example: timeout: 30s`},
		{"target: {ips: [203.0.113.5]}\n", p + `:1: target.domain: missing: the domain the mail is from; for example: domain: example.com`},
		{"target:\n  domain: a..example\n", p + `:2: target.domain: "a..example" is not a valid domain name: empty label; for example: domain: example.com`},
		{"target:\n\tdomain: x\n", p + ":2: found character that cannot start any token"},
	}
	for _, tt := range tests {
		os.WriteFile(p, []byte(tt.text), 0o600)
		if _, err := loadConfig(t.Context(), p); err == nil || err.Error() != tt.want {
			t.Errorf("%q: %v\nwant %s", tt.text, err, tt.want)
		}
	}
}

// batchZone is a zone for batch tests: example.test's mail host and PTR.
const batchZone = `$ORIGIN example.test.
@     SOA  ns hm 1 1 1 1 1
@     MX   10 mail
@     TXT  "v=spf1 ip4:203.0.113.0/24 -all"
mail  A    203.0.113.5
_dmarc TXT "v=DMARC1; p=reject"
`

// TestTargetsFromFIFO: --targets from a pipe checks every target in it
// (issue #13 item 3: the file was read twice, and the pipe was empty the
// second time: "checked 0 targets", exit 0); a file without targets is a
// usage error.
func TestTargetsFromFIFO(t *testing.T) {
	dir := t.TempDir()
	zone := filepath.Join(dir, "example.zone")
	os.WriteFile(zone, []byte(batchZone), 0o644)
	fifo := filepath.Join(dir, "targets")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	feed := func(text string) {
		go func() {
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			f.WriteString(text)
			f.Close()
		}()
	}
	args := []string{"check", "--targets", fifo, "--zone", zone, "--offline", "--treat-as-public", "203.0.113.0/24", "--timeout", "5s"}

	feed("# three targets\nexample.test 203.0.113.5\nexample.test 203.0.113.6\n{\"domain\": \"example.test\", \"ips\": [\"203.0.113.7\"]}\n")
	_, stdout, stderr := run(t, args...)
	if n := strings.Count(stdout, `{"schema_version":2,`); n != 3 || !strings.Contains(stderr, "checked 3 targets") {
		t.Errorf("%d reports, stderr %q; want 3", n, stderr)
	}

	for _, text := range []string{"", "# nothing\n\n"} {
		feed(text)
		code, stdout, stderr := run(t, args...)
		if want := "no targets in " + fifo; code != report.ExitUsage || stdout != "" || !strings.Contains(stderr, want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", text, code, stdout, stderr, want)
		}
	}
}

// ipList returns n IPv4 addresses in 203.0.112.0/20, comma-separated.
func ipList(n int) string {
	ips := make([]string, n)
	for i := range ips {
		ips[i] = fmt.Sprintf("203.0.%d.%d", 112+i>>8, i&255)
	}
	return strings.Join(ips, ",")
}

// TestTargetSizeBounded: a target with 4,000 IPs, or 33 selectors, is a
// usage error; 16 targets of the most IPs allowed, 16 at a time, stay
// well under the memory bound (issue #13 item 6: 4,000 IPs × --jobs 16
// took 1.26 GB).
func TestTargetSizeBounded(t *testing.T) {
	dir := t.TempDir()
	zone := filepath.Join(dir, "example.zone")
	os.WriteFile(zone, []byte(batchZone), 0o644)
	bl := filepath.Join(dir, "bl.zone")
	os.WriteFile(bl, []byte("$ORIGIN bl.test.\n@ SOA ns hm 1 1 1 1 1\n2.0.0.127 A 127.0.0.2\n"), 0o644)
	dns := []string{"--zone", zone, "--zone", bl, "--offline", "--timeout", "10s"}
	common := append([]string{"--list", "bl.test", "--treat-as-public", "203.0.112.0/20"}, dns...)

	targets := filepath.Join(dir, "targets.txt")
	os.WriteFile(targets, []byte(strings.Repeat("example.test "+ipList(4000)+"\n", 16)), 0o644)
	for _, args := range [][]string{
		{"check", "example.test", "--ip", ipList(4000)},
		{"check", "--targets", targets, "--jobs", "16"},
		append([]string{"rdns"}, strings.Split(ipList(33), ",")...),
	} {
		var code int
		var stderr string
		peak, _ := peakHeap(func() { code, _, stderr = run(t, append(args, dns...)...) })
		if code != report.ExitUsage || !strings.Contains(stderr, "addresses: at most 32 per target") || peak > maxPeakHeap {
			t.Errorf("%s: exit %d, peak heap %d, stderr %.200q", args[:2], code, peak, stderr)
		}
	}
	code, _, stderr := run(t, append([]string{"dkim", "example.test", "-s", strings.Repeat("s,", 32) + "s"}, dns...)...)
	if code != report.ExitUsage || !strings.Contains(stderr, "--selector: 33 selectors: at most 32 per target") {
		t.Errorf("33 selectors: exit %d, stderr %q", code, stderr)
	}

	os.WriteFile(targets, []byte(strings.Repeat("example.test "+ipList(32)+" mail.example.test s1\n", 16)), 0o644)
	var n int
	var stdout string
	var took time.Duration
	peak, alloc := peakHeap(func() {
		took, _, stdout, stderr = timedRun(t, append([]string{"check", "--targets", targets, "--jobs", "16"}, common...)...)
	})
	t.Logf("16 targets × 32 IPs, --jobs 16: %v, peak heap %.1f MB, allocated %.1f MB", took.Round(time.Millisecond), float64(peak)/(1<<20), float64(alloc)/(1<<20))
	if n = strings.Count(stdout, "\n"); n != 16 || peak > maxPeakHeap {
		t.Errorf("%d reports, peak heap %d; stderr %q", n, peak, stderr)
	}
}

// TestHostileReportFitsABaseline: a 16 KB SPF record of 1,700 bad terms
// made a 55 MB report, one finding per term with the record in each. Cut
// to the report's bounds it stays a usable --baseline (issue #13 item
// 17).
func TestHostileReportFitsABaseline(t *testing.T) {
	var terms strings.Builder
	terms.WriteString("v=spf1")
	for i := 0; terms.Len() < 16000; i++ {
		fmt.Fprintf(&terms, " bad%d:x", i)
	}
	record := terms.String()
	var quoted []string
	for len(record) > 250 {
		quoted, record = append(quoted, `"`+record[:250]+`"`), record[250:]
	}
	quoted = append(quoted, `"`+record+`"`)
	dir := t.TempDir()
	zone := filepath.Join(dir, "hostile.zone")
	os.WriteFile(zone, []byte("$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\n@ TXT "+strings.Join(quoted, " ")+"\n"), 0o644)
	args := []string{"check", "example.test", "--ip", "203.0.113.5", "-s", "s1", "--zone", zone, "--offline", "--format", "json"}
	_, stdout, _ := run(t, args...)
	t.Logf("report of %d octets", len(stdout))
	if int64(len(stdout)) > inputfile.Report.Max() {
		t.Fatalf("report of %d octets, over the %d a baseline may have", len(stdout), inputfile.Report.Max())
	}
	base := filepath.Join(dir, "base.json")
	os.WriteFile(base, []byte(stdout), 0o644)
	if code, _, stderr := run(t, append(args, "--baseline", base)...); code == report.ExitUsage || !strings.Contains(stderr, "Compared with the baseline") {
		t.Errorf("the same run against it as a baseline: exit %d, stderr %q", code, stderr)
	}
}
