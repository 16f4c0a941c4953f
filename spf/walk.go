package spf

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
)

// Limits of the walk. The lookup limits are RFC 7208's; the tree limits
// keep a hostile or broken tree from costing more than a receiver would
// ever spend on it.
const (
	// MaxLookups: DNS-querying terms allowed in a whole evaluation (§4.6.4).
	MaxLookups = 10
	// MaxVoidLookups: lookups allowed to come back empty (§4.6.4).
	MaxVoidLookups = 2
	// MaxMXHosts: MX hosts looked up per mx mechanism (§4.6.4), the
	// resolver's cap on names followed from one answer.
	MaxMXHosts = resolver.MaxNames
	// MaxPTRNames: PTR names looked up per ptr mechanism or p macro
	// (§4.6.4), the same cap.
	MaxPTRNames = resolver.MaxNames
	// MaxUDPAnswer: answers larger than this need TCP or EDNS0, which
	// some receivers' resolvers get wrong (§3.4).
	MaxUDPAnswer = 512
	// maxNodes bounds the records fetched for one tree. A tree within
	// the limits has at most 11 records (10 includes/redirects + root);
	// four times that shows how far over it goes without fetching 1,000.
	maxNodes = 4 * (MaxLookups + 1)
	// maxDepth bounds include/redirect nesting for the same reason.
	maxDepth = 2 * MaxLookups
	// maxTermLookups bounds the a, mx, exists and ptr terms the walk
	// looks up in one tree: the §4.6.4 limit and a margin of 5, so the
	// lint can show void lookups a little past where a receiver stops.
	// The lookup count needs no lookup (it is read from the records),
	// and no receiver evaluates more than 10 terms, so a record of 800
	// a: terms costs 30 questions, not 1,600. With mx hosts and ptr
	// names at 10 each, one tree asks at most maxNodes TXT questions
	// and 15 × 21 for its terms.
	maxTermLookups = MaxLookups + 5
)

// Node is one record in the include/redirect tree.
type Node struct {
	Domain string `json:"domain"`
	// Via is the term that led here ("include:_spf.example.com",
	// "redirect=example.net"); empty for the root.
	Via    string `json:"via,omitempty"`
	Record string `json:"record,omitempty"`
	// Lookups counts this record's own DNS-querying terms; Total adds
	// those of everything it includes or redirects to: the worst case.
	Lookups  int     `json:"lookups"`
	Total    int     `json:"total"`
	Children []*Node `json:"children,omitempty"`
	// Problem says why the walk stopped here or what is wrong here:
	// "no SPF record", "2 SPF records", "loop", "not followed: macro",
	// "lookup failed: ...".
	Problem string `json:"problem,omitempty"`

	// AnswerSize is the size in octets of the TXT answer (header,
	// question and records).
	AnswerSize int `json:"answer_size,omitempty"`

	Parsed  *Record  `json:"-"`
	Records []string `json:"-"` // the SPF records found at Domain
	Err     error    `json:"-"` // the TXT lookup's error
	depth   int
}

// Void is a term whose lookup came back empty (NXDOMAIN or no records).
type Void struct {
	Domain string `json:"domain"` // the record holding the term
	Term   string `json:"term"`
	Name   string `json:"name"` // what was looked up
	// Family is the senders whose evaluation makes this void query
	// (§4.6.4 counts the queries made): "ip4" for an a term's A query,
	// "ip6" for its AAAA query, "" for both (an mx term's MX query, an
	// exists term's A query).
	Family string `json:"family,omitempty"`
}

// MXLimit is an mx term whose name has more than MaxMXHosts MX hosts:
// evaluating it is permerror (§4.6.4), for every IP it is reached for.
type MXLimit struct {
	Domain string `json:"domain"` // the record holding the term
	Term   string `json:"term"`
	Name   string `json:"name"`
	Hosts  int    `json:"hosts"`
}

// Tree is the result of walking a domain's SPF records.
type Tree struct {
	Root  *Node
	Voids []Void
	// MXLimits are the mx terms over the per-mechanism host limit.
	MXLimits []MXLimit
	// Truncated is set when the walk stopped at maxNodes or maxDepth:
	// Total is then a lower bound.
	Truncated bool
	// Unlooked counts the a, mx, exists and ptr terms not looked up
	// because the tree had more than maxTermLookups: Voids is then a
	// lower bound.
	Unlooked int
}

// VoidsFor returns the void lookups an evaluation for a sender of
// family ("ip4" or "ip6", see Family) meets when nothing matches.
func (t *Tree) VoidsFor(family string) []Void {
	var out []Void
	for _, v := range t.Voids {
		if v.Family == "" || v.Family == family {
			out = append(out, v)
		}
	}
	return out
}

// Total is the worst-case number of DNS-querying terms: exact when the
// tree is Complete, else a lower bound.
func (t *Tree) Total() int { return t.Root.Total }

// Complete reports whether every include and redirect was followed to
// its record, or to an answer that ends evaluation there (no record,
// several): then Total is exact. A loop (whose evaluation only ends at
// the lookup limit), a domain with a macro, a failed lookup or the
// walk's caps leave parts of the tree uncounted.
func (t *Tree) Complete() bool {
	complete := !t.Truncated
	t.Each(func(n *Node) {
		if n.Problem == "loop" || strings.HasPrefix(n.Problem, "not followed") || strings.HasPrefix(n.Problem, "lookup failed") {
			complete = false
		}
	})
	return complete
}

// Walk fetches the SPF record of domain and everything it includes or
// redirects to, concurrently: each level's records, and the lookups of
// each record's a, mx and exists terms, at once. It follows what
// check_host() evaluates when nothing matches (Record.Evaluated): not
// the terms after "all", nor a redirect beside an "all". Besides
// counting, this fills the run's cache, so evaluating the record
// afterwards costs no round trip. ips are the sending IPs, for the ptr
// mechanism's lookups.
func Walk(ctx context.Context, r *resolver.Resolver, domain string, ips []netip.Addr) *Tree {
	w := &walker{ctx: ctx, r: r, ips: ips, tree: &Tree{}}
	w.tree.Root = &Node{Domain: domain}
	if !ValidDomain(domain) {
		// §4.3: no SPF policy for a name that is not a domain.
		w.tree.Root.Problem = "no SPF record"
		return w.tree
	}
	w.visit(w.tree.Root, nil)
	w.wg.Wait()
	total(w.tree.Root)
	return w.tree
}

type walker struct {
	ctx   context.Context
	r     *resolver.Resolver
	ips   []netip.Addr
	wg    sync.WaitGroup
	mu    sync.Mutex // guards tree and nodes
	tree  *Tree
	nodes int // records visited, for maxNodes
	terms int // term lookups started, for maxTermLookups
	ptr   bool
}

// take reserves one of the tree's maxTermLookups, or counts a term left
// without a lookup.
func (w *walker) take() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.terms >= maxTermLookups {
		w.tree.Unlooked++
		return false
	}
	w.terms++
	return true
}

// visit fetches n's record and starts its children and term lookups.
// path holds the domains from the root to n's parent, for loops.
func (w *walker) visit(n *Node, path []string) {
	w.mu.Lock()
	w.nodes++
	if w.nodes > maxNodes || n.depth > maxDepth {
		w.tree.Truncated = true
		n.Problem = "not followed: the tree is too large"
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()

	records, err := LookupRecords(w.ctx, w.r, n.Domain)
	n.Err = err
	switch {
	case resolver.IsNotFound(err):
		n.Problem = "no SPF record"
		return
	case err != nil:
		n.Problem = "lookup failed: " + err.Error()
		return
	}
	n.AnswerSize = w.answerSize(n.Domain)
	n.Records = records
	switch len(n.Records) {
	case 0:
		n.Problem = "no SPF record"
		return
	case 1:
	default:
		n.Problem = "more than one SPF record"
		return
	}
	n.Record = n.Records[0]
	n.Parsed = Parse(n.Record)
	n.Lookups = n.Parsed.QueryTerms()
	w.follow(n, append(slices.Clone(path), strings.ToLower(n.Domain)))
}

// answerSize is the size in octets of domain's TXT answer (header,
// question and records), from the cache LookupRecords filled.
func (w *walker) answerSize(domain string) int {
	ans, err := w.r.Lookup(w.ctx, resolver.EscapeName(domain), dns.TypeTXT)
	if err != nil {
		return 0
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(domain), dns.TypeTXT)
	m.Answer = ans.Records
	return m.Len()
}

// follow starts what n's terms lead to: a child node for each include
// and redirect, and the lookups of its a, mx, exists and ptr terms.
// here holds the domains from the root to n, for loops.
func (w *walker) follow(n *Node, here []string) {
	for _, t := range n.Parsed.Evaluated() {
		switch {
		case t.Mechanism == "include" || t.Modifier == "redirect":
			child := &Node{Domain: strings.TrimSuffix(strings.ToLower(t.Domain), "."), Via: t.Raw, depth: n.depth + 1}
			n.Children = append(n.Children, child)
			switch {
			case t.HasMacro():
				child.Problem = "not followed: the domain has a macro"
			case slices.Contains(here, child.Domain):
				child.Problem = "loop"
			default:
				w.wg.Go(func() { w.visit(child, here) })
			}
		case t.Mechanism == "a" || t.Mechanism == "mx" || t.Mechanism == "exists":
			name := t.Domain
			if name == "" {
				name = n.Domain
			}
			if t.HasMacro() || !w.take() {
				continue
			}
			w.wg.Go(func() { w.lookupTerm(n.Domain, t, strings.TrimSuffix(name, ".")) })
		case t.Mechanism == "ptr":
			// The same lookups for every ptr term: one of the budget.
			w.mu.Lock()
			first := !w.ptr
			w.ptr = true
			w.mu.Unlock()
			if first && w.take() {
				w.wg.Go(w.lookupPTRs)
			}
		}
	}
}

// lookupTerm does the lookups evaluating t would, for senders of both
// families, and notes voids and mx terms over the host limit. Only an
// empty answer is a void lookup (§4.6.4); other errors are the
// verdict's to report.
func (w *walker) lookupTerm(domain string, t Term, name string) {
	void := Void{Domain: domain, Term: t.Raw, Name: name}
	switch t.Mechanism {
	case "a": // §5.3: A for IPv4 senders, AAAA for IPv6 ones
		var wg sync.WaitGroup
		for _, family := range []string{"ip4", "ip6"} {
			wg.Go(func() {
				addrs, err := w.r.LookupIP(w.ctx, family, name)
				if isVoid(err, len(addrs)) {
					v := void
					v.Family = family
					w.note(func(t *Tree) { t.Voids = append(t.Voids, v) })
				}
			})
		}
		wg.Wait()
	case "exists": // §5.7: A whatever the sender's family
		if addrs, err := w.r.LookupIP(w.ctx, "ip4", name); isVoid(err, len(addrs)) {
			w.note(func(t *Tree) { t.Voids = append(t.Voids, void) })
		}
	case "mx":
		mxs, err := w.r.LookupMX(w.ctx, name)
		if isVoid(err, len(mxs)) {
			w.note(func(t *Tree) { t.Voids = append(t.Voids, void) })
		}
		if len(mxs) > MaxMXHosts {
			w.note(func(t *Tree) {
				t.MXLimits = append(t.MXLimits, MXLimit{Domain: domain, Term: void.Term, Name: name, Hosts: len(mxs)})
			})
			return // evaluation stops there: no host is looked up
		}
		var wg sync.WaitGroup
		for _, mx := range mxs {
			if mx.Host != "." {
				wg.Go(func() { w.r.LookupIP(w.ctx, "ip", mx.Host) })
			}
		}
		wg.Wait()
	}
}

// note changes the tree under the walker's lock.
func (w *walker) note(f func(*Tree)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(w.tree)
}

// lookupPTRs warms the cache with what the ptr mechanism asks: the
// sending IPs' PTR names and their addresses.
func (w *walker) lookupPTRs() {
	for _, ip := range w.ips {
		names, err := w.r.LookupPTR(w.ctx, ip)
		if err != nil {
			continue
		}
		if len(names) > MaxPTRNames {
			names = names[:MaxPTRNames]
		}
		var wg sync.WaitGroup
		for _, n := range names {
			wg.Go(func() { w.r.LookupIP(w.ctx, "ip", n) })
		}
		wg.Wait()
	}
}

// total fills Total bottom-up.
func total(n *Node) int {
	n.Total = n.Lookups
	for _, c := range n.Children {
		n.Total += total(c)
	}
	return n.Total
}

// Each calls f for every node, depth first, root first.
func (t *Tree) Each(f func(*Node)) {
	var rec func(*Node)
	rec = func(n *Node) {
		f(n)
		for _, c := range n.Children {
			rec(c)
		}
	}
	rec(t.Root)
}

// Costliest returns the root's includes and redirect by the lookups they
// cost, most first: what to flatten or drop when over the limit.
func (t *Tree) Costliest() []*Node {
	out := slices.Clone(t.Root.Children)
	slices.SortStableFunc(out, func(a, b *Node) int { return b.Total + 1 - (a.Total + 1) })
	return out
}
