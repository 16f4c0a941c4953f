package resolver_test

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
)

// BenchmarkLookupSecureLatency measures what validation costs on the
// critical path: the test world (root → example → sub.example, three
// signed zones, two zone cuts) behind 20 ms of injected latency per
// query, a new run each iteration (nothing cached). It reports the wall
// time in round trips, beside a plain lookup's.
//
//	go test ./resolver -run '^$' -bench LookupSecureLatency -benchtime 20x
func BenchmarkLookupSecureLatency(b *testing.B) {
	const latency = 20 * time.Millisecond
	for _, bc := range []struct {
		name   string
		secure bool
		qname  string
	}{
		{"plain", false, "www.sub.example"},
		{"secure-two-cuts", true, "www.sub.example"},
		{"secure-one-cut", true, "mx.example"},
		{"secure-nxdomain", true, "nope.sub.example"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r0, srv := world{}.buildB(b)
			srv.SetLatency(latency)
			ctx := context.Background()
			var questions int64
			for b.Loop() {
				r := resolver.New(r0Config(r0, srv.Addr))
				if bc.secure {
					if a := r.LookupSecure(ctx, bc.qname, dns.TypeA); a.Security != resolver.Secure {
						b.Fatalf("%s: %s (%s)", bc.qname, a.Security, a.Reason)
					}
					questions += r.Stats().Questions
				} else if _, err := r.Lookup(ctx, bc.qname, dns.TypeA); err != nil {
					b.Fatal(err)
				} else {
					questions += r.Stats().Questions
				}
			}
			b.ReportMetric(float64(questions)/float64(b.N), "questions/op")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/latency.Seconds(), "round-trips/op")
		})
	}
}
