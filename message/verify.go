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
	ReasonOther     = "other"
)

// Verified is one DKIM-Signature with its verification.
type Verified struct {
	Signature
	Result string
	Reason string // a Reason constant, "" on pass
	Err    error  // go-msgauth's error, nil on pass
}

// Verify verifies the first MaxSignatures DKIM signatures of the
// message with go-msgauth, looking keys up with lookupTXT. More than
// that many are not verified: cut says how many were left.
func (m *Message) Verify(lookupTXT func(string) ([]string, error)) (out []Verified, cut int) {
	fields := m.Get("DKIM-Signature")
	if len(fields) == 0 {
		return nil, 0
	}
	if len(fields) > MaxSignatures {
		cut = len(fields) - MaxSignatures
		fields = fields[:MaxSignatures]
	}
	// go-msgauth reads the header itself: hand it the fields read (at
	// most MaxFields) and the body.
	raw := append(m.Header(), m.Body...)
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
		out = append(out, v)
	}
	return out, cut
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
