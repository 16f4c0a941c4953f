package resolver

import (
	"context"
	"crypto"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// signedSeeds are replies of a zone signed here: a positive answer and
// an NXDOMAIN with its NSEC proof, packed, and the zone's key.
func signedSeeds(tb testing.TB) ([][]byte, *dns.DNSKEY) {
	tb.Helper()
	key := &dns.DNSKEY{Hdr: dns.RR_Header{Name: "example.", Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600}, Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
	priv, err := key.Generate(256)
	if err != nil {
		tb.Fatal(err)
	}
	sign := func(rrs ...dns.RR) []dns.RR {
		sig := &dns.RRSIG{Hdr: dns.RR_Header{Ttl: 3600}, Algorithm: key.Algorithm, KeyTag: key.KeyTag(), SignerName: "example.",
			Inception: uint32(time.Now().Add(-time.Hour).Unix()), Expiration: uint32(time.Now().Add(time.Hour).Unix())}
		if err := sig.Sign(priv.(crypto.Signer), rrs); err != nil {
			tb.Fatal(err)
		}
		return append(rrs, sig)
	}
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			tb.Fatal(err)
		}
		return r
	}
	pos := new(dns.Msg)
	pos.SetQuestion("www.example.", dns.TypeA)
	pos.Response = true
	pos.Answer = sign(rr("www.example. 3600 IN A 192.0.2.1"))
	neg := new(dns.Msg)
	neg.SetQuestion("nope.example.", dns.TypeA)
	neg.Response, neg.Rcode = true, dns.RcodeNameError
	neg.Ns = append(sign(rr("example. 3600 IN NSEC www.example. A NS SOA RRSIG NSEC")), sign(rr("www.example. 3600 IN NSEC example. A RRSIG NSEC"))...)
	n3 := new(dns.Msg)
	n3.SetQuestion("nope.example.", dns.TypeA)
	n3.Response, n3.Rcode = true, dns.RcodeNameError
	n3.Ns = []dns.RR{rr("2t7b4g4vsa5smi47k61mv5bv1a22bojr.example. 3600 IN NSEC3 1 1 65535 aabb 2T7B4G4VSA5SMI47K61MV5BV1A22BOJS A RRSIG")}
	var out [][]byte
	for _, m := range []*dns.Msg{pos, neg, n3} {
		b, err := m.Pack()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out, key
}

// FuzzValidateReply: any reply, as the validator's last step sees it
// (the zone's keys trusted), is judged without a panic or a lookup; and
// the denial proofs of any NSEC and NSEC3 records, signed or not, end
// (NSEC3 iterations are bounded by MaxNSEC3Iterations).
func FuzzValidateReply(f *testing.F) {
	seeds, key := signedSeeds(f)
	for _, s := range seeds {
		f.Add(s, "www.example.")
		f.Add(s, "nope.example.")
	}
	r := New(Config{Offline: true})
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		m := new(dns.Msg)
		if m.Unpack(data) != nil {
			return
		}
		name = fqdn(name)
		if _, ok := canonicalEscapes(name); !ok || !dns.IsSubDomain("example.", name) {
			name = "www.example."
		}
		c := &chain{zone: "example.", keys: []*dns.DNSKEY{key}}
		a := &SecureAnswer{}
		r.judge(context.Background(), a, m, c, name, dns.TypeA, MaxCNAMEChain)
		if a.Security == Secure && a.Kind == nil && len(a.Records) == 0 {
			t.Fatalf("secure without records: %+v", a)
		}
		p := &proof{zone: "example."}
		for _, rr := range append(m.Answer, m.Ns...) {
			switch v := rr.(type) {
			case *dns.NSEC:
				p.nsec = append(p.nsec, v)
			case *dns.NSEC3:
				p.nsec3 = append(p.nsec3, v)
			}
		}
		p.noData(name, dns.TypeA)
		p.noData(name, dns.TypeDS)
		p.nxDomain(name)
		p.delegation(name)
		p.wildcardExpansion(name, "example.")
		canonicalCompare(name, strings.ToUpper(name))
	})
}

// FuzzTrustAnchors: any --trust-anchor text is read or refused, never a
// panic, and what is read is DS and DNSKEY records only.
func FuzzTrustAnchors(f *testing.F) {
	f.Add(rootAnchorText)
	f.Add("example. IN DNSKEY 257 3 13 aGVsbG8=\n")
	f.Add("$INCLUDE /etc/passwd\n")
	f.Add("example. IN A 192.0.2.1\n")
	f.Fuzz(func(t *testing.T, s string) {
		rrs, err := ParseTrustAnchors(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		for _, rr := range rrs {
			if t := rr.Header().Rrtype; t != dns.TypeDS && t != dns.TypeDNSKEY {
				panic("not an anchor")
			}
		}
	})
}

func TestRootAnchors(t *testing.T) {
	a := RootAnchors()
	if len(a) != 2 || a[0].(*dns.DS).KeyTag != 20326 || a[1].(*dns.DS).KeyTag != 38696 {
		t.Errorf("root anchors = %v", a)
	}
}
