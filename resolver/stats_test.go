package resolver_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// TestStatsCountOnlyQuestionsSent: questions refused before any packet
// (over the cap, offline) are not counted as sent, in the run's stats
// or a check's counter (issue #13 item 11).
func TestStatsCountOnlyQuestionsSent(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	r := newResolver(t, srv.Addr)
	resolver.SetMaxQuestions(r, 3)
	var n atomic.Int64
	v := r.Counted(&n)
	for i := range 5 {
		_, err := v.LookupTXT(context.Background(), fmt.Sprintf("n%d.example.test", i))
		if i >= 3 && (!resolver.IsTemporary(err) || !strings.Contains(err.Error(), "more than 3 DNS questions")) {
			t.Errorf("question %d: err = %v, want refused over the cap", i+1, err)
		}
	}
	want := resolver.Stats{Questions: 3, Packets: 3, Refused: 2}
	if st := r.Stats(); st != want || n.Load() != 3 || srv.Queries() != 3 {
		t.Errorf("stats %+v, counter %d, server saw %d; want %+v, 3, 3", st, n.Load(), srv.Queries(), want)
	}

	offline := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Offline: true})
	var m atomic.Int64
	for range 2 {
		offline.Counted(&m).LookupTXT(context.Background(), "other.test")
	}
	if st := offline.Stats(); st != (resolver.Stats{Refused: 1, CacheHits: 1}) || m.Load() != 0 {
		t.Errorf("offline: stats %+v, counter %d; want 1 refused, 1 cache hit, nothing sent", st, m.Load())
	}
}

// TestStatsCountEveryPacketSent: a question no server answers was still
// sent, once per attempt; questions to a ForServer resolver are the
// run's too.
func TestStatsCountEveryPacketSent(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	srv.DropAll(true)
	list := dnstest.New(t, exampleZone)
	r := quickResolver(t, srv.Addr)
	var n atomic.Int64
	v := r.Counted(&n)
	v.LookupTXT(context.Background(), "example.test")
	if _, err := v.ForServer(list.Addr).LookupTXT(context.Background(), "example.test"); err != nil {
		t.Fatal(err)
	}
	want := resolver.Stats{Questions: 2, Packets: 3}
	if st := r.Stats(); st != want || n.Load() != 2 {
		t.Errorf("stats %+v, counter %d; want %+v, 2", st, n.Load(), want)
	}
}
