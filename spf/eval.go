package spf

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/preflight-mail/preflight/resolver"
)

// SPF results (RFC 7208 §2.6).
const (
	Pass      = "pass"
	Fail      = "fail"
	SoftFail  = "softfail"
	Neutral   = "neutral"
	None      = "none"
	TempError = "temperror"
	PermError = "permerror"
)

// Resolver is what check_host() looks up. *resolver.Resolver implements
// it. A lookup error that matches resolver.ErrNotFound (NXDOMAIN or
// NODATA) means "no records"; any other error means no usable answer.
// Names are in miekg/dns presentation form (resolver.EscapeName): a
// macro can put any octet in a name.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	// LookupIP asks A ("ip4") or AAAA ("ip6") records of name.
	LookupIP(ctx context.Context, network, name string) ([]netip.Addr, error)
	LookupMX(ctx context.Context, name string) ([]resolver.MX, error)
	// LookupPTR returns the PTR names of ip, lower case, no final dot.
	LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error)
}

// Args are check_host()'s arguments (§4.1) and what macros need (§7.3).
type Args struct {
	IP netip.Addr // <ip>; an IPv4-mapped IPv6 address is its IPv4 address
	// Sender is <sender>: MAIL FROM, or postmaster@HELO for the HELO
	// identity (§2.3). A sender without '@' is a domain, and a missing
	// local part is "postmaster" (§4.3).
	Sender string
	// Domain is <domain>, the sender's domain when empty (§4.1).
	Domain   string
	HELO     string    // %{h}
	Receiver string    // %{r}, explanations only; "unknown" when empty
	Now      time.Time // %{t}, explanations only
}

// Result is the outcome of check_host() for one IP and sender.
type Result struct {
	Result string
	// Deep is the term that decided the result, as written
	// ("ip4:198.51.100.0/24", "-all"): for a pass through an include the
	// matching term inside the included record, not the include; DeepIn
	// is the domain whose record holds it. Empty when no term decided
	// (none, neutral by default, errors).
	Deep   string
	DeepIn string
	// Reason explains none, permerror and temperror.
	Reason string
	// Explanation is the exp= text for a fail (§6.2), "" without one.
	Explanation string
	// LookupLimit is set when evaluation stopped at the §4.6.4 limit of
	// DNS-querying terms.
	LookupLimit bool
}

// CheckHost runs check_host() (§4): it fetches the SPF record of
// args.Domain and evaluates it.
func CheckHost(ctx context.Context, r Resolver, args Args) Result {
	e := newEvaluation(r, args)
	return e.result(ctx, e.checkHost(ctx, e.domain))
}

// Evaluate evaluates rec, the already-parsed SPF record of args.Domain
// (§4.6): what CheckHost does once it has the record. Includes and
// redirects are fetched through r.
func Evaluate(ctx context.Context, rec *Record, r Resolver, args Args) Result {
	e := newEvaluation(r, args)
	return e.result(ctx, e.evaluate(ctx, rec, e.domain))
}

// evaluation is the state of one check_host() call, shared by the
// records it includes and redirects to: the §4.6.4 counters, and the
// IP's validated names (looked up at most once).
type evaluation struct {
	r       Resolver
	ip      netip.Addr
	family  string // "ip4" or "ip6": the A or AAAA records of names are the ones asked (§5)
	sender  string
	domain  string
	helo    string
	recv    string
	now     time.Time
	lookups int
	voids   int
	ptr     *ptrNames
}

// ptrNames are the IP's PTR names that validate (§5.5), looked up once
// per evaluation: every ptr term and %{p} reuses them.
type ptrNames struct {
	valid []string
	// void: the PTR query found nothing; counted once, by the first ptr
	// term (the query is made once, §4.6.4).
	void, counted bool
}

func newEvaluation(r Resolver, args Args) *evaluation {
	ip := args.IP.Unmap()
	e := &evaluation{r: r, ip: ip, family: Family(ip), helo: args.HELO, recv: args.Receiver, now: args.Now}
	// §4.3: a sender without local part is postmaster@domain.
	e.sender = args.Sender
	if i := strings.LastIndexByte(e.sender, '@'); i < 0 {
		e.sender = "postmaster@" + e.sender
	} else if i == 0 {
		e.sender = "postmaster" + e.sender
	}
	e.domain = cmp.Or(args.Domain, senderDomain(e.sender))
	return e
}

// Family is the address family of ip as SPF sees it: "ip4" for IPv4
// and IPv4-mapped IPv6 addresses, else "ip6". The a and mx mechanisms
// ask only that family's address records (§5.3, §5.4), so void lookups
// are counted per family.
func Family(ip netip.Addr) string {
	if ip.Unmap().Is4() {
		return "ip4"
	}
	return "ip6"
}

// outcome is what evaluating one record gave.
type outcome struct {
	result string
	term   string // the deciding term and the domain whose record has it
	in     string
	reason string
	// exp and expDomain are the record (and its domain) whose exp=
	// explains a fail: the record whose directive matched. An included
	// record's never does; a redirect's target's does (§6.2).
	exp       *Record
	expDomain string
	limit     bool // stopped at the limit of DNS-querying terms
}

func permerror(format string, a ...any) outcome {
	return outcome{result: PermError, reason: fmt.Sprintf(format, a...)}
}

func temperror(err error) outcome {
	return outcome{result: TempError, reason: resolver.Reason(err)}
}

// checkHost fetches domain's record and evaluates it (§4.3 to §4.6).
func (e *evaluation) checkHost(ctx context.Context, domain string) outcome {
	domain = strings.TrimSuffix(domain, ".")
	// §4.3: a malformed or single-label domain has no SPF policy.
	if !ValidDomain(domain) {
		return outcome{result: None, reason: fmt.Sprintf("%q is not a valid domain name (RFC 7208 §4.3)", domain)}
	}
	records, err := LookupRecords(ctx, e.r, domain)
	switch {
	case resolver.IsNotFound(err), err == nil && len(records) == 0:
		// §4.3 (NXDOMAIN), §4.5 (no SPF record among the TXT records).
		return outcome{result: None, reason: "no SPF record at " + domain}
	case err != nil:
		return temperror(err) // §4.4
	case len(records) > 1:
		return permerror("%s has %d SPF records (RFC 7208 §4.5)", domain, len(records))
	}
	return e.evaluate(ctx, Parse(records[0]), domain)
}

// LookupRecords returns the SPF records among domain's TXT records
// (§4.4, §4.5). The error is the lookup's.
func LookupRecords(ctx context.Context, r Resolver, domain string) ([]string, error) {
	txts, err := r.LookupTXT(ctx, resolver.EscapeName(domain))
	if err != nil {
		return nil, err
	}
	return Select(txts), nil
}

// evaluate evaluates rec, the record of domain (§4.6, §4.7).
func (e *evaluation) evaluate(ctx context.Context, rec *Record, domain string) outcome {
	// §4.6: a syntax error anywhere in the record is permerror, before
	// any term is evaluated.
	if !rec.Valid() {
		return permerror("syntax error in the SPF record of %s: %v", domain, rec.Errors[0])
	}
	for _, t := range rec.Evaluated() {
		if t.Modifier == "redirect" {
			return e.redirect(ctx, t, domain)
		}
		m, stop := e.mechanism(ctx, t, domain)
		if stop != nil {
			return *stop
		}
		if !m.match {
			continue
		}
		// §4.6.2: a matching mechanism's qualifier is the result.
		out := outcome{result: qualifierResult(t.Qualifier), term: cmp.Or(m.term, t.Raw), in: cmp.Or(m.in, domain)}
		if out.result == Fail {
			out.exp, out.expDomain = rec, domain
		}
		return out
	}
	// §4.7: nothing matched and no redirect.
	return outcome{result: Neutral}
}

func qualifierResult(q byte) string {
	switch q {
	case '-':
		return Fail
	case '~':
		return SoftFail
	case '?':
		return Neutral
	}
	return Pass
}

// match is a mechanism that matched, with the term that decided when
// it is not the mechanism itself (an include's inner term).
type match struct {
	match    bool
	term, in string
}

// mechanism evaluates one directive (§5). A non-nil outcome ends the
// evaluation (temperror, permerror).
func (e *evaluation) mechanism(ctx context.Context, t Term, domain string) (match, *outcome) {
	switch t.Mechanism {
	case "all": // §5.1
		return match{match: true}, nil
	case "ip4", "ip6": // §5.6: an IPv4 prefix matches only IPv4, and so on
		return match{match: t.Net.Addr().Is4() == e.ip.Is4() && t.Net.Contains(e.ip)}, nil
	}
	if stop := e.spend(t, domain); stop != nil {
		return match{}, stop
	}
	name, stop := e.target(ctx, t, domain)
	if stop != nil {
		return match{}, stop
	}
	switch t.Mechanism {
	case "include":
		return e.include(ctx, t, name)
	case "a":
		return e.a(ctx, t, name)
	case "mx":
		return e.mx(ctx, t, name)
	case "ptr":
		return e.ptrMechanism(ctx, name)
	}
	return e.exists(ctx, name)
}

// spend counts a DNS-querying term (include, a, mx, ptr, exists,
// redirect) before its lookup is made: the 11th ends the evaluation in
// permerror (§4.6.4).
func (e *evaluation) spend(t Term, domain string) *outcome {
	if e.lookups >= MaxLookups {
		return &outcome{result: PermError, limit: true,
			reason: fmt.Sprintf("more than %d DNS-querying terms (RFC 7208 §4.6.4): %q in the record of %s is number %d", MaxLookups, t.Raw, domain, MaxLookups+1)}
	}
	e.lookups++
	return nil
}

// target is the name a term looks up: its domain-spec expanded (§7),
// or the current domain (§4.8).
func (e *evaluation) target(ctx context.Context, t Term, domain string) (string, *outcome) {
	if t.Domain == "" {
		return domain, nil
	}
	name, err := e.expand(ctx, t.Domain, domain, false)
	if err != nil {
		o := permerror("%q in the record of %s: %v", t.Raw, domain, err)
		return "", &o
	}
	return strings.TrimSuffix(name, "."), nil
}

// include is §5.2: a pass of the included record matches; fail,
// softfail and neutral do not; errors, and none, end the evaluation.
func (e *evaluation) include(ctx context.Context, t Term, name string) (match, *outcome) {
	o := e.checkHost(ctx, name)
	switch o.result {
	case Pass:
		return match{match: true, term: o.term, in: o.in}, nil
	case Fail, SoftFail, Neutral:
		return match{}, nil
	case None:
		p := permerror("%q: %s (RFC 7208 §5.2)", t.Raw, o.reason)
		return match{}, &p
	}
	o.exp, o.expDomain, o.term, o.in = nil, "", "", ""
	return match{}, &o
}

// redirect is §6.1: the result is the target's (its exp= too); a target
// without a record is permerror. It costs a lookup like a mechanism.
func (e *evaluation) redirect(ctx context.Context, t Term, domain string) outcome {
	if stop := e.spend(t, domain); stop != nil {
		return *stop
	}
	name, stop := e.target(ctx, t, domain)
	if stop != nil {
		return *stop
	}
	o := e.checkHost(ctx, name)
	if o.result == None {
		return permerror("%q: %s (RFC 7208 §6.1)", t.Raw, o.reason)
	}
	return o
}

// a is §5.3: the address records of the sender's family.
func (e *evaluation) a(ctx context.Context, t Term, name string) (match, *outcome) {
	addrs, stop := e.termAddrs(ctx, e.family, name)
	if stop != nil {
		return match{}, stop
	}
	return match{match: e.inAny(addrs, t)}, nil
}

// exists is §5.7: an A query whatever the sender's family; any answer
// matches.
func (e *evaluation) exists(ctx context.Context, name string) (match, *outcome) {
	addrs, stop := e.termAddrs(ctx, "ip4", name)
	if stop != nil {
		return match{}, stop
	}
	return match{match: len(addrs) > 0}, nil
}

// termAddrs is the address lookup a term makes: no records is a void
// lookup (§4.6.4), NXDOMAIN is no records (§5), any other error is
// temperror (§5).
func (e *evaluation) termAddrs(ctx context.Context, network, name string) ([]netip.Addr, *outcome) {
	if !validName(name) {
		// A name DNS cannot carry (a macro made an empty label or one
		// over 63 octets) does not exist: no match, and a void lookup,
		// as its NXDOMAIN would be.
		return nil, e.void(nil, 0)
	}
	addrs, err := e.r.LookupIP(ctx, network, resolver.EscapeName(name))
	if stop := e.void(err, len(addrs)); stop != nil {
		return nil, stop
	}
	if err != nil && !resolver.IsNotFound(err) {
		o := temperror(err)
		return nil, &o
	}
	return addrs, nil
}

// void counts a void lookup (§4.6.4): NXDOMAIN, or an answer without
// records. The third ends the evaluation.
func (e *evaluation) void(err error, n int) *outcome {
	if !isVoid(err, n) {
		return nil
	}
	e.voids++
	if e.voids > MaxVoidLookups {
		return &outcome{result: PermError,
			reason: fmt.Sprintf("more than %d lookups found nothing (RFC 7208 §4.6.4)", MaxVoidLookups)}
	}
	return nil
}

// isVoid reports whether a lookup found nothing: NXDOMAIN, or an answer
// without records (§4.6.4).
func isVoid(err error, n int) bool {
	return resolver.IsNotFound(err) || err == nil && n == 0
}

// inAny reports whether the sender's IP is in one of addrs, widened by
// the term's CIDR length for the family (§5.3, §5.6).
func (e *evaluation) inAny(addrs []netip.Addr, t Term) bool {
	bits := t.CIDR4
	if e.family == "ip6" {
		bits = t.CIDR6
	}
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() != e.ip.Is4() {
			continue
		}
		if bits < 0 {
			if a == e.ip {
				return true
			}
			continue
		}
		if p, err := a.Prefix(bits); err == nil && p.Contains(e.ip) {
			return true
		}
	}
	return false
}

// mx is §5.4: the addresses of the MX hosts, of the sender's family. An
// answer with more than MaxMXHosts hosts is permerror (§4.6.4).
func (e *evaluation) mx(ctx context.Context, t Term, name string) (match, *outcome) {
	if !validName(name) {
		return match{}, e.void(nil, 0) // as in termAddrs
	}
	mxs, err := e.r.LookupMX(ctx, resolver.EscapeName(name))
	if stop := e.void(err, len(mxs)); stop != nil {
		return match{}, stop
	}
	if err != nil && !resolver.IsNotFound(err) {
		o := temperror(err)
		return match{}, &o
	}
	if len(mxs) > MaxMXHosts {
		o := permerror("%q: %s has %d MX hosts, more than the %d an mx mechanism may look up (RFC 7208 §4.6.4)", t.Raw, name, len(mxs), MaxMXHosts)
		return match{}, &o
	}
	// §5.4: an address lookup on each MX name, then the comparison: an
	// error in any lookup is temperror (§5), even beside a match, as
	// pyspf and blitiri.com.ar/go/spf have it; so is the answer the same
	// whatever the order of the hosts.
	matched := false
	for _, mx := range mxs {
		if mx.Host == "." || mx.Host == "" || !validName(mx.Host) {
			continue // a null MX (RFC 7505) has no address
		}
		addrs, err := e.r.LookupIP(ctx, e.family, resolver.EscapeName(mx.Host))
		switch {
		case resolver.IsNotFound(err):
			// §5: as if no records; the host's lookups are not the
			// term's, so not void lookups either (§4.6.4 counts terms).
			continue
		case err != nil:
			o := temperror(err)
			return match{}, &o
		}
		matched = matched || e.inAny(addrs, t)
	}
	return match{match: matched}, nil
}

// ptrMechanism is §5.5: a validated name of the IP that is name or
// ends in ".name" matches (DNS names compare without case).
func (e *evaluation) ptrMechanism(ctx context.Context, name string) (match, *outcome) {
	p := e.validated(ctx)
	if p.void && !p.counted {
		p.counted = true
		if stop := e.void(nil, 0); stop != nil {
			return match{}, stop
		}
	}
	name = strings.ToLower(name)
	for _, n := range p.valid {
		if n == name || strings.HasSuffix(n, "."+name) {
			return match{match: true}, nil
		}
	}
	return match{}, nil
}

// validated looks up the IP's PTR names and keeps those whose address
// records (of the IP's family) hold the IP (§5.5). A DNS error leaves
// no names: the ptr mechanism then does not match (§5.5) and %{p} is
// "unknown" (§7.3). Only the first MaxPTRNames names are looked up
// (§4.6.4).
func (e *evaluation) validated(ctx context.Context) *ptrNames {
	if e.ptr != nil {
		return e.ptr
	}
	e.ptr = &ptrNames{}
	names, err := e.r.LookupPTR(ctx, e.ip)
	if isVoid(err, len(names)) {
		e.ptr.void = true
		return e.ptr
	}
	if err != nil {
		return e.ptr
	}
	if len(names) > MaxPTRNames {
		names = names[:MaxPTRNames]
	}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if !validName(n) {
			continue
		}
		addrs, err := e.r.LookupIP(ctx, e.family, resolver.EscapeName(n))
		if err == nil && slices.ContainsFunc(addrs, func(a netip.Addr) bool { return a.Unmap() == e.ip }) {
			e.ptr.valid = append(e.ptr.valid, n)
		}
	}
	return e.ptr
}

// validatedName is %{p} for domain (§7.3): a validated name that is
// domain, else one in domain, else any; "" (expanded as "unknown") when
// none validates.
func (e *evaluation) validatedName(ctx context.Context, domain string) string {
	valid := e.validated(ctx).valid
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if slices.Contains(valid, domain) {
		return domain
	}
	for _, n := range valid {
		if strings.HasSuffix(n, "."+domain) {
			return n
		}
	}
	if len(valid) > 0 {
		return valid[0]
	}
	return ""
}

// expand expands a macro-string for the record of domain (§7.3).
func (e *evaluation) expand(ctx context.Context, s, domain string, exp bool) (string, error) {
	env := MacroEnv{Sender: e.sender, Domain: domain, IP: e.ip, HELO: e.helo, Receiver: e.recv, Now: e.now}
	if NeedsValidatedName(s) {
		env.Validated = e.validatedName(ctx, domain)
	}
	return Expand(s, env, exp)
}

// result turns the outermost outcome into a Result, with the
// explanation of a fail (§6.2).
func (e *evaluation) result(ctx context.Context, o outcome) Result {
	r := Result{Result: o.result, Deep: o.term, DeepIn: o.in, Reason: o.reason,
		LookupLimit: o.limit}
	if o.result == Fail && o.exp != nil && o.exp.Exp != nil {
		r.Explanation = e.explanation(ctx, o.exp.Exp, o.expDomain)
	}
	return r
}

// explanation is §6.2: the TXT record at the exp= target, expanded.
// Any problem (a DNS error, no record or several, a syntax error,
// anything but printable ASCII) means no explanation. The lookup is not
// one of the ten (§4.6.4).
func (e *evaluation) explanation(ctx context.Context, t *Term, domain string) string {
	target, err := e.expand(ctx, t.Domain, domain, false)
	target = strings.TrimSuffix(target, ".")
	if err != nil || !validName(target) {
		return ""
	}
	txts, err := e.r.LookupTXT(ctx, resolver.EscapeName(target))
	if err != nil || len(txts) != 1 {
		return ""
	}
	for i := 0; i < len(txts[0]); i++ {
		if c := txts[0][i]; c < 0x20 || c > 0x7e {
			return ""
		}
	}
	text, err := e.expand(ctx, txts[0], domain, true)
	if err != nil {
		return ""
	}
	return text
}

// ValidDomain reports whether d can be check_host()'s <domain> (§4.3):
// a name of at least two labels, each 1 to 63 octets, at most 253
// octets (a final dot aside).
func ValidDomain(d string) bool {
	return validName(d) && strings.Contains(strings.TrimSuffix(d, "."), ".")
}

// validName reports whether DNS can carry name: labels of 1 to 63
// octets, 253 octets in all (a final dot aside).
func validName(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for l := range strings.SplitSeq(name, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
	}
	return true
}
