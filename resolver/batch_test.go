package resolver_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

const batchZone = `$TTL 3600
$ORIGIN batch.test.
@        SOA ns hm 1 3600 600 86400 300
mail     A   203.0.113.1
zero 0   A   203.0.113.2
`

// TestBatchSharesAnswers: runs of one batch share answers (TTL > 0) and
// negative answers (with the SOA's MINIMUM), and count them as cache
// hits, not questions sent; TTL 0, negative answers without an SOA
// (RFC 2308 §5) and failures are not kept.
func TestBatchSharesAnswers(t *testing.T) {
	srv := dnstest.New(t, batchZone)
	srv.SetRcode("broken.batch.test", dns.RcodeServerFailure)
	srv.SetHook(func(q, reply *dns.Msg, _ string) []byte {
		if q.Question[0].Name != "nosoa.batch.test." {
			return nil
		}
		reply.Ns = nil
		p, _ := reply.Pack()
		return p
	})
	b := resolver.NewBatch(0)
	t.Cleanup(b.Close)
	newRun := func() *resolver.Resolver {
		return resolver.New(resolver.Config{Servers: []string{srv.Addr}, Batch: b, Attempts: 1})
	}
	ctx := context.Background()
	first := newRun()
	first.LookupIP(ctx, "ip4", "mail.batch.test")
	first.LookupIP(ctx, "ip4", "nothere.batch.test")
	first.LookupIP(ctx, "ip4", "zero.batch.test")
	first.LookupIP(ctx, "ip4", "broken.batch.test")
	first.LookupIP(ctx, "ip4", "nosoa.batch.test")
	if got := first.Stats().Questions; got != 5 {
		t.Fatalf("the first run sent %d questions, want 5", got)
	}
	second := newRun()
	ips, err := second.LookupIP(ctx, "ip4", "mail.batch.test")
	if err != nil || len(ips) != 1 {
		t.Fatalf("mail from the batch's cache: %v, %v", ips, err)
	}
	if _, err := second.LookupIP(ctx, "ip4", "nothere.batch.test"); !resolver.IsNotFound(err) {
		t.Fatalf("nothere from the batch's cache: %v, want NXDOMAIN", err)
	}
	if s := second.Stats(); s.Questions != 0 || s.CacheHits != 2 || s.Shared != 2 {
		t.Errorf("the second run: %+v, want 0 questions and 2 cache hits, both the batch's", s)
	}
	second.LookupIP(ctx, "ip4", "zero.batch.test")
	second.LookupIP(ctx, "ip4", "broken.batch.test")
	if _, err := second.LookupIP(ctx, "ip4", "nosoa.batch.test"); !resolver.IsNotFound(err) {
		t.Errorf("nosoa: %v, want NXDOMAIN", err)
	}
	if s := second.Stats(); s.Questions != 3 {
		t.Errorf("TTL 0, NXDOMAIN without SOA and SERVFAIL: the second run sent %d questions, want 3 (none kept)", s.Questions)
	}
	if srv.Queries() != 8 {
		t.Errorf("the server saw %d queries, want 8", srv.Queries())
	}
}

// TestBatchInFlight: a question that ten runs ask at once goes out once.
func TestBatchInFlight(t *testing.T) {
	srv := dnstest.New(t, batchZone)
	srv.SetLatency(100 * time.Millisecond)
	b := resolver.NewBatch(0)
	t.Cleanup(b.Close)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			r := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Batch: b})
			if _, err := r.LookupIP(context.Background(), "ip4", "mail.batch.test"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if srv.Queries() != 1 {
		t.Errorf("the server saw %d queries, want 1", srv.Queries())
	}
}

// TestBatchMaxInflight: with one question allowed in flight, and that
// one unanswered, another run's question waits for the slot, and says
// so when its time is up.
func TestBatchMaxInflight(t *testing.T) {
	srv := dnstest.New(t, batchZone)
	srv.DropAll(true)
	b := resolver.NewBatch(1)
	t.Cleanup(b.Close)
	cfg := resolver.Config{Servers: []string{srv.Addr}, Batch: b, AttemptTimeout: time.Second, Attempts: 1}
	done := make(chan struct{})
	defer func() { <-done }() // its attempt times out after a second
	go func() {
		defer close(done)
		resolver.New(cfg).LookupIP(context.Background(), "ip4", "mail.batch.test")
	}()
	for srv.Queries() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := resolver.New(cfg).LookupIP(ctx, "ip4", "other.batch.test")
	if err == nil || !strings.Contains(err.Error(), "--max-inflight") {
		t.Fatalf("got %v, want an error that names --max-inflight", err)
	}
	if srv.Queries() != 1 {
		t.Errorf("the server saw %d queries, want 1", srv.Queries())
	}
	// The waiting question would go on the wire when the slot frees,
	// and outlive its run: b.Close (the cleanup) ends it.
}

// A shared question outlives the run that asked it first: when that run
// gives up (its --timeout), a run still waiting gets the answer, from
// the one question on the wire (review of issue #21: the answer was
// thrown away and asked again, past the second run's deadline).
func TestBatchAnswerOutlivesFirstAsker(t *testing.T) {
	srv := dnstest.New(t, batchZone)
	srv.SetLatency(300 * time.Millisecond)
	b := resolver.NewBatch(0)
	t.Cleanup(b.Close)
	newRun := func() *resolver.Resolver {
		return resolver.New(resolver.Config{Servers: []string{srv.Addr}, Batch: b, Attempts: 1})
	}
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := newRun().LookupIP(short, "ip4", "mail.batch.test")
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	long, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	ips, err := newRun().LookupIP(long, "ip4", "mail.batch.test")
	if err != nil || len(ips) != 1 {
		t.Fatalf("the waiting run: %v, %v; want the answer", ips, err)
	}
	if err := <-done; err == nil {
		t.Error("the first run got an answer within 100 ms of a 300 ms server")
	}
	if n := srv.Queries(); n != 1 {
		t.Errorf("the server saw %d queries, want 1", n)
	}
}

// TTLs with the top bit set are 0 (RFC 2181 §8): not kept for the batch.
func TestBatchTopBitTTL(t *testing.T) {
	srv := dnstest.New(t, "$ORIGIN big.test.\n@ 300 SOA ns hm 1 3600 600 86400 300\nhuge 4294967295 A 203.0.113.9\n")
	b := resolver.NewBatch(0)
	t.Cleanup(b.Close)
	for range 2 {
		r := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Batch: b, Attempts: 1})
		if _, err := r.LookupIP(context.Background(), "ip4", "huge.big.test"); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Queries(); n != 2 {
		t.Errorf("the server saw %d queries, want 2 (a TTL of 2^32-1 is 0)", n)
	}
}

// Close ends the shared questions that runs gave up on: a question on the
// wire to a server that never answers, asked with a 10 s attempt by a run
// that waited 50 ms, does not outlive the batch (the package's goroutine
// check fails otherwise; CI caught such a question still on the wire).
func TestBatchCloseEndsQuestions(t *testing.T) {
	srv := dnstest.New(t, batchZone)
	srv.DropAll(true)
	b := resolver.NewBatch(1)
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Batch: b, AttemptTimeout: 10 * time.Second, Attempts: 1})
	for _, name := range []string{"mail.batch.test", "other.batch.test"} { // on the wire, then queued
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		if _, err := r.LookupIP(ctx, "ip4", name); err == nil {
			t.Fatalf("%s: an answer from a server that drops everything", name)
		}
		cancel()
	}
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close still waits for a question its runs gave up on")
	}
	if n := srv.Queries(); n != 1 {
		t.Errorf("the server saw %d queries, want 1 (the queued question never went out)", n)
	}
}

// A run at its question cap does not answer other runs' questions with
// its refusal: a target waiting on a question a capped target put to
// the batch asks it itself (a hostile target that spends its 2,000
// questions must not make the others' lookups fail).
func TestBatchCapIsTheRunsOwn(t *testing.T) {
	srv := dnstest.New(t, batchZone)
	b := resolver.NewBatch(0)
	t.Cleanup(b.Close)
	newRun := func() *resolver.Resolver {
		return resolver.New(resolver.Config{Servers: []string{srv.Addr}, Batch: b, Attempts: 1})
	}
	capped := newRun()
	resolver.SetMaxQuestions(capped, 0)
	// The capped run holds the batch's entry for mail.batch.test while
	// its refusal is made; a run asking then must still get the answer.
	entered, release := make(chan struct{}), make(chan struct{})
	resolver.SetBatchHook(b, func() { close(entered); <-release })
	done := make(chan error, 1)
	go func() {
		_, err := capped.LookupIP(context.Background(), "ip4", "mail.batch.test")
		done <- err
	}()
	<-entered
	resolver.SetBatchHook(b, nil)
	got := make(chan error, 1)
	go func() {
		_, err := newRun().LookupIP(context.Background(), "ip4", "mail.batch.test")
		got <- err
	}()
	for resolver.BatchWaiters(b) < 2 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "more than 0 DNS questions") {
		t.Fatalf("the capped run: %v, want its cap", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the other run got %v, want the answer", err)
	}
	if n := srv.Queries(); n != 1 {
		t.Errorf("the server saw %d queries, want 1 (the other run's)", n)
	}
}
