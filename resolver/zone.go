package resolver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/internal/inputfile"
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
	// lines holds the line of each record read from a file: the last
	// line of a record written over several.
	lines map[dns.RR]int
	// cuts, for a root zone file, are its delegations (NS below the
	// apex): the names at and below them are their own zones', served
	// by their files when given, else not by this one (Overlay.Zone).
	cuts map[string]bool
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

// Bounds on what the zone files of one run may hold together: the
// overlay keeps every record in memory, and a pull request chooses the
// files (docs/limits.md). Each file is also at most inputfile.Zone's
// 64 MiB, and is read within the run's deadline.
const (
	// MaxZoneFiles bounds the files of one run, directories' included.
	MaxZoneFiles = 64
	// MaxZoneRecords bounds the records of one run's zone files: a zone
	// for a domain's mail has dozens, a reverse /16 65,536.
	MaxZoneRecords = 100_000
	// MaxZoneBytes bounds the octets of one run's zone files together.
	MaxZoneBytes = 64 << 20
)

// zoneBudget is what the zone files of a run may still hold.
type zoneBudget struct {
	files, records int
	bytes          int64
}

func newZoneBudget() *zoneBudget {
	return &zoneBudget{files: MaxZoneFiles, records: MaxZoneRecords, bytes: MaxZoneBytes}
}

// LoadZoneFile reads a master file within ctx's deadline. Errors name
// the file and line.
func LoadZoneFile(ctx context.Context, path string) (*Zone, error) {
	return loadZoneFile(ctx, path, newZoneBudget())
}

func loadZoneFile(ctx context.Context, path string, b *zoneBudget) (*Zone, error) {
	f, err := inputfile.Open(ctx, path, inputfile.Zone)
	if err != nil {
		return nil, fmt.Errorf("zone file: %w", err)
	}
	defer f.Close()
	return parseZone(ctx, f, path, b)
}

// ParseZone reads a master file from r; file names it in errors. The apex
// is the owner of the SOA record or, without one, the first $ORIGIN.
// $INCLUDE is refused: a zone file given on the command line must not
// read other files.
func ParseZone(r io.Reader, file string) (*Zone, error) {
	return parseZone(context.Background(), r, file, newZoneBudget())
}

// parseZone streams r through the parser: no copy of the text is held,
// and b is charged for every octet and record. It stops when ctx ends.
func parseZone(ctx context.Context, r io.Reader, file string, b *zoneBudget) (*Zone, error) {
	zr := newZoneReader(ctx, r, file, b)
	zp := dns.NewZoneParser(zr, zr.initialOrigin(), file)
	zp.SetIncludeAllowed(false)
	// TTLs do not matter to a one-run overlay; do not make users write them.
	zp.SetDefaultTTL(3600)
	var rrs []dns.RR
	lines := map[dns.RR]int{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		// The parser returns a record once it has read the line break
		// that ends it, so the reader is on the next line.
		lines[rr] = zr.line - 1
		if b.records == 0 {
			return nil, fmt.Errorf("%s: more than %d records in the zone files, the limit for one run", file, MaxZoneRecords)
		}
		b.records--
		rrs = append(rrs, rr)
		if len(rrs)%1024 == 0 && ctx.Err() != nil {
			// $GENERATE makes records without reading.
			return nil, zr.stopped()
		}
	}
	if zr.err != nil && zr.err != io.EOF {
		return nil, zr.err
	}
	if err := zp.Err(); err != nil {
		// The parser's token is quoted only once the file has shown it
		// is a zone file, with a record; before, it may be anything.
		return nil, zoneSyntaxError(file, err, len(rrs) > 0)
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
	soa := apex != ""
	if !soa {
		apex = fqdn(zr.origin)
	}
	if apex == "." && !soa {
		return nil, fmt.Errorf("%s: no SOA record and no $ORIGIN, so the zone's apex is unknown", file)
	}
	z, err := NewZone(apex, file, rrs)
	if z != nil {
		z.lines = lines
		if apex == "." {
			// A root zone (a private root, a lab's): it must not answer
			// for every name of the Internet below its delegations.
			z.cuts = map[string]bool{}
			for name, byType := range z.names {
				if name != "." && len(byType[dns.TypeNS]) > 0 {
					z.cuts[name] = true
				}
			}
		}
	}
	return z, err
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
		if len(byType[dns.TypeCNAME]) > 0 && len(byType) > 1+len(byType[dns.TypeRRSIG][:min(1, len(byType[dns.TypeRRSIG]))])+len(byType[dns.TypeNSEC][:min(1, len(byType[dns.TypeNSEC]))]) {
			// RRSIG and NSEC records may stand beside a CNAME (RFC 4035 §2.5).
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

// zoneSyntaxError reformats the parser's error as "file:line:col: what",
// with the token it stopped at when quote is set, as an excerpt.
func zoneSyntaxError(file string, err error, quote bool) error {
	var pe *dns.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", file, err)
	}
	msg := strings.TrimPrefix(strings.TrimPrefix(pe.Error(), file+": "), "dns: ")
	m := parseErrorText.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("%s: %s", file, inputfile.Excerpt(msg))
	}
	what := m[1]
	if token, err := strconv.Unquote(m[2]); err == nil && token != "" && quote {
		what += ": " + inputfile.Excerpt(token)
	}
	return fmt.Errorf("%s:%s:%s: %s", file, m[3], m[4], what)
}

// parseErrorText is dns.ParseError's text without the file: what was
// wrong, the token (strconv.QuoteToASCII), line and column.
var parseErrorText = regexp.MustCompile(`^(.*?): ("(?:[^"\\]|\\.)*") at line: (\d+):(\d+)$`)

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

// Locate returns the line of the zone file that holds name's record of
// type rrtype whose data is data, written as RecordData writes it; the
// line of the SOA record when data is empty (where a new record of the
// zone goes); 0 when there is none.
func (z *Zone) Locate(name string, rrtype uint16, data string) int {
	if data == "" {
		return z.lines[z.SOA()]
	}
	for _, rr := range z.names[fqdn(name)][rrtype] {
		if RecordData(rr) == data {
			return z.lines[rr]
		}
	}
	return 0
}

// RecordData is a record's data as fix records hold it: TXT text
// joined and unquoted, MX "PREFERENCE HOST", names without the final dot
// (the root is "."), addresses as text.
func RecordData(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.TXT:
		return TXTStrings([]dns.RR{v})[0]
	case *dns.MX:
		return fmt.Sprintf("%d %s", v.Preference, strings.ToLower(bare(v.Mx)))
	case *dns.PTR:
		return strings.ToLower(bare(v.Ptr))
	case *dns.CNAME:
		return strings.ToLower(bare(v.Target))
	case *dns.A:
		return v.A.String()
	case *dns.AAAA:
		return v.AAAA.String()
	}
	return strings.TrimPrefix(rr.String(), rr.Header().String())
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

// LoadOverlay reads zone files into an overlay, within ctx's deadline. A
// directory stands for the *.zone files in it. All the files together
// are bounded by MaxZoneFiles, MaxZoneRecords and MaxZoneBytes.
func LoadOverlay(ctx context.Context, paths ...string) (*Overlay, error) {
	return LoadOverlayOver(ctx, nil, paths)
}

// BaseZoneError is an error of LoadOverlayOver's base zones (a config
// file's), so the caller can name where they were given.
type BaseZoneError struct{ Err error }

func (e *BaseZoneError) Error() string { return e.Err.Error() }
func (e *BaseZoneError) Unwrap() error { return e.Err }

// LoadOverlayOver is LoadOverlay of base and over together, where a zone
// of over replaces the zone of base with the same apex (a --zone file
// over a config file's zones: the command line wins). Two zones with one
// apex within base, or within over, are an error as in NewOverlay.
func LoadOverlayOver(ctx context.Context, base, over []string) (*Overlay, error) {
	b := newZoneBudget()
	under, err := loadZones(ctx, b, base)
	if err != nil {
		return nil, &BaseZoneError{err}
	}
	top, err := loadZones(ctx, b, over)
	if err != nil {
		return nil, err
	}
	if _, err := NewOverlay(under...); err != nil {
		return nil, &BaseZoneError{err}
	}
	replaced := map[string]bool{}
	for _, z := range top {
		replaced[z.Apex] = true
	}
	zones := top
	for _, z := range under {
		if !replaced[z.Apex] {
			zones = append(zones, z)
		}
	}
	return NewOverlay(zones...)
}

// loadZones reads the zone files of paths within the budget.
func loadZones(ctx context.Context, b *zoneBudget, paths []string) ([]*Zone, error) {
	var zones []*Zone
	for _, p := range paths {
		files := []string{p}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			if files, err = zoneFiles(p, b.files); err != nil {
				return nil, err
			}
		}
		for _, f := range files {
			if b.files == 0 {
				return nil, fmt.Errorf("%s: more than %d zone files, the limit for one run", f, MaxZoneFiles)
			}
			b.files--
			z, err := loadZoneFile(ctx, f, b)
			if err != nil {
				return nil, err
			}
			zones = append(zones, z)
		}
	}
	return zones, nil
}

// zoneFiles lists the *.zone files of dir, sorted; more than max is an
// error, found without listing the whole directory.
func zoneFiles(dir string, max int) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var files []string
	for {
		entries, err := d.ReadDir(256)
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".zone") {
				continue
			}
			if len(files) == max {
				return nil, fmt.Errorf("%s: more than %d zone files, the limit for one run", dir, MaxZoneFiles)
			}
			files = append(files, filepath.Join(dir, e.Name()))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no *.zone files in the directory", dir)
	}
	sort.Strings(files)
	return files, nil
}

// Zone returns the zone that holds name, or nil.
func (o *Overlay) Zone(name string) *Zone {
	if o == nil {
		return nil
	}
	name = fqdn(name)
	for _, z := range o.zones {
		if dns.IsSubDomain(z.Apex, name) && !z.delegated(name) {
			return z
		}
	}
	return nil
}

// delegated reports whether name is at or below one of z's cuts (root
// zone files only): another zone's name.
func (z *Zone) delegated(name string) bool {
	if z.cuts == nil {
		return false
	}
	for n := name; n != "" && n != z.Apex; n = parent(n) {
		if z.cuts[n] {
			return true
		}
	}
	return false
}

// parentOf returns the zone of the overlay that delegates name (a cut
// of a root zone file), which answers DS questions for it.
func (o *Overlay) parentOf(name string) *Zone {
	if o == nil {
		return nil
	}
	name = fqdn(name)
	for _, z := range o.zones {
		if z.cuts[name] && !z.delegated(parent(name)) {
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
