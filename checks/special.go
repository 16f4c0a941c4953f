package checks

import "net/netip"

// specialRange is one entry of the IANA special-purpose address
// registries (RFC 6890 and successors), as of 2026.
type specialRange struct {
	prefix netip.Prefix
	name   string
	ref    string
}

func sr(p, name, ref string) specialRange {
	return specialRange{netip.MustParsePrefix(p), name, ref}
}

// specialRanges: addresses that never send mail on the public Internet,
// or that receivers never see as the sender (translation prefixes). From
// iana.org/assignments/iana-ipv4-special-registry and
// iana-ipv6-special-registry, plus multicast (RFC 5771, RFC 4291) and, for
// IPv6, everything outside global unicast 2000::/3. More specific
// entries come first.
var specialRanges = []specialRange{
	sr("0.0.0.0/8", "\"this network\"", "RFC 791"),
	sr("10.0.0.0/8", "private", "RFC 1918"),
	sr("100.64.0.0/10", "shared address space (carrier-grade NAT)", "RFC 6598"),
	sr("127.0.0.0/8", "loopback", "RFC 1122"),
	sr("169.254.0.0/16", "link-local", "RFC 3927"),
	sr("172.16.0.0/12", "private", "RFC 1918"),
	sr("192.0.0.0/24", "IETF protocol assignments", "RFC 6890"),
	sr("192.0.2.0/24", "documentation (TEST-NET-1)", "RFC 5737"),
	sr("192.31.196.0/24", "AS112 anycast", "RFC 7535"),
	sr("192.52.193.0/24", "AMT anycast", "RFC 7450"),
	sr("192.88.99.0/24", "deprecated 6to4 relay anycast", "RFC 7526"),
	sr("192.168.0.0/16", "private", "RFC 1918"),
	sr("192.175.48.0/24", "AS112 direct delegation", "RFC 7534"),
	sr("198.18.0.0/15", "benchmarking", "RFC 2544"),
	sr("198.51.100.0/24", "documentation (TEST-NET-2)", "RFC 5737"),
	sr("203.0.113.0/24", "documentation (TEST-NET-3)", "RFC 5737"),
	sr("224.0.0.0/4", "multicast", "RFC 5771"),
	sr("255.255.255.255/32", "limited broadcast", "RFC 919"),
	sr("240.0.0.0/4", "reserved", "RFC 1112"),

	sr("::/128", "unspecified", "RFC 4291"),
	sr("::1/128", "loopback", "RFC 4291"),
	sr("::ffff:0:0/96", "IPv4-mapped", "RFC 4291"),
	sr("64:ff9b::/96", "IPv4/IPv6 translation (NAT64); receivers see the embedded IPv4 address", "RFC 6052"),
	sr("64:ff9b:1::/48", "local-use IPv4/IPv6 translation", "RFC 8215"),
	sr("100::/64", "discard-only", "RFC 6666"),
	sr("100:0:0:1::/64", "dummy IPv6 prefix", "RFC 9780"),
	sr("2001::/32", "Teredo", "RFC 4380"),
	sr("2001:db8::/32", "documentation", "RFC 3849"),
	sr("2001::/23", "IETF protocol assignments", "RFC 2928"),
	sr("2002::/16", "6to4", "RFC 3056"),
	sr("3fff::/20", "documentation", "RFC 9637"),
	sr("5f00::/16", "segment routing (SRv6) SIDs", "RFC 9602"),
	sr("fc00::/7", "unique local", "RFC 4193"),
	sr("fe80::/10", "link-local", "RFC 4291"),
	sr("ff00::/8", "multicast", "RFC 4291"),
}

// globalUnicast6 is where public IPv6 unicast addresses are allocated
// today (RFC 4291 §2.4); anything else is reserved by IETF.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// special returns the special-purpose range holding ip, if any.
func special(ip netip.Addr) (specialRange, bool) {
	for _, r := range specialRanges {
		if r.prefix.Contains(ip) {
			return r, true
		}
	}
	if ip.Is6() && !globalUnicast6.Contains(ip) {
		return specialRange{prefix: netip.PrefixFrom(ip, 3).Masked(), name: "reserved (outside global unicast 2000::/3)", ref: "RFC 4291"}, true
	}
	return specialRange{}, false
}
