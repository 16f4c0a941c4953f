package resolver_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// BenchmarkRoundTrip measures uncached lookups against dnstest on
// loopback: every iteration asks a new name (a wildcard answers), so
// each is one UDP round trip. Reports round trips per second and
// allocations per query.
func BenchmarkRoundTrip(b *testing.B) {
	srv := dnstest.New(b, "bench.test. SOA ns hm 1 1 1 1 1\n*.bench.test. A 203.0.113.1\n")
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}})
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%1000 == 999 {
			// A run asks at most resolver.MaxQuestions: a new run.
			r = resolver.New(resolver.Config{Servers: []string{srv.Addr}})
		}
		if _, err := r.LookupIP(ctx, "ip4", fmt.Sprintf("h%d.bench.test", i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkRoundTripParallel is the same with concurrent askers, as a
// check run does.
func BenchmarkRoundTripParallel(b *testing.B) {
	srv := dnstest.New(b, "bench.test. SOA ns hm 1 1 1 1 1\n*.bench.test. A 203.0.113.1\n")
	ctx := context.Background()
	b.ReportAllocs()
	var n atomicCounter
	b.RunParallel(func(pb *testing.PB) {
		// Each asker its own run, renewed before the per-run cap
		// (resolver.MaxQuestions).
		r, asked := resolver.New(resolver.Config{Servers: []string{srv.Addr}}), 0
		for pb.Next() {
			if asked++; asked%1000 == 0 {
				r = resolver.New(resolver.Config{Servers: []string{srv.Addr}})
			}
			if _, err := r.LookupIP(ctx, "ip4", fmt.Sprintf("h%d.bench.test", n.next())); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkCached measures a lookup answered from the run's cache.
func BenchmarkCached(b *testing.B) {
	srv := dnstest.New(b, "bench.test. SOA ns hm 1 1 1 1 1\nmail.bench.test. A 203.0.113.1\n")
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}})
	ctx := context.Background()
	if _, err := r.LookupIP(ctx, "ip4", "mail.bench.test"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.LookupIP(ctx, "ip4", "mail.bench.test"); err != nil {
			b.Fatal(err)
		}
	}
	if srv.Queries() != 1 {
		b.Errorf("server saw %d queries, want 1", srv.Queries())
	}
}

// BenchmarkOverlay measures a lookup answered from a --zone file.
func BenchmarkOverlay(b *testing.B) {
	z, err := resolver.ParseZone(stringsReader("bench.test. SOA ns hm 1 1 1 1 1\n*.bench.test. A 203.0.113.1\n"), "bench.zone")
	if err != nil {
		b.Fatal(err)
	}
	o, _ := resolver.NewOverlay(z)
	r := resolver.New(resolver.Config{Overlay: o, Offline: true})
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := r.LookupIP(ctx, "ip4", fmt.Sprintf("h%d.bench.test", i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
