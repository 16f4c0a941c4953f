package checks

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// benchSPF measures the spf check over a tree served by dnstest with
// latency per query, and reports wall time ÷ (tree depth × latency): the
// walk fetches each level at once and the verdict comes from the cache,
// so the goal is close to 1 (DESIGN §12; issue #14: ≤ 1.1).
func benchSPF(b *testing.B, zone string, depth int) {
	const latency = 20 * time.Millisecond
	srv := dnstest.New(b, zone)
	srv.SetLatency(latency)
	ip := netip.MustParseAddr("203.0.113.99")
	b.ResetTimer()
	var total time.Duration
	for b.Loop() {
		env := Env{DNS: resolver.New(resolver.Config{Servers: []string{srv.Addr}})}
		start := time.Now()
		fs := SPF(context.Background(), env, Target{Domain: "bench.test", IPs: []netip.Addr{ip}})
		total += time.Since(start)
		if _, ok := find(fs, "spf.ip_pass"); !ok {
			b.Fatalf("no pass: %v", ids(fs))
		}
	}
	per := total / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(time.Duration(depth)*latency), "wall/critical-path")
	b.ReportMetric(float64(per.Milliseconds()), "ms/check")
}

// BenchmarkSPFWide: a record with 10 includes, the IP in the last (depth 2).
func BenchmarkSPFWide(b *testing.B) {
	var z, incs strings.Builder
	z.WriteString("$ORIGIN bench.test.\n@ SOA ns hm 1 1 1 1 1\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&incs, " include:_i%d.bench.test", i)
		fmt.Fprintf(&z, "_i%d TXT \"v=spf1 ip4:198.51.100.%d -all\"\n", i, i)
	}
	fmt.Fprintf(&z, "@ TXT \"v=spf1%s -all\"\n", incs.String())
	zone := strings.Replace(z.String(), "ip4:198.51.100.10 ", "ip4:203.0.113.99 ", 1)
	benchSPF(b, zone, 2)
}

// BenchmarkSPFChain: 9 nested includes, the IP in the deepest (depth 10).
func BenchmarkSPFChain(b *testing.B) {
	var z strings.Builder
	z.WriteString("$ORIGIN bench.test.\n@ SOA ns hm 1 1 1 1 1\n@ TXT \"v=spf1 include:_c1.bench.test -all\"\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&z, "_c%d TXT \"v=spf1 include:_c%d.bench.test -all\"\n", i, i+1)
	}
	z.WriteString("_c9 TXT \"v=spf1 ip4:203.0.113.99 -all\"\n")
	benchSPF(b, z.String(), 10)
}

// BenchmarkSPFBigco: a large company's tree, as such trees are: mx, its
// own range, a mail suite's include of three netblock records, another's
// include of one more, an ESP, and a CRM's exists with a macro (not
// reached) — 10 lookups, the limit. The IP is in the third netblock
// record. The longest chains are 3 deep: the record, an include, its
// includes; the record, the MX, the hosts' addresses.
func BenchmarkSPFBigco(b *testing.B) {
	z := `$ORIGIN bench.test.
@           SOA ns hm 1 1 1 1 1
@           TXT "v=spf1 mx ip4:198.51.100.0/26 include:_spf.suite.bench.test include:spf.office.bench.test include:esp.bench.test include:_spf.crm.bench.test ~all"
@           MX  10 mx1
@           MX  20 mx2
mx1         A   198.51.100.10
mx2         A   198.51.100.11
_spf.suite  TXT "v=spf1 include:_nb1.suite.bench.test include:_nb2.suite.bench.test include:_nb3.suite.bench.test ~all"
_nb1.suite  TXT "v=spf1 ip4:192.0.2.0/25 ip6:2001:db8:1::/48 ~all"
_nb2.suite  TXT "v=spf1 ip4:192.0.2.128/25 ip6:2001:db8:2::/48 ~all"
_nb3.suite  TXT "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:3::/48 ~all"
spf.office  TXT "v=spf1 ip4:198.51.100.64/26 include:spfd.office.bench.test -all"
spfd.office TXT "v=spf1 ip4:198.51.100.128/26 -all"
esp         TXT "v=spf1 ip4:198.51.100.192/27 ~all"
_spf.crm    TXT "v=spf1 exists:%{i}._spf.mta.crm.bench.test -all"
`
	benchSPF(b, z, 3)
}
