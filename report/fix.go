package report

import (
	"fmt"
	"strings"
)

// Fix actions: what to do with one DNS record.
const (
	FixReplace = "replace" // take Old out and put Value in its place
	FixAdd     = "add"     // publish Value beside what is there
	FixRemove  = "remove"  // take Old out
)

// FixRecord is one DNS change a finding's fix needs, as data: a program
// can apply it to a zone, and the tests do (the round-trip test in cmd).
//
// Name is the record's owner, absolute, lower case, without the final
// dot. Value (add, replace) and Old (replace, remove) are the record
// data: for TXT the text itself, unquoted and unsplit (an SPF or DMARC
// record as receivers read it); for MX "PREFERENCE HOST"; for PTR and
// CNAME the host; for A and AAAA the address. Host names in data are
// absolute without the final dot too, except the root, which is "." (a
// null MX is "0 ."). Writing a zone file, add the dots: Line does.
type FixRecord struct {
	Action string `json:"action"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Value  string `json:"value,omitempty"`
	Old    string `json:"old,omitempty"`
	// ZoneFile and ZoneLine say where the change goes when the name is
	// in a --zone file: the line of the record to replace or remove, or
	// of the zone's SOA for a record to add. ZoneLine is 0 when it is not
	// known.
	ZoneFile string `json:"file,omitempty"`
	ZoneLine int    `json:"line,omitempty"`
}

// Locator finds where a fix record's change goes in the run's zone
// files: the file, and the line (see FixRecord.ZoneFile).
type Locator func(r FixRecord) (file string, line int)

// Locate fills File and Line of every fix record that locate places.
func (r *Report) Locate(locate Locator) {
	for i := range r.Checks {
		for j := range r.Checks[i].Findings {
			for k := range r.Checks[i].Findings[j].FixRecords {
				fr := &r.Checks[i].Findings[j].FixRecords[k]
				fr.ZoneFile, fr.ZoneLine = locate(*fr)
			}
		}
	}
}

// location is where a finding's fix goes in a zone file: its first
// located record's.
func location(f Finding) (file string, line int) {
	for _, r := range f.FixRecords {
		if r.ZoneFile != "" {
			return r.ZoneFile, r.ZoneLine
		}
	}
	return "", 0
}

// Line is the record with data as a zone-file line: "NAME. TYPE DATA",
// names absolute, TXT text quoted (split into strings of at most 255
// octets, RFC 1035 §3.3).
func (r FixRecord) Line(data string) string {
	return absolute(r.Name) + " " + r.Type + " " + zoneData(r.Type, data)
}

// Lines says the change in words for people, one line per record:
// "Add …", "Remove …", or "Replace …" followed by "   with …".
func (r FixRecord) Lines() []string {
	switch r.Action {
	case FixAdd:
		return []string{"Add " + r.Line(r.Value)}
	case FixRemove:
		return []string{"Remove " + r.Line(r.Old)}
	}
	return []string{"Replace " + r.Line(r.Old), "   with " + r.Line(r.Value)}
}

// fixText is a finding's fix as the text writers print it: the advice,
// then a line per record change. Nothing here is sanitised; the writers
// sanitise each line.
func fixText(f Finding) string {
	lines := []string{}
	if f.Fix != "" {
		lines = append(lines, f.Fix)
	}
	for _, r := range f.FixRecords {
		lines = append(lines, r.Lines()...)
	}
	return strings.Join(lines, "\n")
}

// absolute writes a name with its final dot.
func absolute(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// zoneData writes record data as a zone file wants it.
func zoneData(typ, data string) string {
	switch typ {
	case "TXT":
		return quoteTXT(data)
	case "PTR", "CNAME":
		return absolute(data)
	case "MX":
		pref, host, ok := strings.Cut(data, " ")
		if ok {
			return pref + " " + absolute(host)
		}
	}
	return data
}

// quoteTXT quotes a TXT text, split into character-strings of at most
// 255 octets, with '"' and '\' escaped, and every octet outside
// printable ASCII written as \DDD (RFC 1035 §5.1): the line pastes into
// a zone file as it is, and no control character from DNS data reaches
// a terminal or a log.
func quoteTXT(s string) string {
	var parts []string
	for {
		n := min(len(s), 255)
		var b strings.Builder
		b.WriteByte('"')
		for i := 0; i < n; i++ {
			switch c := s[i]; {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < 0x20 || c >= 0x7f:
				fmt.Fprintf(&b, "\\%03d", c)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
		parts = append(parts, b.String())
		s = s[n:]
		if s == "" {
			break
		}
	}
	return strings.Join(parts, " ")
}
