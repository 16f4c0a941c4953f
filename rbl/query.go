package rbl

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
	"golang.org/x/net/publicsuffix"

	"github.com/preflight-mail/preflight/resolver"
)

// QueryName is the name to look up for a target on a list (RFC 5782 §2):
// reversed octets for IPv4, 32 reversed nibbles for IPv6 (never the
// IPv4 form of an IPv4-mapped address), the name itself for domains. A
// name DNS cannot carry (over 255 octets on the wire, RFC 1035 §2.3.4,
// or an empty or overlong label) is an error: nothing can be asked, and
// the resolver would call it nonexistent, which reads as "not listed".
// The error names the target, never the zone (which may hold a key).
func QueryName(target, zone string) (string, error) {
	var name string
	if ip, err := netip.ParseAddr(target); err == nil {
		name = resolver.ReverseLabels(ip) + "." + zone
	} else {
		t := strings.ToLower(strings.TrimSuffix(target, "."))
		if t == "" {
			return "", fmt.Errorf("empty target")
		}
		name = t + "." + zone
	}
	if !fits(name) {
		return "", fmt.Errorf("%s cannot be asked about: with the list's zone the query name is not a valid DNS name (over 255 octets, or a label over 63)", target)
	}
	return name, nil
}

// maxNameOctets is the longest name on the wire (RFC 1035 §2.3.4), its
// length octets and the root's included.
const maxNameOctets = 255

// fits reports whether DNS can carry name: labels of 1 to 63 octets,
// at most maxNameOctets in all. (miekg/dns packs longer names into a
// large enough buffer, so the length is checked here.)
func fits(name string) bool {
	buf := make([]byte, 2*maxNameOctets)
	n, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	return err == nil && n <= maxNameOctets
}

// Subject is the name to ask l about target: target itself, or for a
// domain list whose policy is RegisteredDomain, target's registered
// domain (by the Public Suffix List, ICANN and private sections, as
// rspamd and SpamAssassin read URIBL and SURBL). ok is false when target
// has no registered domain (it is a public suffix, such as co.uk): such
// a list cannot list it.
func (l List) Subject(target string) (name string, ok bool) {
	if l.Kind != Domain || l.DomainPolicy != RegisteredDomain {
		return target, true
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(strings.ToLower(strings.TrimSuffix(target, ".")))
	if err != nil {
		return "", false
	}
	return reg, true
}

// TestPoints are a list's RFC 5782 §5 test points: one that must be
// listed, one that must not.
type TestPoints struct {
	Listed, NotListed string
}

// testPoints for a list and target family ("v4", "v6", "domain").
func testPoints(family string) TestPoints {
	switch family {
	case "v6":
		return TestPoints{"::ffff:7f00:2", "::ffff:7f00:1"}
	case "domain":
		return TestPoints{"test", "invalid"}
	}
	return TestPoints{"127.0.0.2", "127.0.0.1"}
}

// family of a target.
func family(target string) string {
	if ip, err := netip.ParseAddr(target); err == nil {
		if ip.Is4() {
			return "v4"
		}
		return "v6"
	}
	return "domain"
}

// PublicResolvers are well-known public recursive resolvers. Most
// blocklists refuse them (Spamhaus answers 127.255.255.254, URIBL
// 127.0.0.1) or rate-limit them into uselessness.
var PublicResolvers = []string{
	"8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844", // Google
	"1.1.1.1", "1.0.0.1", "2606:4700:4700::1111", "2606:4700:4700::1001", // Cloudflare
	"9.9.9.9", "149.112.112.112", "2620:fe::fe", "2620:fe::9", // Quad9
	"208.67.222.222", "208.67.220.220", "2620:119:35::35", "2620:119:53::53", // OpenDNS
	"94.140.14.14", "94.140.15.15", // AdGuard
	"64.6.64.6", "64.6.65.6", // Neustar/UltraDNS
	"185.228.168.9", "185.228.169.9", // CleanBrowsing
	"76.76.2.0", "76.76.10.0", // Control D
	"4.2.2.1", "4.2.2.2", // Level3
}

// IsPublicResolver reports whether a server address ("host:port" or an
// address) is a well-known public resolver.
func IsPublicResolver(server string) bool {
	host := server
	if ap, err := netip.ParseAddrPort(server); err == nil {
		host = ap.Addr().String()
	}
	return slices.Contains(PublicResolvers, host)
}
