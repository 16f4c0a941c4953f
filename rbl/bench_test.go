package rbl

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// BenchmarkQuery20Lists2IPs: 20 lists × 2 IPs, every query (targets and
// self-tests) answered after 50 ms. Reports wall time ÷ 50 ms: all
// queries go out at once, so the goal is about one round trip (≤ 1.5).
func BenchmarkQuery20Lists2IPs(b *testing.B) {
	const latency = 50 * time.Millisecond
	var zones []string
	var lists []List
	for i := range 20 {
		zone := fmt.Sprintf("bl%02d.bench.test", i)
		zones = append(zones, fmt.Sprintf("%s. SOA ns hm 1 1 1 1 1\n2.0.0.127.%s. A 127.0.0.2\n", zone, zone))
		l, _ := ParseList(zone)
		lists = append(lists, l)
	}
	srv := dnstest.New(b, zones...)
	srv.SetLatency(latency)
	targets := []string{"203.0.113.1", "203.0.113.2"}
	var total time.Duration
	for b.Loop() {
		r := resolver.New(resolver.Config{Servers: []string{srv.Addr}})
		start := time.Now()
		res := Query(context.Background(), r, lists, targets)
		total += time.Since(start)
		for _, x := range res {
			if x.Status != Clean {
				b.Fatalf("%s on %s: %+v", x.Target, x.Zone, x.Answer)
			}
		}
	}
	per := total / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(latency), "wall/RTT")
	b.ReportMetric(float64(per.Milliseconds()), "ms/run")
}
