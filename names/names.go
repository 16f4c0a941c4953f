// Package names holds the typed, normalised forms of what a user names:
// hosts (a HELO name or an address literal), mail addresses with ASCII
// domains, and DKIM selectors. Input is parsed once at the edge (flags,
// config, targets file) and the types are passed inward, so checks never
// re-parse a string to find out what kind of value it is (STYLE 19, 24).
package names

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/preflight-mail/preflight/resolver"
)

// Host is what a server says in HELO/EHLO: a domain name, or an address
// literal (RFC 5321 §4.1.3). The zero Host is "not given".
type Host struct {
	// Name is the ASCII, lower-case name without trailing dot; empty for
	// an address literal.
	Name string
	// IP is the address of a literal; invalid for a name.
	IP netip.Addr
}

// ParseHost reads a HELO name or an address literal. A literal is
// written as RFC 5321 §4.1.3 has it, "[203.0.113.5]" or
// "[IPv6:2001:db8::1]" (the tag in any case), or as a bare address for
// convenience; zones ("%eth0") are refused, as is anything else in the
// brackets.
func ParseHost(s string) (Host, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Host{}, nil
	}
	if strings.ContainsAny(s, "[]") {
		return parseLiteral(s)
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		if ip.Zone() != "" {
			return Host{}, fmt.Errorf("%s: an address with a zone (%%%s) is no address literal", Quote(s), ip.Zone())
		}
		return Host{IP: ip.Unmap()}, nil
	}
	name, err := resolver.NormalizeDomain(s)
	if err != nil {
		return Host{}, err
	}
	return Host{Name: name}, nil
}

// parseLiteral reads "[IPv4]" or "[IPv6:IPv6]".
func parseLiteral(s string) (Host, error) {
	inner, ok := strings.CutPrefix(s, "[")
	if ok {
		inner, ok = strings.CutSuffix(inner, "]")
	}
	if !ok || strings.ContainsAny(inner, "[]") {
		return Host{}, fmt.Errorf("%s is not an address literal such as [203.0.113.5] or [IPv6:2001:db8::1]", Quote(s))
	}
	v6 := len(inner) >= 5 && strings.EqualFold(inner[:5], "IPv6:")
	if v6 {
		inner = inner[5:]
	}
	ip, err := netip.ParseAddr(inner)
	switch {
	case err != nil || ip.Zone() != "":
		return Host{}, fmt.Errorf("%s is not an address literal such as [203.0.113.5] or [IPv6:2001:db8::1]", Quote(s))
	case v6 && !ip.Is6():
		return Host{}, fmt.Errorf("%s: an IPv4 address is written without the IPv6: tag, [%s]", Quote(s), ip)
	case !v6 && ip.Is6():
		return Host{}, fmt.Errorf("%s: an IPv6 literal needs its tag, [IPv6:%s] (RFC 5321 §4.1.3)", Quote(s), ip)
	}
	return Host{IP: ip.Unmap()}, nil
}

// MustHost is ParseHost for literals in tests and tables; it panics on
// a bad host.
func MustHost(s string) Host {
	h, err := ParseHost(s)
	if err != nil {
		panic(err)
	}
	return h
}

// IsZero reports whether no host was given.
func (h Host) IsZero() bool { return h.Name == "" && !h.IP.IsValid() }

// IsLiteral reports whether the host is an address literal.
func (h Host) IsLiteral() bool { return h.IP.IsValid() }

// Qualified reports whether the host is a name with at least two labels:
// one a receiver can look up.
func (h Host) Qualified() bool { return h.Name != "" && strings.Contains(h.Name, ".") }

// String is the name, or the literal as EHLO says it (RFC 5321
// §4.1.3): what reports show is what goes on the wire.
func (h Host) String() string { return h.EHLO() }

// EHLO is the argument of EHLO: the name, or the bracketed literal
// (RFC 5321 §4.1.3).
func (h Host) EHLO() string {
	switch {
	case !h.IsLiteral():
		return h.Name
	case h.IP.Is6():
		return "[IPv6:" + h.IP.String() + "]"
	}
	return "[" + h.IP.String() + "]"
}

// Quote is %q of a value for an error message, cut to 64 characters: an
// error names the bad input without repeating a 100 KB argument.
func Quote(s string) string {
	const max = 64
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d octets)", s[:cut], len(s))
}

// Address is a mail address with its domain in ASCII (A-labels). The
// local part is kept as given: it may be UTF-8, which needs SMTPUTF8
// (RFC 6531) on the wire. An Address with an empty Local stands for a
// domain alone (an envelope sender given as DOMAIN).
type Address struct {
	Local  string
	Domain string
}

// Limits of RFC 5321 §4.5.3.1.
const (
	maxLocalPart = 64
	maxPath      = 254
)

// ParseAddress reads local@domain. The domain may be Unicode; it is
// stored as A-labels.
func ParseAddress(s string) (Address, error) {
	local, domain, ok := cutLast(s)
	if !ok || local == "" {
		return Address{}, errors.New("want an address like postmaster@example.com")
	}
	if err := checkLocal(local); err != nil {
		return Address{}, err
	}
	d, err := mailDomain(domain)
	if err != nil {
		return Address{}, err
	}
	a := Address{Local: local, Domain: d}
	if len(a.String()) > maxPath {
		return Address{}, fmt.Errorf("longer than %d octets (RFC 5321 §4.5.3.1.3)", maxPath)
	}
	return a, nil
}

// ParseSender reads an envelope sender given as ADDR or DOMAIN. The
// empty string is the zero Address.
func ParseSender(s string) (Address, error) {
	if s == "" {
		return Address{}, nil
	}
	if !strings.Contains(s, "@") {
		d, err := mailDomain(s)
		if err != nil {
			return Address{}, err
		}
		return Address{Domain: d}, nil
	}
	return ParseAddress(s)
}

// mailDomain normalises the domain of an address: a host name, so no
// underscores (those belong to names like _dmarc, never to a mailbox).
func mailDomain(s string) (string, error) {
	d, err := resolver.NormalizeDomain(s)
	if err == nil && strings.Contains(d, "_") {
		err = fmt.Errorf("%s is not a mail domain: '_' is not allowed in a host name", Quote(s))
	}
	return d, err
}

// MustAddress is ParseAddress for literals in tests; it panics on a bad
// address.
func MustAddress(s string) Address {
	a, err := ParseSender(s)
	if err != nil {
		panic(err)
	}
	return a
}

func cutLast(s string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// checkLocal refuses what can never be a local part on the wire: control
// characters (CR and LF would inject SMTP commands), spaces and angle
// brackets outside a quoted string, invalid UTF-8, and overlong parts.
func checkLocal(l string) error {
	switch {
	case !utf8.ValidString(l):
		return errors.New("the local part is not valid UTF-8")
	case len(l) > maxLocalPart:
		return fmt.Errorf("the local part is longer than %d octets (RFC 5321 §4.5.3.1.1)", maxLocalPart)
	}
	for _, r := range l {
		switch {
		case r < 0x20 || r == 0x7f:
			return errors.New("the local part contains a control character (CR, LF, NUL or another)")
		case r == '<' || r == '>':
			// Legal inside quotes, but a path is written in angle
			// brackets: refusing them keeps every command balanced.
			return fmt.Errorf("the local part contains %q", r)
		}
	}
	if len(l) >= 2 && l[0] == '"' && l[len(l)-1] == '"' {
		return checkQuoted(l[1 : len(l)-1])
	}
	// Dot-string (RFC 5321 §4.1.2, UTF-8 allowed by RFC 6531 §3.3):
	// atoms of atext joined by single dots.
	for _, atom := range strings.Split(l, ".") {
		if atom == "" {
			return errors.New("the local part has an empty part between dots, or a dot at its start or end (quote it, RFC 5321 §4.1.2)")
		}
		for _, r := range atom {
			if r < 0x80 && !isAtext(byte(r)) {
				return fmt.Errorf("the local part contains %q (quote it, RFC 5321 §4.1.2)", r)
			}
		}
	}
	return nil
}

// checkQuoted checks the inside of a quoted local part: qtext and
// quoted pairs (RFC 5321 §4.1.2).
func checkQuoted(q string) error {
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '\\':
			i++
			if i == len(q) {
				return errors.New("the quoted local part ends in a lone backslash")
			}
		case '"':
			return errors.New("the quoted local part has an unescaped '\"' inside")
		}
	}
	return nil
}

// isAtext is RFC 5322 §3.2.3's atext for ASCII.
func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// IsZero reports whether no address was given.
func (a Address) IsZero() bool { return a.Domain == "" }

// IsDomain reports whether the address is a domain alone.
func (a Address) IsDomain() bool { return a.Local == "" && a.Domain != "" }

// Sender is the address as an envelope sender: postmaster@DOMAIN for a
// domain alone (RFC 7208 §4.3 does the same for an empty local part).
func (a Address) Sender() Address {
	if a.IsDomain() {
		return Address{Local: "postmaster", Domain: a.Domain}
	}
	return a
}

// NeedsSMTPUTF8 reports whether the local part is not ASCII: such an
// address can only be sent to a server offering SMTPUTF8 (RFC 6531).
func (a Address) NeedsSMTPUTF8() bool {
	for i := 0; i < len(a.Local); i++ {
		if a.Local[i] >= 0x80 {
			return true
		}
	}
	return false
}

// String is local@domain, or the domain alone.
func (a Address) String() string {
	if a.Local == "" {
		return a.Domain
	}
	return a.Local + "@" + a.Domain
}

// Selector is a DKIM selector (RFC 6376 §3.1): dot-separated labels of
// letters, digits, hyphens and underscores, lower case. Unlike a host
// name's last label, a selector's labels may be all digits (Google uses
// dates: 20230601).
type Selector string

// ParseSelector reads and normalises a selector.
func ParseSelector(s string) (Selector, error) {
	in := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if in == "" {
		return "", fmt.Errorf("empty selector %s", Quote(s))
	}
	if len(in) > 200 {
		return "", fmt.Errorf("selector %s is too long for a DNS name", Quote(s))
	}
	for _, label := range strings.Split(in, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("selector %s: labels must be 1 to 63 characters", Quote(s))
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return "", fmt.Errorf("selector %s: %q is not allowed (letters, digits, '-', '_' and '.')", Quote(s), r)
			}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("selector %s: a label may not start or end with '-'", Quote(s))
		}
	}
	return Selector(in), nil
}

// Strings returns selectors as strings.
func Strings(sels []Selector) []string {
	out := make([]string, len(sels))
	for i, s := range sels {
		out[i] = string(s)
	}
	return out
}

// MarshalText writes the address as String does (reports, evidence).
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// MarshalText writes the host as String does.
func (h Host) MarshalText() ([]byte, error) { return []byte(h.String()), nil }
