package checks

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/net/publicsuffix"
)

// Heuristics for PTR names that ISPs give to dynamic and residential
// addresses. Sources: SpamAssassin rules/20_dynrdns.cf (RDNS_DYNAMIC),
// rspamd's hfilter plugin, draft-msullivan-dnsop-generic-naming-schemes-00
// and Haraka's IP-in-hostname check. Only labels left of the
// organizational domain count: "dsl.example.net" says something about
// the host, "dslreports.com" nothing.
var (
	// dynamicTokens appear in generic names of end-user address pools.
	dynamicTokens = map[string]bool{
		"dyn": true, "dynamic": true, "dhcp": true, "dsl": true, "adsl": true,
		"vdsl": true, "xdsl": true, "cable": true, "catv": true, "docsis": true,
		"cpe": true, "ppp": true, "pppoe": true, "dial": true, "dialup": true,
		"dialin": true, "modem": true, "pool": true, "broadband": true,
		"client": true, "clients": true, "customer": true, "cust": true,
		"res": true, "resnet": true, "residential": true, "wireless": true,
		"gprs": true, "nat": true, "dip": true, "user": true, "users": true,
	}
	// staticTokens mark names that look generic but that operators use
	// for fixed or mail hosts (mail-we0-f182.google.com,
	// o1.outbound-mail.sendgrid.net, static-203-0-113-5.example.net).
	staticTokens = map[string]bool{
		"static": true, "fix": true, "fixed": true, "fixip": true,
		"dedicated": true, "mail": true, "smtp": true, "mx": true,
		"outbound": true,
	}
	hexWord = regexp.MustCompile(`0x[0-9a-f]{8}`)
)

// dynamicVerdict is what the heuristics concluded for one PTR name.
type dynamicVerdict struct {
	Reasons []string // why it looks dynamic; empty when it does not
	Exempt  string   // the token that exempts a generic-looking name
}

// judgePTR applies the heuristics to one PTR name of ip.
func judgePTR(name string, ip netip.Addr) dynamicVerdict {
	host := hostPart(name)
	if host == "" {
		return dynamicVerdict{}
	}
	var v dynamicVerdict
	words := splitWords(host)
	for _, w := range words {
		for _, tok := range splitAlnum(w) {
			if dynamicTokens[tok] && !slices.Contains(v.Reasons, fmt.Sprintf("token %q", tok)) {
				v.Reasons = append(v.Reasons, fmt.Sprintf("token %q", tok))
			}
			if staticTokens[tok] && v.Exempt == "" {
				v.Exempt = tok
			}
		}
	}
	if r := ipInName(words, host, ip); r != "" {
		v.Reasons = append(v.Reasons, r)
	} else if n := countNumberGroups(words); n >= 4 {
		v.Reasons = append(v.Reasons, fmt.Sprintf("%d number groups", n))
	}
	if m := hexWord.FindString(host); m != "" {
		v.Reasons = append(v.Reasons, fmt.Sprintf("hex word %q", m))
	}
	if v.Exempt != "" {
		if len(v.Reasons) == 0 {
			v.Exempt = "" // nothing to be exempt from
		}
		v.Reasons = nil
	}
	return v
}

// hostPart returns the labels of name left of its organizational domain
// (the registrable domain, from the Public Suffix List), joined by dots.
func hostPart(name string) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	org, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		// A public suffix itself, or a name with one label: judge all
		// but the last label.
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			return ""
		}
		return name[:i]
	}
	return strings.TrimSuffix(strings.TrimSuffix(name, org), ".")
}

// splitWords splits on the separators of host names: dots, hyphens,
// underscores.
func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' || r == '_' })
}

// splitAlnum splits a word where letters and digits meet: "dhcp4" →
// "dhcp", "4"; "pool123abc" → "pool", "123", "abc".
func splitAlnum(w string) []string {
	var out []string
	start := 0
	for i := 1; i <= len(w); i++ {
		if i == len(w) || unicode.IsDigit(rune(w[i])) != unicode.IsDigit(rune(w[i-1])) {
			out = append(out, w[start:i])
			start = i
		}
	}
	return out
}

// countNumberGroups counts all-digit runs in the words.
func countNumberGroups(words []string) int {
	n := 0
	for _, w := range words {
		for _, tok := range splitAlnum(w) {
			if tok[0] >= '0' && tok[0] <= '9' {
				n++
			}
		}
	}
	return n
}

// ipInName reports the form in which ip appears in the name: its octets
// in order or reversed (c-67-168-174-61, 61.174.168.67.dsl), its 8 hex
// digits (p5B0E0C61.dip0.t-ipconnect.de), or for IPv6 four or more of
// its 16-bit groups in a row.
func ipInName(words []string, host string, ip netip.Addr) string {
	if ip.Is4() || ip.Is4In6() {
		a := ip.Unmap().As4()
		var nums []int
		for _, w := range words {
			for _, tok := range splitAlnum(w) {
				if n, err := strconv.Atoi(tok); err == nil && len(tok) <= 3 {
					nums = append(nums, n)
				} else {
					nums = append(nums, -1)
				}
			}
		}
		fwd := []int{int(a[0]), int(a[1]), int(a[2]), int(a[3])}
		rev := []int{int(a[3]), int(a[2]), int(a[1]), int(a[0])}
		if hasRun(nums, fwd) || hasRun(nums, rev) {
			return "the IP's octets"
		}
		hex := fmt.Sprintf("%02x%02x%02x%02x", a[0], a[1], a[2], a[3])
		if strings.Contains(strings.ReplaceAll(host, ".", ""), hex) {
			return "the IP in hex (" + hex + ")"
		}
		return ""
	}
	b := ip.As16()
	var groups, tokens []int
	for i := 0; i < 16; i += 2 {
		groups = append(groups, int(b[i])<<8|int(b[i+1]))
	}
	for _, w := range words {
		if n, err := strconv.ParseUint(w, 16, 16); err == nil && len(w) <= 4 {
			tokens = append(tokens, int(n))
		} else {
			tokens = append(tokens, -1)
		}
	}
	for i := 0; i+4 <= len(groups); i++ {
		// Groups of zeros say nothing; require some substance.
		if groups[i] == 0 && groups[i+1] == 0 {
			continue
		}
		if hasRun(tokens, groups[i:i+4]) {
			return "the IPv6 address's groups"
		}
	}
	return ""
}

// hasRun reports whether want occurs as a contiguous run in have.
func hasRun(have, want []int) bool {
outer:
	for i := 0; i+len(want) <= len(have); i++ {
		for j := range want {
			if have[i+j] != want[j] {
				continue outer
			}
		}
		return true
	}
	return false
}
