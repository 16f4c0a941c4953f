package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
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
// not grow with N.
func BenchmarkBatch(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
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
				"--treat-as-public", "203.0.113.0/24", "--jobs", "32"}
			var peak atomic.Uint64
			for b.Loop() {
				runtime.GC()
				stop := make(chan struct{})
				go func() {
					var m runtime.MemStats
					t := time.NewTicker(10 * time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-stop:
							return
						case <-t.C:
							runtime.ReadMemStats(&m)
							if m.HeapInuse > peak.Load() {
								peak.Store(m.HeapInuse)
							}
						}
					}
				}()
				start := time.Now()
				code := quietRun(b, args...)
				close(stop)
				if code != 0 {
					b.Fatalf("exit %d", code)
				}
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "targets/s")
			}
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
		})
	}
}
