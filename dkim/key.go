// Package dkim reads DKIM key records (RFC 6376 §3.6.1, RFC 8463) and
// signs messages for the test send. Parsing is pure; looking keys up and
// judging them is the dkim check's work (checks/dkim.go).
package dkim

import (
	"bytes"
	"cmp"
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

// Key is a parsed DKIM key record (RFC 6376 §3.6.1, RFC 8463).
type Key struct {
	Type     string   // "rsa" or "ed25519"
	Bits     int      // RSA modulus size; 256 for Ed25519
	Revoked  bool     // empty p=
	Flags    []string // t= ("y" testing, "s" strict)
	Hashes   []string // h=
	Services []string // s=
	Public   crypto.PublicKey
}

func (k Key) Describe() string {
	if k.Type == "ed25519" {
		return "Ed25519 key"
	}
	return fmt.Sprintf("%d-bit RSA key", k.Bits)
}

// ParseKey parses a key record. It returns every problem it finds;
// a revoked key (empty p=) is not a problem of syntax.
func ParseKey(txt string) (Key, []string) {
	var k Key
	tags, order, problems := taglist.Parse(txt, false)
	if v, ok := tags["v"]; ok {
		if v != "DKIM1" {
			problems = append(problems, fmt.Sprintf("v=%s, want v=DKIM1", v))
		} else if order[0] != "v" {
			problems = append(problems, "v=DKIM1 must be the first tag")
		}
	}
	k.Type = strings.ToLower(cmp.Or(tags["k"], "rsa"))
	for _, f := range splitColon(tags["t"]) {
		k.Flags = append(k.Flags, strings.ToLower(f))
	}
	k.Hashes = splitColon(strings.ToLower(tags["h"]))
	k.Services = splitColon(strings.ToLower(tags["s"]))
	if len(k.Services) > 0 && !slices.Contains(k.Services, "*") && !slices.Contains(k.Services, "email") {
		problems = append(problems, fmt.Sprintf("s=%s excludes email", tags["s"]))
	}
	p, ok := tags["p"]
	if !ok {
		return k, append(problems, "no p= tag (the public key)")
	}
	p = strings.Join(strings.Fields(p), "")
	if p == "" {
		k.Revoked = true
		return k, problems
	}
	raw, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return k, append(problems, "p= is not valid base64")
	}
	switch k.Type {
	case "rsa":
		pub, err := x509.ParsePKIXPublicKey(raw)
		if err != nil {
			pub, err = x509.ParsePKCS1PublicKey(raw)
		}
		rk, isRSA := pub.(*rsa.PublicKey)
		if err != nil || !isRSA {
			return k, append(problems, "p= is not an RSA public key")
		}
		k.Bits, k.Public = rk.N.BitLen(), rk
	case "ed25519":
		if len(raw) != ed25519.PublicKeySize {
			return k, append(problems, fmt.Sprintf("p= holds %d octets, an Ed25519 key is %d (RFC 8463 §4.2)", len(raw), ed25519.PublicKeySize))
		}
		k.Bits, k.Public = 256, ed25519.PublicKey(raw)
	default:
		problems = append(problems, fmt.Sprintf("unknown key type k=%s (want rsa or ed25519)", k.Type))
	}
	return k, problems
}

func splitColon(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ":") {
		if f = strings.TrimSpace(f); f != "" {
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
	tags, order, _ := taglist.Parse(txt, false)
	return len(order) == 0 || order[0] != "v" || tags["v"] == "DKIM1"
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
// flags stay), and an h= that leaves out sha256 (RFC 8301 §3.1: rsa-sha1
// signatures are no longer accepted; without h= every hash is).
func Mend(txt string) string {
	tags, order, _ := taglist.Parse(txt, false)
	k := taglist.List{Tags: tags, Order: order}
	if t, ok := tags["t"]; ok {
		flags := slices.DeleteFunc(splitColon(t), func(f string) bool { return strings.EqualFold(f, "y") })
		if len(flags) == 0 {
			k = k.Without("t")
		} else {
			k = k.With("t", strings.Join(flags, ":"))
		}
	}
	if h, ok := tags["h"]; ok && !slices.Contains(splitColon(strings.ToLower(h)), "sha256") {
		k = k.Without("h")
	}
	return k.Format("v")
}
