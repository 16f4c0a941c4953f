// Package spf parses, walks and evaluates SPF records (RFC 7208).
//
// One model of a record serves both uses: Parse (pure, every syntax
// error reported) reads it, Record.Evaluated says which of its terms
// check_host() evaluates, and the same counting rules (§4.6.4) apply to
// the lint's worst-case walk of the whole include/redirect tree (Walk,
// walk.go) and to the verdict for one sending IP (CheckHost and
// Evaluate, eval.go, over an already-parsed record). Macros (§7) are in
// macro.go.
package spf

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Version is the version term every SPF record starts with (§4.5).
const Version = "v=spf1"

// IsSPF reports whether a TXT string is an SPF record: "v=spf1" alone or
// followed by a space (§4.5; "v=spf10" is not one). Case-insensitive, as
// most implementations accept.
func IsSPF(txt string) bool {
	if len(txt) < len(Version) || !strings.EqualFold(txt[:len(Version)], Version) {
		return false
	}
	return len(txt) == len(Version) || txt[len(Version)] == ' '
}

// Select returns the SPF records among a name's TXT strings.
func Select(txts []string) []string {
	var out []string
	for _, t := range txts {
		if IsSPF(t) {
			out = append(out, t)
		}
	}
	return out
}

// Term is one directive or modifier of a record.
type Term struct {
	Raw string // as written
	// Qualifier is '+', '-', '~' or '?' for directives ('+' when left
	// out), 0 for modifiers.
	Qualifier byte
	// Mechanism is "all", "include", "a", "mx", "ptr", "ip4", "ip6" or
	// "exists" (lower case); empty for modifiers.
	Mechanism string
	// Modifier is the name of a modifier ("redirect", "exp", or an
	// unknown one, lower case); empty for directives.
	Modifier string
	// Domain is the domain-spec as written (may hold macros); empty when
	// the term has none (a, mx, ptr default to the current domain).
	Domain string
	Net    netip.Prefix // ip4 and ip6
	CIDR4  int          // a/mx dual-cidr-length; -1 when absent
	CIDR6  int
	Value  string // a modifier's value
}

// HasMacro reports whether the term's domain-spec holds a macro, so its
// target depends on the message (sender, IP, HELO).
func (t Term) HasMacro() bool { return strings.Contains(t.Domain, "%") }

// QueriesDNS reports whether evaluating the term costs one of the ten
// DNS lookups (§4.6.4): include, a, mx, ptr, exists and redirect.
func (t Term) QueriesDNS() bool {
	switch t.Mechanism {
	case "include", "a", "mx", "ptr", "exists":
		return true
	}
	return t.Modifier == "redirect"
}

// Syntax errors a caller can tell apart with errors.Is. A SyntaxError's
// Reason wraps one of them, or is a one-off description. Their text is
// part of the messages preflight reports, so it carries no "spf:"
// prefix: the SyntaxError's term says where the problem is.
var (
	// ErrNotSPF: the string is not an SPF record at all (§4.5), as
	// opposed to a malformed one.
	ErrNotSPF = errors.New(`does not start with "v=spf1"`)
	// ErrNotASCII: a byte outside 7-bit printable ASCII (§3).
	ErrNotASCII = errors.New("SPF records are 7-bit printable ASCII (§3)")
	// ErrUnknownMechanism: a directive whose name is not one of §5's.
	ErrUnknownMechanism = errors.New("unknown mechanism")
	// ErrDuplicateModifier: redirect= or exp= given twice (§6).
	ErrDuplicateModifier = errors.New("appears twice (§6)")
	// ErrNotFQDN: a domain-spec without a dot and no macro at its end.
	ErrNotFQDN = errors.New("is not a fully qualified domain")
	// ErrExpOnlyMacro: the c, r or t macro outside an explanation (§7.2).
	ErrExpOnlyMacro = errors.New("is allowed only in exp= explanations (§7.2)")
)

// SyntaxError is one problem in a record.
type SyntaxError struct {
	Term   string // the offending term ("" for the record as a whole)
	Reason error
}

func (e SyntaxError) Error() string {
	if e.Term == "" {
		return e.Reason.Error()
	}
	return fmt.Sprintf("%q: %v", e.Term, e.Reason)
}

// Unwrap returns the reason, so errors.Is finds the sentinels above.
func (e SyntaxError) Unwrap() error { return e.Reason }

// Record is a parsed SPF record. Parsing never stops at the first
// problem: Errors lists them all, so a lint can report every one.
type Record struct {
	Raw      string
	Terms    []Term // in order, modifiers included
	Redirect *Term
	Exp      *Term
	Errors   []SyntaxError
}

// Valid reports whether the record parsed without errors; an invalid
// record makes check_host return permerror (§4.6).
func (r *Record) Valid() bool { return len(r.Errors) == 0 }

// Evaluated returns the terms check_host() evaluates, in order, when
// none of them matches: the directives up to and including the first
// "all" (mechanisms after it are never tested, §5.1), then redirect=
// when there is no "all" (a redirect is ignored when the record has an
// "all" anywhere, §6.1). exp= and unknown modifiers are not evaluated
// terms (§6.2, §6). The lint counts these and the evaluator walks them:
// the two cannot disagree about what a record costs.
func (r *Record) Evaluated() []Term {
	var out []Term
	for _, t := range r.Terms {
		if t.Mechanism == "" {
			continue
		}
		out = append(out, t)
		if t.Mechanism == "all" {
			return out
		}
	}
	if r.Redirect != nil {
		out = append(out, *r.Redirect)
	}
	return out
}

// QueryTerms counts the record's own DNS-querying terms among those
// evaluated (§4.6.4): what evaluating the record costs when nothing in
// it matches.
func (r *Record) QueryTerms() int {
	n := 0
	for _, t := range r.Evaluated() {
		if t.QueriesDNS() {
			n++
		}
	}
	return n
}

// All returns the record's "all" directive, if any.
func (r *Record) All() *Term {
	for i := range r.Terms {
		if r.Terms[i].Mechanism == "all" {
			return &r.Terms[i]
		}
	}
	return nil
}

// Parse parses an SPF record per the ABNF of RFC 7208 §12.
func Parse(txt string) *Record {
	r := &Record{Raw: txt}
	if !IsSPF(txt) {
		r.Errors = append(r.Errors, SyntaxError{Reason: ErrNotSPF})
		return r
	}
	for i := 0; i < len(txt); i++ {
		if c := txt[i]; c < 0x20 || c > 0x7e {
			r.Errors = append(r.Errors, SyntaxError{Reason: fmt.Errorf("byte 0x%02x at offset %d: %w", c, i, ErrNotASCII)})
			break
		}
	}
	rest := txt[len(Version):]
	for _, raw := range strings.Split(rest, " ") {
		if raw == "" {
			continue // *SP between terms; several spaces are tolerated
		}
		t, err := parseTerm(raw)
		if err != nil {
			r.Errors = append(r.Errors, SyntaxError{Term: raw, Reason: err})
			continue
		}
		r.Terms = append(r.Terms, t)
	}
	for i := range r.Terms {
		t := &r.Terms[i]
		switch t.Modifier {
		case "redirect":
			if r.Redirect != nil {
				r.Errors = append(r.Errors, SyntaxError{Term: t.Raw, Reason: fmt.Errorf("redirect= %w", ErrDuplicateModifier)})
			}
			r.Redirect = t
		case "exp":
			if r.Exp != nil {
				r.Errors = append(r.Errors, SyntaxError{Term: t.Raw, Reason: fmt.Errorf("exp= %w", ErrDuplicateModifier)})
			}
			r.Exp = t
		}
	}
	return r
}

var mechanisms = map[string]bool{"all": true, "include": true, "a": true, "mx": true, "ptr": true, "ip4": true, "ip6": true, "exists": true}

// parseTerm parses one term. A modifier is name "=" value, where name
// starts with a letter and holds no ':' or '/' (§12); anything else is a
// directive.
func parseTerm(raw string) (Term, error) {
	if eq := strings.IndexByte(raw, '='); eq > 0 && isName(raw[:eq]) {
		return parseModifier(raw, eq)
	}
	return parseDirective(raw)
}

// parseModifier parses name=value, the '=' at eq (§6).
func parseModifier(raw string, eq int) (Term, error) {
	t := Term{Raw: raw, CIDR4: -1, CIDR6: -1}
	t.Modifier = strings.ToLower(raw[:eq])
	t.Value = raw[eq+1:]
	switch t.Modifier {
	case "redirect", "exp":
		t.Domain = t.Value
		return t, checkDomainSpec(t.Value)
	}
	if _, err := checkMacroString(t.Value, false); err != nil {
		return t, fmt.Errorf("unknown modifier with an invalid value: %w", err)
	}
	return t, nil
}

// parseDirective parses [qualifier] mechanism [argument] (§4.6.1, §5).
func parseDirective(raw string) (Term, error) {
	t := Term{Raw: raw, Qualifier: '+', CIDR4: -1, CIDR6: -1}
	body := raw
	switch raw[0] {
	case '+', '-', '~', '?':
		t.Qualifier = raw[0]
		body = raw[1:]
	}
	// arg keeps its leading ':' or '/'; "" when there is none.
	name, arg := body, ""
	if i := strings.IndexAny(body, ":/"); i >= 0 {
		name, arg = body[:i], body[i:]
	}
	t.Mechanism = strings.ToLower(name)
	if !mechanisms[t.Mechanism] {
		if strings.Contains(body, "=") {
			return t, errors.New("not a valid modifier name")
		}
		return t, fmt.Errorf("%w %q", ErrUnknownMechanism, name)
	}
	var err error
	switch t.Mechanism {
	case "all":
		if arg != "" {
			err = errors.New("all takes no argument")
		}
	case "include", "exists":
		t.Domain, err = domainArg(arg, fmt.Errorf("%s needs \":domain\"", t.Mechanism))
	case "ptr":
		if arg != "" {
			t.Domain, err = domainArg(arg, errors.New("ptr takes \":domain\", not a CIDR length"))
		}
	case "a", "mx":
		err = parseAOrMX(&t, arg)
	case "ip4", "ip6":
		t.Net, err = parseIPNet(t.Mechanism, arg)
	}
	return t, err
}

// domainArg reads ":domain-spec"; noColon is the error when arg is not
// one.
func domainArg(arg string, noColon error) (string, error) {
	if !strings.HasPrefix(arg, ":") {
		return "", noColon
	}
	return arg[1:], checkDomainSpec(arg[1:])
}

// parseAOrMX reads the [ ":" domain-spec ] [ dual-cidr-length ] of a and
// mx (§5.3, §5.4).
func parseAOrMX(t *Term, arg string) error {
	// domain-spec may hold '/' (a macro-literal), so the dual-cidr-length
	// is only what looks like one at the end.
	if m := dualCIDR.FindStringIndex(arg); m != nil {
		if err := parseDualCIDR(arg[m[0]:], t); err != nil {
			return err
		}
		arg = arg[:m[0]]
	}
	if arg == "" {
		return nil
	}
	var err error
	t.Domain, err = domainArg(arg, errors.New("bad argument"))
	return err
}

// parseIPNet reads the ":" address [ "/" length ] of ip4 and ip6 (§5.6).
func parseIPNet(mechanism, arg string) (netip.Prefix, error) {
	if !strings.HasPrefix(arg, ":") {
		return netip.Prefix{}, fmt.Errorf("%s needs \":address\"", mechanism)
	}
	addr, bits := arg[1:], ""
	if i := strings.IndexByte(addr, '/'); i >= 0 {
		addr, bits = addr[:i], addr[i+1:]
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address", addr)
	}
	max := 32
	if mechanism == "ip4" {
		if !ip.Is4() {
			return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 address", addr)
		}
	} else {
		max = 128
		if ip.Is4() {
			return netip.Prefix{}, fmt.Errorf("%q is not an IPv6 address (use ip4:)", addr)
		}
	}
	n := max
	if bits != "" || strings.HasSuffix(arg, "/") {
		if n, err = cidrValue(bits, max); err != nil {
			return netip.Prefix{}, err
		}
	}
	return netip.PrefixFrom(ip, n), nil
}

// dualCIDR matches a trailing dual-cidr-length: "/24", "//64", "/24//64".
var dualCIDR = regexp.MustCompile(`(/[0-9]+)?(//[0-9]+)?$`)

// parseDualCIDR reads "/24", "//64" or "/24//64".
func parseDualCIDR(s string, t *Term) error {
	v4, v6, found := strings.Cut(s, "//")
	if found {
		n, err := cidrValue(v6, 128)
		if err != nil {
			return err
		}
		t.CIDR6 = n
	}
	if v4 != "" {
		if !strings.HasPrefix(v4, "/") {
			return errors.New("bad CIDR length")
		}
		n, err := cidrValue(v4[1:], 32)
		if err != nil {
			return err
		}
		t.CIDR4 = n
	}
	return nil
}

// cidrValue reads a prefix length: digits only (strconv.Atoi would take
// "+0"), no leading zeros, at most max (§12).
func cidrValue(s string, max int) (int, error) {
	if s == "" || len(s) > 1 && s[0] == '0' || strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, fmt.Errorf("bad CIDR length %q", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max {
		return 0, fmt.Errorf("CIDR length %q is not 0 to %d", s, max)
	}
	return n, nil
}

// isName: ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
func isName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// checkDomainSpec checks domain-spec = macro-string domain-end, where
// domain-end is "." toplabel ["."] or a macro-expand (§7.1). Literal
// labels must fit DNS (63 octets), and the toplabel must not be all
// digits (an IP address is not a domain).
func checkDomainSpec(s string) error {
	if s == "" {
		return errors.New("empty domain")
	}
	endsInMacro, err := checkMacroString(s, false)
	if err != nil {
		return err
	}
	if endsInMacro {
		return nil
	}
	name := strings.TrimSuffix(s, ".")
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return fmt.Errorf("%q %w", s, ErrNotFQDN)
	}
	if err := checkToplabel(name[i+1:]); err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if !strings.Contains(s, "%") {
		for _, l := range strings.Split(name, ".") {
			if l == "" {
				return fmt.Errorf("%q has an empty label", s)
			}
			if len(l) > 63 {
				return fmt.Errorf("%q has a label longer than 63 octets", s)
			}
		}
	}
	return nil
}

// checkToplabel: ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
func checkToplabel(l string) error {
	if l == "" {
		return errors.New("empty top-level label")
	}
	hasAlpha := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case isAlpha(c):
			hasAlpha = true
		case isDigit(c):
		case c == '-':
			if i == 0 || i == len(l)-1 {
				return fmt.Errorf("top-level label %q starts or ends with '-'", l)
			}
		default:
			return fmt.Errorf("top-level label %q has %q", l, c)
		}
	}
	if !hasAlpha && !strings.Contains(l, "-") {
		return fmt.Errorf("top-level label %q is all digits", l)
	}
	return nil
}

// checkMacroString validates macro-string; exp allows the c, r and t
// macro letters, which only explanations may use (§7.1). It also says
// whether the string ends with a macro-expand (a valid domain-end).
func checkMacroString(s string, exp bool) (endsInMacro bool, err error) {
	for i := 0; i < len(s); i++ {
		endsInMacro = false
		c := s[i]
		if c != '%' {
			if c < 0x21 || c > 0x7e {
				if exp && c == ' ' {
					continue
				}
				return false, fmt.Errorf("invalid character %q", c)
			}
			continue
		}
		if i+1 >= len(s) {
			return false, errors.New("'%' at the end (write %% for a literal percent sign)")
		}
		switch s[i+1] {
		case '%', '_', '-':
			i++
			endsInMacro = true
			continue
		case '{':
		default:
			return false, fmt.Errorf("invalid macro %q (write %%%% for a literal percent sign)", s[i:i+2])
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return false, errors.New("macro not closed with '}'")
		}
		if err := checkMacroBody(s[i+2:i+end], exp); err != nil {
			return false, err
		}
		i += end
		endsInMacro = true
	}
	return endsInMacro, nil
}

// checkMacroBody checks "letter *DIGIT ['r'] *delimiter" inside %{...}.
func checkMacroBody(b string, exp bool) error {
	if b == "" {
		return errors.New("empty macro %{}")
	}
	letter := b[0] | 0x20 // lower case
	switch letter {
	case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
	case 'c', 'r', 't':
		if !exp {
			return fmt.Errorf("macro letter %q %w", b[0], ErrExpOnlyMacro)
		}
	default:
		return fmt.Errorf("unknown macro letter %q", b[0])
	}
	rest := b[1:]
	j := 0
	for j < len(rest) && isDigit(rest[j]) {
		j++
	}
	if j > 0 {
		if n, _ := strconv.Atoi(rest[:j]); n == 0 {
			return fmt.Errorf("macro %%{%s}: keeping 0 labels", b)
		}
	}
	rest = rest[j:]
	if rest != "" && (rest[0] == 'r' || rest[0] == 'R') {
		rest = rest[1:]
	}
	for k := 0; k < len(rest); k++ {
		if !strings.ContainsRune(".-+,/_=", rune(rest[k])) {
			return fmt.Errorf("macro %%{%s}: invalid delimiter %q", b, rest[k])
		}
	}
	return nil
}
