// Package dane matches DANE TLSA records (RFC 6698) against the
// certificate chain a mail server presents, as RFC 7672 says SMTP
// senders do: DANE-EE(3) and DANE-TA(2) only, DANE-EE without name or
// expiry checks, DANE-TA with both; PKIX-TA(0) and PKIX-EE(1) are not
// for SMTP and unusable. It has no DNS and no report wording: the caller
// looks the records up (DNSSEC-validated) and words the result.
package dane

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// TLSA usages, selectors and matching types (RFC 6698 §2.1, RFC 7218
// names).
const (
	PKIXTA = 0
	PKIXEE = 1
	DANETA = 2
	DANEEE = 3

	SelectorCert = 0
	SelectorSPKI = 1

	MatchFull   = 0
	MatchSHA256 = 1
	MatchSHA512 = 2
)

// Outcome is what the TLSA set says about the chain.
type Outcome int

const (
	// NoUsable: the set has no record an SMTP sender can use (RFC 7672
	// §2.2: the sender still requires TLS, without authentication).
	NoUsable Outcome = iota
	// Matched: a usable record matches; the server is authenticated.
	Matched
	// NoMatch: usable records exist and none matches: DANE senders do
	// not deliver (RFC 7672 §2.2).
	NoMatch
)

// Result is the outcome with what it rests on.
type Result struct {
	Outcome Outcome
	// Record is the record that matched (Matched), as "3 1 1 HEX".
	Record string
	// Depth is the index in the chain of the certificate it matched (0:
	// the leaf).
	Depth int
	// Unusable says, per record that was not used, why.
	Unusable []string
	// Reasons say, per usable record that did not match, why.
	Reasons []string
}

// maxRecords bounds the records tried: a TLSA set is two to four
// records; a hostile one must not make us hash a chain thousands of
// times.
const maxRecords = 32

// Verify matches records against chain (leaf first, as presented) for
// the reference names (the MX host name, then the TLSA base domain after
// CNAMEs, RFC 7672 §3.2.2) at now.
func Verify(records []*dns.TLSA, chain []*x509.Certificate, names []string, now time.Time) Result {
	var r Result
	usable := 0
	for i, t := range records {
		if i == maxRecords {
			r.Unusable = append(r.Unusable, fmt.Sprintf("%d more records not tried", len(records)-maxRecords))
			break
		}
		if why := unusable(t); why != "" {
			r.Unusable = append(r.Unusable, Format(t)+": "+why)
			continue
		}
		usable++
		if len(chain) == 0 {
			r.Reasons = append(r.Reasons, Format(t)+": the server presented no certificate")
			continue
		}
		switch t.Usage {
		case DANEEE:
			// RFC 7672 §3.1.1: the leaf's key or certificate, nothing
			// else: no names, no expiry.
			if matches(t, chain[0]) {
				r.Outcome, r.Record, r.Depth = Matched, Format(t), 0
				return r
			}
			r.Reasons = append(r.Reasons, Format(t)+": does not match the server's certificate ("+describe(t, chain[0])+")")
		case DANETA:
			depth, why := verifyTA(t, chain, names, now)
			if why == "" {
				r.Outcome, r.Record, r.Depth = Matched, Format(t), depth
				return r
			}
			r.Reasons = append(r.Reasons, Format(t)+": "+why)
		}
	}
	if usable > 0 {
		r.Outcome = NoMatch
	}
	return r
}

// unusable says why an SMTP sender ignores t (RFC 7672 §3.1.3 for
// usages 0 and 1), or "".
func unusable(t *dns.TLSA) string {
	switch t.Usage {
	case PKIXTA, PKIXEE:
		return fmt.Sprintf("usage %d (PKIX-%s) is not for SMTP (RFC 7672 §3.1.3): senders ignore it", t.Usage, map[uint8]string{0: "TA", 1: "EE"}[t.Usage])
	case DANETA, DANEEE:
	default:
		return fmt.Sprintf("unknown usage %d", t.Usage)
	}
	if t.Selector != SelectorCert && t.Selector != SelectorSPKI {
		return fmt.Sprintf("unknown selector %d", t.Selector)
	}
	data, err := hex.DecodeString(t.Certificate)
	if err != nil {
		return "the association data is not hex"
	}
	switch t.MatchingType {
	case MatchFull:
		if len(data) == 0 {
			return "empty association data"
		}
	case MatchSHA256:
		if len(data) != sha256.Size {
			return fmt.Sprintf("a SHA-256 digest has %d octets, not %d", len(data), sha256.Size)
		}
	case MatchSHA512:
		if len(data) != sha512.Size {
			return fmt.Sprintf("a SHA-512 digest has %d octets, not %d", len(data), sha512.Size)
		}
	default:
		return fmt.Sprintf("unknown matching type %d", t.MatchingType)
	}
	return ""
}

// verifyTA finds the certificate of chain that t names and checks that
// the leaf chains to it and carries one of names (RFC 7672 §3.1.2,
// §3.2.2). It returns the depth of the trust anchor (len(chain) for one
// the server did not present), or why not.
//
// A trust anchor is an issuer: a DANE-TA record that matches the leaf
// itself authenticates nothing, as in OpenSSL's DANE (Postfix, Exim),
// which match DANE-TA at depth 1 and above only. A full certificate or
// public key (2 0 0, 2 1 0) need not be in the chain: the record itself
// holds the key the top of the chain must be signed with (RFC 7671
// §5.2.2; OpenSSL does the same).
func verifyTA(t *dns.TLSA, chain []*x509.Certificate, names []string, now time.Time) (int, string) {
	depth := -1
	for i, c := range chain[1:] {
		if matches(t, c) {
			depth = i + 1
			break
		}
	}
	const own = "matches the server's own certificate, not an issuer of it: DANE-TA names a CA of the chain; for the server's own certificate or key publish 3 x x (DANE-EE)"
	var roots *x509.CertPool
	switch {
	case depth > 0:
		roots = x509.NewCertPool()
		roots.AddCert(chain[depth])
	case t.MatchingType == MatchFull:
		var why string
		if roots, why = fullAnchor(t, chain); roots == nil {
			if matches(t, chain[0]) {
				return 0, own
			}
			return 0, why
		}
		depth = len(chain)
	case matches(t, chain[0]):
		return 0, own
	default:
		return 0, "matches no certificate of the chain the server presented (the trust anchor must be in it)"
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:min(depth, len(chain))] {
		inter.AddCert(c)
	}
	leaf := chain[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return depth, "the server's certificate does not chain to the trust anchor it names: " + err.Error()
	}
	for _, n := range names {
		if leaf.VerifyHostname(strings.TrimSuffix(n, ".")) == nil {
			return depth, ""
		}
	}
	return depth, "the server's certificate names none of " + strings.Join(names, ", ")
}

// fullAnchor is the trust anchor of a 2 0 0 or 2 1 0 record that matches
// no presented certificate, as roots for the chain: the record's
// certificate, or for a bare key the chain's top certificate once its
// signature verifies with that key. nil and why when it is no issuer of
// the chain.
func fullAnchor(t *dns.TLSA, chain []*x509.Certificate) (*x509.CertPool, string) {
	const notIn = "matches no certificate of the chain the server presented, and the top of the chain is not signed by it"
	data, err := hex.DecodeString(t.Certificate)
	if err != nil {
		return nil, "the association data is not hex"
	}
	roots := x509.NewCertPool()
	top := chain[len(chain)-1]
	switch t.Selector {
	case SelectorCert:
		ta, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, "the association data is not a certificate: " + err.Error()
		}
		if top.CheckSignatureFrom(ta) != nil {
			return nil, notIn
		}
		roots.AddCert(ta)
	case SelectorSPKI:
		pub, err := x509.ParsePKIXPublicKey(data)
		if err != nil {
			return nil, "the association data is not a public key: " + err.Error()
		}
		issuer := &x509.Certificate{PublicKey: pub, PublicKeyAlgorithm: keyAlgorithm(pub)}
		if top.CheckSignatureFrom(issuer) != nil {
			return nil, notIn
		}
		roots.AddCert(top)
	}
	return roots, ""
}

// keyAlgorithm is the x509 algorithm of a parsed public key.
func keyAlgorithm(pub any) x509.PublicKeyAlgorithm {
	switch pub.(type) {
	case *rsa.PublicKey:
		return x509.RSA
	case *ecdsa.PublicKey:
		return x509.ECDSA
	case ed25519.PublicKey:
		return x509.Ed25519
	}
	return x509.UnknownPublicKeyAlgorithm
}

// matches reports whether t's association data is c's.
func matches(t *dns.TLSA, c *x509.Certificate) bool {
	want, err := hex.DecodeString(t.Certificate)
	if err != nil {
		return false
	}
	got, ok := Association(t.Selector, t.MatchingType, c)
	return ok && bytes.Equal(got, want)
}

// Association is the association data of c for selector and matching
// type: what a TLSA record for c holds.
func Association(selector, matching uint8, c *x509.Certificate) ([]byte, bool) {
	var data []byte
	switch selector {
	case SelectorCert:
		data = c.Raw
	case SelectorSPKI:
		data = c.RawSubjectPublicKeyInfo
	default:
		return nil, false
	}
	switch matching {
	case MatchFull:
		return data, true
	case MatchSHA256:
		h := sha256.Sum256(data)
		return h[:], true
	case MatchSHA512:
		h := sha512.Sum512(data)
		return h[:], true
	}
	return nil, false
}

// Record is the TLSA record data "USAGE SELECTOR MATCHING HEX" for c.
func Record(usage, selector, matching uint8, c *x509.Certificate) string {
	d, _ := Association(selector, matching, c)
	return fmt.Sprintf("%d %d %d %s", usage, selector, matching, hex.EncodeToString(d))
}

// Format is t's data, its association shortened to 16 hex digits.
func Format(t *dns.TLSA) string {
	d := strings.ToLower(t.Certificate)
	if len(d) > 16 {
		d = d[:16] + "…"
	}
	return fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.MatchingType, d)
}

// describe is what the record would have to hold for c.
func describe(t *dns.TLSA, c *x509.Certificate) string {
	d, ok := Association(t.Selector, t.MatchingType, c)
	if !ok {
		return "no such association"
	}
	s := hex.EncodeToString(d)
	if len(s) > 16 {
		s = s[:16] + "…"
	}
	return fmt.Sprintf("it has %d %d %d %s", t.Usage, t.Selector, t.MatchingType, s)
}
