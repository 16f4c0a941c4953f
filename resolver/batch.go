package resolver

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Bounds of the batch cache (issue #21).
const (
	// MaxSharedTTL caps how long a batch keeps an answer, whatever its
	// TTL says: a batch of a day sees changes made during it.
	MaxSharedTTL = time.Hour
	// MaxNegativeTTL caps how long a batch keeps NXDOMAIN and NODATA
	// (RFC 2308 §5: the SOA's TTL or MINIMUM, the smaller; without an
	// SOA in the reply, not cached). Short: a record added while the
	// batch runs is seen soon.
	MaxNegativeTTL = 5 * time.Minute
	// maxSharedEntries and maxSharedBytes (the records' wire size, a
	// measure of their memory) bound the batch cache; past either,
	// expired entries go, then others, so memory stays flat however
	// many targets, and however large their records (a TXT answer may
	// hold MaxTXTBytes).
	maxSharedEntries = 50000
	maxSharedBytes   = 32 << 20
)

// Batch is what the runs of a batch (check --targets) share: a cache of
// the answers from the network, in which identical questions of several
// targets in flight at once wait for the first, and a limit on the
// questions in flight at once. Each run keeps its own cache on top of it
// (two checks of one target always see the same answer), and its counts
// stay its own: a question answered from the batch's cache is a cache
// hit of the run, not a question it sent, and does not count against
// MaxQuestions. Answers of zone files are not kept here (the overlay
// answers them first); failures (timeouts, SERVFAIL) are shared only
// with the questions that waited for them, never kept.
type Batch struct {
	inflight chan struct{} // nil: no limit

	// ctx ends the shared questions still on the wire when the batch
	// is closed; asking counts them, so Close returns only when every
	// goroutine the batch started has ended.
	ctx    context.Context
	cancel context.CancelFunc
	asking sync.WaitGroup

	mu      sync.Mutex
	entries map[ledgerKey]*sharedEntry
	bytes   int    // the settled entries' sizes
	hook    func() // tests: called before a question goes on the wire
}

type sharedEntry struct {
	done    chan struct{}
	ready   bool       // done is closed: ans or err is the answer
	ans     *hopResult // a plain question's answer
	msg     *dns.Msg   // a DNSSEC question's whole reply
	source  string     // where msg came from
	err     error
	expires time.Time
	queued  bool // waiting for a place within --max-inflight
	size    int  // the records' wire size, once settled and kept
	waiters int  // lookups waiting for it
}

// errRefused is the cause of a question a run may not send (refusal: its
// question cap, offline, no servers). It is that run's, not an answer:
// another run that waited on the same question asks it itself.
var errRefused = errors.New("question not sent")

// NewBatch returns the shared state of one batch; maxInflight (0: no
// limit) bounds the questions of all its runs on the wire at once.
func NewBatch(maxInflight int) *Batch {
	b := &Batch{entries: map[ledgerKey]*sharedEntry{}}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	if maxInflight > 0 {
		b.inflight = make(chan struct{}, maxInflight)
	}
	return b
}

// Close ends the batch: the questions still on the wire or waiting for
// a place within --max-inflight (asked by runs that have since given
// up) are cancelled, and Close returns when their goroutines have
// ended. Questions asked after Close fail at once.
func (b *Batch) Close() {
	b.cancel()
	b.asking.Wait()
}

// resolve answers one question of r's run from the batch's cache, or
// asks the network (exchange) and keeps the answer for its TTL.
func (b *Batch) resolve(ctx context.Context, r *Resolver, name string, qtype uint16) (*hopResult, error) {
	e, err := b.shared(ctx, r, ledgerKey{r.scope, key{name, qtype}}, name, qtype, func(ctx context.Context, e *sharedEntry) time.Duration {
		e.ans, e.err = r.exchange(ctx, name, qtype)
		return sharedTTL(e.ans, e.err)
	})
	if err != nil {
		return nil, err
	}
	return e.ans, e.err
}

// secure is resolve for a DNSSEC question (DO and CD set, the whole reply
// kept for the validator): its own entries, so a plain question never
// gets a DO reply or the other way round.
func (b *Batch) secure(ctx context.Context, r *Resolver, name string, qtype uint16) (*dns.Msg, string, error) {
	e, err := b.shared(ctx, r, ledgerKey{r.scope + " +dnssec", key{name, qtype}}, name, qtype, func(ctx context.Context, e *sharedEntry) time.Duration {
		e.msg, e.source, e.err = r.secureExchange(ctx, name, qtype)
		return secureTTL(e.msg, e.err)
	})
	if err != nil {
		return nil, "", err
	}
	return e.msg, e.source, e.err
}

// shared finds the entry at k, or makes it and settles it with fetch
// (which fills the entry and returns how long to keep it). The question
// goes on the wire in its own goroutine, within the in-flight limit and
// bounded by the resolver's own attempts, not by the context of the run
// that asked first: a target's answer never depends on another target's
// deadline (the first asker giving up does not throw away the answer the
// others wait for). Every asker waits within its own context; the error
// is that context ending.
func (b *Batch) shared(ctx context.Context, r *Resolver, k ledgerKey, name string, qtype uint16, fetch func(context.Context, *sharedEntry) time.Duration) (*sharedEntry, error) {
	now := time.Now()
	b.mu.Lock()
	e := b.entries[k]
	if e != nil && e.ready && !now.Before(e.expires) {
		b.remove(k, e)
		e = nil
	}
	first := e == nil
	if first {
		e = &sharedEntry{done: make(chan struct{})}
		b.makeRoom(now)
		b.entries[k] = e
	}
	e.waiters++
	b.mu.Unlock()
	if first {
		b.asking.Add(1)
		go b.ask(r, k, e, fetch)
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		reason := ctxReason(ctx)
		b.mu.Lock()
		e.waiters--
		if e.queued {
			reason += ", waiting for --max-inflight"
		}
		b.mu.Unlock()
		return nil, r.lookupError(name, qtype, ErrTemporary, reason, ctx.Err())
	}
	b.mu.Lock()
	e.waiters--
	b.mu.Unlock()
	if !first && errors.Is(e.err, errRefused) {
		// The first asker's refusal, not an answer: ask as this run,
		// within its own cap and context, outside the cache.
		own := &sharedEntry{}
		fetch(ctx, own)
		return own, nil
	}
	if !first {
		r.stats.cacheHits.Add(1)
		r.stats.shared.Add(1)
		r.trace("dns: %s %s → the batch's cache", typeString(qtype), bare(name))
	}
	return e, nil
}

// maxSharedAsk bounds a shared question's time on the wire beyond the
// resolver's own attempts (AttemptTimeout × Attempts × servers).
const maxSharedAsk = time.Minute

// ask puts the question on the wire for the batch (within the in-flight
// limit) and settles e. When the batch is closed first, fetch runs
// with the ended context and fails at once, without a packet.
func (b *Batch) ask(r *Resolver, k ledgerKey, e *sharedEntry, fetch func(context.Context, *sharedEntry) time.Duration) {
	defer b.asking.Done()
	ctx, cancel := context.WithTimeout(b.ctx, maxSharedAsk)
	defer cancel()
	b.mu.Lock()
	hook := b.hook
	b.mu.Unlock()
	if hook != nil {
		hook()
	}
	slot := false
	if b.inflight != nil {
		b.mu.Lock()
		e.queued = true
		b.mu.Unlock()
		select {
		case b.inflight <- struct{}{}:
			slot = true
		case <-ctx.Done():
		}
		b.mu.Lock()
		e.queued = false
		b.mu.Unlock()
	}
	ttl := fetch(ctx, e)
	if slot {
		<-b.inflight
	}
	b.mu.Lock()
	e.ready = true
	e.expires = time.Now().Add(ttl)
	if ttl <= 0 {
		if b.entries[k] == e {
			delete(b.entries, k) // shared with the waiters only
		}
	} else {
		e.size = entrySize(k, e)
		b.bytes += e.size
	}
	b.mu.Unlock()
	close(e.done)
}

// sharedTTL is how long the batch keeps an exchange's outcome: the
// answer's TTL, a negative answer's (RFC 2308), each capped; 0 for
// failures.
func sharedTTL(h *hopResult, err error) time.Duration {
	if err == nil {
		return min(h.ttl, MaxSharedTTL)
	}
	var le *LookupError
	if errors.As(err, &le) && (le.Kind == ErrNXDomain || le.Kind == ErrNoData) {
		return min(le.ttl, MaxNegativeTTL)
	}
	return 0
}

// secureTTL is sharedTTL for a DNSSEC question's whole reply.
func secureTTL(m *dns.Msg, err error) time.Duration {
	if err != nil {
		return 0
	}
	if len(m.Answer) == 0 {
		return min(replyTTL(m), MaxNegativeTTL)
	}
	return min(replyTTL(m), MaxSharedTTL)
}

// remove drops the entry e at k; b.mu held.
func (b *Batch) remove(k ledgerKey, e *sharedEntry) {
	delete(b.entries, k)
	b.bytes -= e.size
}

// full reports whether the cache is at one of its bounds; b.mu held.
func (b *Batch) full(frac int) bool {
	return len(b.entries) >= maxSharedEntries*frac/10 || b.bytes >= maxSharedBytes*frac/10
}

// makeRoom keeps the cache under maxSharedEntries and maxSharedBytes;
// b.mu held.
func (b *Batch) makeRoom(now time.Time) {
	if !b.full(10) {
		return
	}
	for k, e := range b.entries {
		if e.ready && !now.Before(e.expires) {
			b.remove(k, e)
		}
	}
	// Still full: drop settled entries, in the map's random order,
	// down to nine tenths.
	for k, e := range b.entries {
		if !b.full(9) {
			break
		}
		if e.ready {
			b.remove(k, e)
		}
	}
}

// entrySize is about what an entry holds: its records' wire size and
// the names.
func entrySize(k ledgerKey, e *sharedEntry) int {
	n := len(k.name) + len(k.scope) + len(e.source) + 64
	if e.msg != nil {
		n += e.msg.Len()
	}
	if h := e.ans; h != nil {
		for _, rr := range h.rrs {
			n += dns.Len(rr)
		}
		for _, c := range h.chain {
			n += len(c)
		}
	}
	return n
}

// replyTTL is how long a reply may be cached: the smallest TTL of its
// answer section's records; for a negative answer (no answer records),
// the SOA's TTL or MINIMUM, the smaller (RFC 2308 §5), or 0 without an
// SOA (RFC 2308 §5: not cached).
func replyTTL(m *dns.Msg) time.Duration {
	ttl, found := uint32(0), false
	for _, rr := range m.Answer {
		if t := ttl31(rr.Header().Ttl); !found || t < ttl {
			ttl, found = t, true
		}
	}
	if !found {
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				ttl, found = min(ttl31(soa.Hdr.Ttl), ttl31(soa.Minttl)), true
				break
			}
		}
	}
	return time.Duration(ttl) * time.Second
}

// ttl31 is a TTL as RFC 2181 §8 reads it: one with the top bit set is 0.
func ttl31(t uint32) uint32 {
	if t > 1<<31-1 {
		return 0
	}
	return t
}
