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
	// raw is the literal as given ("[203.0.113.5]" or "203.0.113.5").
	raw string
}

// ParseHost reads a HELO name or an address literal, with or without
// brackets (and the "IPv6:" tag of RFC 5321 §4.1.3).
func ParseHost(s string) (Host, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Host{}, nil
	}
	lit := strings.TrimPrefix(strings.Trim(s, "[]"), "IPv6:")
	if ip, err := netip.ParseAddr(lit); err == nil {
		return Host{IP: ip.Unmap(), raw: s}, nil
	}
	name, err := resolver.NormalizeDomain(s)
	if err != nil {
		return Host{}, err
	}
	return Host{Name: name}, nil
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

// String is the name, or the literal as given.
func (h Host) String() string {
	if h.IsLiteral() {
		return h.raw
	}
	return h.Name
}

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
	d, err := resolver.NormalizeDomain(domain)
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
		d, err := resolver.NormalizeDomain(s)
		if err != nil {
			return Address{}, err
		}
		return Address{Domain: d}, nil
	}
	return ParseAddress(s)
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
	quoted := len(l) >= 2 && l[0] == '"' && l[len(l)-1] == '"'
	for _, r := range l {
		switch {
		case r < 0x20 || r == 0x7f:
			return errors.New("the local part contains a control character")
		case !quoted && strings.ContainsRune(" <>()[],;:@\\\"", r):
			return fmt.Errorf("the local part contains %q (quote it, RFC 5321 §4.1.2)", r)
		}
	}
	return nil
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
		return "", errors.New("empty selector")
	}
	if len(in) > 200 {
		return "", fmt.Errorf("selector %q is too long for a DNS name", s)
	}
	for _, label := range strings.Split(in, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("selector %q: labels must be 1 to 63 characters", s)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("selector %q: %q is not allowed (letters, digits, '-', '_' and '.')", s, c)
			}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("selector %q: a label may not start or end with '-'", s)
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
