package message

import (
	"net/url"
	"strings"
)

// Unsubscribe is what List-Unsubscribe (RFC 2369) and
// List-Unsubscribe-Post (RFC 8058) say.
type Unsubscribe struct {
	HTTPS  []string // https URIs
	Mailto []string // mailto URIs
	Other  []string // http and anything else: receivers ignore them for one-click
	// OneClick: List-Unsubscribe-Post is exactly
	// "List-Unsubscribe=One-Click" (RFC 8058 §3.1).
	OneClick bool
	// Post is the List-Unsubscribe-Post value as written, "" when absent.
	Post string
	// Fields counts the List-Unsubscribe fields (RFC 8058 §3.1: one).
	Fields, PostFields int
}

// ListUnsubscribe reads the message's List-Unsubscribe fields; ok is
// false when there are none and no List-Unsubscribe-Post either.
func (m *Message) ListUnsubscribe() (u Unsubscribe, ok bool) {
	lu, lp := m.Get("List-Unsubscribe"), m.Get("List-Unsubscribe-Post")
	u.Fields, u.PostFields = len(lu), len(lp)
	if len(lu) == 0 && len(lp) == 0 {
		return u, false
	}
	for _, f := range lu {
		for _, uri := range angleURIs(f.Value) {
			p, err := url.Parse(uri)
			switch {
			case err != nil:
				u.Other = append(u.Other, uri)
			case strings.EqualFold(p.Scheme, "https") && p.Host != "":
				u.HTTPS = append(u.HTTPS, uri)
			case strings.EqualFold(p.Scheme, "mailto") && strings.Contains(p.Opaque, "@"):
				u.Mailto = append(u.Mailto, uri)
			default:
				u.Other = append(u.Other, uri)
			}
		}
	}
	if len(lp) > 0 {
		u.Post = lp[0].Value
		u.OneClick = len(lp) == 1 && strings.TrimSpace(lp[0].Value) == "List-Unsubscribe=One-Click"
	}
	return u, true
}

// angleURIs returns the <URI>s of an RFC 2369 list (at most 20).
func angleURIs(v string) []string {
	var out []string
	for len(out) < 20 {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		out = append(out, strings.Join(strings.Fields(v[i+1:i+j]), ""))
		v = v[i+j+1:]
	}
	return out
}
