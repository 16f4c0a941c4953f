package resolver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// Zone is one zone's data from an RFC 1035 master file, answered the way
// an authoritative server would: records, NODATA or NXDOMAIN, with
// wildcards (RFC 4592) and CNAMEs. The overlay (--zone) and the test
// server (dnstest) both answer from it.
type Zone struct {
	Apex  string // lower case with trailing dot
	File  string // where it came from, for messages
	names map[string]map[uint16][]dns.RR
	// nonterminal holds names that own no records but have descendants
	// that do (RFC 4592 §2.2.2 "empty non-terminals"): they exist.
	nonterminal map[string]bool
}

// ZoneResult is a Zone's answer to one question.
type ZoneResult struct {
	// Records of the type asked, or a single CNAME when the name is an
	// alias (the caller follows it). Owner names are the question's name,
	// also for records synthesised from a wildcard.
	Records []dns.RR
	// Kind is nil when there are records, else ErrNXDomain or ErrNoData.
	Kind error
}

var errLine = regexp.MustCompile(`^(?:.*?: )?dns: (.*) at line: (\d+):(\d+)$`)

// LoadZoneFile reads a master file. Errors name the file and line.
func LoadZoneFile(path string) (*Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("zone file %s: %w", path, err)
	}
	defer f.Close()
	return ParseZone(f, path)
}

// ParseZone reads a master file from r; file names it in errors. The apex
// is the owner of the SOA record or, without one, the first $ORIGIN.
// $INCLUDE is refused: a zone file given on the command line must not
// read other files.
func ParseZone(r io.Reader, file string) (*Zone, error) {
	text, err := io.ReadAll(io.LimitReader(r, maxZoneFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(text) > maxZoneFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxZoneFileBytes)
	}
	origin := firstOrigin(string(text))
	zp := dns.NewZoneParser(strings.NewReader(string(text)), origin, file)
	zp.SetIncludeAllowed(false)
	// TTLs do not matter to a one-run overlay; do not make users write them.
	zp.SetDefaultTTL(3600)
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return nil, zoneSyntaxError(file, err)
	}
	if err := checkLongStrings(file, string(text)); err != nil {
		return nil, err
	}
	apex := ""
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeSOA {
			if apex != "" {
				return nil, fmt.Errorf("%s: more than one SOA record", file)
			}
			apex = fqdn(rr.Header().Name)
		}
	}
	if apex == "" {
		apex = fqdn(origin)
	}
	if apex == "." {
		return nil, fmt.Errorf("%s: no SOA record and no $ORIGIN, so the zone's apex is unknown", file)
	}
	return NewZone(apex, file, rrs)
}

// NewZone makes a zone from records; every owner must be at or under
// apex ("." holds everything: test servers use it).
func NewZone(apex, file string, rrs []dns.RR) (*Zone, error) {
	apex = fqdn(apex)
	z := &Zone{Apex: apex, File: file, names: map[string]map[uint16][]dns.RR{}, nonterminal: map[string]bool{}}
	for _, rr := range rrs {
		h := rr.Header()
		h.Name = fqdn(h.Name)
		if !dns.IsSubDomain(apex, h.Name) {
			return nil, fmt.Errorf("%s: record %s is outside the zone %s", file, bare(h.Name), bare(apex))
		}
		if h.Class != dns.ClassINET {
			return nil, fmt.Errorf("%s: record %s has class %s; only IN is supported", file, bare(h.Name), dns.ClassToString[h.Class])
		}
		byType := z.names[h.Name]
		if byType == nil {
			byType = map[uint16][]dns.RR{}
			z.names[h.Name] = byType
		}
		byType[h.Rrtype] = append(byType[h.Rrtype], rr)
	}
	for name, byType := range z.names {
		if len(byType[dns.TypeCNAME]) > 0 && len(byType) > 1 {
			return nil, fmt.Errorf("%s: %s has a CNAME and other records (RFC 1034 §3.6.2)", file, bare(name))
		}
		if len(byType[dns.TypeCNAME]) > 1 {
			return nil, fmt.Errorf("%s: %s has more than one CNAME", file, bare(name))
		}
		for p := parent(name); p != "" && dns.IsSubDomain(apex, p); p = parent(p) {
			if _, ok := z.names[p]; !ok {
				z.nonterminal[p] = true
			}
		}
	}
	return z, nil
}

// checkLongStrings refuses quoted strings over 255 octets (RFC 1035
// §3.3: a character-string's length is one octet). The parser would
// split them silently; BIND and nsd refuse the zone, so a change with
// one would not deploy.
func checkLongStrings(file, text string) error {
	for n, line := range strings.Split(text, "\n") {
		in, start, length := false, 0, 0
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case !in && c == ';':
				i = len(line)
			case c == '"':
				if in && length > 255 {
					return fmt.Errorf("%s:%d:%d: a quoted string of %d octets; the limit is 255 (RFC 1035 §3.3): split it into several quoted strings", file, n+1, start+1, length)
				}
				in, start, length = !in, i, 0
			case in && c == '\\':
				i++
				if i < len(line) && isDigit(line[i]) {
					i += 2 // \DDD is one octet
				}
				length++
			case in:
				length++
			}
		}
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// maxZoneFileBytes bounds what a zone file may hold: larger is a mistake
// (or an attack), not a zone someone wants to preflight.
const maxZoneFileBytes = 64 << 20

// firstOrigin finds the first $ORIGIN directive, so a file without SOA
// still has an apex. The parser itself does not expose it.
func firstOrigin(text string) string {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.EqualFold(f[0], "$ORIGIN") {
			return fqdn(f[1])
		}
	}
	return "."
}

// zoneSyntaxError reformats the parser's message as "file:line:col: what".
func zoneSyntaxError(file string, err error) error {
	var pe *dns.ParseError
	if errors.As(err, &pe) {
		if m := errLine.FindStringSubmatch(pe.Error()); m != nil {
			return fmt.Errorf("%s:%s:%s: %s", file, m[2], m[3], m[1])
		}
	}
	return fmt.Errorf("%s: %v", file, err)
}

// parent returns the name one label up, or "" above the root.
func parent(name string) string {
	if name == "." || name == "" {
		return ""
	}
	i := strings.IndexByte(name, '.')
	if i == len(name)-1 {
		return "."
	}
	return name[i+1:]
}

// Contains reports whether name (any case, with or without trailing dot)
// is at or under the zone's apex.
func (z *Zone) Contains(name string) bool { return dns.IsSubDomain(z.Apex, fqdn(name)) }

// Lookup answers one question from the zone's data. The name must be in
// the zone (see Contains).
func (z *Zone) Lookup(name string, qtype uint16) ZoneResult {
	name = fqdn(name)
	if byType, ok := z.names[name]; ok {
		return answerFrom(byType, name, qtype)
	}
	if z.nonterminal[name] {
		return ZoneResult{Kind: ErrNoData}
	}
	// RFC 4592 §3.3.1: the closest encloser is the longest existing
	// ancestor; a wildcard applies only directly below it.
	for p := parent(name); p != "" && dns.IsSubDomain(z.Apex, p); p = parent(p) {
		_, exists := z.names[p]
		if !exists && !z.nonterminal[p] {
			continue
		}
		if byType, ok := z.names["*."+p]; ok {
			return answerFrom(byType, name, qtype)
		}
		break
	}
	return ZoneResult{Kind: ErrNXDomain}
}

// answerFrom picks the records of qtype (or the CNAME) and renames them
// to owner, which differs from their owner for wildcard answers.
func answerFrom(byType map[uint16][]dns.RR, owner string, qtype uint16) ZoneResult {
	rrs := byType[qtype]
	if len(rrs) == 0 && qtype != dns.TypeCNAME {
		rrs = byType[dns.TypeCNAME]
	}
	if len(rrs) == 0 {
		return ZoneResult{Kind: ErrNoData}
	}
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Name = owner
		out[i] = c
	}
	return ZoneResult{Records: out}
}

// SOA returns the zone's SOA record, if it has one (for negative answers).
func (z *Zone) SOA() dns.RR {
	if rrs := z.names[z.Apex][dns.TypeSOA]; len(rrs) > 0 {
		return rrs[0]
	}
	return nil
}

// Overlay answers names under any of its zones from those zones only. The
// most specific zone wins when zones nest.
type Overlay struct {
	zones []*Zone // longest apex first
}

// NewOverlay makes an overlay of zones. Two zones with the same apex are
// an error: which one answers would be a guess.
func NewOverlay(zones ...*Zone) (*Overlay, error) {
	o := &Overlay{}
	seen := map[string]string{}
	for _, z := range zones {
		if f, dup := seen[z.Apex]; dup {
			return nil, fmt.Errorf("%s and %s both hold the zone %s", f, z.File, bare(z.Apex))
		}
		seen[z.Apex] = z.File
		o.zones = append(o.zones, z)
	}
	sort.SliceStable(o.zones, func(i, j int) bool {
		return dns.CountLabel(o.zones[i].Apex) > dns.CountLabel(o.zones[j].Apex)
	})
	return o, nil
}

// LoadOverlay reads zone files into an overlay. A directory stands for
// the *.zone files in it.
func LoadOverlay(paths ...string) (*Overlay, error) {
	var zones []*Zone
	for _, p := range paths {
		files := []string{p}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			files, err = filepath.Glob(filepath.Join(p, "*.zone"))
			if err != nil {
				return nil, err
			}
			if len(files) == 0 {
				return nil, fmt.Errorf("%s: no *.zone files in the directory", p)
			}
		}
		for _, f := range files {
			z, err := LoadZoneFile(f)
			if err != nil {
				return nil, err
			}
			zones = append(zones, z)
		}
	}
	return NewOverlay(zones...)
}

// Zone returns the zone that holds name, or nil.
func (o *Overlay) Zone(name string) *Zone {
	if o == nil {
		return nil
	}
	name = fqdn(name)
	for _, z := range o.zones {
		if dns.IsSubDomain(z.Apex, name) {
			return z
		}
	}
	return nil
}

// Zones returns the overlay's zones, most specific first.
func (o *Overlay) Zones() []*Zone {
	if o == nil {
		return nil
	}
	return o.zones
}
