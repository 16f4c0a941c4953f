package resolver

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// MaxNSEC3Iterations is the most NSEC3 iterations a proof may use;
// more makes the answer insecure (RFC 9276 §3.2 lets validators do so,
// and 150 is what BIND and Unbound chose). It bounds the hashing a
// hostile zone can make a run do.
const MaxNSEC3Iterations = 150

// canonicalCompare orders names as RFC 4034 §6.1 does: label by label
// from the root, each label's octets in lower case, a missing label
// first.
func canonicalCompare(a, b string) int {
	la := dns.SplitDomainName(strings.ToLower(a))
	lb := dns.SplitDomainName(strings.ToLower(b))
	for i, j := len(la)-1, len(lb)-1; ; i, j = i-1, j-1 {
		switch {
		case i < 0 && j < 0:
			return 0
		case i < 0:
			return -1
		case j < 0:
			return 1
		}
		if c := strings.Compare(unescapeLabel(la[i]), unescapeLabel(lb[j])); c != 0 {
			return c
		}
	}
}

// unescapeLabel turns a presentation label's \DDD and \X escapes into the
// octets they stand for.
func unescapeLabel(l string) string {
	if !strings.Contains(l, `\`) {
		return l
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c == '\\' && i+3 < len(l) && isDigit(l[i+1]) && isDigit(l[i+2]) && isDigit(l[i+3]) {
			b.WriteByte((l[i+1]-'0')*100 + (l[i+2]-'0')*10 + (l[i+3] - '0'))
			i += 3
			continue
		}
		if c == '\\' && i+1 < len(l) {
			i++
			c = l[i]
		}
		b.WriteByte(c)
	}
	return b.String()
}

// nsecCovers reports whether n proves name does not exist: name sorts
// after n's owner and before its next name, or after the last name of the
// zone (whose next name is the apex).
func nsecCovers(n *dns.NSEC, name string) bool {
	owner, next := n.Hdr.Name, n.NextDomain
	after := canonicalCompare(owner, name) < 0
	if canonicalCompare(owner, next) >= 0 { // the last NSEC: next is the apex
		return after && dns.IsSubDomain(next, name)
	}
	return after && canonicalCompare(name, next) < 0
}

// proof is the verified NSEC and NSEC3 records of one reply, all of one
// zone.
type proof struct {
	zone  string
	nsec  []*dns.NSEC
	nsec3 []*dns.NSEC3
	// notes says why records were not used (wrong zone, bad signature).
	notes []string
	// expires are the expirations of the signatures of the records used.
	expires []time.Time
}

// denialResult is what a proof shows about a name.
type denialResult int

const (
	unproven denialResult = iota
	proven
	optOut       // an NSEC3 opt-out span covers it: it may be an unsigned delegation
	tooCostly    // NSEC3 iterations above MaxNSEC3Iterations
	contradicted // the proof shows the records exist
)

// nsec3Usable keeps the NSEC3 records with SHA-1 hashes and iterations
// within the limit; costly says some were dropped for iterations.
func (p *proof) nsec3Usable() (out []*dns.NSEC3, costly bool) {
	for _, n := range p.nsec3 {
		if n.Hash != dns.SHA1 {
			continue
		}
		if n.Iterations > MaxNSEC3Iterations {
			costly = true
			continue
		}
		out = append(out, n)
	}
	return out, costly
}

func hasType(bitmap []uint16, t uint16) bool { return slices.Contains(bitmap, t) }

// noData proves that name exists without records of qtype (RFC 4035
// §5.4, RFC 5155 §8.5-8.7), wildcard NODATA included.
func (p *proof) noData(name string, qtype uint16) (denialResult, string) {
	for _, n := range p.nsec {
		if !strings.EqualFold(n.Hdr.Name, name) {
			continue
		}
		if hasType(n.TypeBitMap, qtype) || hasType(n.TypeBitMap, dns.TypeCNAME) {
			return contradicted, fmt.Sprintf("the NSEC record at %s lists %s", bare(name), typeString(qtype))
		}
		if qtype != dns.TypeDS && hasType(n.TypeBitMap, dns.TypeNS) && !hasType(n.TypeBitMap, dns.TypeSOA) {
			return unproven, "the NSEC record is the parent's, at a delegation"
		}
		return proven, ""
	}
	if len(p.nsec) > 0 {
		// An empty non-terminal, or a wildcard NODATA: the NSEC covering
		// name, and for a wildcard the one at *.ce without the type.
		for _, n := range p.nsec {
			if !nsecCovers(n, name) {
				continue
			}
			if dns.IsSubDomain(name, n.NextDomain) && !strings.EqualFold(name, n.NextDomain) {
				return proven, "" // empty non-terminal
			}
			ce := nsecEncloser(n, name)
			for _, w := range p.nsec {
				if strings.EqualFold(w.Hdr.Name, "*."+ce) && !hasType(w.TypeBitMap, qtype) && !hasType(w.TypeBitMap, dns.TypeCNAME) {
					return proven, ""
				}
			}
		}
		return unproven, "no NSEC record proves that " + bare(name) + " has no " + typeString(qtype)
	}
	ns3, costly := p.nsec3Usable()
	for _, n := range ns3 {
		if n.Match(name) {
			if hasType(n.TypeBitMap, qtype) || hasType(n.TypeBitMap, dns.TypeCNAME) {
				return contradicted, fmt.Sprintf("the NSEC3 record for %s lists %s", bare(name), typeString(qtype))
			}
			if qtype != dns.TypeDS && hasType(n.TypeBitMap, dns.TypeNS) && !hasType(n.TypeBitMap, dns.TypeSOA) {
				return unproven, "the NSEC3 record is the parent's, at a delegation"
			}
			return proven, ""
		}
	}
	if costly {
		return tooCostly, fmt.Sprintf("NSEC3 with more than %d iterations (RFC 9276)", MaxNSEC3Iterations)
	}
	// No match: a DS question under an opt-out span (§8.6), or a wildcard
	// NODATA (§8.7).
	ce, nc, ok := closestEncloserProof(ns3, name, p.zone)
	if !ok {
		return unproven, "no NSEC3 record proves that " + bare(name) + " has no " + typeString(qtype)
	}
	if qtype == dns.TypeDS && nc.Flags&1 == 1 {
		return optOut, "an NSEC3 opt-out span covers " + bare(name)
	}
	for _, n := range ns3 {
		if n.Match("*."+ce) && !hasType(n.TypeBitMap, qtype) && !hasType(n.TypeBitMap, dns.TypeCNAME) {
			return proven, ""
		}
	}
	return unproven, "no NSEC3 record proves that " + bare(name) + " has no " + typeString(qtype)
}

// nxDomain proves that name does not exist, nor a wildcard that would
// make it (RFC 4035 §5.4, RFC 5155 §8.4).
func (p *proof) nxDomain(name string) (denialResult, string) {
	if len(p.nsec) > 0 {
		for _, n := range p.nsec {
			if strings.EqualFold(n.Hdr.Name, name) {
				return contradicted, "the NSEC record shows that " + bare(name) + " exists"
			}
		}
		for _, n := range p.nsec {
			if !nsecCovers(n, name) {
				continue
			}
			ce := nsecEncloser(n, name)
			for _, w := range p.nsec {
				if nsecCovers(w, "*."+ce) {
					return proven, ""
				}
			}
			return unproven, "no NSEC record proves that *." + bare(ce) + " does not exist"
		}
		return unproven, "no NSEC record covers " + bare(name)
	}
	ns3, costly := p.nsec3Usable()
	if costly && len(ns3) == 0 {
		return tooCostly, fmt.Sprintf("NSEC3 with more than %d iterations (RFC 9276)", MaxNSEC3Iterations)
	}
	for _, n := range ns3 {
		if n.Match(name) {
			return contradicted, "the NSEC3 record shows that " + bare(name) + " exists"
		}
	}
	ce, nc, ok := closestEncloserProof(ns3, name, p.zone)
	if !ok {
		return unproven, "no NSEC3 closest encloser proof for " + bare(name)
	}
	for _, n := range ns3 {
		if n.Cover("*." + ce) {
			if nc.Flags&1 == 1 {
				return optOut, "an NSEC3 opt-out span covers " + bare(name)
			}
			return proven, ""
		}
	}
	return unproven, "no NSEC3 record proves that *." + bare(ce) + " does not exist"
}

// wildcardExpansion proves that a record synthesised from the wildcard
// at *.ce is not hiding name itself (RFC 4035 §5.3.4, RFC 5155 §8.8).
func (p *proof) wildcardExpansion(name, ce string) (denialResult, string) {
	for _, n := range p.nsec {
		if nsecCovers(n, name) {
			return proven, ""
		}
	}
	ns3, _ := p.nsec3Usable()
	nc := nextCloser(name, ce)
	for _, n := range ns3 {
		if n.Cover(nc) {
			if n.Flags&1 == 1 {
				return optOut, "an NSEC3 opt-out span covers " + bare(name)
			}
			return proven, ""
		}
	}
	return unproven, "no proof that " + bare(name) + " does not exist besides the wildcard"
}

// nsecEncloser is the closest encloser an NSEC covering name shows: the
// longer of name's common ancestors with the owner and the next name.
func nsecEncloser(n *dns.NSEC, name string) string {
	a := commonAncestor(name, n.Hdr.Name)
	b := commonAncestor(name, n.NextDomain)
	if dns.CountLabel(b) > dns.CountLabel(a) {
		return b
	}
	return a
}

func commonAncestor(a, b string) string {
	la := dns.SplitDomainName(strings.ToLower(a))
	lb := dns.SplitDomainName(strings.ToLower(b))
	n := 0
	for i, j := len(la)-1, len(lb)-1; i >= 0 && j >= 0 && la[i] == lb[j]; i, j = i-1, j-1 {
		n++
	}
	if n == 0 {
		return "."
	}
	return dns.Fqdn(strings.Join(la[len(la)-n:], "."))
}

// closestEncloserProof finds the closest encloser of name that a record
// of ns3 matches and the record covering the next closer name (RFC 5155
// §8.3), at or under zone.
func closestEncloserProof(ns3 []*dns.NSEC3, name, zone string) (ce string, nc *dns.NSEC3, ok bool) {
	child := name
	for p := parent(name); p != "" && dns.IsSubDomain(zone, p); child, p = p, parent(p) {
		matched := slices.ContainsFunc(ns3, func(n *dns.NSEC3) bool { return n.Match(p) })
		if !matched {
			continue
		}
		for _, n := range ns3 {
			if n.Cover(child) {
				return p, n, true
			}
		}
		return "", nil, false
	}
	return "", nil, false
}
