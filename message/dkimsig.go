package message

import (
	"strconv"
	"strings"
	"time"

	"github.com/preflight-mail/preflight/internal/taglist"
)

// Signature is what a DKIM-Signature field says of itself (RFC 6376
// §3.5), read for the report; go-msgauth verifies it.
type Signature struct {
	Domain, Selector, Algorithm string // d=, s=, a=
	Identity                    string // i=
	Headers                     []string
	Canon                       string // c=, "simple/simple" when absent
	// Length is l= (-1 when absent): the body octets the signature
	// covers; anything appended after them is unsigned.
	Length    int64
	Signed    time.Time // t=, zero when absent
	Expires   time.Time // x=, zero when absent
	Problems  []string  // syntax problems of the tag list
	Truncated bool      // the value was cut for the report
}

// ParseSignature reads a DKIM-Signature field's value.
func ParseSignature(v string) Signature {
	tags, probs := taglist.Parse(v, taglist.DKIM)
	s := Signature{Length: -1, Canon: "simple/simple"}
	for _, p := range probs {
		s.Problems = append(s.Problems, p.String())
	}
	get := func(n string) string { x, _ := tags.Get(n); return strings.Join(strings.Fields(x), "") }
	s.Domain = strings.ToLower(strings.TrimSuffix(get("d"), "."))
	s.Selector, s.Algorithm, s.Identity = get("s"), get("a"), get("i")
	if c := get("c"); c != "" {
		s.Canon = c
		if !strings.Contains(c, "/") {
			s.Canon = c + "/simple"
		}
	}
	for h := range strings.SplitSeq(get("h"), ":") {
		if h != "" {
			s.Headers = append(s.Headers, h)
		}
	}
	if l := get("l"); l != "" {
		if n, err := strconv.ParseInt(l, 10, 64); err == nil && n >= 0 {
			s.Length = n
		} else if strings.Trim(l, "0123456789") == "" {
			s.Problems = append(s.Problems, "l="+clipped(l)+" is more octets than any message has")
		} else {
			s.Problems = append(s.Problems, "l="+clipped(l)+" is not a number")
		}
	}
	s.Signed = unixTag(get("t"))
	s.Expires = unixTag(get("x"))
	return s
}

func unixTag(v string) time.Time {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// Signs reports whether the signature covers the named header field.
func (s Signature) Signs(name string) bool {
	for _, h := range s.Headers {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// SignCount is how often the h= list names the field: one more than
// the fields of that name present "over-signs" (RFC 6376 §8.15), so no
// second such field can be added without breaking the signature.
func (s Signature) SignCount(name string) int {
	n := 0
	for _, h := range s.Headers {
		if strings.EqualFold(h, name) {
			n++
		}
	}
	return n
}

// ARC is the message's Authenticated Received Chain as present (RFC
// 8617): the instances of its sets and the sealing domains, highest
// instance first. It is not validated.
type ARC struct {
	Instances []int
	Sealers   []string
	// Complete: every instance 1..N has a seal, a message signature
	// and authentication results.
	Complete bool
	// Validation is the cv= of the newest seal.
	Validation string
	// Duplicate: an instance has two seals (RFC 8617 §5.1.1: the chain fails).
	Duplicate bool
}

// ARCSets reads the ARC fields present. ok is false when there are none.
func (m *Message) ARCSets() (a ARC, ok bool) {
	type set struct{ seal, ams, aar bool }
	sets := map[int]*set{}
	at := func(v string) (int, taglist.List) {
		tags, _ := taglist.Parse(v, taglist.DKIM)
		i, err := strconv.Atoi(strings.TrimSpace(func() string { x, _ := tags.Get("i"); return x }()))
		if err != nil || i < 1 || i > 50 {
			return 0, tags
		}
		if sets[i] == nil {
			sets[i] = &set{}
		}
		return i, tags
	}
	newest := 0
	for _, f := range m.Fields {
		switch strings.ToLower(f.Name) {
		case "arc-seal":
			ok = true
			i, tags := at(f.Value)
			if i == 0 {
				continue
			}
			if sets[i].seal {
				a.Duplicate = true
				continue
			}
			sets[i].seal = true
			d, _ := tags.Get("d")
			a.Sealers = append(a.Sealers, strings.ToLower(strings.TrimSpace(d)))
			a.Instances = append(a.Instances, i)
			if i > newest {
				newest = i
				a.Validation, _ = tags.Get("cv")
			}
		case "arc-message-signature":
			ok = true
			if i, _ := at(f.Value); i > 0 {
				sets[i].ams = true
			}
		case "arc-authentication-results":
			ok = true
			// "i=1; mx.example; ..." is not a tag list past the first.
			first, _, _ := strings.Cut(f.Value, ";")
			if i, _ := at(first); i > 0 {
				sets[i].aar = true
			}
		}
	}
	a.Complete = newest > 0 && len(sets) == newest && !a.Duplicate
	for i := 1; i <= newest && a.Complete; i++ {
		s := sets[i]
		a.Complete = s != nil && s.seal && s.ams && s.aar
	}
	return a, ok
}
