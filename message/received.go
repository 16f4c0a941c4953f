package message

import (
	"net/netip"
	"strings"
)

// Received is what one Received field says (RFC 5321 §4.4): the HELO
// name the client gave (from), the address the receiver saw it connect
// from (the first [address] in the comment after from), the receiver
// (by), the protocol (with: ESMTPS and ESMTPSA mean TLS, RFC 3848), and
// the TLS version where the receiver wrote one (Postfix: "using
// TLSv1.3"; Gmail: "version=TLS1_3").
type Received struct {
	HELO string
	IP   netip.Addr
	By   string
	With string
	TLS  string // the TLS version as written, "" when not recorded
}

// Encrypted reports whether the hop says it used TLS.
func (r Received) Encrypted() bool {
	w := strings.ToUpper(r.With)
	return r.TLS != "" || strings.HasPrefix(w, "ESMTPS") || w == "UTF8SMTPS" || w == "UTF8SMTPSA" || w == "LMTPS"
}

// ParseReceived reads a Received field's value. Unknown clauses are
// skipped; a value it cannot read gives a zero Received.
func ParseReceived(v string) Received {
	var r Received
	if i := strings.LastIndexByte(v, ';'); i >= 0 {
		v = v[:i] // the date
	}
	toks := tokens(v)
	key, clause := "", "" // the keyword awaiting its word; the clause we are in
	for _, t := range toks {
		if t.comment {
			if clause == "from" && !r.IP.IsValid() {
				r.IP = bracketIP(t.text)
			}
			if r.TLS == "" {
				r.TLS = tlsVersion(t.text)
			}
			continue
		}
		w := strings.ToLower(t.text)
		switch w {
		case "from", "by", "via", "with", "id", "for":
			key, clause = w, w
			continue
		}
		switch key {
		case "from":
			if r.HELO == "" {
				r.HELO = t.text
			}
		case "by":
			if r.By == "" {
				r.By = t.text
			}
		case "with":
			if r.With == "" {
				r.With = t.text
			}
		}
		key = ""
	}
	if !r.IP.IsValid() {
		// "from [203.0.113.5]": the address literal as HELO, no comment.
		r.IP = bracketIP(r.HELO)
	}
	return r
}

type token struct {
	text    string
	comment bool
}

// tokens splits a Received value into words and (nested) comments.
func tokens(v string) []token {
	var out []token
	for i := 0; i < len(v); {
		switch c := v[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			depth, j := 0, i
			for ; j < len(v); j++ {
				if v[j] == '\\' {
					j++
					continue
				}
				if v[j] == '(' {
					depth++
				} else if v[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			end := min(j, len(v))
			out = append(out, token{v[i+1 : end], true})
			i = end + 1
		default:
			j := i
			for j < len(v) && !strings.ContainsRune(" \t\r\n(", rune(v[j])) {
				j++
			}
			out = append(out, token{v[i:j], false})
			i = j
		}
	}
	return out
}

// bracketIP returns the first [address] (or [IPv6:address]) in s.
func bracketIP(s string) netip.Addr {
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			return netip.Addr{}
		}
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return netip.Addr{}
		}
		lit := s[i+1 : i+j]
		if len(lit) > 5 && strings.EqualFold(lit[:5], "ipv6:") {
			lit = lit[5:]
		}
		if ip, err := netip.ParseAddr(lit); err == nil && ip.Zone() == "" {
			return ip.Unmap()
		}
		s = s[i+j:]
	}
}

// tlsVersion finds a TLS version in a comment: "using TLSv1.3 with
// cipher ...", "version=TLS1_3 cipher=...".
func tlsVersion(c string) string {
	for _, f := range strings.Fields(c) {
		f = strings.TrimPrefix(f, "version=")
		u := strings.ToUpper(f)
		if strings.HasPrefix(u, "TLS") && len(u) > 3 && (u[3] == 'V' || u[3] >= '0' && u[3] <= '9') {
			return strings.Trim(f, ",;")
		}
	}
	return ""
}

// Hop is one Received field, parsed, with its position from the top (0
// is the last hop, added by the final receiver).
type Hop struct {
	Received
	Index int
}

// Hops returns the Received fields, topmost (most recent) first.
func (m *Message) Hops() []Hop {
	var out []Hop
	for i, f := range m.Get("Received") {
		out = append(out, Hop{ParseReceived(f.Value), i})
	}
	return out
}

// Trusted returns the hop the receiver recorded the connecting client
// in: the topmost Received field that names a client address, added by
// a host named by (case-insensitive, also a subdomain of it) when by is
// given. Receivers' internal hops above it (Gmail's "by 2002:a05:...
// with SMTP id") name no client address and are passed over.
func (m *Message) Trusted(by string) (Hop, bool) {
	for _, h := range m.Hops() {
		if by != "" && !hostMatches(h.By, by) || !h.IP.IsValid() {
			continue
		}
		return h, true
	}
	return Hop{}, false
}

func hostMatches(host, want string) bool {
	host, want = strings.ToLower(strings.TrimSuffix(host, ".")), strings.ToLower(strings.TrimSuffix(want, "."))
	return host == want || strings.HasSuffix(host, "."+want)
}
