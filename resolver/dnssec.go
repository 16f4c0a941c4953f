package resolver

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Security is what DNSSEC validation concluded about an answer (RFC 4033
// §5, RFC 4035 §4.3).
type Security int

const (
	// Indeterminate: no trust anchor covers the name, or a question on
	// the way got no usable answer: nothing can be concluded.
	Indeterminate Security = iota
	// Insecure: the chain from the anchor proves that the zone is not
	// signed (no DS at a delegation, an opt-out span), or is signed only
	// with algorithms this validator does not support (RFC 6840 §5.2).
	Insecure
	// Secure: every record and denial is signed along an unbroken chain
	// from the anchor.
	Secure
	// Bogus: the chain says the answer should be signed and it is not,
	// or not validly: validating resolvers answer SERVFAIL.
	Bogus
)

func (s Security) String() string {
	switch s {
	case Insecure:
		return "insecure"
	case Secure:
		return "secure"
	case Bogus:
		return "bogus"
	}
	return "indeterminate"
}

// SecureAnswer is the result of one validated lookup.
type SecureAnswer struct {
	Name     string // the name asked, no trailing dot
	Type     string // "TLSA", "MX", ...
	Security Security
	// Reason says why it is not secure ("the RRSIG of example.com DNSKEY
	// expired on ...", "example.com is delegated without a DS record").
	Reason string
	// Records are those of the type asked at the end of the CNAME chain
	// (no RRSIGs); nil when Kind is set. Only Secure ones are proven.
	Records []dns.RR
	// Kind is ErrNXDomain or ErrNoData when there are no records (proven
	// when Secure).
	Kind error
	// Zone is the deepest signed zone of the chain, or where it stopped:
	// the insecure delegation, the bogus zone. No trailing dot.
	Zone string
	// Expires is the earliest expiration of the signatures the chain
	// used (Secure only).
	Expires time.Time
	// Algorithms are the DNSKEY algorithms of Zone (Secure), or the DS
	// algorithms that made it Insecure.
	Algorithms []uint8
	// Err is the *LookupError of a question that got no usable answer
	// (Indeterminate).
	Err error
}

// Bounds on the work one validated lookup may do: a hostile zone must not
// turn it into a flood of questions or of signature checks (KeyTrap,
// CVE-2023-50387).
const (
	// MaxSecureLabels bounds the labels between the trust anchor and the
	// name: one DS and one DNSKEY question each.
	MaxSecureLabels = 32
	maxSigsPerRRset = 8 // RRSIGs tried per RRset
	maxKeysPerSig   = 4 // DNSKEYs with the RRSIG's key tag tried per RRSIG
)

// supportedAlgorithm reports whether signatures of alg are validated:
// RSA/SHA-256, ECDSA P-256 and P-384, Ed25519 (RFC 8624's MUSTs; Ed448
// is not in miekg/dns). Zones signed only with others are insecure.
func supportedAlgorithm(alg uint8) bool {
	switch alg {
	case dns.RSASHA256, dns.ECDSAP256SHA256, dns.ECDSAP384SHA384, dns.ED25519:
		return true
	}
	return false
}

func supportedDigest(t uint8) bool {
	return t == dns.SHA1 || t == dns.SHA256 || t == dns.SHA384
}

var rootAnchors = sync.OnceValue(RootAnchors)

func (r *Resolver) anchors() []dns.RR {
	if r.cfg.TrustAnchors != nil {
		return r.cfg.TrustAnchors
	}
	return rootAnchors()
}

func (r *Resolver) now() time.Time {
	if r.cfg.Now != nil {
		return r.cfg.Now()
	}
	return time.Now()
}

// LookupSecure asks for records of qtype at name with DNSSEC and
// validates the answer from the run's trust anchors (Config.TrustAnchors,
// else the IANA root's): the records or the proof that there are none,
// and every DS and DNSKEY from the anchor down. The DS and DNSKEY
// questions of every name between the anchor and name go out at once,
// beside the question itself, so validation costs one round trip more
// than a plain lookup at most, not one per zone cut. CNAMEs are followed,
// each target validated; the answer is as secure as its weakest link.
// Plain lookups (Lookup) are not affected: DNSSEC is opt-in per lookup.
func (r *Resolver) LookupSecure(ctx context.Context, name string, qtype uint16) *SecureAnswer {
	a := r.lookupSecure(ctx, fqdn(name), qtype, 0)
	a.Name = bare(fqdn(name))
	a.Reason = r.hideKeys1(a.Reason)
	return a
}

// hideKeys1 hides the run's keys in one string.
func (r *Resolver) hideKeys1(s string) string {
	for _, k := range r.cfg.Keys {
		if k != "" {
			s = strings.ReplaceAll(s, k, "<key>")
		}
	}
	return s
}

// chain is a zone whose keys are validated.
type chain struct {
	zone    string // fqdn
	keys    []*dns.DNSKEY
	expires time.Time
	// costly is why a name on the way down was taken to be inside zone
	// without a proof: the proof of its DS's absence is NSEC3 with more
	// iterations than a validator computes (RFC 9276). What the zone's
	// keys sign still validates; what they do not sign (a delegation the
	// proof would have shown) is insecure for that reason, not bogus.
	costly string
}

// signedBy reports whether any RRSIG of m's answer or authority section
// is by zone: m comes from that zone, not from one delegated below it.
func signedBy(m *dns.Msg, zone string) bool {
	for _, rr := range append(slices.Clip(m.Answer), m.Ns...) {
		if sig, ok := rr.(*dns.RRSIG); ok && strings.EqualFold(sig.SignerName, zone) {
			return true
		}
	}
	return false
}

func (c *chain) expire(t time.Time) {
	if c.expires.IsZero() || t.Before(c.expires) {
		c.expires = t
	}
}

// future is a DO question on its way.
type future struct {
	done chan struct{}
	m    *dns.Msg
	err  error
}

func (r *Resolver) ask1(ctx context.Context, name string, qtype uint16) *future {
	f := &future{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.m, _, f.err = r.message(ctx, name, qtype)
	}()
	return f
}

func (f *future) wait() (*dns.Msg, error) {
	<-f.done
	return f.m, f.err
}

func (r *Resolver) lookupSecure(ctx context.Context, name string, qtype uint16, depth int) *SecureAnswer {
	a := &SecureAnswer{Name: bare(name), Type: typeString(qtype)}
	if _, ok := canonicalEscapes(name); !ok {
		a.Kind, a.Reason = ErrNXDomain, "not a valid DNS name"
		return a
	}
	anchors := r.anchors()
	anchor := ""
	for _, rr := range anchors {
		owner := rr.Header().Name
		if dns.IsSubDomain(owner, name) && (qtype != dns.TypeDS || owner != name || name == ".") && (anchor == "" || dns.CountLabel(owner) > dns.CountLabel(anchor)) {
			anchor = owner
		}
	}
	ans := r.ask1(ctx, name, qtype)
	if anchor == "" {
		m, err := ans.wait()
		a.Reason = "no trust anchor covers " + bare(name)
		r.plain(ctx, a, m, err, name, qtype, depth)
		a.Security = Indeterminate
		return a
	}
	top := name
	if qtype == dns.TypeDS && name != anchor {
		top = parent(name)
	}
	var cuts []string
	for n := top; n != anchor; n = parent(n) {
		cuts = append([]string{n}, cuts...)
	}
	if len(cuts) > MaxSecureLabels {
		a.Reason = fmt.Sprintf("%s has more than %d labels below the trust anchor", bare(name), MaxSecureLabels)
		m, err := ans.wait()
		r.plain(ctx, a, m, err, name, qtype, depth)
		a.Security = Indeterminate
		return a
	}
	apexKeys := r.ask1(ctx, anchor, dns.TypeDNSKEY)
	dsF := make([]*future, len(cuts))
	keyF := make([]*future, len(cuts))
	for i, cut := range cuts {
		dsF[i] = r.ask1(ctx, cut, dns.TypeDS)
		keyF[i] = r.ask1(ctx, cut, dns.TypeDNSKEY)
	}
	// Every question asked is waited for, also when an early one
	// decides: no goroutine outlives the lookup, and a run asks the
	// same questions whatever order the replies come in.
	defer func() {
		for _, f := range append(append(dsF, keyF...), apexKeys, ans) {
			f.wait()
		}
	}()

	c, sec, why, err := r.anchorChain(apexKeys, anchor, anchors, a)
	for i := 0; sec == Secure && i < len(cuts); i++ {
		sec, why, err = r.descend(c, cuts[i], dsF[i], keyF[i], a)
	}
	if sec != Secure {
		m, aerr := ans.wait()
		a.Security, a.Reason, a.Err = sec, why, err
		r.plain(ctx, a, m, aerr, name, qtype, depth)
		return a
	}
	m, err := ans.wait()
	if err != nil {
		a.Security, a.Reason, a.Err, a.Zone = Indeterminate, errorReason(err), err, bare(c.zone)
		return a
	}
	if c.costly != "" && !signedBy(m, c.zone) {
		a.Security, a.Reason, a.Zone = Insecure, c.costly, bare(c.zone)
		r.plain(ctx, a, m, nil, name, qtype, depth)
		return a
	}
	r.judge(ctx, a, m, c, name, qtype, depth)
	return a
}

// worst is the weaker of two results of a chain: bogus over
// indeterminate over insecure over secure.
func worst(x, y Security) Security {
	rank := func(s Security) int {
		return map[Security]int{Secure: 0, Insecure: 1, Indeterminate: 2, Bogus: 3}[s]
	}
	if rank(x) >= rank(y) {
		return x
	}
	return y
}

func errorReason(err error) string {
	if le, ok := err.(*LookupError); ok {
		return fmt.Sprintf("%s %s: %s", le.Type, le.Name, le.Reason)
	}
	return err.Error()
}

// anchorChain validates the anchor zone's DNSKEY set: signed by a key the
// anchors name (by DS digest or as the key itself).
func (r *Resolver) anchorChain(f *future, zone string, anchors []dns.RR, a *SecureAnswer) (*chain, Security, string, error) {
	a.Zone = bare(zone)
	m, err := f.wait()
	if err != nil {
		return nil, Indeterminate, errorReason(err), err
	}
	keys, sigs := rrset(m.Answer, zone, dns.TypeDNSKEY)
	if len(keys) == 0 {
		return nil, Bogus, "the trust anchor's zone " + bare(zone) + " has no DNSKEY records", nil
	}
	if len(sigs) == 0 {
		// The anchor's keys always come signed: a reply without RRSIGs is
		// a resolver that drops DNSSEC records (no DO support), not a
		// broken zone. Nothing can be concluded from it.
		return nil, Indeterminate, "the DNS server returned the DNSKEY records of " + bare(zone) + " without signatures: it does not pass DNSSEC records on (no DO support)", nil
	}
	var ds []*dns.DS
	var trusted []*dns.DNSKEY
	for _, rr := range anchors {
		if !strings.EqualFold(rr.Header().Name, zone) {
			continue
		}
		switch v := rr.(type) {
		case *dns.DS:
			ds = append(ds, v)
		case *dns.DNSKEY:
			for _, k := range dnskeys(keys) {
				if k.Flags == v.Flags && k.Algorithm == v.Algorithm && k.PublicKey == v.PublicKey {
					trusted = append(trusted, k)
				}
			}
		}
	}
	if len(ds) > 0 {
		usable := supportedDS(ds)
		if len(usable) == 0 && len(trusted) == 0 {
			sha1 := !slices.ContainsFunc(ds, func(d *dns.DS) bool {
				return d.Algorithm != dns.RSASHA1 && d.Algorithm != dns.RSASHA1NSEC3SHA1 || !supportedDigest(d.DigestType)
			})
			if !sha1 {
				// An anchor preflight cannot use is no anchor (RFC 4035
				// §5): nothing proves the zone unsigned, so
				// indeterminate, not insecure.
				return nil, Indeterminate, fmt.Sprintf("no trust anchor of %s is usable: %s", bare(zone), unsupportedDS(ds)), nil
			}
			// RSA/SHA-1 anchors: insecure to preflight, as a zone signed
			// so below an anchor is (the dnssec check warns).
			for _, d := range ds {
				if !slices.Contains(a.Algorithms, d.Algorithm) {
					a.Algorithms = append(a.Algorithms, d.Algorithm)
				}
			}
			return nil, Insecure, fmt.Sprintf("the trust anchors of %s use only what preflight does not support (%s)", bare(zone), unsupportedDS(ds)), nil
		}
		matched, why := matchDS(zone, dnskeys(keys), usable)
		if len(matched) == 0 && len(trusted) == 0 {
			return nil, Bogus, why, nil
		}
		trusted = append(trusted, matched...)
	}
	if len(trusted) == 0 {
		return nil, Bogus, "no DNSKEY of " + bare(zone) + " is a trust anchor", nil
	}
	exp, why := r.verify(keys, sigs, &chain{zone: zone, keys: trusted})
	if why != "" {
		return nil, Bogus, bare(zone) + " DNSKEY: " + keySetWhy(sigs, trusted, why), nil
	}
	c := &chain{zone: zone, keys: zoneKeys(keys)}
	c.expire(exp)
	return c, Secure, "", nil
}

// descend moves c one name down the path: into the zone at cut when cut
// has a DS set (validating its DNSKEYs), else stays in c's zone once the
// absence of a DS is proven. Insecure when cut is a delegation without
// DS, or with DS of unsupported algorithms only.
func (r *Resolver) descend(c *chain, cut string, dsF, keyF *future, a *SecureAnswer) (Security, string, error) {
	m, err := dsF.wait()
	if err != nil {
		return Indeterminate, errorReason(err), err
	}
	if c.costly != "" && !signedBy(m, c.zone) {
		// Below a name the costly proof did not place: no longer c's zone.
		a.Zone = bare(c.zone)
		return Insecure, c.costly, nil
	}
	ds, sigs := rrset(m.Answer, cut, dns.TypeDS)
	if len(ds) == 0 {
		if cn, cs := rrset(m.Answer, cut, dns.TypeCNAME); len(cn) > 0 {
			// An alias is no zone cut; its own validation comes with the
			// answer's.
			if _, why := r.verify(cn, cs, c); why != "" {
				return Bogus, bare(cut) + " CNAME: " + why, nil
			}
			return Secure, "", nil
		}
		p := r.proofFrom(m, c)
		var res denialResult
		var why string
		if m.Rcode == dns.RcodeNameError {
			res, why = p.nxDomain(cut)
		} else {
			res, why = p.noData(cut, dns.TypeDS)
		}
		switch res {
		case proven:
			if p.delegation(cut) {
				a.Zone = bare(cut)
				return Insecure, bare(cut) + " is delegated without a DS record: its zone is not signed", nil
			}
			return Secure, "", nil
		case optOut:
			a.Zone = bare(cut)
			return Insecure, why, nil
		case tooCostly:
			// RFC 9276 §3.2 makes insecure what depends on such a proof,
			// and only that: most names on the way are no zone cut, and
			// the answer signed by c's keys validates as usual (delv
			// agrees). Stay in c's zone; see chain.costly.
			c.costly = bare(c.zone) + " proves the absence of a DS record at " + bare(cut) + " with " + why
			return Secure, "", nil
		}
		a.Zone = bare(c.zone)
		return Bogus, "no valid proof that " + bare(cut) + " has no DS record: " + p.explain(why), nil
	}
	exp, why := r.verify(ds, sigs, c)
	if why != "" {
		a.Zone = bare(c.zone)
		return Bogus, bare(cut) + " DS: " + why, nil
	}
	c.expire(exp)
	usable := supportedDS(dsRecords(ds))
	if len(usable) == 0 {
		a.Zone = bare(cut)
		for _, d := range dsRecords(ds) {
			if !slices.Contains(a.Algorithms, d.Algorithm) {
				a.Algorithms = append(a.Algorithms, d.Algorithm)
			}
		}
		return Insecure, fmt.Sprintf("the DS records of %s use only what preflight does not support (%s)", bare(cut), unsupportedDS(dsRecords(ds))), nil
	}
	km, err := keyF.wait()
	if err != nil {
		return Indeterminate, errorReason(err), err
	}
	keys, ksigs := rrset(km.Answer, cut, dns.TypeDNSKEY)
	a.Zone = bare(cut)
	if len(keys) == 0 {
		return Bogus, bare(cut) + " has DS records in its parent but no DNSKEY records", nil
	}
	matched, why := matchDS(cut, dnskeys(keys), usable)
	if len(matched) == 0 {
		return Bogus, why, nil
	}
	exp, why = r.verify(keys, ksigs, &chain{zone: cut, keys: matched})
	if why != "" {
		return Bogus, bare(cut) + " DNSKEY: " + keySetWhy(ksigs, matched, why), nil
	}
	c.zone, c.keys, c.costly = cut, zoneKeys(keys), ""
	c.expire(exp)
	a.Algorithms = nil
	return Secure, "", nil
}

// judge validates the reply m to name/qtype in the secure zone c.
func (r *Resolver) judge(ctx context.Context, a *SecureAnswer, m *dns.Msg, c *chain, name string, qtype uint16, depth int) {
	a.Zone = bare(c.zone)
	a.Algorithms = keyAlgorithms(c.keys)
	bogus := func(why string) {
		a.Security, a.Reason = Bogus, why
		a.Records, a.Kind = nil, nil
	}
	rrs, sigs := rrset(m.Answer, name, qtype)
	if len(rrs) == 0 && qtype != dns.TypeCNAME {
		rrs, sigs = rrset(m.Answer, name, dns.TypeCNAME)
	}
	if m.Rcode == dns.RcodeSuccess && len(rrs) > 0 {
		exp, why := r.verify(rrs, sigs, c)
		if why != "" {
			bogus(bare(name) + " " + typeString(rrs[0].Header().Rrtype) + ": " + why)
			return
		}
		c.expire(exp)
		if ce, wild := wildcardOf(name, sigs, c.zone); wild {
			res, why := r.proofFrom(m, c).wildcardExpansion(name, ce)
			switch res {
			case optOut:
				a.Security, a.Reason = Insecure, why
			case proven:
			default:
				bogus("wildcard answer without proof: " + why)
				return
			}
		}
		if cn, ok := rrs[0].(*dns.CNAME); ok && qtype != dns.TypeCNAME {
			if depth >= MaxCNAMEChain {
				a.Security, a.Reason = Indeterminate, fmt.Sprintf("CNAME chain longer than %d", MaxCNAMEChain)
				return
			}
			sub := r.lookupSecure(ctx, fqdn(cn.Target), qtype, depth+1)
			sec := Secure
			if a.Security == Insecure {
				sec = Insecure
			}
			*a = *sub
			a.Security = worst(sec, sub.Security)
			if sub.Security == Secure && !c.expires.IsZero() && c.expires.Before(sub.Expires) {
				a.Expires = c.expires
			}
			return
		}
		if a.Security != Insecure {
			a.Security = Secure
		}
		a.Records, a.Expires = stripSigs(rrs), c.expires
		return
	}
	p := r.proofFrom(m, c)
	var res denialResult
	var why string
	if m.Rcode == dns.RcodeNameError {
		a.Kind = ErrNXDomain
		res, why = p.nxDomain(name)
	} else {
		a.Kind = ErrNoData
		res, why = p.noData(name, qtype)
	}
	switch res {
	case proven:
		a.Security, a.Expires = Secure, c.expires
		for _, e := range p.expires {
			if e.Before(a.Expires) {
				a.Expires = e
			}
		}
	case optOut, tooCostly:
		a.Security, a.Reason = Insecure, why
	default:
		kind := "NODATA"
		if a.Kind == ErrNXDomain {
			kind = "NXDOMAIN"
		}
		a.Security, a.Reason = Bogus, kind+" for "+bare(name)+" "+typeString(qtype)+" without a valid proof: "+p.explain(why)
	}
}

// plain fills a from an answer that could not be validated (insecure,
// bogus or indeterminate), following CNAMEs as Lookup does.
func (r *Resolver) plain(ctx context.Context, a *SecureAnswer, m *dns.Msg, err error, name string, qtype uint16, depth int) {
	if err != nil {
		if a.Reason == "" {
			a.Reason = errorReason(err)
		}
		if a.Err == nil {
			a.Err = err
		}
		a.Security = Indeterminate
		return
	}
	rrs, _ := rrset(m.Answer, name, qtype)
	if len(rrs) == 0 && qtype != dns.TypeCNAME {
		if cn, _ := rrset(m.Answer, name, dns.TypeCNAME); len(cn) > 0 && depth < MaxCNAMEChain {
			sub := r.lookupSecure(ctx, fqdn(cn[0].(*dns.CNAME).Target), qtype, depth+1)
			a.Records, a.Kind = sub.Records, sub.Kind
			a.Security = worst(a.Security, sub.Security)
			return
		}
	}
	switch {
	case len(rrs) > 0:
		a.Records = stripSigs(rrs)
	case m.Rcode == dns.RcodeNameError:
		a.Kind = ErrNXDomain
	default:
		a.Kind = ErrNoData
	}
}

// wildcardOf reports whether the records were synthesised from a
// wildcard (the RRSIG's label count is below the owner's, RFC 4035
// §5.3.4) and its closest encloser.
func wildcardOf(name string, sigs []*dns.RRSIG, zone string) (string, bool) {
	n := dns.CountLabel(name)
	for _, s := range sigs {
		if strings.EqualFold(s.SignerName, zone) && int(s.Labels) < n {
			labels := dns.SplitDomainName(name)
			return dns.Fqdn(strings.Join(labels[n-int(s.Labels):], ".")), true
		}
	}
	return "", false
}

// proofFrom collects the NSEC and NSEC3 records of m's authority section
// that c's keys validate.
func (r *Resolver) proofFrom(m *dns.Msg, c *chain) *proof {
	p := &proof{zone: c.zone}
	type set struct {
		rrs  []dns.RR
		sigs []*dns.RRSIG
	}
	sets := map[key]*set{}
	var order []key
	for _, rr := range m.Ns {
		h := rr.Header()
		t := h.Rrtype
		if sig, ok := rr.(*dns.RRSIG); ok {
			t = sig.TypeCovered
		}
		if t != dns.TypeNSEC && t != dns.TypeNSEC3 {
			continue
		}
		k := key{strings.ToLower(h.Name), t}
		s := sets[k]
		if s == nil {
			s = &set{}
			sets[k] = s
			order = append(order, k)
		}
		if sig, ok := rr.(*dns.RRSIG); ok {
			s.sigs = append(s.sigs, sig)
		} else {
			s.rrs = append(s.rrs, rr)
		}
	}
	for _, k := range order {
		s := sets[k]
		if len(s.rrs) == 0 {
			continue
		}
		if !dns.IsSubDomain(c.zone, k.name) {
			p.notes = append(p.notes, fmt.Sprintf("%s %s is outside the zone %s", typeString(k.qtype), bare(k.name), bare(c.zone)))
			continue
		}
		exp, why := r.verify(s.rrs, s.sigs, c)
		if why != "" {
			p.notes = append(p.notes, fmt.Sprintf("%s %s: %s", typeString(k.qtype), bare(k.name), why))
			continue
		}
		p.expires = append(p.expires, exp)
		for _, rr := range s.rrs {
			switch v := rr.(type) {
			case *dns.NSEC:
				p.nsec = append(p.nsec, v)
			case *dns.NSEC3:
				if dns.IsSubDomain(c.zone, v.Hdr.Name) && dns.CountLabel(v.Hdr.Name) == dns.CountLabel(c.zone)+1 {
					p.nsec3 = append(p.nsec3, v)
				}
			}
		}
	}
	return p
}

// explain adds why records were not used to why a proof failed.
func (p *proof) explain(why string) string {
	if len(p.notes) == 0 {
		return why
	}
	return why + " (" + strings.Join(p.notes, "; ") + ")"
}

// delegation reports whether the proof's record at name shows a zone cut
// (NS without SOA).
func (p *proof) delegation(name string) bool {
	for _, n := range p.nsec {
		if strings.EqualFold(n.Hdr.Name, name) {
			return hasType(n.TypeBitMap, dns.TypeNS) && !hasType(n.TypeBitMap, dns.TypeSOA)
		}
	}
	ns3, _ := p.nsec3Usable()
	for _, n := range ns3 {
		if n.Match(name) {
			return hasType(n.TypeBitMap, dns.TypeNS) && !hasType(n.TypeBitMap, dns.TypeSOA)
		}
	}
	return false
}

// verify checks rrset against its RRSIGs with c's keys: one valid,
// current signature by c's zone is enough. It returns that signature's
// expiration, or why none was valid (the most telling reason).
func (r *Resolver) verify(rrset []dns.RR, sigs []*dns.RRSIG, c *chain) (time.Time, string) {
	if len(sigs) == 0 {
		return time.Time{}, "no RRSIG record (not signed)"
	}
	now := r.now()
	why, rank := "", -1
	note := func(n int, s string) {
		if n > rank {
			why, rank = s, n
		}
	}
	owner := rrset[0].Header().Name
	for i, sig := range sigs {
		if i == maxSigsPerRRset {
			note(0, fmt.Sprintf("more than %d RRSIG records", maxSigsPerRRset))
			break
		}
		if !strings.EqualFold(sig.SignerName, c.zone) {
			note(1, fmt.Sprintf("signed by %s, not by its zone %s", bare(sig.SignerName), bare(c.zone)))
			continue
		}
		if int(sig.Labels) > dns.CountLabel(owner) {
			note(2, "RRSIG label count above the owner's")
			continue
		}
		if !sig.ValidityPeriod(now) {
			exp := time.Unix(int64(sig.Expiration), 0).UTC()
			if now.After(exp) {
				note(5, "the signature expired on "+exp.Format(time.RFC3339))
			} else {
				note(4, "the signature is not valid before "+time.Unix(int64(sig.Inception), 0).UTC().Format(time.RFC3339))
			}
			continue
		}
		if !supportedAlgorithm(sig.Algorithm) {
			note(1, "signature algorithm "+algNames([]uint8{sig.Algorithm})+" not supported")
			continue
		}
		tried := 0
		for _, k := range c.keys {
			if k.Algorithm != sig.Algorithm || k.KeyTag() != sig.KeyTag {
				continue
			}
			if tried == maxKeysPerSig {
				break
			}
			tried++
			if sig.Verify(k, rrset) == nil {
				return time.Unix(int64(sig.Expiration), 0).UTC(), ""
			}
			note(6, fmt.Sprintf("the signature by key %d does not verify", sig.KeyTag))
		}
		if tried == 0 {
			note(3, fmt.Sprintf("no DNSKEY of %s with key tag %d (algorithm %d)", bare(c.zone), sig.KeyTag, sig.Algorithm))
		}
	}
	return time.Time{}, why
}

// keySetWhy says why a DNSKEY set did not validate with the keys the DS
// or the anchor names (trusted): when none of them made any of its
// RRSIGs (a key-signing key's signature missing), that, with the key
// tags on both sides; else verify's reason.
func keySetWhy(sigs []*dns.RRSIG, trusted []*dns.DNSKEY, why string) string {
	var want, have []string
	for _, k := range trusted {
		t := fmt.Sprint(k.KeyTag())
		for _, s := range sigs {
			if s.KeyTag == k.KeyTag() && s.Algorithm == k.Algorithm {
				return why
			}
		}
		if !slices.Contains(want, t) {
			want = append(want, t)
		}
	}
	for _, s := range sigs {
		if t := fmt.Sprint(s.KeyTag); !slices.Contains(have, t) {
			have = append(have, t)
		}
	}
	if len(sigs) == 0 || len(want) == 0 {
		return why
	}
	return fmt.Sprintf("not signed by the key its DS or trust anchor names (key tag %s), only by key tag %s", strings.Join(want, ", "), strings.Join(have, ", "))
}

// rrset splits the records of type t at owner from msg section rrs, and
// the RRSIGs that cover them.
func rrset(rrs []dns.RR, owner string, t uint16) ([]dns.RR, []*dns.RRSIG) {
	var out []dns.RR
	var sigs []*dns.RRSIG
	for _, rr := range rrs {
		h := rr.Header()
		if !strings.EqualFold(h.Name, owner) || h.Class != dns.ClassINET {
			continue
		}
		if sig, ok := rr.(*dns.RRSIG); ok {
			if sig.TypeCovered == t {
				sigs = append(sigs, sig)
			}
			continue
		}
		if h.Rrtype == t {
			out = append(out, rr)
		}
	}
	return out, sigs
}

func stripSigs(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, 0, len(rrs))
	for _, rr := range rrs {
		if _, ok := rr.(*dns.RRSIG); !ok {
			out = append(out, rr)
		}
	}
	return out
}

func dnskeys(rrs []dns.RR) []*dns.DNSKEY {
	var out []*dns.DNSKEY
	for _, rr := range rrs {
		if k, ok := rr.(*dns.DNSKEY); ok {
			out = append(out, k)
		}
	}
	return out
}

func zoneKeys(rrs []dns.RR) []*dns.DNSKEY {
	var out []*dns.DNSKEY
	for _, k := range dnskeys(rrs) {
		if k.Flags&dns.ZONE != 0 && k.Protocol == 3 {
			out = append(out, k)
		}
	}
	return out
}

func dsRecords(rrs []dns.RR) []*dns.DS {
	var out []*dns.DS
	for _, rr := range rrs {
		if d, ok := rr.(*dns.DS); ok {
			out = append(out, d)
		}
	}
	return out
}

// unsupportedDS says why each DS record cannot be used: its algorithm,
// else its digest type.
func unsupportedDS(ds []*dns.DS) string {
	var out []string
	for _, d := range ds {
		why := "algorithm " + algNames([]uint8{d.Algorithm})
		if supportedAlgorithm(d.Algorithm) {
			why = fmt.Sprintf("digest type %d", d.DigestType)
		}
		if !slices.Contains(out, why) {
			out = append(out, why)
		}
	}
	return strings.Join(out, ", ")
}

func supportedDS(ds []*dns.DS) []*dns.DS {
	var out []*dns.DS
	for _, d := range ds {
		if supportedAlgorithm(d.Algorithm) && supportedDigest(d.DigestType) {
			out = append(out, d)
		}
	}
	return out
}

// matchDS returns the keys of zone that a DS record names (key tag,
// algorithm and digest), or why none does.
func matchDS(zone string, keys []*dns.DNSKEY, ds []*dns.DS) ([]*dns.DNSKEY, string) {
	var out []*dns.DNSKEY
	tagSeen := false
	for _, d := range ds {
		for _, k := range keys {
			if k.KeyTag() != d.KeyTag || k.Algorithm != d.Algorithm || k.Flags&dns.ZONE == 0 {
				continue
			}
			tagSeen = true
			if kd := k.ToDS(d.DigestType); kd != nil && strings.EqualFold(kd.Digest, d.Digest) && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	if len(out) > 0 {
		return out, ""
	}
	tags := make([]string, len(ds))
	for i, d := range ds {
		tags[i] = fmt.Sprint(d.KeyTag)
	}
	if tagSeen {
		return nil, fmt.Sprintf("the DS digest of %s (key tag %s) does not match its DNSKEY", bare(zone), strings.Join(tags, ", "))
	}
	return nil, fmt.Sprintf("%s has no DNSKEY with the key tag its DS names (%s)", bare(zone), strings.Join(tags, ", "))
}

func keyAlgorithms(keys []*dns.DNSKEY) []uint8 {
	var out []uint8
	for _, k := range keys {
		if !slices.Contains(out, k.Algorithm) {
			out = append(out, k.Algorithm)
		}
	}
	slices.Sort(out)
	return out
}

func algNames(algs []uint8) string {
	s := make([]string, len(algs))
	for i, a := range algs {
		if n, ok := dns.AlgorithmToString[a]; ok {
			s[i] = fmt.Sprintf("%d %s", a, n)
		} else {
			s[i] = fmt.Sprint(a)
		}
	}
	return strings.Join(s, ", ")
}

// TrustAnchors returns the anchors LookupSecure validates from.
func (r *Resolver) TrustAnchors() []dns.RR { return r.anchors() }
