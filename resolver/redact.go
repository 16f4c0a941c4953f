package resolver

import (
	"errors"
	"strings"
)

// KeyShown is how a secret carried in query names is shown.
const KeyShown = "<key>"

// Redact returns s with every occurrence of each key, in any letter case,
// shown as "<key>". DNS names are case-insensitive and a server may
// answer in another case (RFC 4343), so an upper-cased key is the same
// secret. Keys are single labels of letters, digits and hyphens, which
// miekg/dns never escapes in a name's presentation form.
func Redact(s string, keys []string) string {
	for _, k := range keys {
		if k == "" {
			continue
		}
		lk := asciiLower(k)
		lower := asciiLower(s)
		i := strings.Index(lower, lk)
		if i < 0 {
			continue
		}
		var b strings.Builder
		for ; i >= 0; i = strings.Index(lower, lk) {
			b.WriteString(s[:i])
			b.WriteString(KeyShown)
			s, lower = s[i+len(k):], lower[i+len(k):]
		}
		b.WriteString(s)
		s = b.String()
	}
	return s
}

// asciiLower lower-cases ASCII letters only, so offsets in the result
// are offsets in s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// redact is Redact with the run's keys.
func (r *Resolver) redact(s string) string { return Redact(s, r.cfg.Keys) }

// hideKeys shows the run's keys as "<key>" in what a lookup hands out:
// the names of the answer and the name, reason and wrapped lookup errors
// of an error. The cache keeps the real names; nothing outside the
// resolver sees them.
func (r *Resolver) hideKeys(ans *Answer, err error) (*Answer, error) {
	if len(r.cfg.Keys) == 0 {
		return ans, err
	}
	if ans != nil {
		a := *ans
		a.Name, a.Canonical, a.Source = r.redact(a.Name), r.redact(a.Canonical), r.redact(a.Source)
		a.CNAMEs = make([]string, len(ans.CNAMEs))
		for i, c := range ans.CNAMEs {
			a.CNAMEs[i] = r.redact(c)
		}
		ans = &a
	}
	return ans, r.hideErr(err)
}

// hideErr redacts a *LookupError and the lookup errors it wraps (the
// end of an alias chain); other errors (the context's) hold no names.
func (r *Resolver) hideErr(err error) error {
	le, ok := err.(*LookupError)
	if !ok {
		return err
	}
	c := *le
	c.Name, c.Reason, c.Err = r.redact(c.Name), r.redact(c.Reason), r.hideErr(c.Err)
	return &c
}

// traceArgs shows the run's keys as "<key>" in trace arguments: names,
// and errors whose text holds names.
func (r *Resolver) traceArgs(args []any) []any {
	if len(r.cfg.Keys) == 0 {
		return args
	}
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = r.redact(v)
		case error:
			out[i] = errors.New(r.redact(v.Error()))
		default:
			out[i] = a
		}
	}
	return out
}
