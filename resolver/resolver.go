// Package resolver is preflight's DNS client: a stub resolver on
// miekg/dns with retries and failover across servers, TCP after a
// truncated, malformed or oversize UDP reply, a retry without EDNS after
// FORMERR, CNAME chasing, a per-run cache that asks each question once,
// and an overlay of zone files that answers names under their apexes
// without the network (--zone, --offline). A reply that does not answer
// the question asked, or answers it with records of another type, is no
// answer from that server, never NODATA.
//
// Go's net.Resolver is never used for lookups: it answers from
// /etc/hosts first, which would make a PTR check lie.
package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Defaults, chosen like a stub resolver's (resolv.conf(5) uses 5 s and
// 2 attempts; mail checks want an answer sooner and have --timeout).
const (
	DefaultAttemptTimeout = 2 * time.Second
	DefaultAttempts       = 2
	// EDNS0 buffer size recommended by DNS Flag Day 2020 to avoid IP
	// fragmentation.
	ednsBufferSize = 1232
	// MaxQuestions bounds the questions one run sends to servers. A full
	// check asks well under 200 (SPF stops at 10 lookups, MX and PTR at
	// 10 hosts); a hostile tree must not turn a preflight into a flood.
	MaxQuestions = 2000
	// MaxTXTBytes bounds a TXT answer's text. SPF records should stay
	// under 450 octets (RFC 7208 §3.4) and a 4096-bit DKIM key is about
	// 750; 16 KiB is far beyond any record a check reads, and a larger
	// answer is a mistake or an attack.
	MaxTXTBytes = 16 << 10

	// MaxNames bounds the names followed from one MX or PTR answer, as
	// RFC 7208 §4.6.4 does for SPF's mx and ptr: more is a
	// misconfiguration, and following them all is amplification.
	MaxNames = 10
	// MaxCNAMEChain bounds alias chains. RFC 1034 §3.6.2 only asks to
	// avoid loops; real resolvers give up after 8 to 16 hops (BIND 16,
	// Unbound 11). Longer chains are broken configurations.
	MaxCNAMEChain = 10
)

// Config sets up a Resolver.
type Config struct {
	// Servers are "host:port" addresses of recursive resolvers (or, in
	// tests and labs, authoritative servers), tried in order.
	Servers []string
	// AttemptTimeout bounds one query to one server. Zero = default.
	AttemptTimeout time.Duration
	// Attempts is how many times the whole server list is tried.
	Attempts int
	// Overlay answers names under its zones; nil for none.
	Overlay *Overlay
	// Offline: no packet leaves; names outside the overlay fail as
	// temporary errors.
	Offline bool
	// Trace, when set, is told about every question and reply.
	Trace func(format string, args ...any)
	// NoServersReason explains an empty Servers list in errors (for
	// instance why /etc/resolv.conf could not be used).
	NoServersReason string
	// Batch, when set, is shared by the runs of a batch: a cache of
	// answers across them and a limit on questions in flight (batch.go).
	Batch *Batch
	// Keys are secrets carried in query names (a Spamhaus DQS key:
	// KEY.zen.dq.spamhaus.net). The resolver shows each as "<key>" in
	// everything it hands out — traces, errors and their reasons (CNAME
	// chains and loops included), the names of answers — so no message
	// built from them can hold a key.
	Keys []string
	// TrustAnchors are the DS or DNSKEY records LookupSecure validates
	// from (--trust-anchor); nil for the IANA root's (RootAnchors).
	TrustAnchors []dns.RR
	// Now is LookupSecure's clock for signature validity; nil for
	// time.Now.
	Now func() time.Time
}

// Resolver answers DNS questions for one run. It is safe for concurrent
// use. Identical questions asked while one is in flight wait for it, and
// every answer (or error) is kept for the rest of the run: two checks
// never ask the same question twice.
type Resolver struct {
	cfg   Config
	cache sync.Map // key → *runEntry[*hopResult]
	// stats are the run's: views and ForServer resolvers share them.
	stats *stats
	// admitted counts the questions this resolver (with its asker
	// views) let past maxQuestions.
	admitted     atomic.Int64
	maxQuestions int64
	// rank, from 0, is the asker this view stands for (see Asker); -1
	// for a resolver that is no asker's view.
	rank int
	// scope tells the questions of a ForServer resolver (its server)
	// from the run's ("") in the ledger.
	scope string
	// shared is the run's resolver when this is an asker's view of it.
	shared *Resolver
	// byServer holds, in the run's resolver, the resolvers made by
	// ForServer, so every check shares their caches.
	byServer sync.Map // server → *Resolver
	// secure holds, in the run's resolver, the replies to DNSSEC (DO)
	// questions, apart from the plain answers (secure.go).
	secure sync.Map // key → *runEntry[secureReply]
}

type key struct {
	name  string // fqdn, lower case
	qtype uint16
}

// runEntry is one question's outcome, kept for the run (once).
type runEntry[T any] struct {
	done  chan struct{}
	val   T
	err   error
	retry bool // the asker's context ended: ask again
}

type stats struct {
	questions atomic.Int64 // questions put on the wire (at least one packet)
	packets   atomic.Int64 // query packets put on the wire, retries and TCP included
	refused   atomic.Int64 // questions never sent (offline, no servers, over the cap)
	cacheHits atomic.Int64
	shared    atomic.Int64 // cacheHits the batch answered
	overlay   atomic.Int64 // questions answered from zone files

	// ledger is, per question, the first asker (lowest rank) and how
	// often it was put on the wire: QuestionsByAsker reads it.
	mu     sync.Mutex
	ledger map[ledgerKey]*ledgerEntry
}

type ledgerKey struct {
	scope string
	key
}

type ledgerEntry struct {
	first int   // the lowest rank that asked, -1 none yet
	sent  int64 // times put on the wire
}

// entry returns the ledger's entry of k; s.mu held.
func (s *stats) entry(k ledgerKey) *ledgerEntry {
	if s.ledger == nil {
		s.ledger = map[ledgerKey]*ledgerEntry{}
	}
	e := s.ledger[k]
	if e == nil {
		e = &ledgerEntry{first: -1}
		s.ledger[k] = e
	}
	return e
}

// asked records that the asker of rank asked k.
func (s *stats) asked(k ledgerKey, rank int) {
	if rank < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.entry(k); e.first < 0 || rank < e.first {
		e.first = rank
	}
}

// wire records that k was put on the wire.
func (s *stats) wire(k ledgerKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entry(k).sent++
}

// Stats counts what a run's resolvers did (ForServer's included). Only
// packets put on the wire count as sent.
type Stats struct {
	Questions int64 `json:"questions"`  // distinct questions put on the wire, whatever came back
	Packets   int64 `json:"packets"`    // packets put on the wire for them (retries, TCP included)
	Refused   int64 `json:"refused"`    // questions not sent: offline, no servers, over MaxQuestions
	CacheHits int64 `json:"cache_hits"` // questions answered from the run's cache
	Overlay   int64 `json:"overlay"`    // questions answered from --zone files
	// Shared are the CacheHits the batch's cache answered: questions
	// another target of the batch put on the wire (or was putting).
	Shared int64 `json:"shared"`
}

// New returns a resolver for one run.
func New(cfg Config) *Resolver {
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	return &Resolver{cfg: cfg, stats: new(stats), maxQuestions: MaxQuestions, rank: -1}
}

// Asker returns a view of r, sharing its cache and servers, for the
// asker of rank (from 0: the run's checks in their order), whose
// questions QuestionsByAsker counts.
func (r *Resolver) Asker(rank int) *Resolver {
	return &Resolver{cfg: r.cfg, rank: rank, scope: r.scope, shared: r.root(), stats: r.stats}
}

// QuestionsByAsker returns, for each rank below n, the questions put on
// the wire that the asker of that rank asked first in rank order: a
// question several askers asked (answered once, then from the cache) is
// counted once, for the lowest rank among them, however the askers' goroutines
// happened to run. So each check's count is the same in every run of the
// same data (issue #16: the check that got there first paid, and the
// counts of checks that share names varied), and the counts add up to
// the questions the askers sent.
func (r *Resolver) QuestionsByAsker(n int) []int64 {
	out := make([]int64, n)
	s := r.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.ledger {
		if e.first >= 0 && e.first < n {
			out[e.first] += e.sent
		}
	}
	return out
}

// ForServer returns a resolver like r (overlay, offline, timeouts,
// trace) that asks server instead of r's servers: for a list served by a
// local rbldnsd or mirror. It is made once per run and server, so all
// checks share its cache; queries through a counted view are counted.
func (r *Resolver) ForServer(server string) *Resolver {
	root := r.root()
	v, _ := root.byServer.LoadOrStore(server, sync.OnceValue(func() *Resolver {
		cfg := root.cfg
		cfg.Servers = []string{server}
		s := New(cfg)
		s.stats = root.stats // its packets are the run's too
		s.scope = server
		return s
	}))
	s := v.(func() *Resolver)()
	if r.rank >= 0 {
		return s.Asker(r.rank)
	}
	return s
}

// Stats returns the run's counters so far.
func (r *Resolver) Stats() Stats {
	s := r.stats
	return Stats{
		Questions: s.questions.Load(),
		Packets:   s.packets.Load(),
		Refused:   s.refused.Load(),
		CacheHits: s.cacheHits.Load(),
		Overlay:   s.overlay.Load(),
		Shared:    s.shared.Load(),
	}
}

// Servers returns the addresses queries go to (empty when offline).
func (r *Resolver) Servers() []string {
	if r.cfg.Offline {
		return nil
	}
	return append([]string(nil), r.cfg.Servers...)
}

// Offline reports whether the resolver sends no packet (--offline).
func (r *Resolver) Offline() bool { return r.cfg.Offline }

// Answer is the result of one lookup after CNAME chasing.
type Answer struct {
	Name string // the name asked, no trailing dot
	// Canonical is the name the records belong to after following
	// CNAMEs (equal to Name when there were none).
	Canonical string
	// CNAMEs is the alias chain followed, in order, without Name.
	CNAMEs  []string
	Records []dns.RR // of the type asked, owned by Canonical; shared, do not modify
	// Source says where the final answer came from: a server address or
	// "zone FILE".
	Source string
}

// Lookup asks for records of qtype at name, following CNAMEs. A nil
// error means at least one record; otherwise the error is a
// *LookupError classified by IsNotFound and IsTemporary. The run's Keys
// are shown as "<key>" in both.
func (r *Resolver) Lookup(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	return r.hideKeys(r.lookup(ctx, name, qtype))
}

func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	name = fqdn(name)
	if !validName(name) {
		// A name DNS cannot carry (empty label, label over 63 octets,
		// over 255 octets) cannot exist: nothing to ask.
		return nil, r.lookupError(name, qtype, ErrNXDomain, "not a valid DNS name", nil)
	}
	var chain []string // aliases followed, fqdn
	cur := name
	for {
		h, err := r.hop(ctx, cur, qtype)
		if err != nil {
			if len(chain) > 0 {
				return nil, chainError(err, name, qtype, chain)
			}
			return nil, err
		}
		chain = append(chain, h.chain...)
		if h.next == "" {
			if qtype == dns.TypeTXT {
				if err := checkTXTSize(name, h.rrs); err != nil {
					return nil, err
				}
			}
			return &Answer{Name: bare(name), Canonical: bare(h.owner), CNAMEs: bareAll(chain), Records: h.rrs, Source: h.source}, nil
		}
		path := append([]string{name}, chain...)
		if slices.Contains(path, h.next) {
			return nil, r.lookupError(name, qtype, ErrTemporary, "CNAME loop: "+strings.Join(bareAll(append(path, h.next)), " → "), nil)
		}
		chain = append(chain, h.next)
		if len(chain) > MaxCNAMEChain {
			return nil, r.lookupError(name, qtype, ErrTemporary, fmt.Sprintf("CNAME chain longer than %d: %s …", MaxCNAMEChain, strings.Join(bareAll(chain[:3]), " → ")), nil)
		}
		cur = h.next
	}
}

// hopResult is what one question to a zone or a server gave: records at
// owner (the end of the reply's own alias chain), or an alias to follow.
type hopResult struct {
	owner  string
	chain  []string // aliases the reply itself resolved, fqdn
	rrs    []dns.RR
	next   string // fqdn of a CNAME target the reply did not cover
	source string
	ttl    time.Duration // how long a batch may keep it (replyTTL)
}

// hop answers one plain question once per run (once).
func (r *Resolver) hop(ctx context.Context, name string, qtype uint16) (*hopResult, error) {
	return once(ctx, r, &r.root().cache, key{name, qtype}, func() (*hopResult, error) {
		return r.resolve(ctx, name, qtype)
	})
}

// once answers the question k once per run from the run's map m (plain
// answers or DNSSEC replies): identical questions in flight wait for the
// first asker's ask, and its outcome is kept for the run, except an
// error caused by that asker's own context ending (someone with more
// time may ask again).
func once[T any](ctx context.Context, r *Resolver, m *sync.Map, k key, ask func() (T, error)) (T, error) {
	r.stats.asked(ledgerKey{r.scope, k}, r.rank)
	for {
		e := &runEntry[T]{done: make(chan struct{})}
		v, loaded := m.LoadOrStore(k, e)
		if !loaded {
			e.val, e.err = ask()
			if e.err != nil && expired(ctx) {
				m.Delete(k)
				e.retry = true
			}
			close(e.done)
			return e.val, e.err
		}
		e = v.(*runEntry[T])
		select {
		case <-e.done:
		case <-ctx.Done():
			var zero T
			return zero, r.lookupError(k.name, k.qtype, ErrTemporary, ctxReason(ctx), ctx.Err())
		}
		if e.retry && !expired(ctx) {
			continue // the first asker ran out of time; we have not
		}
		r.stats.cacheHits.Add(1)
		return e.val, e.err
	}
}

// resolve asks the overlay or the network one question.
func (r *Resolver) resolve(ctx context.Context, name string, qtype uint16) (*hopResult, error) {
	if z := r.cfg.Overlay.Zone(name); z != nil {
		r.stats.overlay.Add(1)
		res := z.Lookup(name, qtype)
		source := "zone " + z.File
		r.trace("dns: %s %s → %s: %s", typeString(qtype), bare(name), source, summary(res.Records, res.Kind))
		if res.Kind != nil {
			return nil, r.lookupError(name, qtype, res.Kind, source, nil)
		}
		return hopFrom(name, nil, res.Records, source, qtype), nil
	}
	if r.cfg.Batch != nil {
		return r.cfg.Batch.resolve(ctx, r, name, qtype)
	}
	return r.exchange(ctx, name, qtype)
}

// hopFrom turns records at the end of chain into a hop: a lone CNAME
// (when CNAME was not asked for) is an alias still to follow.
func hopFrom(name string, chain []string, rrs []dns.RR, source string, qtype uint16) *hopResult {
	owner := name
	if len(chain) > 0 {
		owner = chain[len(chain)-1]
	}
	h := &hopResult{owner: owner, chain: chain, rrs: rrs, source: source}
	if len(rrs) == 1 && qtype != dns.TypeCNAME {
		if cn, ok := rrs[0].(*dns.CNAME); ok {
			h.rrs = nil
			h.next = fqdn(cn.Target)
		}
	}
	return h
}

// chainError keeps the kind of a failure at the end of an alias chain and
// says where the chain led.
func chainError(err error, name string, qtype uint16, chain []string) error {
	var le *LookupError
	if !errors.As(err, &le) {
		return err
	}
	return &LookupError{
		Name:   bare(name),
		Type:   typeString(qtype),
		Kind:   le.Kind,
		Reason: "via CNAME " + strings.Join(bareAll(chain), " → ") + ": " + le.Reason,
		Err:    err,
	}
}

// fromMessage reads a NOERROR or NXDOMAIN reply from source: the hop to
// the records of qtype at the end of the CNAME chain starting at name, or
// kind (ErrNXDomain, ErrNoData) when there are none. When the chain
// leaves what the reply covers, or reaches a name the overlay holds, the
// hop ends with the last CNAME's target for the caller to follow: each
// step of a chain is resolved on its own, so a name under an overlay
// apex is answered from its zone file, never from records a server sent
// along with the answer for another name. Records at names off the
// chain are never used.
//
// err says the reply is broken: it has no records of qtype at the end
// of the chain, yet holds records that neither answer nor lead to the
// answer (an A question answered with TXT records). Such a reply proves
// nothing, least of all that the name has no records of qtype.
func fromMessage(m *dns.Msg, name string, qtype uint16, source string, overlay *Overlay) (_ *hopResult, kind, err error) {
	var (
		rrs   []dns.RR
		chain []string
	)
	cur := name
	for hops := 0; ; hops++ {
		var cname *dns.CNAME
		for _, rr := range m.Answer {
			h := rr.Header()
			if !strings.EqualFold(h.Name, cur) || h.Class != dns.ClassINET {
				continue
			}
			if h.Rrtype == qtype {
				rrs = append(rrs, rr)
			} else if c, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME {
				cname = c
			}
		}
		if len(rrs) > 0 {
			return hopFrom(name, chain, rrs, source, qtype), nil, nil
		}
		if cname == nil {
			break
		}
		next := fqdn(cname.Target)
		if !covers(m, next) || overlay.Zone(next) != nil || next == name || slices.Contains(chain, next) || hops == MaxCNAMEChain {
			// Hand the alias back: the caller follows it, and notices
			// loops and overlong chains.
			return hopFrom(name, chain, []dns.RR{cname}, source, qtype), nil, nil
		}
		chain = append(chain, next)
		cur = next
	}
	if rr := stray(m, name, chain); rr != nil {
		h := rr.Header()
		return nil, nil, fmt.Errorf("the answer holds %s records at %s and no %s records", typeString(h.Rrtype), bare(h.Name), typeString(qtype))
	}
	if m.Rcode == dns.RcodeNameError {
		return nil, ErrNXDomain, nil
	}
	return nil, ErrNoData, nil
}

// stray returns a record of the answer section that is not a link of the
// CNAME chain from name, or nil. A DNAME is not stray: servers send it
// with the CNAME they synthesise from it (RFC 6672 §3.1).
func stray(m *dns.Msg, name string, chain []string) dns.RR {
	onChain := func(owner string) bool {
		return strings.EqualFold(owner, name) || slices.ContainsFunc(chain, func(c string) bool { return strings.EqualFold(owner, c) })
	}
	for _, rr := range m.Answer {
		h := rr.Header()
		if h.Rrtype == dns.TypeDNAME || h.Rrtype == dns.TypeCNAME && onChain(h.Name) {
			continue
		}
		return rr
	}
	return nil
}

// covers reports whether the reply's answer section says anything about
// name, so a chain can go on inside it.
func covers(m *dns.Msg, name string) bool {
	for _, rr := range m.Answer {
		if strings.EqualFold(rr.Header().Name, name) {
			return true
		}
	}
	return false
}

// query is one question on its way to the servers.
type query struct {
	name  string // fqdn
	qtype uint16
	sent  bool          // a packet of it went on the wire
	ttl   time.Duration // of the reply used (replyTTL)
	do    bool          // DNSSEC OK and checking disabled: LookupSecure validates itself
}

// exchange sends one question to the servers: attempts rounds over the
// server list (see askServer). It returns the reply's answer, a negative
// answer (NXDOMAIN or NODATA) as a *LookupError, or a temporary error
// when no server gave a usable reply.
func (r *Resolver) exchange(ctx context.Context, name string, qtype uint16) (*hopResult, error) {
	if reason := r.refusal(); reason != "" {
		r.stats.refused.Add(1)
		return nil, r.lookupError(name, qtype, ErrTemporary, reason, errRefused)
	}
	q := &query{name: name, qtype: qtype}
	var failures []string
	for range r.cfg.Attempts {
		for _, server := range r.cfg.Servers {
			if expired(ctx) {
				failures = append(failures, ctxReason(ctx))
				return nil, r.lookupError(name, qtype, ErrTemporary, dedupe(failures), context.DeadlineExceeded)
			}
			h, kind, err := r.askServer(ctx, q, server)
			switch {
			case err == nil && kind != nil:
				le := r.lookupError(name, qtype, kind, "from "+server, nil)
				le.ttl = q.ttl
				return nil, le
			case err == nil:
				h.ttl = q.ttl
				return h, nil
			case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
				failures = append(failures, server+": "+ctxReason(ctx))
			default:
				failures = append(failures, fmt.Sprintf("%s: %v", server, err))
			}
			r.trace("dns: %s %s → %s: %v", typeString(qtype), bare(name), server, err)
		}
	}
	return nil, r.lookupError(name, qtype, ErrTemporary, dedupe(failures), nil)
}

// refusal says why a question may not go to the network, or "" when it
// may: then it takes one of the run's maxQuestions.
func (r *Resolver) refusal() string {
	if r.cfg.Offline {
		return "offline, not in zone files"
	}
	if len(r.cfg.Servers) == 0 {
		reason := "no DNS servers configured"
		if r.cfg.NoServersReason != "" {
			reason += ": " + r.cfg.NoServersReason
		}
		return reason
	}
	root := r.root()
	for {
		n := root.admitted.Load()
		if n >= root.maxQuestions {
			return fmt.Sprintf("more than %d DNS questions in one run", root.maxQuestions)
		}
		if root.admitted.CompareAndSwap(n, n+1) {
			return ""
		}
	}
}

// sent counts a packet of q put on the wire, and q itself (in the run's
// stats and its ledger) with its first packet.
func (r *Resolver) sent(q *query) {
	r.stats.packets.Add(1)
	if q.sent {
		return
	}
	q.sent = true
	r.stats.questions.Add(1)
	r.stats.wire(ledgerKey{r.scope, key{q.name, q.qtype}})
}

// askServer asks one server one question: over UDP with EDNS0, over TCP
// when the UDP reply is truncated, malformed or oversize, and once more
// without EDNS0 when the server answers FORMERR. kind is a negative
// answer (ErrNXDomain, ErrNoData); err says the server gave no usable
// reply (timeout, SERVFAIL, REFUSED, a broken reply), so another may.
func (r *Resolver) askServer(ctx context.Context, q *query, server string) (_ *hopResult, kind, err error) {
	for edns := true; ; edns = false {
		m, err := r.ask(ctx, q, server, "udp", edns)
		if why := tcpReason(m, err); why != "" {
			r.trace("dns: %s %s → %s: %s, retrying over TCP", typeString(q.qtype), bare(q.name), server, why)
			m, err = r.ask(ctx, q, server, "tcp", edns)
		}
		if err != nil {
			return nil, nil, err
		}
		rc := rcodeString(m.Rcode)
		switch m.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
			r.trace("dns: %s %s → %s: %s", typeString(q.qtype), bare(q.name), server, rc)
			q.ttl = replyTTL(m)
			return fromMessage(m, q.name, q.qtype, server, r.cfg.Overlay)
		case dns.RcodeFormatError:
			if edns {
				// RFC 6891 §7: a server without EDNS answers FORMERR to
				// a query with an OPT record; §6.2.2 lets us ask again
				// without one. Ours carries nothing but the UDP size,
				// so a FORMERR with an OPT record (a server that
				// dislikes ours) gets the same second chance.
				r.trace("dns: %s %s → %s: FORMERR, retrying without EDNS", typeString(q.qtype), bare(q.name), server)
				continue
			}
		}
		// SERVFAIL, REFUSED, NOTIMP, FORMERR...: this server can't
		// answer; another may (RFC 1035 §7.2 style failover).
		return nil, nil, errors.New(rc)
	}
}

// Why a UDP reply is not used: it must be asked again over TCP.
var (
	errMalformed = errors.New("malformed reply")
	errOversize  = errors.New("oversize reply")
)

// tcpReason says why a UDP exchange must be repeated over TCP (RFC 1035
// §4.2.1 for truncation), or "".
func tcpReason(m *dns.Msg, err error) string {
	switch {
	case errors.Is(err, errMalformed) || errors.Is(err, errOversize):
		return err.Error()
	case err == nil && m.Truncated:
		return "truncated"
	}
	return ""
}

// ask sends one packet and reads its reply, bounded by the attempt
// timeout and by ctx (cancelling ctx ends the wait at once). Over UDP
// the packet goes out on one of the server's pooled sockets
// (udppool.go) with a random ID of its own, over TCP on a kept
// connection when there is one (tcppool.go). Over UDP, a reply that
// does not match the query is ignored (RFC 5452 §9.1: a late reply or a
// spoofing attempt) while ours may still come; one that does not
// unpack, or is larger than we allowed (edns: 1232 octets, else 512),
// is errMalformed or errOversize, to be asked again over TCP.
func (r *Resolver) ask(ctx context.Context, q *query, server, network string, edns bool) (*dns.Msg, error) {
	msg := new(dns.Msg)
	msg.SetQuestion(q.name, q.qtype)
	msg.RecursionDesired = true
	limit := dns.MinMsgSize
	if edns {
		msg.SetEdns0(ednsBufferSize, q.do)
		msg.CheckingDisabled = q.do
		limit = ednsBufferSize
	}

	deadline := time.Now().Add(r.cfg.AttemptTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if network == "udp" {
		return r.askPooled(ctx, dctx, q, msg, server, limit)
	}
	return r.askTCP(ctx, dctx, q, msg, server, deadline, limit)
}

// errMismatch is a reply whose ID or question is not the query's.
var errMismatch = errors.New("reply that does not match the question")

// checkReply unpacks reply p to query msg: errMismatch when it is not
// for msg, errMalformed or errOversize (limit, over UDP) when it must be
// asked again over TCP, another error when it is no usable reply.
func checkReply(p []byte, msg *dns.Msg, network string, limit int) (*dns.Msg, error) {
	m := new(dns.Msg)
	unpackErr := m.Unpack(p)
	if binary.BigEndian.Uint16(p) != msg.Id || unpackErr == nil && !answers(m, msg) {
		return nil, errMismatch
	}
	switch {
	case unpackErr != nil:
		// A reply that parsed only in part is as good as none.
		return nil, fmt.Errorf("%w: %v", errMalformed, unpackErr)
	case !m.Response:
		return nil, errors.New("reply without the QR bit")
	case network == "udp" && len(p) > limit:
		return nil, fmt.Errorf("%w: %d octets over UDP, more than the %d asked for", errOversize, len(p), limit)
	}
	return m, nil
}

// udpBuffers hold whole datagrams (up to 64 KiB) while a reply is read
// and unpacked, so an oversize one is seen as such rather than cut to a
// size that may happen to unpack: one each per question would be 64 KiB
// of garbage per lookup.
var udpBuffers = sync.Pool{New: func() any { return new([dns.MaxMsgSize]byte) }}

// errTimeout is one attempt running out of time.
var errTimeout = errors.New("timeout")

// attemptError names why an attempt ended: the caller's context, the
// attempt's own time running out, or the network.
func attemptError(ctx context.Context, err error) error {
	if expired(ctx) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return context.DeadlineExceeded
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		return errTimeout
	}
	return err
}

// ctxReason says in words why ctx ended.
func ctxReason(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.Canceled) {
		return "cancelled"
	}
	return "no answer within the time limit (--timeout)"
}

// expired reports whether ctx is done or its deadline has passed (timers
// of sockets and contexts with the same deadline fire in either order).
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// answers reports whether reply m is to query q: one question, the same
// name (in any case), type and class (RFC 5452 §9.1). RFC 1035 lets a
// server leave the question out, and some do in errors; such a reply is
// taken only when it concludes nothing (an error RCODE, or TC sending us
// to TCP), never as an answer, NXDOMAIN or NODATA.
func answers(m, q *dns.Msg) bool {
	if len(m.Question) == 0 {
		return m.Truncated || m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError
	}
	if len(m.Question) != 1 {
		return false
	}
	a, b := m.Question[0], q.Question[0]
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}

func (r *Resolver) root() *Resolver {
	if r.shared != nil {
		return r.shared
	}
	return r
}

func (r *Resolver) lookupError(name string, qtype uint16, kind error, reason string, err error) *LookupError {
	return &LookupError{Name: bare(name), Type: typeString(qtype), Kind: kind, Reason: reason, Err: err}
}

func (r *Resolver) trace(format string, args ...any) {
	if r.cfg.Trace != nil {
		r.cfg.Trace(format, r.traceArgs(args)...)
	}
}

func typeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}

func rcodeString(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}

func summary(rrs []dns.RR, kind error) string {
	if kind != nil {
		return kind.Error()
	}
	return fmt.Sprintf("%d records", len(rrs))
}

func bareAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = bare(n)
	}
	return out
}

// dedupe joins failure reasons, collapsing repeats ("a: timeout; a: timeout").
func dedupe(reasons []string) string {
	var out []string
	count := map[string]int{}
	for _, s := range reasons {
		if count[s] == 0 {
			out = append(out, s)
		}
		count[s]++
	}
	for i, s := range out {
		if n := count[s]; n > 1 {
			out[i] = fmt.Sprintf("%s (×%d)", s, n)
		}
	}
	return strings.Join(out, "; ")
}

// ParseServer turns "IP", "IP:port", "[IPv6]" or "[IPv6]:port" into
// "host:port". Only addresses, not names: resolving the resolver would
// need a resolver. An IPv6 address with a port needs its brackets, and a
// bare IPv6 address that reads as well as an address and a port
// ("::1:53": the address ::1:53, or ::1 port 53?) is refused: read as an
// address, a typo for loopback would send every question to a stranger.
func ParseServer(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return "", fmt.Errorf("resolver %q: port 0", s)
		}
		return ap.String(), nil
	}
	addr, bracketed := strings.CutPrefix(s, "[")
	if bracketed {
		if addr, bracketed = strings.CutSuffix(addr, "]"); !bracketed {
			return "", fmt.Errorf("resolver %q is not IP, IP:port or [IPv6]:port", s)
		}
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" || bracketed && !ip.Is6() {
		return "", fmt.Errorf("resolver %q is not IP, IP:port or [IPv6]:port", s)
	}
	if head, port, ok := portSuffix(addr); ok && !bracketed {
		return "", fmt.Errorf("resolver %q reads as the IPv6 address %s and as %s port %s: write [%s]:%s for the port, or [%s] for the address", s, s, head, port, head, port, s)
	}
	return netip.AddrPortFrom(ip, 53).String(), nil
}

// portSuffix splits an IPv6 address written "ADDRESS:PORT" without
// brackets, when its last group reads as a port (decimal, 1 to 65535)
// and what is before it is an address of its own.
func portSuffix(s string) (head, port string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", false
	}
	head, port = s[:i], s[i+1:]
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.Trim(port, "0123456789") != "" {
		return "", "", false
	}
	if ip, err := netip.ParseAddr(head); err != nil || !ip.Is6() {
		return "", "", false
	}
	return head, port, true
}

// SystemServers reads nameservers from a resolv.conf file.
func SystemServers(path string) ([]string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, err
	}
	if len(cc.Servers) == 0 {
		return nil, fmt.Errorf("%s lists no nameserver", path)
	}
	var out []string
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	return out, nil
}
