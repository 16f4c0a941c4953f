package resolver

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/internal/inputfile"
)

// rootAnchorText is the IANA root zone's trust anchors: the DS records of
// KSK-2017 (key tag 20326, valid from 2017-02-02) and KSK-2024 (key tag
// 38696, valid from 2024-07-18), as published in
// https://data.iana.org/root-anchors/root-anchors.xml (copied
// 2026-11-29). A root key rollover means a new release (or
// --trust-anchor with the new DS).
const rootAnchorText = `. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
`

// RootAnchors returns the embedded IANA root trust anchors.
func RootAnchors() []dns.RR {
	rrs, err := ParseTrustAnchors(strings.NewReader(rootAnchorText), "root anchors")
	if err != nil {
		panic(err) // the constant above is valid; a test holds it so
	}
	return rrs
}

// MaxTrustAnchors bounds the records of a trust anchor file: a root has
// two or three, a lab a handful.
const MaxTrustAnchors = 64

// LoadTrustAnchors reads a --trust-anchor file: DS or DNSKEY records in
// zone-file syntax (origin "."), nothing else.
func LoadTrustAnchors(ctx context.Context, path string) ([]dns.RR, error) {
	f, err := inputfile.Open(ctx, path, inputfile.Anchors)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	er := &readErr{r: f}
	rrs, err := ParseTrustAnchors(er, path)
	if err != nil && er.err != nil {
		return nil, er.err // too large, unreadable: named once, not as syntax
	}
	return rrs, err
}

// readErr keeps the first read error other than EOF.
type readErr struct {
	r   interface{ Read([]byte) (int, error) }
	err error
}

func (e *readErr) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// ParseTrustAnchors reads DS and DNSKEY records in zone-file syntax from
// r; file names it in errors. Other record types, $INCLUDE, more than
// MaxTrustAnchors records or none are errors.
func ParseTrustAnchors(r interface{ Read([]byte) (int, error) }, file string) ([]dns.RR, error) {
	zp := dns.NewZoneParser(r, ".", file)
	zp.SetIncludeAllowed(false)
	zp.SetDefaultTTL(3600)
	var out []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		switch v := rr.(type) {
		case *dns.DS:
			v.Hdr.Name = fqdn(v.Hdr.Name)
			if why := badDigest(v); why != "" {
				return nil, fmt.Errorf("%s: the DS of %s with key tag %d: %s", file, bare(v.Hdr.Name), v.KeyTag, why)
			}
		case *dns.DNSKEY:
			v.Hdr.Name = fqdn(v.Hdr.Name)
			if v.Flags&dns.ZONE == 0 {
				return nil, fmt.Errorf("%s: the DNSKEY of %s with key tag %d is not a zone key (flags %d)", file, bare(v.Hdr.Name), v.KeyTag(), v.Flags)
			}
			if why := badKey(v); why != "" {
				return nil, fmt.Errorf("%s: the DNSKEY of %s with key tag %d: %s", file, bare(v.Hdr.Name), v.KeyTag(), why)
			}
		default:
			return nil, fmt.Errorf("%s: %s record for %s: a trust anchor is a DS or DNSKEY record", file, typeString(rr.Header().Rrtype), bare(rr.Header().Name))
		}
		if len(out) == MaxTrustAnchors {
			return nil, fmt.Errorf("%s: more than %d trust anchors", file, MaxTrustAnchors)
		}
		out = append(out, rr)
	}
	if err := zp.Err(); err != nil {
		return nil, zoneSyntaxError(file, err, true)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no DS or DNSKEY record", file)
	}
	return out, nil
}

// badDigest says why a trust anchor's DS digest cannot be any key's (not
// hex, or the wrong length for its digest type), or "". A typo in the
// user's anchor must be a usage error, not a bogus zone blamed on its
// owner.
func badDigest(ds *dns.DS) string {
	d, err := hex.DecodeString(ds.Digest)
	if err != nil || len(d) == 0 {
		return fmt.Sprintf("the digest %q is not hexadecimal", ds.Digest)
	}
	want := map[uint8]int{dns.SHA1: 20, dns.SHA256: 32, dns.SHA384: 48}[ds.DigestType]
	if want != 0 && len(d) != want {
		return fmt.Sprintf("a digest of type %d has %d octets, not %d", ds.DigestType, len(d), want)
	}
	return ""
}

// badKey says why a trust anchor's DNSKEY holds no key of its algorithm
// (not base64, or the wrong length for an elliptic curve) or is revoked,
// or "".
func badKey(k *dns.DNSKEY) string {
	if k.Flags&dns.REVOKE != 0 {
		return "it has the REVOKE flag (RFC 5011 §2.1): a revoked key is no trust anchor"
	}
	b, err := base64.StdEncoding.DecodeString(k.PublicKey)
	if err != nil || len(b) == 0 {
		return "the public key is not base64"
	}
	want := map[uint8]int{dns.ECDSAP256SHA256: 64, dns.ECDSAP384SHA384: 96, dns.ED25519: 32, dns.ED448: 57}[k.Algorithm]
	if want != 0 && len(b) != want {
		return fmt.Sprintf("a key of algorithm %d has %d octets, not %d", k.Algorithm, len(b), want)
	}
	return ""
}
