package resolver

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestBatchBounds: the batch cache drops entries past its bounds of
// entries and of bytes, expired ones first.
func TestBatchBounds(t *testing.T) {
	b := NewBatch(0)
	now := time.Now()
	add := func(i, size int, expires time.Time) {
		b.entries[ledgerKey{"", key{fmt.Sprintf("n%d.", i), 1}}] = &sharedEntry{ready: true, expires: expires, size: size}
		b.bytes += size
	}
	for i := range 40 {
		add(i, 1<<20, now.Add(time.Hour)) // 40 MiB of big TXT answers
	}
	b.makeRoom(now)
	if b.bytes > maxSharedBytes*9/10 || len(b.entries) == 0 {
		t.Errorf("after makeRoom: %d entries, %d bytes; want under %d bytes", len(b.entries), b.bytes, maxSharedBytes*9/10)
	}
	b = NewBatch(0)
	for i := range maxSharedEntries {
		expires := now.Add(time.Hour)
		if i%2 == 0 {
			expires = now.Add(-time.Second)
		}
		add(i, 100, expires)
	}
	b.makeRoom(now)
	if len(b.entries) != maxSharedEntries/2 {
		t.Errorf("after makeRoom: %d entries, want the %d unexpired", len(b.entries), maxSharedEntries/2)
	}
}

// The batch keeps an answer for its TTL up to an hour, a negative answer
// for the SOA's TTL or MINIMUM, the smaller (RFC 2308 §5), up to five
// minutes, and not at all without an SOA, a TTL with the top bit set
// (RFC 2181 §8) or a failure; DNSSEC replies alike.
func TestBatchTTLs(t *testing.T) {
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	reply := func(ans []dns.RR, ns ...dns.RR) *dns.Msg { return &dns.Msg{Answer: ans, Ns: ns} }
	a := func(ttl string) []dns.RR { return []dns.RR{rr("x.test. " + ttl + " IN A 192.0.2.1")} }
	soa := func(ttl, minimum string) dns.RR {
		return rr("test. " + ttl + " IN SOA ns.test. hm.test. 1 3600 600 86400 " + minimum)
	}
	for _, tc := range []struct {
		name string
		m    *dns.Msg
		want time.Duration
	}{
		{"answer", reply(a("300")), 300 * time.Second},
		{"answer over the cap", reply(a("86400")), MaxSharedTTL},
		{"answer, the smallest TTL of the set", reply(append(a("300"), rr("x.test. 30 IN A 192.0.2.2"))), 30 * time.Second},
		{"answer, top bit set", reply(a("4294967295")), 0},
		{"negative, MINIMUM smaller", reply(nil, soa("3600", "60")), 60 * time.Second},
		{"negative, SOA TTL smaller", reply(nil, soa("45", "3600")), 45 * time.Second},
		{"negative over the cap", reply(nil, soa("86400", "86400")), MaxNegativeTTL},
		{"negative without an SOA", reply(nil), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := secureTTL(tc.m, nil); got != tc.want {
				t.Errorf("DNSSEC reply: kept %v, want %v", got, tc.want)
			}
			var h *hopResult
			var err error
			if len(tc.m.Answer) > 0 {
				h = &hopResult{ttl: replyTTL(tc.m)}
			} else {
				err = &LookupError{Kind: ErrNoData, ttl: replyTTL(tc.m)}
			}
			if got := sharedTTL(h, err); got != tc.want {
				t.Errorf("plain answer: kept %v, want %v", got, tc.want)
			}
		})
	}
	if got := secureTTL(nil, errors.New("timeout")); got != 0 {
		t.Errorf("a failed DNSSEC question kept %v", got)
	}
	if got := sharedTTL(nil, &LookupError{Kind: ErrTemporary, ttl: time.Hour}); got != 0 {
		t.Errorf("SERVFAIL kept %v", got)
	}
}
