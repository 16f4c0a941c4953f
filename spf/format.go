package spf

import (
	"net/netip"
	"strings"
)

// The other direction of Parse: records built from terms, for fixes
// that change a record term by term (parse, modify, format) instead of
// editing its text.

// Format writes terms as a record: "v=spf1" and each term as written,
// one space apart. Parse(Format(r.Terms)) has r's terms; the terms a
// record's parser refused are not among them.
func Format(terms []Term) string {
	var b strings.Builder
	b.WriteString(Version)
	for _, t := range terms {
		b.WriteByte(' ')
		b.WriteString(t.Raw)
	}
	return b.String()
}

// NewTerm parses one term as a record would hold it: a directive with
// its qualifier, or a modifier.
func NewTerm(raw string) (Term, error) { return parseTerm(raw) }

// IPTerm is the directive that allows one address: ip4:ADDR or ip6:ADDR
// (an IPv4-mapped IPv6 address is written as IPv4, which is how
// receivers see it).
func IPTerm(ip netip.Addr) Term {
	ip = ip.Unmap()
	raw := "ip6:" + ip.String()
	if ip.Is4() {
		raw = "ip4:" + ip.String()
	}
	t, err := parseTerm(raw)
	if err != nil {
		panic("spf: IPTerm: " + err.Error()) // an address always parses
	}
	return t
}

// Same reports whether two terms say the same thing: equal but for the
// case of letters and an explicit "+".
func (t Term) Same(u Term) bool {
	return t.Qualifier == u.Qualifier && strings.EqualFold(strings.TrimPrefix(t.Raw, "+"), strings.TrimPrefix(u.Raw, "+"))
}

// Allows reports whether the term is a "+" ip4 or ip6 directive whose
// range holds ip.
func (t Term) Allows(ip netip.Addr) bool {
	return t.Qualifier == '+' && (t.Mechanism == "ip4" || t.Mechanism == "ip6") && t.Net.Contains(ip.Unmap())
}

// WithQualifier returns the directive with another qualifier.
func (t Term) WithQualifier(q byte) Term {
	t.Raw = string(q) + strings.TrimLeft(t.Raw, "+-~?")
	t.Qualifier = q
	return t
}
