package message

import (
	"bytes"
	"errors"
	"strings"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

// DKIM results of one signature, as RFC 8601 §2.7.1 names them.
const (
	DKIMPass      = "pass"
	DKIMFail      = "fail"      // the signature or the body hash did not verify
	DKIMPermError = "permerror" // the signature or its key cannot be used
	DKIMTempError = "temperror" // the key could not be looked up
	DKIMPolicy    = "policy"    // refused by policy (l=)
)

// Failure reasons worth a finding of their own.
const (
	ReasonBodyHash  = "body_hash"
	ReasonSignature = "signature"
	ReasonExpired   = "expired"
	ReasonNoKey     = "no_key"
	ReasonFromUnsig = "from_not_signed"
	ReasonLength    = "body_length"
	ReasonWeakHash  = "weak_hash"
	ReasonMalformed = "malformed" // a required tag missing or unreadable
	ReasonOther     = "other"
)

// Verified is one DKIM-Signature with its verification.
type Verified struct {
	Signature
	Result string
	Reason string // a Reason constant, "" on pass
	Err    error  // go-msgauth's error, nil on pass
}

// Verify verifies at most MaxSignatures DKIM signatures of the
// message with go-msgauth, looking keys up with lookupTXT: those whose
// d= is the From domain, under it or above it first (the ones DMARC can
// use), then the others, in header order. cut says how many were left.
func (m *Message) Verify(lookupTXT func(string) ([]string, error)) (out []Verified, cut int) {
	all := m.Get("DKIM-Signature")
	if len(all) == 0 {
		return nil, 0
	}
	fields := all
	if len(all) > MaxSignatures {
		_, from, _ := m.FromAddress()
		related := func(f Field) bool {
			d := strings.ToLower(strings.TrimSuffix(ParseSignature(f.Value).Domain, "."))
			return from != "" && d != "" && (d == from || strings.HasSuffix(from, "."+d) || strings.HasSuffix(d, "."+from))
		}
		chosen := make([]bool, len(all))
		n := 0
		for _, first := range []bool{true, false} {
			for i, f := range all {
				if n < MaxSignatures && !chosen[i] && related(f) == first {
					chosen[i], n = true, n+1
				}
			}
		}
		fields, cut = nil, len(all)-n
		for i, f := range all { // header order among those chosen
			if chosen[i] {
				fields = append(fields, f)
			}
		}
	}
	// go-msgauth reads the header itself: hand it the fields read, with
	// only the signatures chosen, and the body.
	raw := append(m.headerWith(fields), m.Body...)
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(raw), &msgdkim.VerifyOptions{LookupTXT: lookupTXT, MaxVerifications: MaxSignatures})
	if err != nil && !errors.Is(err, msgdkim.ErrTooManySignatures) && len(vs) == 0 {
		for _, f := range fields {
			out = append(out, Verified{Signature: ParseSignature(f.Value), Result: DKIMPermError, Reason: ReasonOther, Err: err})
		}
		return out, cut
	}
	for i, f := range fields {
		v := Verified{Signature: ParseSignature(f.Value), Result: DKIMPass}
		if i < len(vs) && vs[i] != nil {
			v.Err = vs[i].Err
		} else {
			v.Err = errors.New("not verified")
		}
		v.Result, v.Reason = classify(v.Err)
		if err := malformed(v.Signature); err != nil && v.Result != DKIMPass {
			// A tag RFC 6376 requires is missing or unreadable: the
			// signature is broken (PERMFAIL, §6.1.1), whatever go-msgauth
			// tried with it (a key lookup for "s._domainkey." without
			// d= is no DNS failure, an l=-1 no body length).
			v.Result, v.Reason, v.Err = DKIMPermError, ReasonMalformed, err
		}
		out = append(out, v)
	}
	return out, cut
}

// malformed says why a signature is not one RFC 6376 §3.5 can verify:
// no d= or s=, or an l= that is no number of octets.
func malformed(s Signature) error {
	switch {
	case s.Domain == "":
		return errors.New("the signature has no d= (signing domain), which RFC 6376 §3.5 requires")
	case s.Selector == "":
		return errors.New("the signature has no s= (selector), which RFC 6376 §3.5 requires")
	}
	for _, p := range s.Problems {
		if strings.HasPrefix(p, "l=") {
			return errors.New("the signature's " + p + " (RFC 6376 §3.5: the body length in octets)")
		}
	}
	return nil
}

// classify names go-msgauth's error as RFC 8601 does.
func classify(err error) (result, reason string) {
	if err == nil {
		return DKIMPass, ""
	}
	msg := err.Error()
	switch {
	case msgdkim.IsTempFail(err):
		return DKIMTempError, ReasonNoKey
	case strings.Contains(msg, "body hash did not verify"):
		return DKIMFail, ReasonBodyHash
	case strings.Contains(msg, "signature did not verify"):
		return DKIMFail, ReasonSignature
	case strings.Contains(msg, "insecure body length"):
		return DKIMPolicy, ReasonLength
	case strings.Contains(msg, "has expired"):
		return DKIMPermError, ReasonExpired
	case strings.Contains(msg, "From field not signed"):
		return DKIMPermError, ReasonFromUnsig
	case strings.Contains(msg, "hash algorithm too weak"), strings.Contains(msg, "inappropriate hash"):
		return DKIMPermError, ReasonWeakHash
	case strings.Contains(msg, "no key for signature"), strings.Contains(msg, "key syntax error"), strings.Contains(msg, "no key"):
		return DKIMPermError, ReasonNoKey
	}
	return DKIMPermError, ReasonOther
}

// headerWith is Header with, of the DKIM-Signature fields, only sigs
// (a subsequence of them, as Verify chose).
func (m *Message) headerWith(sigs []Field) []byte {
	var b bytes.Buffer
	for _, f := range m.Fields {
		if strings.EqualFold(f.Name, "DKIM-Signature") {
			if len(sigs) == 0 || sigs[0].Raw != f.Raw {
				continue
			}
			sigs = sigs[1:]
		}
		b.WriteString(f.Raw)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}
