package resolver

import (
	"strings"

	"github.com/miekg/dns"
)

// SecureAnswer answers one question from the zone's data the way an
// authoritative server answers a query with the DO bit (RFC 4035 §3.1):
// the records with their RRSIGs, and for NXDOMAIN, NODATA and wildcard
// answers the SOA and the NSEC or NSEC3 records that prove it, signed. A
// zone file without DNSSEC records gives the same answers without them.
// CNAMEs are not followed (the validator asks for the target). The name
// must be in the zone (see Contains).
func (z *Zone) SecureAnswer(name string, qtype uint16) *dns.Msg {
	name = fqdn(name)
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	if byType, ok := z.names[name]; ok {
		if rrs := pick(byType, qtype); len(rrs) > 0 {
			m.Answer = append(copyAs(rrs, name), z.sigs(name, rrs[0].Header().Rrtype, name)...)
			return m
		}
		z.negative(m, name, qtype, false)
		return m
	}
	if z.nonterminal[name] {
		z.negative(m, name, qtype, false)
		return m
	}
	ce := z.closestEncloser(name)
	wild := "*." + ce
	if byType, ok := z.names[wild]; ok {
		if rrs := pick(byType, qtype); len(rrs) > 0 {
			m.Answer = append(copyAs(rrs, name), z.sigs(wild, rrs[0].Header().Rrtype, name)...)
			m.Ns = z.nameDenial(name, ce, false)
			return m
		}
		// Wildcard NODATA (RFC 4035 §3.1.3.4, RFC 5155 §7.2.5).
		z.soa(m)
		m.Ns = append(m.Ns, z.nameDenial(name, ce, false)...)
		m.Ns = append(m.Ns, z.typeDenial(wild)...)
		return m
	}
	m.Rcode = dns.RcodeNameError
	z.soa(m)
	m.Ns = append(m.Ns, z.nameDenial(name, ce, true)...)
	return m
}

// pick returns the records of qtype, or the CNAME.
func pick(byType map[uint16][]dns.RR, qtype uint16) []dns.RR {
	if rrs := byType[qtype]; len(rrs) > 0 {
		return rrs
	}
	if qtype != dns.TypeCNAME {
		return byType[dns.TypeCNAME]
	}
	return nil
}

func copyAs(rrs []dns.RR, owner string) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		out[i] = dns.Copy(rr)
		out[i].Header().Name = owner
	}
	return out
}

// sigs returns the RRSIGs at owner that cover rrtype, owned by as.
func (z *Zone) sigs(owner string, rrtype uint16, as string) []dns.RR {
	var out []dns.RR
	for _, rr := range z.names[owner][dns.TypeRRSIG] {
		if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == rrtype {
			c := dns.Copy(sig)
			c.Header().Name = as
			out = append(out, c)
		}
	}
	return out
}

// withSigs returns rrs followed by the RRSIGs covering them.
func (z *Zone) withSigs(rrs ...dns.RR) []dns.RR {
	var out []dns.RR
	seen := map[dns.RR]bool{}
	for _, rr := range rrs {
		if rr == nil || seen[rr] {
			continue
		}
		seen[rr] = true
		h := rr.Header()
		out = append(out, rr)
		out = append(out, z.sigs(h.Name, h.Rrtype, h.Name)...)
	}
	return out
}

func (z *Zone) soa(m *dns.Msg) {
	if soa := z.SOA(); soa != nil {
		m.Ns = append(m.Ns, z.withSigs(soa)...)
	}
}

// negative fills a NODATA reply for name, which exists (or is an empty
// non-terminal).
func (z *Zone) negative(m *dns.Msg, name string, qtype uint16, _ bool) {
	z.soa(m)
	if n := z.nsecAt(name); n != nil {
		m.Ns = append(m.Ns, z.withSigs(n)...)
		return
	}
	if n3 := z.nsec3Matching(name); n3 != nil {
		m.Ns = append(m.Ns, z.withSigs(n3)...)
		return
	}
	if z.hasNSEC3() {
		// An opt-out span: no NSEC3 at name (an insecure delegation asked
		// for DS, RFC 5155 §7.2.4): the closest provable encloser proof.
		m.Ns = append(m.Ns, z.nameDenial(name, z.provableEncloser(name), false)...)
		return
	}
	// NSEC: an empty non-terminal is proved by the NSEC that covers it.
	if n := z.nsecCovering(name); n != nil {
		m.Ns = append(m.Ns, z.withSigs(n)...)
	}
}

// typeDenial is the NSEC or NSEC3 record at name, which exists.
func (z *Zone) typeDenial(name string) []dns.RR {
	if n := z.nsecAt(name); n != nil {
		return z.withSigs(n)
	}
	if n3 := z.nsec3Matching(name); n3 != nil {
		return z.withSigs(n3)
	}
	return nil
}

// nameDenial proves that name does not exist below its closest encloser
// ce: the NSEC covering it (and, when wildcard, the one covering *.ce),
// or the NSEC3 closest encloser proof (RFC 5155 §7.2.1).
func (z *Zone) nameDenial(name, ce string, wildcard bool) []dns.RR {
	var rrs []dns.RR
	if z.hasNSEC3() {
		rrs = append(rrs, z.nsec3Matching(ce), z.nsec3Covering(nextCloser(name, ce)))
		if wildcard {
			rrs = append(rrs, z.nsec3Covering("*."+ce))
		}
		return z.withSigs(rrs...)
	}
	rrs = append(rrs, z.nsecCovering(name))
	if wildcard {
		rrs = append(rrs, z.nsecCovering("*."+ce))
	}
	return z.withSigs(rrs...)
}

// closestEncloser is the longest existing ancestor of name (RFC 4592).
func (z *Zone) closestEncloser(name string) string {
	for p := parent(name); p != "" && dns.IsSubDomain(z.Apex, p); p = parent(p) {
		if _, ok := z.names[p]; ok || z.nonterminal[p] {
			return p
		}
	}
	return z.Apex
}

// provableEncloser is the longest ancestor of name with a matching NSEC3.
func (z *Zone) provableEncloser(name string) string {
	for p := parent(name); p != "" && dns.IsSubDomain(z.Apex, p); p = parent(p) {
		if z.nsec3Matching(p) != nil {
			return p
		}
	}
	return z.Apex
}

// nextCloser is the name one label longer than ce on the way to name.
func nextCloser(name, ce string) string {
	labels := dns.SplitDomainName(name)
	n := dns.CountLabel(ce) + 1
	if n > len(labels) {
		return name
	}
	return dns.Fqdn(strings.Join(labels[len(labels)-n:], "."))
}

func (z *Zone) nsecAt(name string) dns.RR {
	if rrs := z.names[name][dns.TypeNSEC]; len(rrs) > 0 {
		return rrs[0]
	}
	return nil
}

func (z *Zone) nsecCovering(name string) dns.RR {
	for _, byType := range z.names {
		for _, rr := range byType[dns.TypeNSEC] {
			if n, ok := rr.(*dns.NSEC); ok && nsecCovers(n, name) {
				return rr
			}
		}
	}
	return nil
}

func (z *Zone) hasNSEC3() bool {
	return len(z.names[z.Apex][dns.TypeNSEC3PARAM]) > 0
}

func (z *Zone) nsec3Matching(name string) dns.RR {
	return z.findNSEC3(func(n *dns.NSEC3) bool { return n.Match(name) })
}

func (z *Zone) nsec3Covering(name string) dns.RR {
	return z.findNSEC3(func(n *dns.NSEC3) bool { return n.Cover(name) })
}

func (z *Zone) findNSEC3(f func(*dns.NSEC3) bool) dns.RR {
	for _, byType := range z.names {
		for _, rr := range byType[dns.TypeNSEC3] {
			if n, ok := rr.(*dns.NSEC3); ok && f(n) {
				return rr
			}
		}
	}
	return nil
}
