package dnstest

import (
	"crypto"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
)

// SignOptions say how Sign signs a zone. The zero value signs with one
// ECDSA P-256 key (algorithm 13) and an NSEC chain, valid from an hour
// ago for 30 days.
type SignOptions struct {
	Algorithm uint8 // dns.ECDSAP256SHA256 when 0; RSASHA256 keys are 2048 bits
	// NSEC3 makes an NSEC3 chain (SHA-1, Iterations, Salt) instead of NSEC;
	// OptOut leaves insecure delegations out of it (RFC 5155 §6).
	NSEC3      bool
	OptOut     bool
	Iterations uint16
	Salt       string // hex; "" for none
	// Inception and Expiration bound the signatures; zero: now - 1h and
	// now + 30 days. An Expiration in the past makes every signature
	// expired (a bogus zone).
	Inception, Expiration time.Time
}

// Signed is a signed zone: its records (the input's, the DNSKEY, the
// RRSIGs and the NSEC or NSEC3 chain) and the DS records its parent
// publishes for it.
type Signed struct {
	Apex    string // fqdn
	Records []dns.RR
	DS      []dns.RR
	Key     *dns.DNSKEY
	Signer  crypto.Signer
}

// Text is the signed zone in master-file syntax.
func (s *Signed) Text() string {
	var b strings.Builder
	for _, rr := range s.Records {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// SignText parses a zone (master-file text with an SOA) and signs it.
func SignText(text string, opt SignOptions) (*Signed, error) {
	z := dns.NewZoneParser(strings.NewReader(text), "", "zone")
	z.SetDefaultTTL(3600)
	var rrs []dns.RR
	apex := ""
	for rr, ok := z.Next(); ok; rr, ok = z.Next() {
		if rr.Header().Rrtype == dns.TypeSOA {
			apex = rr.Header().Name
		}
		rrs = append(rrs, rr)
	}
	if err := z.Err(); err != nil {
		return nil, err
	}
	if apex == "" {
		return nil, fmt.Errorf("dnstest: the zone has no SOA record")
	}
	return Sign(apex, rrs, opt)
}

// Sign signs the records of the zone at apex with one new key (flags
// 257, used for every RRset, a "combined signing key"). Records under a
// delegation (NS below the apex) are not signed, except the DS there.
func Sign(apex string, rrs []dns.RR, opt SignOptions) (*Signed, error) {
	apex = dns.CanonicalName(apex)
	if opt.Algorithm == 0 {
		opt.Algorithm = dns.ECDSAP256SHA256
	}
	now := time.Now()
	if opt.Inception.IsZero() {
		opt.Inception = now.Add(-time.Hour)
	}
	if opt.Expiration.IsZero() {
		opt.Expiration = now.Add(30 * 24 * time.Hour)
	}
	key := &dns.DNSKEY{Hdr: dns.RR_Header{Name: apex, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600}, Flags: 257, Protocol: 3, Algorithm: opt.Algorithm}
	bits := 256
	switch opt.Algorithm {
	case dns.RSASHA256, dns.RSASHA1, dns.RSASHA1NSEC3SHA1, dns.RSASHA512:
		bits = 2048
	case dns.ECDSAP384SHA384:
		bits = 384
	}
	priv, err := key.Generate(bits)
	if err != nil {
		return nil, err
	}
	signer := priv.(crypto.Signer)

	byName := map[string]map[uint16][]dns.RR{}
	var all []dns.RR
	add := func(rr dns.RR) {
		h := rr.Header()
		h.Name = dns.CanonicalName(h.Name)
		if byName[h.Name] == nil {
			byName[h.Name] = map[uint16][]dns.RR{}
		}
		byName[h.Name][h.Rrtype] = append(byName[h.Name][h.Rrtype], rr)
		all = append(all, rr)
	}
	for _, rr := range rrs {
		add(dns.Copy(rr))
	}
	add(key)
	// Delegations: NS below the apex. Names under them are glue.
	var cuts []string
	for name, byType := range byName {
		if name != apex && len(byType[dns.TypeNS]) > 0 {
			cuts = append(cuts, name)
		}
	}
	glue := func(name string) bool {
		return slices.ContainsFunc(cuts, func(c string) bool { return name != c && dns.IsSubDomain(c, name) })
	}
	insecureCut := func(name string) bool {
		return slices.Contains(cuts, name) && len(byName[name][dns.TypeDS]) == 0
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		if !glue(name) {
			names = append(names, name)
		}
	}
	sortCanonical(names)

	typesAt := func(name string) []uint16 {
		var ts []uint16
		for t := range byName[name] {
			ts = append(ts, t)
		}
		return ts
	}
	signed := func(name string, t uint16) bool {
		return !(slices.Contains(cuts, name) && t == dns.TypeNS)
	}

	if opt.NSEC3 {
		param := &dns.NSEC3PARAM{Hdr: dns.RR_Header{Name: apex, Rrtype: dns.TypeNSEC3PARAM, Class: dns.ClassINET, Ttl: 0}, Hash: dns.SHA1, Iterations: opt.Iterations, Salt: opt.Salt, SaltLength: uint8(len(opt.Salt) / 2)}
		if opt.Salt == "" {
			param.Salt = "-"
			param.SaltLength = 0
		}
		add(param)
		// Every name and empty non-terminal, less opt-out delegations.
		set := map[string]bool{}
		for _, n := range names {
			if opt.OptOut && insecureCut(n) {
				continue
			}
			set[n] = true
			for p := n; p != apex; {
				i := strings.IndexByte(p, '.')
				p = p[i+1:]
				set[p] = true
			}
		}
		type h3 struct {
			hash, name string
		}
		var hashes []h3
		for n := range set {
			hashes = append(hashes, h3{dns.HashName(n, dns.SHA1, opt.Iterations, opt.Salt), n})
		}
		sort.Slice(hashes, func(i, j int) bool { return hashes[i].hash < hashes[j].hash })
		var flags uint8
		if opt.OptOut {
			flags = 1
		}
		salt := opt.Salt
		for i, h := range hashes {
			next := hashes[(i+1)%len(hashes)].hash
			var types []uint16
			if _, ok := byName[h.name]; ok {
				types = typesAt(h.name)
				if h.name == apex {
					types = append(types, dns.TypeNSEC3PARAM)
				}
				if !(insecureCut(h.name)) {
					types = append(types, dns.TypeRRSIG)
				}
			}
			slices.Sort(types)
			types = slices.Compact(types)
			n3 := &dns.NSEC3{Hdr: dns.RR_Header{Name: strings.ToLower(h.hash) + "." + apex, Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: 3600},
				Hash: dns.SHA1, Flags: flags, Iterations: opt.Iterations, SaltLength: uint8(len(salt) / 2), Salt: salt,
				HashLength: 20, NextDomain: next, TypeBitMap: types}
			if salt == "" {
				n3.Salt = ""
			}
			add(n3)
		}
	} else {
		for i, n := range names {
			next := names[(i+1)%len(names)]
			types := append(typesAt(n), dns.TypeNSEC, dns.TypeRRSIG)
			slices.Sort(types)
			types = slices.Compact(types)
			add(&dns.NSEC{Hdr: dns.RR_Header{Name: n, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: 3600}, NextDomain: next, TypeBitMap: types})
		}
	}

	// Sign every authoritative RRset.
	var sigs []dns.RR
	for name, byType := range byName {
		if glue(name) {
			continue
		}
		for t, set := range byType {
			if t == dns.TypeRRSIG || !signed(name, t) {
				continue
			}
			sig := &dns.RRSIG{Hdr: dns.RR_Header{Ttl: set[0].Header().Ttl}, Algorithm: opt.Algorithm, KeyTag: key.KeyTag(), SignerName: apex,
				Inception: uint32(opt.Inception.Unix()), Expiration: uint32(opt.Expiration.Unix())}
			if err := sig.Sign(signer, set); err != nil {
				return nil, fmt.Errorf("dnstest: signing %s %s: %v", name, dns.TypeToString[t], err)
			}
			sigs = append(sigs, sig)
		}
	}
	all = append(all, sigs...)
	return &Signed{Apex: apex, Records: all, DS: []dns.RR{key.ToDS(dns.SHA256)}, Key: key, Signer: signer}, nil
}

// sortCanonical sorts names in DNSSEC's canonical order (RFC 4034 §6.1).
func sortCanonical(names []string) {
	sort.Slice(names, func(i, j int) bool {
		a, b := dns.SplitDomainName(names[i]), dns.SplitDomainName(names[j])
		for x, y := len(a)-1, len(b)-1; ; x, y = x-1, y-1 {
			switch {
			case x < 0 && y < 0:
				return false
			case x < 0:
				return true
			case y < 0:
				return false
			}
			if a[x] != b[y] {
				return a[x] < b[y]
			}
		}
	})
}

// SignedZone is a Signed's records as a zone (for StartZones and
// overlays).
func (s *Signed) Zone() (*resolver.Zone, error) {
	return resolver.NewZone(s.Apex, "signed "+s.Apex, s.Records)
}
