package dmarc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/preflight-mail/preflight/internal/inputfile"
)

// SuffixList is a Public Suffix List: golang.org/x/net/publicsuffix's
// embedded copy (Embedded), or one read from a file (LoadPSL) for a
// newer list than the one built in.
type SuffixList interface {
	// PublicSuffix returns the public suffix of a lower-case A-label
	// name (the top-level label when no rule matches).
	PublicSuffix(domain string) string
	String() string
}

// Embedded is the list built into preflight (ICANN and private
// sections, as x/net/publicsuffix ships it).
var Embedded SuffixList = publicsuffix.List

// PSLOrgDomain is the organizational domain by a Public Suffix List, as
// RFC 7489 §3.2 found it: the public suffix and one label more. A public
// suffix is its own (there is no label more). A nil list is Embedded.
func PSLOrgDomain(list SuffixList, domain string) string {
	if list == nil {
		list = Embedded
	}
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	suffix := list.PublicSuffix(domain)
	if suffix == domain || !strings.HasSuffix(domain, "."+suffix) {
		return domain
	}
	rest := domain[:len(domain)-len(suffix)-1]
	return rest[strings.LastIndexByte(rest, '.')+1:] + "." + suffix
}

// FileList is a Public Suffix List read from a file in the format of
// https://publicsuffix.org/list/public_suffix_list.dat: one rule a
// line, "//" comments, "*" wildcard labels, "!" exceptions; both the
// ICANN and the private sections count.
type FileList struct {
	name  string
	rules map[string]byte // A-label rule → 'n' normal, 'w' wildcard parent, 'x' exception
	// wildcards: "*.kobe.jp" is kept as "kobe.jp" → 'w'; a normal rule
	// for the same name is kept apart in normal.
	normal map[string]bool
}

// LoadPSL reads a Public Suffix List file, an untrusted input like every
// file flag's: within ctx and the size limit of inputfile.PSL.
func LoadPSL(ctx context.Context, path string) (*FileList, error) {
	f, err := inputfile.Open(ctx, path, inputfile.PSL)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParsePSL(f, path)
}

// ParsePSL reads a Public Suffix List; name names it in errors and in
// String. A file with control characters is no list, and an error quotes
// a line of the file only once a rule has been read: until then it may
// be a file of another kind (an environment file with its secrets).
func ParsePSL(r io.Reader, name string) (*FileList, error) {
	l := &FileList{name: name, rules: map[string]byte{}, normal: map[string]bool{}}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		if i := strings.IndexFunc(sc.Text(), func(r rune) bool { return r < 0x80 && inputfile.IsControl(byte(r)) }); i >= 0 {
			return nil, inputfile.NotText(name, line, i+1, sc.Text()[i], inputfile.PSL)
		}
		// A rule is the text up to the first whitespace.
		rule, _, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if rule == "" || strings.HasPrefix(rule, "//") {
			continue
		}
		exception := strings.HasPrefix(rule, "!")
		rule = strings.TrimPrefix(rule, "!")
		wildcard := strings.HasPrefix(rule, "*.")
		rule = strings.TrimPrefix(rule, "*.")
		ascii, err := toASCII(rule)
		if err != nil || strings.Contains(ascii, "*") || strings.Contains(ascii, "!") {
			if len(l.rules)+len(l.normal) == 0 {
				return nil, fmt.Errorf("%s:%d: not a public suffix rule, and no rule before it: not a Public Suffix List", name, line)
			}
			return nil, fmt.Errorf("%s:%d: %s is not a public suffix rule", name, line, inputfile.Excerpt(sc.Text()))
		}
		switch {
		case exception:
			l.rules[ascii] = 'x'
		case wildcard:
			if l.rules[ascii] != 'x' {
				l.rules[ascii] = 'w'
			}
		default:
			l.normal[ascii] = true
		}
	}
	switch err := sc.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		return nil, fmt.Errorf("%s:%d: a line longer than %s", name, line+1, inputfile.Size(bufio.MaxScanTokenSize))
	case err != nil:
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(l.rules)+len(l.normal) == 0 {
		return nil, fmt.Errorf("%s: no public suffix rules", name)
	}
	return l, nil
}

// toASCII converts a rule's labels to A-labels, in lower case.
func toASCII(rule string) (string, error) {
	labels := strings.Split(rule, ".")
	for i, l := range labels {
		a, err := idna.Lookup.ToASCII(l)
		if err != nil || a == "" {
			return "", fmt.Errorf("label %q", l)
		}
		labels[i] = strings.ToLower(a)
	}
	return strings.Join(labels, "."), nil
}

// PublicSuffix returns the public suffix of domain (an A-label name in
// lower case) by the list's algorithm: an exception rule wins, else the
// matching rule with the most labels, else the top-level label.
func (l *FileList) PublicSuffix(domain string) string {
	labels := strings.Split(domain, ".")
	for i := range labels {
		name := strings.Join(labels[i:], ".")
		if l.rules[name] == 'x' {
			// "!city.kobe.jp": the suffix is kobe.jp.
			return strings.Join(labels[i+1:], ".")
		}
		if l.normal[name] {
			return name
		}
		// "*.kobe.jp" matches c.kobe.jp: look at the parent.
		if i+1 < len(labels) && l.rules[strings.Join(labels[i+1:], ".")] == 'w' {
			return name
		}
	}
	return labels[len(labels)-1]
}

func (l *FileList) String() string { return "public suffix list " + l.name }
