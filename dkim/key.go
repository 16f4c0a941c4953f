// Package dkim reads DKIM key records (RFC 6376 §3.6.1, RFC 8463) and
// signs messages for the test send. Parsing is pure; looking keys up and
// judging them is the dkim check's work (checks/dkim.go).
package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/preflight-mail/preflight/internal/taglist"
)

// Key is a parsed DKIM key record (RFC 6376 §3.6.1, RFC 8463). Values
// are kept as written: they are case-sensitive (RFC 6376 §3.2).
type Key struct {
	Type     string   // k= as written; "rsa" when absent
	Bits     int      // RSA modulus size; 256 for Ed25519
	Revoked  bool     // empty p=
	Flags    []string // t= ("y" testing, "s" strict; others are ignored)
	Hashes   []string // h=
	Services []string // s=
	Public   crypto.PublicKey
	// Unusable says why no signature can verify with this record
	// although it parses: a verifier discards the key (an unknown k=, an
	// s= without email, an RSA key under 1024 bits) or every signature
	// it could check (h= without sha256). Empty for a usable key.
	Unusable []string
}

// Testing reports the t=y flag (RFC 6376 §3.6.1: the domain is testing DKIM).
func (k Key) Testing() bool { return slices.Contains(k.Flags, "y") }

func (k Key) Describe() string {
	if strings.EqualFold(k.Type, "ed25519") {
		return "Ed25519 key"
	}
	return fmt.Sprintf("%d-bit RSA key", k.Bits)
}

// Key types and hash algorithms verifiers know (RFC 6376 §3.3, RFC 8463
// §3; RFC 8301 §3.1 took sha1 away from verifiers).
const (
	typeRSA     = "rsa"
	typeEd25519 = "ed25519"
	minRSABits  = 1024 // RFC 8301 §3.2: verifiers MUST NOT consider smaller keys valid
)

// ParseKey parses a key record. The problems are its syntax errors
// (the record is invalid); why a well-formed key cannot verify anything
// is in Key.Unusable. A revoked key (empty p=) is neither.
func ParseKey(txt string) (Key, []string) {
	k := Key{Type: typeRSA}
	tags, syntax := taglist.Parse(txt, taglist.DKIM)
	var problems []string
	for _, p := range syntax {
		problems = append(problems, p.String())
	}
	if v, ok := tags.Get("v"); ok {
		if v != "DKIM1" {
			problems = append(problems, fmt.Sprintf("v=%s, want v=DKIM1", v))
		} else if tags.First() != "v" {
			problems = append(problems, "v=DKIM1 must be the first tag")
		}
	}
	if v, ok := tags.Get("k"); ok {
		k.Type = v
	}
	k.Flags = splitColon(tags.Get("t"))
	k.Hashes = splitColon(tags.Get("h"))
	k.Services = splitColon(tags.Get("s"))
	k.Unusable = k.unusable()
	p, ok := tags.Get("p")
	if !ok {
		return k, append(problems, "no p= tag (the public key)")
	}
	// RFC 6376 §3.6.1: p= is base64 with folding whitespace anywhere.
	p = strings.Join(strings.FieldsFunc(p, func(r rune) bool { return strings.ContainsRune(" \t\r\n", r) }), "")
	if p == "" {
		k.Revoked = true
		return k, problems
	}
	raw, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return k, append(problems, "p= is not valid base64")
	}
	// The key is read even under a wrong-case k= (it is then unusable,
	// but --dkim-key can still tell whether it is the right key).
	switch strings.ToLower(k.Type) {
	case typeRSA:
		pub, err := x509.ParsePKIXPublicKey(raw)
		if err != nil {
			pub, err = x509.ParsePKCS1PublicKey(raw)
		}
		rk, isRSA := pub.(*rsa.PublicKey)
		if err != nil || !isRSA {
			return k, append(problems, "p= is not an RSA public key")
		}
		k.Bits, k.Public = rk.N.BitLen(), rk
		if k.Bits < minRSABits {
			k.Unusable = append(k.Unusable, fmt.Sprintf("a %d-bit RSA key: verifiers refuse keys under %d bits (RFC 8301 §3.2)", k.Bits, minRSABits))
		}
	case typeEd25519:
		if len(raw) != ed25519.PublicKeySize {
			return k, append(problems, fmt.Sprintf("p= holds %d octets, an Ed25519 key is %d (RFC 8463 §4.2)", len(raw), ed25519.PublicKeySize))
		}
		k.Bits, k.Public = 256, ed25519.PublicKey(raw)
	}
	return k, problems
}

// unusable lists what in k=, h= and s= makes verifiers discard the key.
func (k Key) unusable() []string {
	var out []string
	switch {
	case k.Type == typeRSA || k.Type == typeEd25519:
	case strings.EqualFold(k.Type, typeRSA) || strings.EqualFold(k.Type, typeEd25519):
		out = append(out, fmt.Sprintf("k=%s: values are case-sensitive (RFC 6376 §3.2) and verifiers know k=%s, not k=%s", k.Type, strings.ToLower(k.Type), k.Type))
	default:
		out = append(out, fmt.Sprintf("unknown key type k=%s: verifiers know rsa and ed25519 (RFC 6376 §3.6.1, RFC 8463)", k.Type))
	}
	// RFC 6376 §3.6.1 h=: a verifier ignores a signature whose hash the
	// record does not list, and sha256 is the only hash left (RFC 8301
	// §3.1); Ed25519 signs sha256 too (RFC 8463 §3).
	if len(k.Hashes) > 0 && !slices.Contains(k.Hashes, "sha256") {
		out = append(out, fmt.Sprintf("h=%s leaves out sha256, the one hash verifiers accept (RFC 8301 §3.1)%s", strings.Join(k.Hashes, ":"), caseNote(k.Hashes, "sha256")))
	}
	// s=: the key is for other services than email (RFC 6376 §3.6.1).
	if len(k.Services) > 0 && !slices.Contains(k.Services, "*") && !slices.Contains(k.Services, "email") {
		out = append(out, fmt.Sprintf("s=%s excludes email (RFC 6376 §3.6.1)%s", strings.Join(k.Services, ":"), caseNote(k.Services, "email")))
	}
	return out
}

// caseNote explains a value that differs from want only in case.
func caseNote(values []string, want string) string {
	for _, v := range values {
		if strings.EqualFold(v, want) {
			return fmt.Sprintf("; %s is not %s: values are case-sensitive (RFC 6376 §3.2)", v, want)
		}
	}
	return ""
}

// splitColon splits a colon-separated list (h=, s=, t=), each element
// trimmed of whitespace (RFC 6376 §3.6.1 allows FWS around them).
func splitColon(s string, ok bool) []string {
	if !ok {
		return nil
	}
	var out []string
	for _, f := range strings.Split(s, ":") {
		if f = strings.Trim(f, " \t\r\n"); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Sign signs msg with relaxed/relaxed canonicalization over an
// explicit header list (go-msgauth's defaults are simple/simple and
// every header, which breaks on the first relay that touches one).
func Sign(msg []byte, domain, selector string, key crypto.Signer) ([]byte, error) {
	var b bytes.Buffer
	err := dkim.Sign(&b, bytes.NewReader(msg), &dkim.SignOptions{
		Domain:                 domain,
		Selector:               selector,
		Signer:                 key,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"},
	})
	return b.Bytes(), err
}

// LoadPrivateKey reads a private key (PEM: PKCS#8, or PKCS#1 for RSA) for
// signing: RSA or Ed25519.
func LoadPrivateKey(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			switch k.(type) {
			case *rsa.PrivateKey, ed25519.PrivateKey:
				return s, nil
			}
		}
		return nil, fmt.Errorf("a %T, want an RSA or Ed25519 key", k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("%s is not an RSA or Ed25519 private key", block.Type)
}

// IsKeyRecord reports whether a TXT record at a selector's name is a
// DKIM key record at all. RFC 6376 §3.6.1: a record that begins with a
// v= tag of another value must be discarded, as if it were not there (a
// wildcard "v=spf1 -all" under the domain is not a broken key).
func IsKeyRecord(txt string) bool {
	tags, _ := taglist.Parse(txt, taglist.DKIM)
	v, _ := tags.Get("v")
	return tags.First() != "v" || v == "DKIM1"
}

// KeyRecord is the key record that publishes pub (RFC 6376 §3.6.1):
// an RSA key as its SubjectPublicKeyInfo, an Ed25519 key as its 32
// octets (RFC 8463 §4.2).
func KeyRecord(pub crypto.PublicKey) (string, error) {
	var k taglist.List
	k = k.With("v", "DKIM1")
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", err
		}
		k = k.With("k", "rsa").With("p", base64.StdEncoding.EncodeToString(der))
	case ed25519.PublicKey:
		k = k.With("k", "ed25519").With("p", base64.StdEncoding.EncodeToString(pub))
	default:
		return "", fmt.Errorf("a %T, want an RSA or Ed25519 public key", pub)
	}
	return k.Format(), nil
}

// Mend returns the key record without what makes verifiers discount
// it while the key itself is good: the testing flag y of t= (other
// flags stay), a k= written in the wrong case (values are case-sensitive,
// RFC 6376 §3.2), an h= that leaves out sha256 (RFC 8301 §3.1: rsa-sha1
// signatures are no longer accepted; without h= every hash is), and an
// s= that leaves out email (without s= the key serves every service).
// A key too short or of a type verifiers do not know stays as it is:
// no record mends that, the signer must change keys.
func Mend(txt string) string {
	k, _ := taglist.Parse(txt, taglist.DKIM)
	if t, ok := k.Get("t"); ok {
		flags := slices.DeleteFunc(splitColon(t, true), func(f string) bool { return f == "y" })
		if len(flags) == 0 {
			k = k.Without("t")
		} else {
			k = k.With("t", strings.Join(flags, ":"))
		}
	}
	if t, ok := k.Get("k"); ok && t != typeRSA && t != typeEd25519 {
		if lower := strings.ToLower(t); lower == typeRSA || lower == typeEd25519 {
			k = k.With("k", lower)
		}
	}
	if h, ok := k.Get("h"); ok && !slices.Contains(splitColon(h, true), "sha256") {
		k = k.Without("h")
	}
	if sv, ok := k.Get("s"); ok {
		if services := splitColon(sv, true); !slices.Contains(services, "*") && !slices.Contains(services, "email") {
			k = k.Without("s")
		}
	}
	return k.Format("v")
}
