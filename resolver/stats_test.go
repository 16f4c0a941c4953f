package resolver_test

import (
	"context"
	"fmt"
	"strings"
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
	v := r.Asker(0)
	for i := range 5 {
		_, err := v.LookupTXT(context.Background(), fmt.Sprintf("n%d.example.test", i))
		if i >= 3 && (!resolver.IsTemporary(err) || !strings.Contains(err.Error(), "more than 3 DNS questions")) {
			t.Errorf("question %d: err = %v, want refused over the cap", i+1, err)
		}
	}
	want := resolver.Stats{Questions: 3, Packets: 3, Refused: 2}
	if st, n := r.Stats(), r.QuestionsByAsker(1)[0]; st != want || n != 3 || srv.Queries() != 3 {
		t.Errorf("stats %+v, asker's count %d, server saw %d; want %+v, 3, 3", st, n, srv.Queries(), want)
	}

	offline := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Offline: true})
	for range 2 {
		offline.Asker(0).LookupTXT(context.Background(), "other.test")
	}
	if st, n := offline.Stats(), offline.QuestionsByAsker(1)[0]; st != (resolver.Stats{Refused: 1, CacheHits: 1}) || n != 0 {
		t.Errorf("offline: stats %+v, asker's count %d; want 1 refused, 1 cache hit, nothing sent", st, n)
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
	v := r.Asker(0)
	v.LookupTXT(context.Background(), "example.test")
	if _, err := v.ForServer(list.Addr).LookupTXT(context.Background(), "example.test"); err != nil {
		t.Fatal(err)
	}
	want := resolver.Stats{Questions: 2, Packets: 3}
	if st, n := r.Stats(), r.QuestionsByAsker(1)[0]; st != want || n != 2 {
		t.Errorf("stats %+v, asker's count %d; want %+v, 2 (the blocklist server's question too)", st, n, want)
	}
}

// TestQuestionsByAskerFirstInOrder: a question several askers ask is sent
// once and counted for the lowest rank that asked it, whichever asked
// first in time (issue #16: per-check counts varied between runs).
func TestQuestionsByAskerFirstInOrder(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	for _, order := range [][]int{{2, 0, 1}, {0, 1, 2}, {1, 2, 0}} {
		r := newResolver(t, srv.Addr)
		for _, rank := range order {
			r.Asker(rank).LookupTXT(context.Background(), "example.test")
		}
		r.Asker(2).LookupMX(context.Background(), "example.test")
		if got := r.QuestionsByAsker(3); got[0] != 1 || got[1] != 0 || got[2] != 1 {
			t.Errorf("asked in order %v: counts %v, want [1 0 1]", order, got)
		}
	}
}
