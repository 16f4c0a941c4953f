package checks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/mtasts/ststest"
)

// BenchmarkTLSParallel: the tls check over 4 MX hosts × 2 addresses, each
// server 50 ms away (every server write waits 50 ms: one round trip per
// exchange, TLS flights included), against the same check over one
// address. The connections run in parallel, so the wall time of eight is
// about one handshake chain (greeting, EHLO, STARTTLS, handshake, EHLO,
// QUIT); the goal of issue #19 is at most 1.5 times it. The metric
// x_single is the ratio.
//
//	go test ./checks -run '^$' -bench TLSParallel -benchtime 5x
func BenchmarkTLSParallel(b *testing.B) {
	const rtt = 50 * time.Millisecond
	rpt := "v=TLSRPTv1; rua=mailto:tls@example.test"
	enforce := ststest.Good("enforce", "604800", "*.example.test")
	one := tlsScenario{mx: []mxServer{{"mx1", "127.0.0.41", "good"}}, sts: goodSTS, policy: enforce, tlsrpt: rpt, latency: rtt}
	var eight tlsScenario = tlsScenario{sts: goodSTS, policy: enforce, tlsrpt: rpt, latency: rtt}
	for h := range 4 {
		for a := range 2 {
			eight.mx = append(eight.mx, mxServer{fmt.Sprintf("mx%d", h+1), fmt.Sprintf("127.0.0.%d", 51+2*h+a), "good"})
		}
	}
	envOne, envEight := one.start(b), eight.start(b)
	run := func(env Env, want int) time.Duration {
		start := time.Now()
		fs := TLS(context.Background(), env, Target{Domain: "example.test"})
		took := time.Since(start)
		n := 0
		for _, f := range fs {
			if f.ID == "tls.ok" {
				n++
			}
		}
		if n != want {
			b.Fatalf("%d tls.ok, want %d: %v", n, want, ids(fs))
		}
		return took
	}
	var single, parallel time.Duration
	b.ResetTimer()
	for b.Loop() {
		single += run(envOne, 1)
		parallel += run(envEight, 8)
	}
	b.ReportMetric(float64(single.Milliseconds())/float64(b.N), "ms_single")
	b.ReportMetric(float64(parallel.Milliseconds())/float64(b.N), "ms_8_addresses")
	b.ReportMetric(float64(parallel)/float64(single), "x_single")
}
