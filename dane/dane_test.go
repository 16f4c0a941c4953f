package dane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// chain makes a CA and a leaf for names, valid from notBefore to
// notAfter, and returns [leaf, ca] as a server presents them.
func chain(t testing.TB, notBefore, notAfter time.Time, names ...string) []*x509.Certificate {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: notBefore, NotAfter: notAfter.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: notBefore, NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return []*x509.Certificate{leaf, ca}
}

func tlsa(t testing.TB, s string) *dns.TLSA {
	t.Helper()
	rr, err := dns.NewRR("_25._tcp.mx.example. IN TLSA " + s)
	if err != nil {
		t.Fatal(err)
	}
	return rr.(*dns.TLSA)
}

func TestVerify(t *testing.T) {
	now := time.Now()
	good := chain(t, now.Add(-time.Hour), now.Add(24*time.Hour), "mx.example")
	expired := chain(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour), "mx.example")
	other := chain(t, now.Add(-time.Hour), now.Add(24*time.Hour), "mx.example")
	leaf, ca := good[0], good[1]
	names := []string{"mx.example"}
	cases := []struct {
		name    string
		records []string
		chain   []*x509.Certificate
		names   []string
		want    Outcome
		why     string
		depth   int
	}{
		{"3 1 1 matches", []string{Record(3, 1, 1, leaf)}, good, names, Matched, "", 0},
		{"3 0 1 matches", []string{Record(3, 0, 1, leaf)}, good, names, Matched, "", 0},
		{"3 1 2 matches", []string{Record(3, 1, 2, leaf)}, good, names, Matched, "", 0},
		{"3 0 0 matches", []string{Record(3, 0, 0, leaf)}, good, names, Matched, "", 0},
		{"3 1 1 ignores names and expiry", []string{Record(3, 1, 1, expired[0])}, expired, []string{"elsewhere.example"}, Matched, "", 0},
		{"2 1 1 matches the CA", []string{Record(2, 1, 1, ca)}, good, names, Matched, "", 1},
		{"2 0 1 matches the CA", []string{Record(2, 0, 1, ca)}, good, names, Matched, "", 1},
		{"rollover pair: the next key and the CA", []string{Record(3, 1, 1, other[0]), Record(2, 1, 1, ca)}, good, names, Matched, "", 1},
		{"3 1 1 of another key", []string{Record(3, 1, 1, other[0])}, good, names, NoMatch, "does not match the server's certificate", 0},
		{"2 1 1 of another CA", []string{Record(2, 1, 1, other[1])}, good, names, NoMatch, "matches no certificate of the chain", 0},
		// As OpenSSL's DANE (Postfix, Exim): DANE-TA names an issuer, never
		// the leaf; a full certificate or key need not be presented.
		{"2 1 1 of the leaf itself", []string{Record(2, 1, 1, leaf)}, good, names, NoMatch, "the server's own certificate", 0},
		{"2 0 0 of the leaf itself", []string{Record(2, 0, 0, leaf)}, good, names, NoMatch, "the server's own certificate", 0},
		{"2 0 0 of a CA not presented", []string{Record(2, 0, 0, ca)}, good[:1], names, Matched, "", 1},
		{"2 1 0 of a CA not presented", []string{Record(2, 1, 0, ca)}, good[:1], names, Matched, "", 1},
		{"2 1 1 of a CA not presented", []string{Record(2, 1, 1, ca)}, good[:1], names, NoMatch, "the trust anchor must be in it", 0},
		{"2 0 0 of another CA not presented", []string{Record(2, 0, 0, other[1])}, good[:1], names, NoMatch, "not signed by it", 0},
		{"2 1 0 of another CA not presented", []string{Record(2, 1, 0, other[1])}, good[:1], names, NoMatch, "not signed by it", 0},
		{"2 1 0 of a CA not presented, wrong name", []string{Record(2, 1, 0, ca)}, good[:1], []string{"mail.example"}, NoMatch, "names none of", 0},
		{"2 1 0 of a CA not presented, expired leaf", []string{Record(2, 1, 0, expired[1])}, expired[:1], names, NoMatch, "does not chain", 0},
		{"2 0 0 that is no certificate", []string{"2 0 0 0011"}, good[:1], names, NoMatch, "not a certificate", 0},
		{"2 1 1, wrong name", []string{Record(2, 1, 1, ca)}, good, []string{"mail.example"}, NoMatch, "names none of", 0},
		{"2 1 1, expired leaf", []string{Record(2, 1, 1, expired[1])}, expired, names, NoMatch, "does not chain", 0},
		{"usage 1 is not for SMTP", []string{Record(1, 1, 1, leaf)}, good, names, NoUsable, "", 0},
		{"usage 0 is not for SMTP", []string{Record(0, 1, 1, ca)}, good, names, NoUsable, "", 0},
		{"unknown matching type", []string{"3 1 9 00"}, good, names, NoUsable, "", 0},
		{"SHA-256 of the wrong length", []string{"3 1 1 0011"}, good, names, NoUsable, "", 0},
		{"no certificate", []string{Record(3, 1, 1, leaf)}, nil, names, NoMatch, "no certificate", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rs []*dns.TLSA
			for _, s := range tc.records {
				rs = append(rs, tlsa(t, s))
			}
			r := Verify(rs, tc.chain, tc.names, now)
			if r.Outcome != tc.want || r.Depth != tc.depth || !strings.Contains(strings.Join(r.Reasons, "; "), tc.why) {
				t.Errorf("got %+v, want outcome %d depth %d with %q", r, tc.want, tc.depth, tc.why)
			}
			if tc.want == NoUsable && len(r.Unusable) != len(tc.records) {
				t.Errorf("unusable = %v", r.Unusable)
			}
		})
	}
}

// FuzzVerify: any TLSA data against a real chain: no panic, and a match
// only for the chain's own association data.
func FuzzVerify(f *testing.F) {
	now := time.Now()
	c := chain(f, now.Add(-time.Hour), now.Add(time.Hour), "mx.example")
	f.Add(uint8(3), uint8(1), uint8(1), []byte{1, 2, 3})
	f.Add(uint8(2), uint8(0), uint8(2), []byte{})
	f.Fuzz(func(t *testing.T, usage, selector, matching uint8, data []byte) {
		rr := &dns.TLSA{Hdr: dns.RR_Header{Name: "_25._tcp.mx.example.", Rrtype: dns.TypeTLSA, Class: dns.ClassINET},
			Usage: usage, Selector: selector, MatchingType: matching, Certificate: strings.ToUpper(string(hexOf(data)))}
		r := Verify([]*dns.TLSA{rr}, c, []string{"mx.example"}, now)
		if r.Outcome == Matched && r.Depth < len(c) {
			want, _ := Association(selector, matching, c[r.Depth])
			if string(want) != string(data) {
				t.Fatalf("matched %x", data)
			}
		}
	})
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}
