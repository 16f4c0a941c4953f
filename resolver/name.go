package resolver

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/miekg/dns"
	"golang.org/x/net/idna"
)

// Limits on names, RFC 1035 §2.3.4.
const (
	maxLabelLen = 63
	maxNameLen  = 253 // presentation form without the trailing dot
)

// idnaProfile converts user input to its ASCII form. Lookup is the
// profile for names typed by people (UTS #46, non-transitional), but
// without its strict STD3 check: DNS names for mail may carry
// underscores (_dmarc, selector._domainkey) and we validate LDH
// ourselves below.
var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.BidiRule(),
	idna.StrictDomainName(false), idna.CheckHyphens(false))

// NormalizeDomain turns a domain given by a user into the one form the
// rest of the program uses: ASCII (IDNA), lower case, no trailing dot.
// It returns an error naming the problem for anything that is not a
// plausible host or domain name, including IP addresses.
func NormalizeDomain(s string) (string, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return "", errors.New("empty domain name")
	}
	if _, err := netip.ParseAddr(strings.TrimSuffix(strings.Trim(in, "[]"), ".")); err == nil {
		return "", fmt.Errorf("%q is an IP address, not a domain name", s)
	}
	if !utf8.ValidString(in) {
		return "", fmt.Errorf("%q is not valid UTF-8", s)
	}
	name := strings.TrimSuffix(in, ".")
	ascii, err := idnaProfile.ToASCII(name)
	if err == nil {
		// A-labels must decode back (found by fuzzing: U+FFFD came out
		// as an xn-- label that is not a valid name).
		_, err = idnaProfile.ToUnicode(ascii)
		if err == nil {
			_, err = idnaProfile.ToASCII(ascii)
		}
	}
	if err != nil {
		return "", fmt.Errorf("%q is not a valid domain name: %v", s, err)
	}
	ascii = strings.ToLower(ascii)
	if len(ascii) > maxNameLen {
		return "", fmt.Errorf("%q is not a valid domain name: longer than %d characters", s, maxNameLen)
	}
	labels := strings.Split(ascii, ".")
	for _, label := range labels {
		if err := checkLabel(label); err != nil {
			return "", fmt.Errorf("%q is not a valid domain name: %v", s, err)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		// No top-level domain is all digits (RFC 3696 §2); "203.0.113" is
		// a mistyped address, not a name.
		return "", fmt.Errorf("%q is not a valid domain name: the top-level label is all digits", s)
	}
	return ascii, nil
}

func checkLabel(label string) error {
	switch {
	case label == "":
		return errors.New("empty label")
	case len(label) > maxLabelLen:
		return fmt.Errorf("label %q is longer than %d characters", label, maxLabelLen)
	case label[0] == '-' || label[len(label)-1] == '-':
		return fmt.Errorf("label %q starts or ends with a hyphen", label)
	}
	for _, c := range label {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return fmt.Errorf("label %q has the character %q", label, c)
		}
	}
	return nil
}

// ParseIP parses a sending IP given by a user. Zones (fe80::1%eth0) are
// refused; the address is returned as given (an IPv4-mapped IPv6
// address stays IPv6, so checks can say what it is).
func ParseIP(s string) (netip.Addr, error) {
	in := strings.TrimSpace(s)
	ip, err := netip.ParseAddr(strings.Trim(in, "[]"))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	if ip.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q has a zone; give the address without %%%s", s, ip.Zone())
	}
	return ip, nil
}

// ReverseName is the PTR query name for ip, without trailing dot:
// d.c.b.a.in-addr.arpa for IPv4 (RFC 1035 §3.5) and 32 nibbles under
// ip6.arpa for IPv6 (RFC 3596 §2.5). IPv4-mapped IPv6 addresses keep
// their 32 nibbles; they are not collapsed to the IPv4 name.
func ReverseName(ip netip.Addr) string {
	if ip.Is4() {
		return ReverseLabels(ip) + ".in-addr.arpa"
	}
	return ReverseLabels(ip) + ".ip6.arpa"
}

// ReverseLabels is ip's part of a reverse name, without a suffix:
// reversed octets for IPv4, 32 reversed nibbles for IPv6 (IPv4-mapped
// addresses keep their nibbles). DNS blocklists put their zone after it
// (RFC 5782 §2.1, §2.4).
func ReverseLabels(ip netip.Addr) string {
	if ip.Is4() {
		a := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d", a[3], a[2], a[1], a[0])
	}
	const hexdigits = "0123456789abcdef"
	a := ip.As16()
	b := make([]byte, 0, 63)
	for i := len(a) - 1; i >= 0; i-- {
		b = append(b, hexdigits[a[i]&0x0f], '.', hexdigits[a[i]>>4], '.')
	}
	return string(b[:len(b)-1])
}

// fqdn returns name lower-cased with exactly one trailing dot, its
// escapes in miekg/dns's canonical form (what a name read off the wire
// looks like), so names compare equal however they were written.
func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	if strings.Contains(name, "\\") {
		if c, ok := canonicalEscapes(name); ok {
			return c
		}
	}
	return name
}

// validName reports whether DNS can carry fqdn name (no empty label,
// labels up to 63 octets, the name up to 255 on the wire). Names
// without escapes are measured as they are; others go through the wire
// format.
func validName(name string) bool {
	if strings.Contains(name, "\\") || name == "." {
		_, ok := canonicalEscapes(name)
		return ok
	}
	// On the wire: a length octet per label, the labels, the root's 0.
	if len(name)+1 > 255 {
		return false
	}
	label := 0
	for i := range len(name) {
		if name[i] != '.' {
			label++
			continue
		}
		if label == 0 || label > 63 {
			return false
		}
		label = 0
	}
	return true
}

// canonicalEscapes rewrites a name through the wire format.
func canonicalEscapes(name string) (string, bool) {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(name, buf, 0, nil, false)
	if err != nil {
		return "", false
	}
	out, _, err := dns.UnpackDomainName(buf[:n], 0)
	return strings.ToLower(out), err == nil
}

// bare returns name without its trailing dot.
func bare(name string) string {
	if name == "." {
		return name
	}
	return strings.TrimSuffix(name, ".")
}
