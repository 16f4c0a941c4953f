package resolver_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/internal/inputfile"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// The signed test world: the root, example. (with a wildcard, MX, TLSA),
// sub.example. (signed, its DS in example.), plain.example. (delegated
// without DS: unsigned). Each test signs it anew, with options and
// changes per zone.
const (
	rootZoneText = `. 3600 IN SOA a.root. h.root. 1 7200 3600 1209600 3600
. IN NS a.root.
a.root. IN A 127.0.0.1
example. IN NS ns.example.
`
	exampleZoneText = `example. 3600 IN SOA ns.example. h.example. 1 7200 3600 1209600 3600
example. IN NS ns.example.
example. IN MX 10 mx.example.
ns.example. IN A 127.0.0.1
mx.example. IN A 192.0.2.1
_25._tcp.mx.example. IN TLSA 3 1 1 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
*.wild.example. IN A 192.0.2.9
alias.example. IN CNAME mx.example.
sub.example. IN NS ns.sub.example.
plain.example. IN NS ns.plain.example.
a.b.c.example. IN A 192.0.2.3
`
	subZoneText = `sub.example. 3600 IN SOA ns.sub.example. h.example. 1 7200 3600 1209600 3600
sub.example. IN NS ns.sub.example.
www.sub.example. IN A 192.0.2.2
`
	plainZoneText = `plain.example. 3600 IN SOA ns.plain.example. h.example. 1 7200 3600 1209600 3600
plain.example. IN NS ns.plain.example.
www.plain.example. IN A 192.0.2.4
`
)

// world says how to build the test world: sign options per zone apex,
// and a change to a zone right after it is signed (before its parent
// takes its DS).
type world struct {
	opts   map[string]dnstest.SignOptions
	change map[string]func(*dnstest.Signed)
	// anchors replaces the root's DS as the trust anchor.
	anchors func(root *dnstest.Signed) []dns.RR
}

func (w world) build(t *testing.T) (*resolver.Resolver, *dnstest.Server) {
	return w.buildB(t)
}

// r0Config is the config of a resolver like r0's (its anchors) for
// server addr: benchmarks make a new run each iteration.
func r0Config(r0 *resolver.Resolver, addr string) resolver.Config {
	return resolver.Config{Servers: []string{addr}, TrustAnchors: r0.TrustAnchors()}
}

func (w world) buildB(t testing.TB) (*resolver.Resolver, *dnstest.Server) {
	t.Helper()
	sign := func(text string, extra ...dns.RR) *dnstest.Signed {
		t.Helper()
		var b strings.Builder
		b.WriteString(text)
		for _, rr := range extra {
			b.WriteString(rr.String() + "\n")
		}
		s, err := dnstest.SignText(b.String(), w.opts[apexOf(text)])
		if err != nil {
			t.Fatal(err)
		}
		if f := w.change[s.Apex]; f != nil {
			f(s)
		}
		return s
	}
	sub := sign(subZoneText)
	example := sign(exampleZoneText, sub.DS...)
	root := sign(rootZoneText, example.DS...)
	var zones []*resolver.Zone
	for _, s := range []*dnstest.Signed{root, example, sub} {
		z, err := s.Zone()
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, z)
	}
	plain, err := resolver.ParseZone(strings.NewReader(plainZoneText), "plain")
	if err != nil {
		t.Fatal(err)
	}
	zones = append(zones, plain)
	srv, err := dnstest.StartZones(zones...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	anchors := root.DS
	if w.anchors != nil {
		anchors = w.anchors(root)
	}
	return resolver.New(resolver.Config{Servers: []string{srv.Addr}, TrustAnchors: anchors}), srv
}

func apexOf(text string) string {
	f := strings.Fields(text)
	return dns.CanonicalName(f[0])
}

// remove drops the records of s at name of type t (and their RRSIGs).
func remove(s *dnstest.Signed, name string, t uint16) {
	var out []dns.RR
	for _, rr := range s.Records {
		h := rr.Header()
		covered := h.Rrtype
		if sig, ok := rr.(*dns.RRSIG); ok {
			covered = sig.TypeCovered
		}
		if strings.EqualFold(h.Name, name) && covered == t {
			continue
		}
		out = append(out, rr)
	}
	s.Records = out
}

// edit changes the records of s of type t (not their RRSIGs: a forgery).
func edit(s *dnstest.Signed, t uint16, f func(dns.RR)) {
	for _, rr := range s.Records {
		if rr.Header().Rrtype == t {
			f(rr)
		}
	}
}

func TestLookupSecure(t *testing.T) {
	nsec3 := dnstest.SignOptions{NSEC3: true, Iterations: 0, Salt: "aabb"}
	costly := dnstest.SignOptions{NSEC3: true, Iterations: 500, Salt: "abcd"}
	cases := []struct {
		name  string
		w     world
		qname string
		qtype uint16
		want  resolver.Security
		kind  error  // ErrNXDomain, ErrNoData, nil for records
		why   string // in Reason
		zone  string
	}{
		{name: "secure A", qname: "mx.example", qtype: dns.TypeA, want: resolver.Secure, zone: "example"},
		{name: "secure MX at the apex", qname: "example", qtype: dns.TypeMX, want: resolver.Secure},
		{name: "secure TLSA", qname: "_25._tcp.mx.example", qtype: dns.TypeTLSA, want: resolver.Secure},
		{name: "secure in a child zone", qname: "www.sub.example", qtype: dns.TypeA, want: resolver.Secure, zone: "sub.example"},
		{name: "secure through a CNAME", qname: "alias.example", qtype: dns.TypeA, want: resolver.Secure},
		{name: "secure wildcard", qname: "x.wild.example", qtype: dns.TypeA, want: resolver.Secure},
		{name: "secure, RSA/SHA-256 (8)", w: world{opts: map[string]dnstest.SignOptions{"example.": {Algorithm: dns.RSASHA256}}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Secure},
		{name: "secure, ECDSA P-384 (14)", w: world{opts: map[string]dnstest.SignOptions{"sub.example.": {Algorithm: dns.ECDSAP384SHA384}}}, qname: "www.sub.example", qtype: dns.TypeA, want: resolver.Secure},
		{name: "secure, Ed25519 (15)", w: world{opts: map[string]dnstest.SignOptions{"example.": {Algorithm: dns.ED25519}}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Secure},
		{name: "anchor is a DNSKEY", w: world{anchors: func(root *dnstest.Signed) []dns.RR { return []dns.RR{root.Key} }}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Secure},

		{name: "insecure: delegation without DS", qname: "www.plain.example", qtype: dns.TypeA, want: resolver.Insecure, why: "delegated without a DS", zone: "plain.example"},
		{name: "insecure: unsupported algorithm 5", w: world{opts: map[string]dnstest.SignOptions{"sub.example.": {Algorithm: dns.RSASHA1}}}, qname: "www.sub.example", qtype: dns.TypeA, want: resolver.Insecure, why: "preflight does not support (algorithm 5 RSASHA1)"},
		{name: "insecure: unsupported DS digest type", w: world{change: map[string]func(*dnstest.Signed){"sub.example.": func(s *dnstest.Signed) {
			for _, rr := range s.DS {
				rr.(*dns.DS).DigestType = 9
			}
		}}}, qname: "www.sub.example", qtype: dns.TypeA, want: resolver.Insecure, why: "does not support (digest type 9)"},
		{name: "indeterminate: the only anchor has an unsupported digest type", w: world{anchors: func(root *dnstest.Signed) []dns.RR {
			ds := dns.Copy(root.DS[0]).(*dns.DS)
			ds.DigestType = 9
			return []dns.RR{ds}
		}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Indeterminate, why: "no trust anchor of . is usable: digest type 9"},
		{name: "insecure: NSEC3 opt-out", w: world{opts: map[string]dnstest.SignOptions{"example.": {NSEC3: true, OptOut: true}}}, qname: "www.plain.example", qtype: dns.TypeA, want: resolver.Insecure, why: "opt-out"},
		{name: "indeterminate: no anchor", w: world{anchors: func(*dnstest.Signed) []dns.RR {
			return []dns.RR{mustRR(t, "other. IN DS 1 13 2 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20")}
		}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Indeterminate, why: "no trust anchor"},

		{name: "indeterminate: a server that drops RRSIGs", w: world{change: map[string]func(*dnstest.Signed){".": func(s *dnstest.Signed) {
			remove(s, ".", dns.TypeRRSIG)
			var out []dns.RR
			for _, rr := range s.Records {
				if _, ok := rr.(*dns.RRSIG); !ok {
					out = append(out, rr)
				}
			}
			s.Records = out
		}}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Indeterminate, why: "without signatures"},
		{name: "bogus: bad signature", w: world{change: map[string]func(*dnstest.Signed){"example.": func(s *dnstest.Signed) {
			edit(s, dns.TypeA, func(rr dns.RR) {
				if a := rr.(*dns.A); a.Hdr.Name == "mx.example." {
					a.A[3] = 66
				}
			})
		}}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Bogus, why: "does not verify"},
		{name: "bogus: expired signatures", w: world{opts: map[string]dnstest.SignOptions{"example.": {Inception: time.Now().Add(-40 * 24 * time.Hour), Expiration: time.Now().Add(-24 * time.Hour)}}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Bogus, why: "expired"},
		{name: "bogus: DS digest mismatch", w: world{change: map[string]func(*dnstest.Signed){"sub.example.": func(s *dnstest.Signed) {
			d := s.DS[0].(*dns.DS)
			d.Digest = strings.Repeat("00", 32)
		}}}, qname: "www.sub.example", qtype: dns.TypeA, want: resolver.Bogus, why: "digest", zone: "sub.example"},
		{name: "bogus: missing DNSKEY", w: world{change: map[string]func(*dnstest.Signed){"sub.example.": func(s *dnstest.Signed) {
			remove(s, "sub.example.", dns.TypeDNSKEY)
		}}}, qname: "www.sub.example", qtype: dns.TypeA, want: resolver.Bogus, why: "no DNSKEY"},
		{name: "bogus: the DS's key does not sign the DNSKEY set", w: world{change: map[string]func(*dnstest.Signed){"sub.example.": func(s *dnstest.Signed) {
			// A key split whose key-signing key's RRSIG over the DNSKEY
			// set is gone: only a second key (a ZSK) signs it.
			zsk := &dns.DNSKEY{Hdr: dns.RR_Header{Name: s.Apex, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600}, Flags: 256, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
			priv, err := zsk.Generate(256)
			if err != nil {
				t.Fatal(err)
			}
			remove(s, s.Apex, dns.TypeDNSKEY)
			keys := []dns.RR{s.Key, zsk}
			sig := &dns.RRSIG{Hdr: dns.RR_Header{Name: s.Apex, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: 3600}, TypeCovered: dns.TypeDNSKEY, Algorithm: zsk.Algorithm,
				Labels: uint8(dns.CountLabel(s.Apex)), OrigTtl: 3600, Inception: uint32(time.Now().Add(-time.Hour).Unix()), Expiration: uint32(time.Now().Add(24 * time.Hour).Unix()), KeyTag: zsk.KeyTag(), SignerName: s.Apex}
			if err := sig.Sign(priv.(crypto.Signer), keys); err != nil {
				t.Fatal(err)
			}
			s.Records = append(s.Records, s.Key, zsk, sig)
		}}}, qname: "www.sub.example", qtype: dns.TypeA, want: resolver.Bogus, why: "not signed by the key its DS or trust anchor names"},
		{name: "bogus: signed zone answers unsigned", w: world{change: map[string]func(*dnstest.Signed){"example.": func(s *dnstest.Signed) {
			remove(s, "mx.example.", dns.TypeRRSIG)
			var out []dns.RR
			for _, rr := range s.Records {
				if sig, ok := rr.(*dns.RRSIG); ok && sig.Hdr.Name == "mx.example." && sig.TypeCovered == dns.TypeA {
					continue
				}
				out = append(out, rr)
			}
			s.Records = out
		}}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Bogus, why: "no RRSIG"},

		// Denial of existence, NSEC.
		{name: "NSEC NODATA", qname: "mx.example", qtype: dns.TypeTXT, want: resolver.Secure, kind: resolver.ErrNoData},
		{name: "NSEC NXDOMAIN", qname: "nope.example", qtype: dns.TypeA, want: resolver.Secure, kind: resolver.ErrNXDomain},
		{name: "NSEC NODATA at an empty non-terminal", qname: "b.c.example", qtype: dns.TypeA, want: resolver.Secure, kind: resolver.ErrNoData},
		{name: "NSEC NODATA forged", w: world{change: map[string]func(*dnstest.Signed){"example.": func(s *dnstest.Signed) {
			remove(s, "mx.example.", dns.TypeA)
			edit(s, dns.TypeNSEC, func(rr dns.RR) {
				if n := rr.(*dns.NSEC); n.Hdr.Name == "mx.example." {
					n.TypeBitMap = []uint16{dns.TypeNSEC, dns.TypeRRSIG}
				}
			})
		}}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Bogus, why: "does not verify"},
		{name: "NSEC NXDOMAIN forged", w: world{change: map[string]func(*dnstest.Signed){"example.": func(s *dnstest.Signed) {
			edit(s, dns.TypeNSEC, func(rr dns.RR) { rr.(*dns.NSEC).NextDomain = "example." })
		}}}, qname: "mx.example", qtype: dns.TypeAAAA, want: resolver.Bogus, why: "does not verify"},
		{name: "NSEC NXDOMAIN without the wildcard proof", w: world{change: map[string]func(*dnstest.Signed){"example.": func(s *dnstest.Signed) {
			// a wildcard at the apex would answer nope.example: NXDOMAIN
			// must prove there is none; remove every NSEC but one.
			var out []dns.RR
			for _, rr := range s.Records {
				h := rr.Header()
				covered := h.Rrtype
				if sig, ok := rr.(*dns.RRSIG); ok {
					covered = sig.TypeCovered
				}
				if covered == dns.TypeNSEC && h.Name != "mx.example." {
					continue
				}
				out = append(out, rr)
			}
			s.Records = out
		}}}, qname: "nope.example", qtype: dns.TypeA, want: resolver.Bogus, why: "no valid proof that nope.example"},

		// Denial of existence, NSEC3.
		{name: "NSEC3 secure A", w: world{opts: map[string]dnstest.SignOptions{"example.": nsec3}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Secure},
		{name: "NSEC3 NODATA", w: world{opts: map[string]dnstest.SignOptions{"example.": nsec3}}, qname: "mx.example", qtype: dns.TypeTXT, want: resolver.Secure, kind: resolver.ErrNoData},
		{name: "NSEC3 NXDOMAIN", w: world{opts: map[string]dnstest.SignOptions{"example.": nsec3}}, qname: "nope.example", qtype: dns.TypeA, want: resolver.Secure, kind: resolver.ErrNXDomain},
		{name: "NSEC3 NXDOMAIN deep", w: world{opts: map[string]dnstest.SignOptions{"example.": nsec3}}, qname: "x.y.mx.example", qtype: dns.TypeA, want: resolver.Secure, kind: resolver.ErrNXDomain},
		{name: "NSEC3 wildcard", w: world{opts: map[string]dnstest.SignOptions{"example.": nsec3}}, qname: "x.wild.example", qtype: dns.TypeA, want: resolver.Secure},
		{name: "NSEC3 insecure delegation", w: world{opts: map[string]dnstest.SignOptions{"example.": nsec3}}, qname: "www.plain.example", qtype: dns.TypeA, want: resolver.Insecure, why: "delegated without a DS"},
		{name: "NSEC3 NODATA forged", w: world{opts: map[string]dnstest.SignOptions{"example.": nsec3}, change: map[string]func(*dnstest.Signed){"example.": func(s *dnstest.Signed) {
			remove(s, "mx.example.", dns.TypeA)
			h := strings.ToLower(dns.HashName("mx.example.", dns.SHA1, 0, "aabb")) + ".example."
			edit(s, dns.TypeNSEC3, func(rr dns.RR) {
				if n := rr.(*dns.NSEC3); n.Hdr.Name == h {
					n.TypeBitMap = []uint16{dns.TypeRRSIG}
				}
			})
		}}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Bogus, why: "does not verify"},
		{name: "NSEC3 NXDOMAIN forged", w: world{opts: map[string]dnstest.SignOptions{"example.": nsec3}, change: map[string]func(*dnstest.Signed){"example.": func(s *dnstest.Signed) {
			remove(s, "nope.example.", dns.TypeA) // nothing; the forgery is below
			edit(s, dns.TypeNSEC3, func(rr dns.RR) {
				n := rr.(*dns.NSEC3)
				n.Flags = 1 // claims opt-out, breaking the signature
			})
		}}}, qname: "nope.example", qtype: dns.TypeA, want: resolver.Bogus, why: "does not verify"},
		{name: "NSEC3 iterations over the limit", w: world{opts: map[string]dnstest.SignOptions{"example.": {NSEC3: true, Iterations: 200}}}, qname: "nope.example", qtype: dns.TypeA, want: resolver.Insecure, why: "iterations"},
		// RFC 9276 makes insecure only what depends on the costly proof:
		// the names on the way to a signed answer are no zone cuts.
		{name: "NSEC3 iterations over the limit: signed A validates", w: world{opts: map[string]dnstest.SignOptions{"example.": costly}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Secure, zone: "example"},
		{name: "NSEC3 iterations over the limit: signed TLSA validates", w: world{opts: map[string]dnstest.SignOptions{"example.": costly}}, qname: "_25._tcp.mx.example", qtype: dns.TypeTLSA, want: resolver.Secure, zone: "example"},
		{name: "NSEC3 iterations over the limit: bad signature still bogus", w: world{opts: map[string]dnstest.SignOptions{"example.": costly}, change: map[string]func(*dnstest.Signed){"example.": func(s *dnstest.Signed) {
			edit(s, dns.TypeA, func(rr dns.RR) {
				if a := rr.(*dns.A); a.Hdr.Name == "mx.example." {
					a.A = net.IPv4(192, 0, 2, 66)
				}
			})
		}}}, qname: "mx.example", qtype: dns.TypeA, want: resolver.Bogus, why: "does not verify"},
		{name: "NSEC3 iterations over the limit: signed child via DS", w: world{opts: map[string]dnstest.SignOptions{"example.": costly}}, qname: "www.sub.example", qtype: dns.TypeA, want: resolver.Secure, zone: "sub.example"},
		{name: "NSEC3 iterations over the limit: unsigned child insecure", w: world{opts: map[string]dnstest.SignOptions{"example.": costly}}, qname: "www.plain.example", qtype: dns.TypeA, want: resolver.Insecure, why: "iterations"},
		{name: "NSEC3 iterations over the limit: NODATA insecure", w: world{opts: map[string]dnstest.SignOptions{"example.": costly}}, qname: "mx.example", qtype: dns.TypeTXT, want: resolver.Insecure, why: "iterations", kind: resolver.ErrNoData},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, _ := tc.w.build(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a := r.LookupSecure(ctx, tc.qname, tc.qtype)
			if a.Security != tc.want || !strings.Contains(a.Reason, tc.why) {
				t.Fatalf("%s %s = %s (%s), want %s (%q)", tc.qname, dns.TypeToString[tc.qtype], a.Security, a.Reason, tc.want, tc.why)
			}
			if tc.want == resolver.Secure {
				if tc.kind == nil && len(a.Records) == 0 {
					t.Errorf("no records: %+v", a)
				}
				if tc.kind != nil && !errors.Is(a.Kind, tc.kind) {
					t.Errorf("kind = %v, want %v", a.Kind, tc.kind)
				}
				if a.Expires.IsZero() {
					t.Errorf("no expiry")
				}
			}
			if tc.zone != "" && a.Zone != tc.zone {
				t.Errorf("zone = %q, want %q", a.Zone, tc.zone)
			}
		})
	}
}

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// Signed zone files in the overlay validate offline, from a trust anchor
// at their apex: DNSSEC scenarios need no server.
func TestLookupSecureOverlay(t *testing.T) {
	sub, err := dnstest.SignText(subZoneText, dnstest.SignOptions{NSEC3: true})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(exampleZoneText)
	for _, rr := range sub.DS {
		b.WriteString(rr.String() + "\n")
	}
	example, err := dnstest.SignText(b.String(), dnstest.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var zones []*resolver.Zone
	for _, s := range []*dnstest.Signed{example, sub} {
		// Through the master-file text, as --zone reads it.
		z, err := resolver.ParseZone(strings.NewReader(s.Text()), s.Apex+"zone")
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, z)
	}
	o, err := resolver.NewOverlay(zones...)
	if err != nil {
		t.Fatal(err)
	}
	r := resolver.New(resolver.Config{Overlay: o, Offline: true, TrustAnchors: example.DS})
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		qtype uint16
		want  resolver.Security
	}{
		{"mx.example", dns.TypeA, resolver.Secure},
		{"_25._tcp.mx.example", dns.TypeTLSA, resolver.Secure},
		{"www.sub.example", dns.TypeA, resolver.Secure},
		{"nope.sub.example", dns.TypeA, resolver.Secure},
		{"nope.example", dns.TypeMX, resolver.Secure},
		{"www.plain.example", dns.TypeA, resolver.Insecure},
		{"example.org", dns.TypeA, resolver.Indeterminate},
	} {
		if a := r.LookupSecure(ctx, tc.name, tc.qtype); a.Security != tc.want {
			t.Errorf("%s %s = %s (%s), want %s", tc.name, dns.TypeToString[tc.qtype], a.Security, a.Reason, tc.want)
		}
	}
	if s := r.Stats(); s.Questions != 0 || s.Overlay == 0 {
		t.Errorf("stats = %+v, want overlay answers only", s)
	}
}

// A hostile zone cannot make one lookup verify signatures without end
// (KeyTrap, CVE-2023-50387): at most 8 RRSIGs per RRset are tried, so a
// valid one behind 200 forged ones is not reached and the answer is
// bogus, quickly.
func TestLookupSecureBoundsSignatures(t *testing.T) {
	w := world{change: map[string]func(*dnstest.Signed){"example.": func(s *dnstest.Signed) {
		var forged []dns.RR
		for _, rr := range s.Records {
			if sig, ok := rr.(*dns.RRSIG); ok && sig.Hdr.Name == "mx.example." && sig.TypeCovered == dns.TypeA {
				for i := range 200 {
					f := dns.Copy(sig).(*dns.RRSIG)
					f.Signature = strings.Repeat("A", 84) + fmt.Sprintf("%04d", i)
					forged = append(forged, f)
				}
			}
		}
		s.Records = append(forged, s.Records...)
	}}}
	r, _ := w.build(t)
	start := time.Now()
	a := r.LookupSecure(context.Background(), "mx.example", dns.TypeA)
	if a.Security != resolver.Bogus || !strings.Contains(a.Reason, "does not verify") {
		t.Errorf("got %s (%s), want bogus", a.Security, a.Reason)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// A batch shares DNSSEC replies between its runs as it shares plain
// answers: the second target's validation of the same chain sends
// nothing, and a plain question of a name never gets the DO reply.
func TestBatchSharesSecureReplies(t *testing.T) {
	r0, srv := world{}.build(t)
	b := resolver.NewBatch(0)
	t.Cleanup(b.Close)
	newRun := func() *resolver.Resolver {
		c := r0Config(r0, srv.Addr)
		c.Batch = b
		return resolver.New(c)
	}
	ctx := context.Background()
	first := newRun()
	if a := first.LookupSecure(ctx, "mx.example.", dns.TypeA); a.Security != resolver.Secure {
		t.Fatalf("first run: %v (%s), want secure", a.Security, a.Reason)
	}
	sent := first.Stats().Questions
	if sent == 0 {
		t.Fatal("the first run sent no question")
	}
	second := newRun()
	if a := second.LookupSecure(ctx, "mx.example.", dns.TypeA); a.Security != resolver.Secure {
		t.Fatalf("second run: %v (%s), want secure", a.Security, a.Reason)
	}
	if s := second.Stats(); s.Questions != 0 || s.CacheHits == 0 {
		t.Errorf("second run: %+v, want 0 questions, answered from the batch", s)
	}
	// What the batch answered is not the run's to count against its
	// question cap (MaxQuestions counts what it sent): a run with no
	// questions left still validates from the batch's answers.
	capped := newRun()
	resolver.SetMaxQuestions(capped, 0)
	if a := capped.LookupSecure(ctx, "mx.example.", dns.TypeA); a.Security != resolver.Secure {
		t.Errorf("a run at its cap: %v (%s), want secure from the batch's answers", a.Security, a.Reason)
	}
	before := srv.Queries()
	ips, err := second.LookupIP(ctx, "ip4", "mx.example")
	if err != nil || len(ips) == 0 {
		t.Fatalf("plain lookup after the secure one: %v, %v", ips, err)
	}
	if srv.Queries() != before+1 {
		t.Errorf("the plain question was answered from a DO entry (server saw %d new queries, want 1)", srv.Queries()-before)
	}
}

// A signed root zone file (SOA at ".", with or without $ORIGIN) loads
// for --zone, the private-root case: validation from the root's DS runs
// offline, and names below a delegation of the root without a zone file
// are not the root file's to answer (no false NXDOMAIN for the world).
func TestLookupSecureRootZoneFile(t *testing.T) {
	example, err := dnstest.SignText(exampleZoneText, dnstest.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(rootZoneText + "org. IN NS a.root.\n")
	for _, rr := range example.DS {
		b.WriteString(rr.String() + "\n")
	}
	root, err := dnstest.SignText(b.String(), dnstest.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"", "$ORIGIN .\n"} {
		rz, err := resolver.ParseZone(strings.NewReader(prefix+root.Text()), "root.zone")
		if err != nil {
			t.Fatalf("%q: %v", prefix, err)
		}
		ez, err := resolver.ParseZone(strings.NewReader(example.Text()), "example.zone")
		if err != nil {
			t.Fatal(err)
		}
		o, err := resolver.NewOverlay(rz, ez)
		if err != nil {
			t.Fatal(err)
		}
		r := resolver.New(resolver.Config{Overlay: o, Offline: true, TrustAnchors: root.DS})
		for _, tc := range []struct {
			name  string
			qtype uint16
			want  resolver.Security
			kind  error
		}{
			{"mx.example", dns.TypeA, resolver.Secure, nil},
			{"_25._tcp.mx.example", dns.TypeTLSA, resolver.Secure, nil},
			{"nope", dns.TypeA, resolver.Secure, resolver.ErrNXDomain},
			{"org", dns.TypeDS, resolver.Secure, resolver.ErrNoData},
			{"example.org", dns.TypeA, resolver.Indeterminate, nil}, // delegated, no file: offline
		} {
			a := r.LookupSecure(context.Background(), tc.name, tc.qtype)
			if a.Security != tc.want || a.Kind != tc.kind {
				t.Errorf("%q %s %s = %s %v (%s), want %s %v", prefix, tc.name, dns.TypeToString[tc.qtype], a.Security, a.Kind, a.Reason, tc.want, tc.kind)
			}
		}
	}
	if _, err := resolver.ParseZone(strings.NewReader("www IN A 192.0.2.1\n"), "noapex.zone"); err == nil || !strings.Contains(err.Error(), "apex is unknown") {
		t.Errorf("a file without SOA or $ORIGIN: %v", err)
	}
}

// --trust-anchor reads at most 1 MiB (64 records are a few KB): an
// endless or huge file is refused once past that, named once.
func TestLoadTrustAnchorsTooLarge(t *testing.T) {
	big := t.TempDir() + "/big.ds"
	if err := os.WriteFile(big, []byte(strings.Repeat("; comment\n", 110_000)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", big} {
		_, err := resolver.LoadTrustAnchors(context.Background(), path)
		if !errors.Is(err, inputfile.ErrTooLarge) || strings.Count(err.Error(), path) != 1 || !strings.Contains(err.Error(), "1 MiB") {
			t.Errorf("%s: %v, want too large (1 MiB), the path named once", path, err)
		}
	}
}

// A trust anchor that cannot be any key's (a typo in the user's file) is
// refused, naming the record: accepted, it made the zone bogus, with a fix
// telling its owner to repair the DS at the registrar.
func TestParseTrustAnchorsRefusesBrokenRecords(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"test. IN DS 13795 13 2 zz\n", `the DS of test with key tag 13795: the digest "zz" is not hexadecimal`},
		{"test. IN DS 13795 13 2 F9D3\n", "a digest of type 2 has 2 octets, not 32"},
		{"test. IN DS 13795 13 1 F9D3F695B8F54C9744D12C855D260EBCC01E70373D815A0A9367544137636BB2\n", "a digest of type 1 has 32 octets, not 20"},
		{"test. IN DNSKEY 257 3 13 AAAA\n", "a key of algorithm 13 has 3 octets, not 64"},
		{"test. IN DNSKEY 385 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n", "REVOKE flag"},
	} {
		_, err := resolver.ParseTrustAnchors(strings.NewReader(tc.text), "a.ds")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "a.ds: ") {
			t.Errorf("%q: %v, want an error with %q", tc.text, err, tc.want)
		}
	}
	// An unknown digest type is kept (validation says it is unusable).
	if _, err := resolver.ParseTrustAnchors(strings.NewReader("test. IN DS 1 13 9 0102\n"), "a.ds"); err != nil {
		t.Errorf("digest type 9: %v", err)
	}
}
