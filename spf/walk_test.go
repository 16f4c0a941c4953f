package spf

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

var testNow = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// txtRecord writes s as a TXT record's character-strings of at most 255
// octets (RFC 1035 §3.3).
func txtRecord(s string) string {
	var b strings.Builder
	b.WriteString("( ")
	for len(s) > 255 {
		fmt.Fprintf(&b, "%q ", s[:255])
		s = s[255:]
	}
	fmt.Fprintf(&b, "%q )", s)
	return b.String()
}

// wideZone is a record with n terms of kind (a, mx, exists) naming
// hosts that do not exist, and mx hosts with 30 MX records each.
func wideZone(kind string, n int) string {
	var rec strings.Builder
	rec.WriteString("v=spf1")
	for i := range n {
		fmt.Fprintf(&rec, " %s:h%d.wide.test", kind, i)
	}
	rec.WriteString(" ptr -all")
	var z strings.Builder
	fmt.Fprintf(&z, "$ORIGIN wide.test.\n@ SOA ns hm 1 1 1 1 1\n@ TXT %s\n", txtRecord(rec.String()))
	for i := range n {
		for j := range 30 {
			fmt.Fprintf(&z, "h%d MX 10 m%d.h%d\n", i, j, i)
		}
	}
	return z.String()
}

// TestWalkBoundsWideRecords: one record with hundreds of DNS-querying
// terms is counted in full, but the walk looks up only maxTermLookups of
// them, mx hosts and ptr names at MaxMXHosts and MaxPTRNames (issue #13
// item 11: 800 a: terms made 1,600 queries).
func TestWalkBoundsWideRecords(t *testing.T) {
	ip := netip.MustParseAddr("203.0.113.5")
	ptrs := "$ORIGIN 113.0.203.in-addr.arpa.\n@ SOA ns.test. hm.test. 1 1 1 1 1\n"
	for i := range 30 {
		ptrs += fmt.Sprintf("5 PTR p%d.wide.test.\n", i)
	}
	for _, tt := range []struct {
		kind string
		n    int
		// max questions: the TXT, the ptr term (PTR + 10 names × A and
		// AAAA), and per term looked up
		perTerm int
	}{
		{"a", 800, 2},         // A and AAAA
		{"exists", 600, 1},    // A (800 would pass MaxTXTBytes)
		{"mx", 200, 1 + 10*2}, // MX, then 10 hosts × A and AAAA
	} {
		srv := dnstest.New(t, wideZone(tt.kind, tt.n), ptrs)
		r := resolver.New(resolver.Config{Servers: []string{srv.Addr}})
		tree := Walk(context.Background(), r, "wide.test", []netip.Addr{ip})
		q := r.Stats().Questions
		// The ptr term takes one of the budget, before or after the
		// others (the walk is concurrent only across records).
		// 15: the limit and the margin docs/limits.md promises, written
		// out so that raising maxTermLookups fails here.
		limit := int64(1 + 14*tt.perTerm + 1 + 10*2)
		if q > limit {
			t.Errorf("%d %s: terms: %d questions, want at most %d", tt.n, tt.kind, q, limit)
		}
		if tree.Total() != tt.n+1 || tree.Truncated {
			t.Errorf("%d %s: terms: total %d (truncated %v), want %d counted from the record", tt.n, tt.kind, tree.Total(), tree.Truncated, tt.n+1)
		}
		if want := tt.n + 1 - maxTermLookups; tree.Unlooked != want {
			t.Errorf("%d %s: terms: %d not looked up, want %d", tt.n, tt.kind, tree.Unlooked, want)
		}
		if v := tree.VoidsFor("ip4"); tt.kind != "mx" && (len(v) == 0 || len(v) > maxTermLookups) {
			t.Errorf("%d %s: terms: %d voids for IPv4 senders, want 1 to %d", tt.n, tt.kind, len(v), maxTermLookups)
		}
		t.Logf("%d %s: terms: %d questions", tt.n, tt.kind, q)

		before := r.Stats().Questions
		res := CheckHost(context.Background(), r, Args{IP: ip, Sender: "postmaster@wide.test", Now: testNow})
		if res.Result != PermError {
			t.Errorf("%d %s: terms: evaluation %s (%s), want permerror", tt.n, tt.kind, res.Result, res.Reason)
		}
		// Evaluation stops at 10 lookups, most of them in the cache.
		if extra := r.Stats().Questions - before; extra > int64(MaxLookups*tt.perTerm) {
			t.Errorf("%d %s: terms: evaluation asked %d more questions", tt.n, tt.kind, extra)
		}
	}
}
