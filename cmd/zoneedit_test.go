package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/report"
)

// zoneSet is a directory of zone files held as records, for applying
// fix records the way a person pasting them would: each change goes to
// the file whose zone holds its name.
type zoneSet struct {
	files []*zoneFile
}

type zoneFile struct {
	name string // base name
	apex string // SOA owner, lower case with the final dot
	rrs  []dns.RR
}

// loadZones reads every *.zone file of dir. Each must have a SOA record
// (its apex) and may use $ORIGIN and relative names.
func loadZones(dir string) (*zoneSet, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.zone"))
	if err != nil {
		return nil, err
	}
	zs := &zoneSet{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		zp := dns.NewZoneParser(f, "", p)
		zp.SetDefaultTTL(3600)
		zf := &zoneFile{name: filepath.Base(p)}
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			if rr.Header().Rrtype == dns.TypeSOA {
				zf.apex = dns.CanonicalName(rr.Header().Name)
			}
			zf.rrs = append(zf.rrs, rr)
		}
		f.Close()
		if err := zp.Err(); err != nil {
			return nil, err
		}
		if zf.apex == "" {
			return nil, fmt.Errorf("%s: no SOA record", p)
		}
		zs.files = append(zs.files, zf)
	}
	return zs, nil
}

// zoneFor is the file whose zone holds name: the longest apex above it.
func (zs *zoneSet) zoneFor(name string) *zoneFile {
	var best *zoneFile
	for _, zf := range zs.files {
		if dns.IsSubDomain(zf.apex, name) && (best == nil || len(zf.apex) > len(best.apex)) {
			best = zf
		}
	}
	return best
}

// apply makes one change. It is an error to add a record that is there,
// to replace or remove one that is not, or to change a name outside
// every zone file: a fix must say exactly what to change in zones that
// exist.
func (zs *zoneSet) apply(fr report.FixRecord) error {
	parse := func(data string) (dns.RR, error) {
		// The zone-file line people read in the text report.
		rr, err := dns.NewRR(fr.Line(data))
		if err != nil {
			return nil, fmt.Errorf("%s does not parse: %w", fr.Line(data), err)
		}
		return rr, nil
	}
	zf := zs.zoneFor(dns.CanonicalName(fr.Name))
	if zf == nil {
		return fmt.Errorf("%s is in no zone file", fr.Name)
	}
	find := func(want dns.RR) int {
		for i, rr := range zf.rrs {
			if sameRR(rr, want) {
				return i
			}
		}
		return -1
	}
	var old, value dns.RR
	var err error
	if fr.Action != report.FixAdd {
		if old, err = parse(fr.Old); err != nil {
			return err
		}
	}
	if fr.Action != report.FixRemove {
		if value, err = parse(fr.Value); err != nil {
			return err
		}
	}
	switch fr.Action {
	case report.FixAdd:
		if find(value) >= 0 {
			return fmt.Errorf("add %s: already in %s", fr.Line(fr.Value), zf.name)
		}
		zf.rrs = append(zf.rrs, value)
	case report.FixReplace, report.FixRemove:
		i := find(old)
		if i < 0 {
			return fmt.Errorf("%s %s: not in %s", fr.Action, fr.Line(fr.Old), zf.name)
		}
		if fr.Action == report.FixRemove {
			zf.rrs = append(zf.rrs[:i], zf.rrs[i+1:]...)
		} else {
			zf.rrs[i] = value
		}
	default:
		return fmt.Errorf("unknown action %q", fr.Action)
	}
	return nil
}

// sameRR compares owner, type and data; TXT data as the joined text, as
// receivers read it, however it is split into strings.
func sameRR(a, b dns.RR) bool {
	ha, hb := a.Header(), b.Header()
	if dns.CanonicalName(ha.Name) != dns.CanonicalName(hb.Name) || ha.Rrtype != hb.Rrtype {
		return false
	}
	if ta, ok := a.(*dns.TXT); ok {
		return strings.Join(ta.Txt, "") == strings.Join(b.(*dns.TXT).Txt, "")
	}
	return dns.IsDuplicate(a, b)
}

// write writes every file into dir.
func (zs *zoneSet) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, zf := range zs.files {
		var b strings.Builder
		for _, rr := range zf.rrs {
			b.WriteString(rr.String() + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, zf.name), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
