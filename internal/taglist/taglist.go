// Package taglist reads the "tag=value; tag=value" syntax DKIM key
// records (RFC 6376 §3.2) and DMARC records (RFC 9989 §4.8) share. The
// two differ in details, so the parser takes a Syntax: DKIM's tag names
// are case-sensitive and its values may be folded over lines; DMARC's
// grammar is ABNF whose quoted names match in any case (RFC 5234 §2.3)
// and whose values are printable characters on one line.
package taglist

import (
	"fmt"
	"slices"
	"strings"
)

// Syntax says how one protocol reads the shared tag-list.
type Syntax struct {
	// FoldNames: tag names match in any case and are returned in lower
	// case (DMARC: "v" and the other names are ABNF literals, RFC 5234
	// §2.3, so "V=DMARC1" is a version tag).
	FoldNames bool
	// FWS: folding whitespace (CRLF followed by a space or tab) counts
	// as whitespace around and inside values (DKIM, RFC 6376 §2.8).
	FWS bool
	// AlphaNames: tag names are letters only (DMARC: 1*ALPHA). Otherwise
	// ALPHA *ALNUMPUNC (DKIM: letters, digits, "_", first a letter).
	AlphaNames bool
	// SpaceInValues: a space is a value character (DMARC's dmarc-value
	// is %x20-3A / %x3C-7E). Otherwise whitespace may only separate
	// runs of value characters (DKIM's tag-value).
	SpaceInValues bool
}

// DKIM is RFC 6376 §3.2: case-sensitive names, FWS, values case-sensitive.
var DKIM = Syntax{FWS: true}

// DMARC is RFC 9989 §4.8: names in any case, WSP only, printable values.
var DMARC = Syntax{FoldNames: true, AlphaNames: true, SpaceInValues: true}

// Tag is one tag=value pair, trimmed of the whitespace around it.
type Tag struct {
	Name, Value string
}

// List is the tags of a record in the order written. A tag that
// appears twice is kept once (its first value) and reported. It is also
// the model records are changed through: With, Without and Format make
// new records from it, so a fix changes a record tag by tag instead of
// editing its text.
type List []Tag

// Get returns the value of the named tag.
func (l List) Get(name string) (string, bool) {
	for _, t := range l {
		if t.Name == name {
			return t.Value, true
		}
	}
	return "", false
}

// Has reports whether the named tag is present.
func (l List) Has(name string) bool {
	_, ok := l.Get(name)
	return ok
}

// First is the name of the first tag, "" for none.
func (l List) First() string {
	if len(l) == 0 {
		return ""
	}
	return l[0].Name
}

// Kind classifies a problem of syntax.
type Kind int

const (
	// NotTagValue: a part without "=" (or with nothing before it).
	NotTagValue Kind = iota + 1
	// BadName: a tag name outside the syntax's name rule.
	BadName
	// BadValue: a value with a character its syntax does not allow.
	BadValue
	// Duplicate: a tag name appears more than once. RFC 6376 §3.2 makes
	// the whole DKIM tag-list invalid; DMARC leaves it to the tag.
	Duplicate
)

// Problem is one departure from the syntax.
type Problem struct {
	Kind Kind
	Tag  string // the tag's name, when there is one
	Part string // the text of the part, trimmed
}

func (p Problem) String() string {
	switch p.Kind {
	case NotTagValue:
		return fmt.Sprintf("%q is not tag=value", p.Part)
	case BadName:
		return fmt.Sprintf("%q is not a tag name", p.Tag)
	case BadValue:
		return fmt.Sprintf("the value of %s= has a character outside the tag-value syntax", p.Tag)
	case Duplicate:
		return fmt.Sprintf("tag %s= appears twice", p.Tag)
	}
	return p.Part
}

// Parse reads txt as a tag-list. Empty parts (";;", a trailing ";")
// are skipped, as verifiers do. Tags with a bad name or no "=" are
// left out of the list; a tag with a bad value is kept.
func Parse(txt string, s Syntax) (List, []Problem) {
	var list List
	var problems []Problem
	for _, part := range strings.Split(txt, ";") {
		part = s.trim(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		name, value = s.trim(name), s.trim(value)
		if !ok || name == "" {
			problems = append(problems, Problem{Kind: NotTagValue, Part: part})
			continue
		}
		if s.FoldNames {
			name = strings.ToLower(name)
		}
		if !s.validName(name) {
			problems = append(problems, Problem{Kind: BadName, Tag: name, Part: part})
			continue
		}
		if list.Has(name) {
			problems = append(problems, Problem{Kind: Duplicate, Tag: name, Part: part})
			continue
		}
		if !s.validValue(value) {
			problems = append(problems, Problem{Kind: BadValue, Tag: name, Part: part})
		}
		list = append(list, Tag{Name: name, Value: value})
	}
	return list, problems
}

// space is the whitespace the syntax allows around tags and values.
func (s Syntax) space() string {
	if s.FWS {
		return " \t\r\n"
	}
	return " \t"
}

func (s Syntax) trim(x string) string { return strings.Trim(x, s.space()) }

func (s Syntax) validName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		switch {
		case alpha:
		case s.AlphaNames || i == 0:
			return false
		case '0' <= c && c <= '9' || c == '_':
		default:
			return false
		}
	}
	return name != ""
}

// validValue checks the characters of a trimmed value: DKIM's VALCHAR
// (%x21-3A / %x3C-7E) with whitespace between runs (a CR only before
// LF, an LF only after CR, as FWS), DMARC's %x20-3A / %x3C-7E.
func (s Syntax) validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c > 0x20 && c < 0x7f: // ';' cannot occur: it split the parts
		case c == ' ' && s.SpaceInValues:
		case (c == ' ' || c == '\t') && !s.SpaceInValues:
		case c == '\r' && s.FWS && i+2 < len(v) && v[i+1] == '\n' && (v[i+2] == ' ' || v[i+2] == '\t'):
		case c == '\n' && s.FWS && i > 0 && v[i-1] == '\r':
		default:
			return false
		}
	}
	return true
}

// With returns a copy with tag set to value: in its place when the list
// has it, else at the end.
func (l List) With(tag, value string) List {
	out := slices.Clone(l)
	for i := range out {
		if out[i].Name == tag {
			out[i].Value = value
			return out
		}
	}
	return append(out, Tag{Name: tag, Value: value})
}

// Without returns a copy without tag.
func (l List) Without(tag string) List {
	return slices.DeleteFunc(slices.Clone(l), func(t Tag) bool { return t.Name == tag })
}

// Format writes the list as "tag=value; tag=value": the tags named in
// first (those present) first, in that order, then the others as
// written.
func (l List) Format(first ...string) string {
	var parts []string
	for _, name := range first {
		if v, ok := l.Get(name); ok {
			parts = append(parts, name+"="+v)
		}
	}
	for _, t := range l {
		if !slices.Contains(first, t.Name) {
			parts = append(parts, t.Name+"="+t.Value)
		}
	}
	return strings.Join(parts, "; ")
}
