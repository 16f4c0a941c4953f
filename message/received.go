package message

import (
	"cmp"
	"fmt"
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
	// From is set when the field has a from clause: the receiver
	// recorded a client (hops without one are a receiver's internal).
	From bool
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
	helo := ""            // the HELO name a comment names (qmail, Exim)
	for _, t := range toks {
		if t.comment {
			if clause == "from" {
				fromComment(&r, t.text, &helo)
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
			r.From = r.From || w == "from"
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
	if helo != "" {
		r.HELO = helo
	}
	return r
}

// fromComment reads a comment of the from clause: the client's address
// as Postfix and Sendmail write it ("(rdns [203.0.113.5])"), as
// Microsoft 365 and qmail write it (a bare "(203.0.113.5)"), and the
// HELO name where the first word is the client's reverse DNS name
// (qmail's "(HELO name)", Exim's "(helo=name)" and "([IP] port=N
// helo=name)").
func fromComment(r *Received, c string, helo *string) {
	words := strings.Fields(c)
	for i, w := range words {
		switch lw := strings.ToLower(w); {
		case lw == "helo" && i+1 < len(words) && *helo == "":
			*helo = strings.Trim(words[i+1], "\"'")
		case strings.HasPrefix(lw, "helo=") && *helo == "":
			*helo = strings.Trim(w[5:], "\"'")
		}
	}
	if r.IP.IsValid() {
		return
	}
	if ip := bracketIP(c); ip.IsValid() {
		r.IP = ip
		return
	}
	if len(words) == 1 {
		if ip, err := netip.ParseAddr(strings.TrimPrefix(strings.TrimPrefix(words[0], "IPv6:"), "ipv6:")); err == nil && ip.Zone() == "" {
			r.IP = ip.Unmap()
		}
	}
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
// is the last hop, added by the final receiver) and in the header.
type Hop struct {
	Received
	Index int // among the Received fields
	Pos   int // among all header fields
}

// Hops returns the Received fields, topmost (most recent) first.
func (m *Message) Hops() []Hop {
	var out []Hop
	for pos, f := range m.Fields {
		if strings.EqualFold(f.Name, "Received") {
			out = append(out, Hop{ParseReceived(f.Value), len(out), pos})
		}
	}
	return out
}

// Entry is where the message entered the receiver's systems: the hop
// whose client address SPF is evaluated for, and the receiver's
// internal hops above it that were passed over.
type Entry struct {
	Hop
	// Internal are the hops above it from the receiver's own systems
	// (content filters, LMTP, Exchange Online's mailbox servers),
	// topmost first.
	Internal []Hop
	// Unverified is set when the entry hop's client is itself a
	// loopback or private address with no hop below it: a message
	// submitted or re-injected locally.
	Unverified bool
}

// Trusted returns the hop where the message entered the receiver: the
// topmost Received field with a from clause (the topmost added by a
// host named by, case-insensitive, also a subdomain of it, when by is
// given); receivers' internal hops that record no client (Gmail's "by
// 2002:a05:... with SMTP id") are passed over. From there it goes down
// past the receiver's internal re-injection hops: a client at a
// loopback or private address (amavis, LMTP from the MX), and Exchange
// Online's mailbox servers (by *.prod.outlook.com,
// *.prod.exchangelabs.com), which external mail reaches only through
// *.mail.protection.outlook.com.
//
// It never falls through to a lower hop otherwise: when the hop it
// stops at names no client address it can read, there is no trusted
// hop (why says which), since every field below it may be the sender's
// own invention.
func (m *Message) Trusted(by string) (e Entry, why string) {
	hops := m.Hops()
	start := -1
	for i, h := range hops {
		if by != "" && hostMatches(h.By, by) || by == "" && h.From {
			start = i
			break
		}
	}
	switch {
	case start < 0 && by != "":
		return e, "no Received field was added by " + by
	case start < 0:
		return e, "no Received field names the connecting client"
	}
	for i := start; i < len(hops); i++ {
		h := hops[i]
		if !h.IP.IsValid() {
			return Entry{}, fmt.Sprintf("the Received field %d (by %s) names no client address preflight can read, and the fields below it are not trusted", h.Index+1, cmp.Or(h.By, "?"))
		}
		if internalHop(h) {
			if i+1 < len(hops) {
				e.Internal = append(e.Internal, h)
				continue
			}
			e.Unverified = true
		}
		e.Hop = h
		return e, ""
	}
	return Entry{}, "no Received field names the connecting client"
}

// internalHop reports whether a hop is a receiver's own relay: its
// client is a loopback, private or link-local address, or it is
// Exchange Online passing mail between its mailbox servers.
func internalHop(h Hop) bool {
	ip := h.IP
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
		return true
	}
	by := strings.ToLower(strings.TrimSuffix(h.By, "."))
	return strings.HasSuffix(by, ".prod.outlook.com") || strings.HasSuffix(by, ".prod.exchangelabs.com")
}

func hostMatches(host, want string) bool {
	host, want = strings.ToLower(strings.TrimSuffix(host, ".")), strings.ToLower(strings.TrimSuffix(want, "."))
	return host == want || strings.HasSuffix(host, "."+want)
}
