// Package rbl queries DNS blocklists (DNSBLs, RFC 5782) and reads their
// answers strictly: only NXDOMAIN or NODATA means "not listed", only a
// known listing code (or an unknown 127.0.0.x from a list that passed
// its self-test) means "listed", and everything else — timeouts,
// refusals, error codes such as Spamhaus's 127.255.255.254 "you asked
// through a public resolver" — means "unknown". Every list is self-tested
// with its RFC 5782 §5 test points before its answers count.
package rbl

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/preflight-mail/preflight/resolver"
)

// Kind says what a list is keyed by.
type Kind string

// Kinds.
const (
	IP     Kind = "ip"
	Domain Kind = "domain"
)

// DomainPolicy says which name a domain list is to be asked about a
// host name: the lists' usage policies differ.
type DomainPolicy string

// Domain policies.
const (
	// FullName: the name itself. Spamhaus DBL lists host names as well
	// as domains, and custom lists are asked exactly what was given.
	FullName DomainPolicy = "full_name"
	// RegisteredDomain: the domain as registered under its public
	// suffix (mail.example.co.uk → example.co.uk, by the Public Suffix
	// List). URIBL and SURBL list registered domains only and ask to be
	// queried with them; a host name below one is never listed there.
	RegisteredDomain DomainPolicy = "registered_domain"
)

// Class says what a listing means.
type Class string

// Classes of return codes.
const (
	Abuse  Class = "abuse"  // a spam, malware or exploit source: do not deliver
	Policy Class = "policy" // end-user (dynamic, residential) space: should not send directly
	Refuse Class = "error"  // not a listing: the list refused or failed the query
)

// Code is one return code and its meaning.
type Code struct {
	Addr    netip.Addr
	Meaning string
	Class   Class
}

// Bit is one bit of a bitmask list's answer (URIBL, SURBL).
type Bit struct {
	Mask    byte
	Meaning string
	Class   Class
}

// List is one blocklist.
type List struct {
	Zone string `json:"zone"`
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// IPv6 says whether the list answers for IPv6 addresses.
	IPv6 bool `json:"ipv6,omitempty"`
	// DomainPolicy, for domain lists: which name to ask about a host
	// name (FullName when empty).
	DomainPolicy DomainPolicy `json:"domain_policy,omitempty"`
	// Codes are the list's answers and their meanings.
	Codes []Code `json:"-"`
	// Bits, for bitmask lists: the last octet's bits.
	Bits []Bit `json:"-"`
	// RefuseCodes are answers meaning "query refused" (not a listing),
	// with a hint for what to do.
	RefuseCodes map[netip.Addr]string `json:"-"`
	// RefuseBits, for bitmask lists: bits meaning "query refused".
	RefuseBits byte `json:"-"`
	// Delist is where to ask for removal.
	Delist string `json:"delist,omitempty"`
	// Set is "default" or "extended" (opt-in by name or --lists).
	Set string `json:"set,omitempty"`
	// Terms summarises the terms of use.
	Terms string `json:"terms,omitempty"`
	// Server, when set, is the DNS server to ask for this list (a local
	// rbldnsd or mirror) instead of the run's resolver.
	Server string `json:"server,omitempty"`
	// Custom is set for zones not in the catalog.
	Custom bool `json:"custom,omitempty"`
	// Display is the zone as shown in reports when Zone holds a secret
	// (a Spamhaus DQS key).
	Display string `json:"-"`
	// Key is the secret in Zone, if any: the run's resolver shows it as
	// "<key>" wherever a query name would show (see Keys).
	Key string `json:"-"`
}

// Shown is the zone as reports may show it.
func (l List) Shown() string {
	if l.Display != "" {
		return l.Display
	}
	return l.Zone
}

// dqsZones maps Spamhaus public zones to their Data Query Service names.
var dqsZones = map[string]string{
	"zen.spamhaus.org": "zen.dq.spamhaus.net",
	"dbl.spamhaus.org": "dbl.dq.spamhaus.net",
}

// minKeyLen is the shortest DQS key accepted. Spamhaus issues 26
// characters; a key of a few characters could not be hidden from traces
// and errors without hiding every name that happens to contain it.
const minKeyLen = 8

// WithDQSKey moves the Spamhaus lists to the Data Query Service with
// key: KEY.zen.dq.spamhaus.net. Reports show the key as "<key>", and
// Keys gives it to the run's resolver, which shows it so in every query
// name it prints. The key must be one DNS label of letters, digits and
// hyphens (names never escape those, so the key is found wherever it
// appears) and at least minKeyLen long.
func WithDQSKey(lists []List, key string) ([]List, error) {
	if len(key) < minKeyLen || len(key) > 63 || strings.Trim(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		return nil, fmt.Errorf("the Spamhaus DQS key must be a single DNS label of %d to 63 letters, digits and hyphens (Spamhaus issues 26)", minKeyLen)
	}
	out := slices.Clone(lists)
	for i, l := range out {
		if dq, ok := dqsZones[l.Zone]; ok {
			out[i].Zone = key + "." + dq
			out[i].Display = resolver.KeyShown + "." + dq
			out[i].Key = key
		}
	}
	return out, nil
}

// Keys are the secrets in the lists' query names, for the run's
// resolver (resolver.Config.Keys).
func Keys(lists []List) []string {
	var out []string
	for _, l := range lists {
		if l.Key != "" && !slices.Contains(out, l.Key) {
			out = append(out, l.Key)
		}
	}
	return out
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// spamhausErrors are the answers Spamhaus (and lists copying its
// conventions) give instead of a listing (Spamhaus's return-code page).
var spamhausErrors = map[netip.Addr]string{
	ip("127.255.255.252"): "the query had a typo in the zone name",
	ip("127.255.255.254"): "the list refuses queries from public or open resolvers: use your own recursive resolver, or a Spamhaus DQS key",
	ip("127.255.255.255"): "the resolver is over the list's free query limit: use your own recursive resolver, or a DQS key",
}

// zenCodes: Spamhaus ZEN (SBL, CSS, XBL, DROP, PBL).
var zenCodes = []Code{
	{ip("127.0.0.2"), "SBL: a spam source or spam operation", Abuse},
	{ip("127.0.0.3"), "CSS: a low-reputation sender (snowshoe spam)", Abuse},
	{ip("127.0.0.4"), "XBL: a compromised host (malware, proxy, bot)", Abuse},
	{ip("127.0.0.5"), "XBL: a compromised host", Abuse},
	{ip("127.0.0.6"), "XBL: a compromised host", Abuse},
	{ip("127.0.0.7"), "XBL: a compromised host", Abuse},
	{ip("127.0.0.9"), "DROP: a hijacked or criminal network", Abuse},
	{ip("127.0.0.10"), "PBL: end-user space, declared by the ISP", Policy},
	{ip("127.0.0.11"), "PBL: end-user space, found by Spamhaus", Policy},
}

// Catalog lists the known blocklists, from their own documentation (Nov
// 2026; see notes/dnsbl.md). Lists that closed (SORBS, NiX Spam, CBL) are
// not here: a closed list answers nothing useful.
var Catalog = []List{
	{
		Zone: "zen.spamhaus.org", Name: "Spamhaus ZEN", Kind: IP, IPv6: true,
		Codes: zenCodes, RefuseCodes: spamhausErrors,
		Delist: "https://check.spamhaus.org/", Set: "default",
		Terms: "free for low-volume non-commercial use through your own resolver; otherwise a DQS key",
	},
	{
		Zone: "bl.spamcop.net", Name: "SpamCop", Kind: IP,
		Codes:  []Code{{ip("127.0.0.2"), "reported as a spam source by SpamCop users", Abuse}},
		Delist: "https://www.spamcop.net/bl.shtml", Set: "default",
	},
	{
		Zone: "b.barracudacentral.org", Name: "Barracuda", Kind: IP,
		Codes:  []Code{{ip("127.0.0.2"), "poor reputation with Barracuda", Abuse}},
		Delist: "https://www.barracudacentral.org/rbl/removal-request", Set: "default",
		Terms: "the querying resolver's IP must be registered with Barracuda",
	},
	{
		Zone: "bl.mailspike.net", Name: "Mailspike", Kind: IP, IPv6: true,
		Codes: []Code{
			{ip("127.0.0.2"), "part of a spam wave", Abuse},
			{ip("127.0.0.10"), "worst reputation (L5)", Abuse},
			{ip("127.0.0.11"), "very bad reputation (L4)", Abuse},
			{ip("127.0.0.12"), "bad reputation (L3)", Abuse},
		},
		Delist: "https://mailspike.org/", Set: "default", Terms: "free up to 100,000 queries a day",
	},
	{
		Zone: "psbl.surriel.com", Name: "PSBL", Kind: IP,
		Codes:  []Code{{ip("127.0.0.2"), "sent to PSBL spam traps", Abuse}},
		Delist: "https://psbl.org/remove", Set: "default",
	},
	{
		Zone: "dbl.spamhaus.org", Name: "Spamhaus DBL", Kind: Domain, DomainPolicy: FullName,
		Codes: []Code{
			{ip("127.0.1.2"), "spam domain", Abuse},
			{ip("127.0.1.4"), "phishing domain", Abuse},
			{ip("127.0.1.5"), "malware domain", Abuse},
			{ip("127.0.1.6"), "botnet C&C domain", Abuse},
			{ip("127.0.1.102"), "abused legitimate domain (spam)", Abuse},
			{ip("127.0.1.103"), "abused legitimate domain (redirector)", Abuse},
			{ip("127.0.1.104"), "abused legitimate domain (phishing)", Abuse},
			{ip("127.0.1.105"), "abused legitimate domain (malware)", Abuse},
			{ip("127.0.1.106"), "abused legitimate domain (botnet C&C)", Abuse},
		},
		RefuseCodes: merge(spamhausErrors, map[netip.Addr]string{ip("127.0.1.255"): "the query was for an IP address, not a domain"}),
		Delist:      "https://check.spamhaus.org/", Set: "default",
		Terms: "as for ZEN",
	},
	{
		Zone: "multi.uribl.com", Name: "URIBL", Kind: Domain, DomainPolicy: RegisteredDomain,
		Bits: []Bit{
			{2, "URIBL black: spam domain", Abuse},
			{4, "URIBL grey: bulk mail domain", Abuse},
			{8, "URIBL red: newly seen in spam", Abuse},
		},
		RefuseBits: 1, // 127.0.0.1: query refused (public resolver or over quota)
		Delist:     "https://admin.uribl.com/", Set: "default",
		Terms: "refuses public resolvers; free for low volume",
	},
	{
		Zone: "multi.surbl.org", Name: "SURBL", Kind: Domain, DomainPolicy: RegisteredDomain,
		Bits: []Bit{
			{8, "SURBL PH: phishing", Abuse},
			{16, "SURBL MW: malware", Abuse},
			{64, "SURBL ABUSE: spam", Abuse},
			{128, "SURBL CR: cracked site", Abuse},
		},
		RefuseBits: 1, // 127.0.0.1 / bit 1: query blocked
		Delist:     "https://www.surbl.org/surbl-analysis", Set: "default",
	},
	// Opt-in: by name with --list, or --lists extended.
	{
		Zone: "dnsbl-1.uceprotect.net", Name: "UCEPROTECT level 1", Kind: IP,
		Codes:  []Code{{ip("127.0.0.2"), "sent to UCEPROTECT spam traps", Abuse}},
		Delist: "https://www.uceprotect.net/en/rblcheck.php", Set: "extended",
		Terms: "levels 2 and 3 list whole networks and are never used here",
	},
	{
		Zone: "all.s5h.net", Name: "s5h", Kind: IP, IPv6: true,
		Codes:  []Code{{ip("127.0.0.2"), "listed by s5h.net", Abuse}},
		Delist: "https://www.usenix.org.uk/content/rbl.html", Set: "extended",
	},
	{
		Zone: "bl.0spam.org", Name: "0spam", Kind: IP,
		Codes:  []Code{{ip("127.0.0.2"), "listed by 0spam", Abuse}},
		Delist: "https://0spam.org/", Set: "extended",
	},
	{
		Zone: "dnsbl.justspam.org", Name: "JustSpam", Kind: IP,
		Codes:  []Code{{ip("127.0.0.2"), "sent spam to JustSpam traps", Abuse}},
		Delist: "http://www.justspam.org/", Set: "extended",
	},
	{
		Zone: "dnsbl.dronebl.org", Name: "DroneBL", Kind: IP, IPv6: true,
		Codes:  []Code{{ip("127.0.0.3"), "IRC drone", Abuse}, {ip("127.0.0.5"), "bottler", Abuse}, {ip("127.0.0.6"), "unknown spambot or drone", Abuse}, {ip("127.0.0.7"), "DDoS drone", Abuse}, {ip("127.0.0.8"), "SOCKS proxy", Abuse}, {ip("127.0.0.9"), "HTTP proxy", Abuse}, {ip("127.0.0.10"), "proxy chain", Abuse}, {ip("127.0.0.13"), "brute-force attackers", Abuse}, {ip("127.0.0.14"), "open Wingate proxy", Abuse}, {ip("127.0.0.15"), "compromised router", Abuse}, {ip("127.0.0.17"), "automatically determined botnet IPs", Abuse}},
		Delist: "https://dronebl.org/lookup", Set: "extended",
	},
	{
		Zone: "ips.backscatterer.org", Name: "Backscatterer", Kind: IP,
		Codes:  []Code{{ip("127.0.0.2"), "sends backscatter (bounces to forged senders)", Abuse}},
		Delist: "https://www.backscatterer.org/", Set: "extended",
		Terms: "matters only for servers that send bounces",
	},
}

// closed lists: naming one is answered with why it is not used.
var closed = map[string]string{
	"dnsbl.sorbs.net":     "SORBS closed in June 2024",
	"ix.dnsbl.manitu.net": "NiX Spam has listed nothing since January 2025 (it still answers \"not listed\")",
	"cbl.abuseat.org":     "the CBL is now part of Spamhaus XBL (in zen.spamhaus.org)",
}

func merge(a, b map[netip.Addr]string) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Set returns the catalog lists of a set: "default", "extended" (default
// and opt-in) or "all" (the same as extended: closed lists are never
// queried).
func Set(name string) ([]List, error) {
	var out []List
	switch name {
	case "default":
		for _, l := range Catalog {
			if l.Set == "default" {
				out = append(out, l)
			}
		}
	case "extended", "all":
		out = slices.Clone(Catalog)
	default:
		return nil, fmt.Errorf("--lists %q: want default, extended or all", name)
	}
	return out, nil
}

// ParseList reads "ZONE[:ip|domain][@SERVER]". A catalog zone keeps its
// code table; any other zone is read with the Spamhaus conventions
// (127.0.0.2–9 abuse, 127.0.0.10–11 end-user policy, 127.255.255.0/24
// errors) that private lists and mirrors commonly copy, and answers for
// IPv6 unless it fails its IPv6 self-test.
func ParseList(spec string) (List, error) {
	s, server, _ := strings.Cut(spec, "@")
	zone, kind, hasKind := strings.Cut(s, ":")
	zone = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(zone), "."))
	if zone == "" || !strings.Contains(zone, ".") {
		return List{}, fmt.Errorf("--list %q: want a zone such as bl.example.net[:ip|domain][@server]", spec)
	}
	// A zone that is no domain name ("zen..x") would only ever fail its
	// self-test, and be reported as a list that does not work.
	if _, err := resolver.NormalizeDomain(zone); err != nil {
		return List{}, fmt.Errorf("--list %q: %w", spec, err)
	}
	if why, ok := closed[zone]; ok {
		return List{}, fmt.Errorf("--list %s: %s", zone, why)
	}
	var l List
	if i := slices.IndexFunc(Catalog, func(c List) bool { return c.Zone == zone }); i >= 0 {
		l = Catalog[i]
	} else {
		l = List{Zone: zone, Name: zone, Kind: IP, IPv6: true, Custom: true, Codes: customCodes(), RefuseCodes: spamhausErrors}
	}
	if hasKind {
		switch Kind(kind) {
		case IP, Domain:
			if l.Custom {
				l.Kind = Kind(kind)
				if l.Kind == Domain {
					l.Codes = customDomainCodes()
				}
			} else if l.Kind != Kind(kind) {
				return List{}, fmt.Errorf("--list %s: the catalog says it is a %s list", zone, l.Kind)
			}
		default:
			return List{}, fmt.Errorf("--list %q: kind %q, want ip or domain", spec, kind)
		}
	}
	l.Server = server
	return l, nil
}

// customCodes reads 127.0.0.2–9 as abuse and 127.0.0.10–11 as policy.
func customCodes() []Code {
	var out []Code
	for i := 2; i <= 11; i++ {
		c := Code{Addr: netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}), Meaning: fmt.Sprintf("return code 127.0.0.%d", i), Class: Abuse}
		if i >= 10 {
			c.Meaning, c.Class = fmt.Sprintf("end-user space (return code 127.0.0.%d, PBL style)", i), Policy
		}
		out = append(out, c)
	}
	return out
}

// customDomainCodes reads 127.0.0.2–9 and 127.0.1.2–9 as abuse.
func customDomainCodes() []Code {
	var out []Code
	for _, third := range []byte{0, 1} {
		for i := 2; i <= 9; i++ {
			out = append(out, Code{Addr: netip.AddrFrom4([4]byte{127, 0, third, byte(i)}), Meaning: fmt.Sprintf("return code 127.0.%d.%d", third, i), Class: Abuse})
		}
	}
	return out
}

// HasPolicy reports whether the list can say "end-user space".
func (l List) HasPolicy() bool {
	return slices.ContainsFunc(l.Codes, func(c Code) bool { return c.Class == Policy })
}
