package checks

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/spf"
)

// spfPlan is the one set of SPF record changes of a check run, computed
// once from the walked tree and the IPs' results, so that every finding
// about a record carries the same final record: pasting the fix of any
// of them gives the same zone. Records are changed term by term (parse,
// modify, spf.Format), never by editing their text.
type spfPlan struct {
	// root publishes the final record of the checked domain; nil when it
	// needs no change or none can be computed.
	root []report.FixRecord
	// nested publishes the final record of an included or redirected-to
	// record that must change itself (a syntax error, +all, ptr, a dead
	// include).
	nested map[*spf.Node][]report.FixRecord
	// lookupsFixed and voidsFixed: the root's final record brings the
	// tree within the lookup and void-lookup limits.
	lookupsFixed, voidsFixed bool
	// complete: after the changes, nothing the lint found that makes
	// evaluation end in permerror is left.
	complete bool
}

// planSPF computes the changes for a tree whose root record was fetched
// (or is missing), given each sending IP's result.
func planSPF(tree *spf.Tree, ips []netip.Addr, results []spf.Result) *spfPlan {
	p := &spfPlan{nested: map[*spf.Node][]report.FixRecord{}, complete: true}
	root := tree.Root
	tree.Each(func(n *spf.Node) {
		switch {
		case n == root:
		case n.Problem == "more than one SPF record", strings.HasPrefix(n.Problem, "lookup failed"), strings.HasPrefix(n.Problem, "not followed: the tree"):
			p.complete = false // only whoever runs that record can mend it
		case n.Parsed != nil:
			terms, _ := nodeTerms(n)
			if fr := spfChange(n.Domain, n.Records, terms); fr != nil {
				p.nested[n] = fr
			}
		}
	})

	var terms []spf.Term
	fresh := len(root.Records) == 0
	var removed []spf.Term
	switch {
	case fresh:
	case len(root.Records) > 1:
		// The walk stops at a name with several records: the merged
		// record's includes were never fetched, so whether they publish
		// SPF is not known and, with an include or redirect, the plan
		// cannot promise to mend every permerror. What the record itself says wrong is known: ptr
		// goes, as from a single record (an IP it let through is allowed
		// by address below).
		terms, removed = dropPTR(mergeSPF(root.Records))
		if slices.ContainsFunc(terms, func(t spf.Term) bool { return t.Mechanism == "include" || t.Modifier == "redirect" }) {
			p.complete = false
		}
	default:
		terms, removed = nodeTerms(root)
	}
	total := tree.Total() - cost(root, removed)
	terms, total = flatten(tree, terms, total)
	p.lookupsFixed = total <= spf.MaxLookups
	terms, p.voidsFixed = dropVoids(tree, terms, &removed)
	p.complete = p.complete && p.lookupsFixed && p.voidsFixed
	if fresh && len(ips) == 0 {
		return p // nothing known to list in a new record
	}
	terms = allowIPs(closeSPF(terms, fresh), ips, results, root.Domain, removed)
	p.root = spfChange(root.Domain, root.Records, terms)
	return p
}

// forNode is the change a finding about n's own record carries: n's
// final record, and the root's when n is not the root (the root allows
// the sending IPs that n let through before).
func (p *spfPlan) forNode(tree *spf.Tree, n *spf.Node) []report.FixRecord {
	if n == tree.Root {
		return p.root
	}
	return slices.Concat(p.nested[n], p.root)
}

// all is every change of the plan, the root's first, each once; nil
// when there is none.
func (p *spfPlan) all() []report.FixRecord {
	var nested []report.FixRecord
	for _, fr := range p.nested {
		nested = append(nested, fr...)
	}
	slices.SortFunc(nested, func(a, b report.FixRecord) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Old, b.Old))
	})
	out := slices.Clone(p.root)
	for _, r := range nested {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// heloChange is the change to the HELO name's SPF records (RFC 7208
// §2.3) that allows the sending IPs: its one record mended and merged
// as the domain's would be, or a new one listing the IPs.
func heloChange(name string, records []string, ips []netip.Addr, results []spf.Result) []report.FixRecord {
	var terms []spf.Term
	switch len(records) {
	case 0:
	case 1:
		terms = onceEach(spf.Parse(records[0]).Terms)
	default:
		terms = mergeSPF(records)
	}
	return spfChange(name, records, allowIPs(closeSPF(terms, len(records) == 0), ips, results, name, nil))
}

// allowIPs allows each IP that does not pass, or passes only by a term
// the change takes out or mends (an all, ptr).
func allowIPs(terms []spf.Term, ips []netip.Addr, results []spf.Result, domain string, removed []spf.Term) []spf.Term {
	for i, ip := range ips {
		r := results[i]
		if r.Result == spf.Pass && !isAllTerm(r.Deep) && !slices.ContainsFunc(removed, func(t spf.Term) bool { return sameWithout(t, r.Deep) }) {
			continue
		}
		terms = allowIP(terms, ip, r, domain)
	}
	return terms
}

// nodeTerms is a fetched record's terms with what the lint found wrong
// in the record itself taken out: terms that do not parse (absent from
// Terms already), a second redirect= or exp=, ptr (RFC 7208 §5.5), +all
// (made ~all), and includes or redirects of names without an SPF record
// or back into the tree (each a permerror). removed lists the terms
// taken out whose match would have decided a result.
func nodeTerms(n *spf.Node) (terms, removed []spf.Term) {
	dead := map[string]bool{}
	for _, c := range n.Children {
		if c.Problem == "no SPF record" || c.Problem == "loop" {
			dead[strings.ToLower(c.Via)] = true
		}
	}
	for _, t := range onceEach(n.Parsed.Terms) {
		switch {
		case t.Mechanism == "ptr":
			removed = append(removed, t)
		case dead[strings.ToLower(t.Raw)]:
			removed = append(removed, t)
		case t.Mechanism == "all" && t.Qualifier == '+':
			terms = append(terms, t.WithQualifier('~'))
			removed = append(removed, t)
		default:
			terms = append(terms, t)
		}
	}
	return terms, removed
}

// dropPTR takes the ptr terms out of terms (RFC 7208 §5.5), and lists
// them as removed.
func dropPTR(in []spf.Term) (terms, removed []spf.Term) {
	for _, t := range in {
		if t.Mechanism == "ptr" {
			removed = append(removed, t)
			continue
		}
		terms = append(terms, t)
	}
	return terms, removed
}

// onceEach keeps the first of equal terms and the first redirect= and
// exp= (a second is a permerror, RFC 7208 §6).
func onceEach(in []spf.Term) []spf.Term {
	var out []spf.Term
	seen := map[string]bool{}
	for _, t := range in {
		if t.Modifier == "redirect" || t.Modifier == "exp" {
			if seen[t.Modifier] {
				continue
			}
			seen[t.Modifier] = true
		}
		if !slices.ContainsFunc(out, t.Same) {
			out = append(out, t)
		}
	}
	return out
}

// mergeSPF joins several records of one name into one (RFC 7208 §4.5
// allows one): every term once, in the order of the records, the first
// redirect= and exp=, and at the end the strictest all among them (a
// redirect= then becomes an include).
func mergeSPF(records []string) []spf.Term {
	var terms []spf.Term
	var all *spf.Term
	rank := map[byte]int{'+': 1, '?': 2, '~': 3, '-': 4}
	for _, rec := range records {
		for _, t := range spf.Parse(rec).Terms {
			if t.Mechanism == "all" {
				if all == nil || rank[t.Qualifier] > rank[all.Qualifier] {
					all = &t
				}
				continue
			}
			terms = append(terms, t)
		}
	}
	terms = onceEach(terms)
	if all == nil {
		return terms
	}
	// A redirect= from one record beside another's all would be ignored
	// (RFC 7208 §6.1): keep what it pointed at allowed, as an include.
	if i := slices.IndexFunc(terms, func(t spf.Term) bool { return t.Modifier == "redirect" }); i >= 0 {
		if inc, err := spf.NewTerm("include:" + terms[i].Value); err == nil {
			terms = slices.Delete(terms, i, i+1)
			if !slices.ContainsFunc(terms, inc.Same) {
				terms = append(terms, inc)
			}
		}
	}
	return append(terms, *all)
}

// cost is the lookups that taking out removed saves: each DNS-querying
// term, and what an include or redirect leads to.
func cost(n *spf.Node, removed []spf.Term) int {
	saved := 0
	for _, t := range removed {
		if !t.QueriesDNS() {
			continue
		}
		saved++
		if c := childVia(n, t.Raw); c != nil {
			saved += c.Total
		}
	}
	return saved
}

// childVia is n's child reached by the term raw.
func childVia(n *spf.Node, raw string) *spf.Node {
	for _, c := range n.Children {
		if strings.EqualFold(c.Via, raw) {
			return c
		}
	}
	return nil
}

// flatten replaces the costliest includes of the root with the ip4:/ip6:
// ranges they stand for, until the tree is within the lookup limit or no
// include can be replaced so ("SPF flattening"). It returns the terms and
// the lookups left.
func flatten(tree *spf.Tree, terms []spf.Term, total int) ([]spf.Term, int) {
	for _, c := range tree.Costliest() {
		if total <= spf.MaxLookups {
			break
		}
		i := slices.IndexFunc(terms, func(t spf.Term) bool { return t.Mechanism == "include" && strings.EqualFold(t.Raw, c.Via) })
		if i < 0 {
			continue
		}
		ranges, ok := rangesOf(c)
		if !ok || tooLarge(tree.Root, slices.Concat(terms[:i], ranges, terms[i+1:])) {
			continue
		}
		terms = onceEach(slices.Concat(terms[:i], ranges, terms[i+1:]))
		total -= c.Total + 1
	}
	return terms, total
}

// rangesOf returns the ip4:/ip6: ranges an include matches, when that is
// all it matches: "+" ip4/ip6 directives, includes of the same kind, and
// an all that is not "+" (inside an include a non-pass result is "no
// match", RFC 7208 §5.2). Anything else (a, mx, exists, ptr, macros,
// redirect=, a problem) only a lookup can answer.
func rangesOf(n *spf.Node) ([]spf.Term, bool) {
	if n.Problem != "" || n.Parsed == nil || !n.Parsed.Valid() || n.Parsed.Redirect != nil {
		return nil, false
	}
	var out []spf.Term
	for _, t := range n.Parsed.Terms {
		switch {
		case t.Modifier != "":
		case (t.Mechanism == "ip4" || t.Mechanism == "ip6") && t.Qualifier == '+':
			out = append(out, t)
		case t.Mechanism == "all" && t.Qualifier != '+':
			return out, true // nothing after all is read
		case t.Mechanism == "include" && t.Qualifier == '+' && !t.HasMacro():
			c := childVia(n, t.Raw)
			if c == nil {
				return nil, false
			}
			sub, ok := rangesOf(c)
			if !ok {
				return nil, false
			}
			out = append(out, sub...)
		default:
			return nil, false
		}
	}
	return out, true
}

// tooLarge reports whether the TXT answer at the root's name would go
// over spf.MaxUDPAnswer with terms as its record (spf.record_too_large).
func tooLarge(root *spf.Node, terms []spf.Term) bool {
	rec := spf.Format(terms)
	old := 0
	if len(root.Records) > 0 {
		old = len(root.Records[0]) + 1 + len(root.Records[0])/255
	}
	return root.AnswerSize-old+len(rec)+1+len(rec)/255 > spf.MaxUDPAnswer
}

// dropVoids takes out the root's own terms whose lookup found nothing,
// when there are more such lookups in the tree than RFC 7208 §4.6.4
// allows; ok says whether the rest are within it. Terms with macros stay:
// their name depends on the message.
func dropVoids(tree *spf.Tree, terms []spf.Term, removed *[]spf.Term) (_ []spf.Term, ok bool) {
	left := len(tree.Voids)
	if left <= spf.MaxVoidLookups {
		return terms, true
	}
	if tree.Unlooked > 0 {
		// Terms past the walk's cap were never looked up: which of them
		// are void is not known, so no record can promise the fix.
		return terms, false
	}
	for _, v := range tree.Voids {
		if !strings.EqualFold(v.Domain, tree.Root.Domain) {
			continue
		}
		i := slices.IndexFunc(terms, func(t spf.Term) bool { return t.Raw == v.Term && !t.HasMacro() })
		if i >= 0 {
			*removed = append(*removed, terms[i])
			terms = slices.Delete(terms, i, i+1)
			left--
		}
	}
	return terms, left <= spf.MaxVoidLookups
}

// closeSPF makes the record end in a policy for everyone else: "+all"
// and "?all" become "~all", and a record with neither all nor redirect=
// gets "~all" ("-all" for a new record, which lists what is known).
// "~all" rather than "-all" where a record allowed more before: servers
// it let through that nobody listed show up in DMARC reports as
// softfails instead of losing mail the day the fix is published.
func closeSPF(terms []spf.Term, fresh bool) []spf.Term {
	all := slices.IndexFunc(terms, func(t spf.Term) bool { return t.Mechanism == "all" })
	switch {
	case all >= 0 && (terms[all].Qualifier == '+' || terms[all].Qualifier == '?'):
		terms[all] = terms[all].WithQualifier('~')
	case all < 0 && !slices.ContainsFunc(terms, func(t spf.Term) bool { return t.Modifier == "redirect" }):
		q := byte('~')
		if fresh {
			q = '-'
		}
		t, _ := spf.NewTerm(string(q) + "all")
		return append(terms, t)
	}
	return terms
}

// allowIP inserts ip4:/ip6: for ip where it decides: before the root's
// term that matched it (a "-ip4:" range that refuses it), else before
// the all or redirect=, else at the end; not when a "+" range before
// that point already holds it.
func allowIP(terms []spf.Term, ip netip.Addr, r spf.Result, domain string) []spf.Term {
	at := slices.IndexFunc(terms, func(t spf.Term) bool { return t.Mechanism == "all" || t.Modifier == "redirect" })
	if at < 0 {
		at = len(terms)
	}
	if r.Deep != "" && (r.DeepIn == "" || strings.EqualFold(r.DeepIn, domain)) {
		if i := slices.IndexFunc(terms, func(t spf.Term) bool { return sameWithout(t, r.Deep) }); i >= 0 && i < at {
			at = i
		}
	}
	if slices.ContainsFunc(terms[:at], func(t spf.Term) bool { return t.Allows(ip) }) {
		return terms
	}
	return slices.Insert(slices.Clone(terms), at, spf.IPTerm(ip))
}

// sameWithout reports whether t is the term written raw, qualifiers
// aside (the library reports matches without them).
func sameWithout(t spf.Term, raw string) bool {
	return raw != "" && strings.EqualFold(strings.TrimLeft(t.Raw, "+-~?"), strings.TrimLeft(raw, "+-~?"))
}

// isAllTerm reports whether a matched term is an all: an IP that passes
// only by "+all" must be allowed by name before the all is mended.
func isAllTerm(raw string) bool {
	return raw != "" && strings.EqualFold(strings.TrimLeft(raw, "+-~?"), "all")
}

// spfChange is the DNS change that leaves exactly one SPF record at
// domain, reading terms. Nil when nothing changes, or when the result
// would not parse (a bug, not a fix to print).
func spfChange(domain string, old []string, terms []spf.Term) []report.FixRecord {
	final := spf.Format(terms)
	if !spf.Parse(final).Valid() {
		return nil
	}
	return oneTXT(domain, old, 0, final)
}
