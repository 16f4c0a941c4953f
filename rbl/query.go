package rbl

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/preflight-mail/preflight/resolver"
)

// QueryName is the name to look up for a target on a list (RFC 5782 §2):
// reversed octets for IPv4, 32 reversed nibbles for IPv6 (never the
// IPv4 form of an IPv4-mapped address), the name itself for domains.
func QueryName(target, zone string) (string, error) {
	if ip, err := netip.ParseAddr(target); err == nil {
		return resolver.ReverseLabels(ip) + "." + zone, nil
	}
	name := strings.ToLower(strings.TrimSuffix(target, "."))
	if name == "" {
		return "", fmt.Errorf("empty target")
	}
	return name + "." + zone, nil
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
