package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// benchZones: one sender per /24 host, with SPF including an ESP, DKIM,
// DMARC with an external report address, MX, FCrDNS, and a blocklist.
func benchZones(hosts int) []string {
	var fwd, rev strings.Builder
	fwd.WriteString(`$ORIGIN bench.test.
@              SOA  ns hm 1 1 1 1 1
@              MX   10 mail
@              TXT  "v=spf1 include:_spf.esp.test -all"
s1._domainkey  TXT  "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
_dmarc         TXT  "v=DMARC1; p=reject; rua=mailto:d@reports.test"
mail           A    203.0.113.1
`)
	rev.WriteString("$ORIGIN 113.0.203.in-addr.arpa.\n@ SOA ns hm 1 1 1 1 1\n")
	for i := 1; i <= hosts; i++ {
		fmt.Fprintf(&fwd, "h%d A 203.0.113.%d\n", i, i)
		fmt.Fprintf(&rev, "%d PTR h%d.bench.test.\n", i, i)
	}
	return []string{fwd.String(), rev.String(),
		"$ORIGIN esp.test.\n@ SOA ns hm 1 1 1 1 1\n_spf TXT \"v=spf1 ip4:203.0.113.0/24 -all\"\n",
		"$ORIGIN reports.test.\n@ SOA ns hm 1 1 1 1 1\nbench.test._report._dmarc TXT \"v=DMARC1\"\n",
		"$ORIGIN bl.test.\n@ SOA ns hm 1 1 1 1 1\n2.0.0.127 A 127.0.0.2\n",
		// The top-level zone, as a recursive resolver would answer for
		// it: the DMARC tree walk (RFC 9989) asks _dmarc.test, which
		// must be NXDOMAIN, not REFUSED (asked again, a round trip more).
		"$ORIGIN test.\n@ SOA ns hm 1 1 1 1 1\n",
	}
}

// signedBenchZones signs bench.test and the top-level zone test, adds a
// signed root above them (the other zones are delegated without DS), and
// returns the zones and a trust anchor file: the dnssec check and DANE
// then validate as against a recursive resolver, a chain of three zones.
func signedBenchZones(b *testing.B, zones []string) ([]*resolver.Zone, string) {
	b.Helper()
	sign := func(text string) *dnstest.Signed {
		s, err := dnstest.SignText(text, dnstest.SignOptions{})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	var out []*resolver.Zone
	add := func(text string) {
		z, err := resolver.ParseZone(strings.NewReader(text), "bench.zone")
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, z)
	}
	var benchDS string
	for _, z := range zones {
		if strings.HasPrefix(z, "$ORIGIN bench.test.") {
			s := sign(z)
			benchDS = s.DS[0].String()
			add(s.Text())
		}
	}
	var test *dnstest.Signed
	for _, z := range zones {
		switch {
		case strings.HasPrefix(z, "$ORIGIN bench.test."):
		case strings.HasPrefix(z, "$ORIGIN test."):
			test = sign(z + "bench NS ns.bench.test.\nesp NS ns.bench.test.\nreports NS ns.bench.test.\nbl NS ns.bench.test.\n" + benchDS + "\n")
			add(test.Text())
		default:
			add(z)
		}
	}
	root := sign(". 3600 IN SOA ns.test. hm.test. 1 1 1 1 1\ntest. IN NS ns.test.\n" + test.DS[0].String() + "\n")
	rz, err := root.Zone()
	if err != nil {
		b.Fatal(err)
	}
	out = append(out, rz)
	anchor := filepath.Join(b.TempDir(), "root.ds")
	if err := os.WriteFile(anchor, []byte(root.DS[0].String()+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	return out, anchor
}

func quietRun(b *testing.B, args ...string) int {
	// Connections stay on loopback, as in every test: the tls check
	// reports the MX addresses outside it as not checked.
	getenv := func(k string) string {
		if k == loopbackOnlyEnv {
			return "1"
		}
		return ""
	}
	return Run(context.Background(), args, Streams{Out: io.Discard, Err: io.Discard, Getenv: getenv})
}

// BenchmarkCheckLatency: a full check with 50 ms per query. The longest
// chain of dependent lookups is 2 (PTR then A; SPF record then its
// include; MX then the hosts' addresses; DMARC then the report
// authorization), so the critical path is 100 ms; reports wall ÷ that
// (goal ≤ 1.3).
func BenchmarkCheckLatency(b *testing.B) {
	const latency = 50 * time.Millisecond
	zones, anchor := signedBenchZones(b, benchZones(1))
	srv, err := dnstest.StartZones(zones...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	srv.SetLatency(latency)
	args := []string{"check", "bench.test", "--ip", "203.0.113.1", "--helo", "h1.bench.test", "-s", "s1",
		"--resolver", srv.Addr, "--list", "bl.test", "--treat-as-public", "203.0.113.0/24", "--format", "json",
		"--trust-anchor", anchor}
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		if code := quietRun(b, args...); code != 0 {
			b.Fatalf("exit %d", code)
		}
		total += time.Since(start)
	}
	per := total / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(2*latency), "wall/critical-path")
	b.ReportMetric(float64(per.Milliseconds()), "ms/check")
}

// BenchmarkBatch checks N targets from a file against dnstest, and
// reports targets/s and the peak heap: flat memory means the peak does
// not grow with N. Goal (issue #21): ≥ 2,000 targets/s at 10,000 with
// GOMAXPROCS=2, the peak the same from 1,000 to 100,000 targets. The
// 100,000 run takes about a minute: -short leaves it out.
func BenchmarkBatch(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			if n > 10000 && testing.Short() {
				b.Skip("-short: 100,000 targets take about a minute")
			}
			srv := dnstest.New(b, benchZones(250)...)
			file := filepath.Join(b.TempDir(), "targets.txt")
			f, _ := os.Create(file)
			w := bufio.NewWriter(f)
			for i := range n {
				host := i%250 + 1
				fmt.Fprintf(w, "bench.test 203.0.113.%d h%d.bench.test s1\n", host, host)
			}
			w.Flush()
			f.Close()
			args := []string{"check", "--targets", file, "--resolver", srv.Addr, "--list", "bl.test",
				"--treat-as-public", "203.0.113.0/24"}
			var peak atomic.Uint64
			for b.Loop() {
				runtime.GC()
				stop := make(chan struct{})
				go func() {
					// runtime/metrics, not ReadMemStats: no stop of
					// the world every 10 ms in what is measured.
					m := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
					t := time.NewTicker(10 * time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-stop:
							return
						case <-t.C:
							metrics.Read(m)
							if inuse := m[0].Value.Uint64() + m[1].Value.Uint64(); inuse > peak.Load() {
								peak.Store(inuse)
							}
						}
					}
				}()
				start, cpu := time.Now(), cpuTime()
				code := quietRun(b, args...)
				close(stop)
				if code != 0 {
					b.Fatalf("exit %d", code)
				}
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "targets/s")
				// CPU time (user and system) per target, dnstest's
				// included: less noisy than targets/s on a shared
				// machine.
				b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Microsecond)/float64(n), "cpu-µs/target")
			}
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
		})
	}
}

// BenchmarkBatchLatency: a batch of 20 domains (their own SPF, MX and
// DMARC records, one ESP's include, their own sending IP, the default
// blocklists) with 50 ms per query and the default --jobs and
// --max-inflight. The critical path of one domain is 3 dependent
// lookups: the DMARC tree walk (RFC 9989) of d0.share.test asks
// _dmarc.d0.share.test, then _dmarc.share.test, then _dmarc.test (-v
// shows it). Goal (issue #21): wall ≤ 1.5 × that, so the batch takes
// about as long as one of its domains. Also reports wall ÷ the wall of
// a batch of one of the domains alone.
func BenchmarkBatchLatency(b *testing.B) {
	const latency = 50 * time.Millisecond
	srv := dnstest.New(b, shareZones()...)
	srv.SetLatency(latency)
	dir := b.TempDir()
	write := func(name string, n int) string {
		var lines strings.Builder
		for i := range n {
			fmt.Fprintf(&lines, "d%d.share.test 203.0.113.%d h%d.share.test s1\n", i, i+1, i+1)
		}
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(lines.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		return file
	}
	twenty, one := write("20.txt", 20), write("1.txt", 1)
	batch := func(file string) time.Duration {
		start := time.Now()
		if code := quietRun(b, "check", "--targets", file, "--resolver", srv.Addr, "--treat-as-public", "203.0.113.0/24"); code != 0 {
			b.Fatalf("exit %d", code)
		}
		return time.Since(start)
	}
	var all, alone time.Duration
	for b.Loop() {
		all += batch(twenty)
		b.StopTimer()
		alone += batch(one)
		b.StartTimer()
	}
	b.ReportMetric(float64(all)/float64(b.N)/float64(3*latency), "wall/critical-path")
	b.ReportMetric(float64(all)/float64(alone), "wall/one-domain")
	b.ReportMetric(float64((all / time.Duration(b.N)).Milliseconds()), "ms/batch")
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
