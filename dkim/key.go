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
	tags, order, problems := parseTags(txt)
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
	tags, order, _ := parseTags(txt)
	return len(order) == 0 || order[0] != "v" || tags["v"] == "DKIM1"
}

// parseTags reads a key record's tag-list (RFC 6376 §3.2).
func parseTags(txt string) (tags map[string]string, order, problems []string) {
	list, syntax := taglist.Parse(txt, taglist.DKIM)
	tags = map[string]string{}
	for _, t := range list {
		tags[t.Name] = t.Value
		order = append(order, t.Name)
	}
	for _, p := range syntax {
		problems = append(problems, p.String())
	}
	return tags, order, problems
}
