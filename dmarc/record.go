// Package dmarc reads DMARC policy records and discovers them as RFC 9989
// defines (it obsoletes RFC 7489 and RFC 9091): the record grammar
// (§4.7, §4.8), the DNS tree walk (§4.10), policy discovery (§4.10.1)
// and the organizational domain (§4.10.2). Receivers that still run
// RFC 7489 code find organizational domains with a Public Suffix List
// instead, so the package does that too (legacy.go) and leaves it to
// the dmarc check (checks/dmarc.go) to say where the two differ.
// Parsing is pure; lookups go through *resolver.Resolver; there is no
// report wording here.
package dmarc

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/preflight-mail/preflight/internal/taglist"
)

// Version is the one value of v= (RFC 9989 §4.7); it is case-sensitive
// (%s"DMARC1" in §4.8).
const Version = "DMARC1"

// Domain Owner Assessment Policies (RFC 9989 §4.7 p).
const (
	None       = "none"
	Quarantine = "quarantine"
	Reject     = "reject"
)

// ErrNotDMARC: the text is not a DMARC record. RFC 9989 §4.7 v: a
// record whose first tag is not v=DMARC1 MUST be ignored, as if it were
// not there.
var ErrNotDMARC = errors.New("dmarc: not a DMARC record")

// Record is a DMARC policy record as RFC 9989 receivers read it.
// Invalid optional tags are ignored (§4.8) and reported in Problems;
// their fields keep the defaults. It is also the model a fix changes a
// record through: With, Without and Format make new records from its
// tags, and the fields are read again by parsing the result.
type Record struct {
	Raw string
	// Tags holds the tags in the order written, each once (a repeated
	// tag's first value).
	Tags taglist.List
	// P, SP, NP are the valid policies in lower case, "" when the tag
	// is absent or invalid (Problems says which).
	P, SP, NP string
	PSD       string // "y", "n" or "u" (the default)
	Test      bool   // t=y: policy test mode
	ADKIM     string // "r" (the default) or "s"
	ASPF      string
	RUA, RUF  []URI // the valid report URIs
	// PCT is the RFC 7489 pct= value, -1 when absent or not a number
	// from 0 to 100. RFC 9989 removed the tag (Appendix A.6).
	PCT      int
	Problems []Problem
	// ignored are the tags whose value receivers ignore (invalid, or not
	// a DMARC tag), and mended a report URI list's valid URIs, for
	// Mended.
	ignored []string
	mended  map[string][]string
}

// URI is one valid report URI (RFC 9989 §4.6, §4.8 dmarc-uri).
type URI struct {
	Raw    string // as written, without an obsolete !size suffix
	Scheme string // lower case
	// Address and Host: for mailto:, the address and its domain (lower
	// case); for other schemes, Host is the URI's host.
	Address, Host string
}

// ProblemKind classifies what is wrong with a tag, by what receivers do.
type ProblemKind int

const (
	// PolicyBroken: p is missing or invalid, or sp or np is invalid.
	// RFC 9989 §4.10.1: the record then acts as p=none if rua holds a
	// valid URI, else no DMARC applies.
	PolicyBroken ProblemKind = iota + 1
	// Invalid: an optional tag (or a part that is not tag=value) is
	// invalid and ignored; its default applies (RFC 9989 §4.8).
	Invalid
	// Unknown: not a DMARC tag; ignored (RFC 9989 §4.7).
	Unknown
	// Removed: pct, rf, ri and the !size suffix of report URIs are gone
	// in RFC 9989 (Appendix C.4, C.5.2); RFC 7489 receivers may still
	// honour them.
	Removed
	// Unsupported: a valid report URI of a scheme receivers need not
	// support; only mailto: is required, others are ignored (§4.7 rua).
	Unsupported
)

// Problem is one thing wrong with a record, about one tag.
type Problem struct {
	Kind ProblemKind
	Tag  string // the tag ("" for a part that is not tag=value)
	Text string // what is wrong, for people
}

// IsRecord reports whether txt is a DMARC record at all: its first tag
// is v with exactly the value DMARC1 (RFC 9989 §4.7 v, §4.10 step 2).
// The tag name may be in any case, the value may not.
func IsRecord(txt string) bool {
	tags, _ := taglist.Parse(txt, taglist.DMARC)
	v, _ := tags.Get("v")
	return tags.First() == "v" && v == Version
}

// LooksLikeDMARC reports whether a TXT record that is not a DMARC record
// was meant as one: its v= names DMARC in some form, or it has a p= or
// rua= tag. Other TXT records at a _dmarc name (site verifications) are
// just ignored.
func LooksLikeDMARC(txt string) bool {
	tags, _ := taglist.Parse(txt, taglist.DMARC)
	v, _ := tags.Get("v")
	return strings.Contains(strings.ToLower(v), "dmarc") || tags.Has("p") || tags.Has("rua")
}

// NotRecordReason says why txt is not a DMARC record, "" when it is one.
func NotRecordReason(txt string) string {
	tags, _ := taglist.Parse(txt, taglist.DMARC)
	v, ok := tags.Get("v")
	switch {
	case !ok:
		return "it has no v=DMARC1 tag"
	case tags.First() != "v":
		return "v=DMARC1 is not its first tag"
	case v != Version && strings.EqualFold(v, Version):
		return fmt.Sprintf("v=%s is not v=DMARC1: the version is case-sensitive", v)
	case v != Version:
		return fmt.Sprintf("v=%s is not v=DMARC1", v)
	}
	return ""
}

// Parse reads a DMARC record. It fails with ErrNotDMARC when txt is not
// one; otherwise every problem is in Record.Problems.
func Parse(txt string) (Record, error) {
	if why := NotRecordReason(txt); why != "" {
		return Record{Raw: txt}, fmt.Errorf("%w: %s", ErrNotDMARC, why)
	}
	tags, syntax := taglist.Parse(txt, taglist.DMARC)
	r := Record{Raw: txt, Tags: tags, PSD: "u", ADKIM: "r", ASPF: "r", PCT: -1}
	for _, p := range syntax {
		r.syntaxProblem(p)
		if p.Kind == taglist.BadValue {
			r.ignored = append(r.ignored, p.Tag) // a character outside the syntax
		}
	}
	for _, t := range tags {
		n := len(r.Problems)
		r.readTag(t.Name, t.Value)
		if slices.ContainsFunc(r.Problems[n:], func(p Problem) bool { return p.Kind != Removed && p.Kind != Unsupported }) ||
			t.Name == "pct" && r.PCT < 0 {
			r.ignored = append(r.ignored, t.Name)
		}
	}
	if !tags.Has("p") {
		r.add(PolicyBroken, "p", "there is no p= tag (the policy)")
	}
	return r, nil
}

func (r *Record) add(kind ProblemKind, tag, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Kind: kind, Tag: tag, Text: fmt.Sprintf(format, args...)})
}

// syntaxProblem files a problem of the tag-list syntax under the tag
// it concerns: a repeated policy tag breaks the policy (receivers may
// read either value), anything else is ignored.
func (r *Record) syntaxProblem(p taglist.Problem) {
	switch {
	case p.Kind == taglist.Duplicate && isPolicyTag(p.Tag):
		r.add(PolicyBroken, p.Tag, "%s= appears twice: receivers may use either value", p.Tag)
	case p.Kind == taglist.Duplicate:
		r.add(Invalid, p.Tag, "%s= appears twice: the first is used", p.Tag)
	case p.Kind == taglist.BadValue && isPolicyTag(p.Tag):
		// readTag finds the value invalid.
	case p.Kind == taglist.BadValue:
		r.add(Invalid, p.Tag, "%s", p.String())
	default:
		r.add(Invalid, p.Tag, "%s: not part of the record", p.String())
	}
}

func isPolicyTag(tag string) bool { return tag == "p" || tag == "sp" || tag == "np" }

// readTag reads one tag into r (RFC 9989 §4.7 and the value rules of
// §4.8). Values other than v's match in any case: the grammar's
// literals are case-insensitive (RFC 5234 §2.3).
func (r *Record) readTag(name, value string) {
	lower := strings.ToLower(value)
	switch name {
	case "v":
	case "p", "sp", "np":
		if slices.Contains([]string{None, Quarantine, Reject}, lower) {
			*r.policyField(name) = lower
		} else {
			r.add(PolicyBroken, name, "%s=%s is not none, quarantine or reject", name, value)
		}
	case "psd":
		r.PSD = r.oneOf(name, value, "u", "y", "n", "u")
	case "t":
		r.Test = r.oneOf(name, value, "n", "y", "n") == "y"
	case "adkim":
		r.ADKIM = r.oneOf(name, value, "r", "r", "s")
	case "aspf":
		r.ASPF = r.oneOf(name, value, "r", "r", "s")
	case "fo":
		if !validFO(lower) {
			r.add(Invalid, name, "fo=%s is not 0 or 1 and d, s, separated by ':'", value)
		}
	case "rua":
		r.RUA = r.uris(name, value)
	case "ruf":
		r.RUF = r.uris(name, value)
	case "pct":
		n, err := strconv.Atoi(value)
		if err == nil && n >= 0 && n <= 100 {
			r.PCT = n
			r.add(Removed, name, "pct=%d", n)
		} else {
			r.add(Removed, name, "pct=%s (not even a number from 0 to 100)", value)
		}
	case "rf", "ri":
		r.add(Removed, name, "%s=%s", name, value)
	default:
		r.add(Unknown, name, "%s= is not a DMARC tag", name)
	}
}

func (r *Record) policyField(name string) *string {
	switch name {
	case "sp":
		return &r.SP
	case "np":
		return &r.NP
	}
	return &r.P
}

// oneOf returns value in lower case when it is one of valid, else
// records the problem and returns def.
func (r *Record) oneOf(name, value, def string, valid ...string) string {
	if v := strings.ToLower(value); slices.Contains(valid, v) {
		return v
	}
	r.add(Invalid, name, "%s=%s is not %s", name, value, strings.Join(valid, " or "))
	return def
}

// validFO checks dmarc-fo (RFC 9989 §4.8): "0" or "1" at most once,
// "d" and "s" each at most once, separated by colons.
func validFO(v string) bool {
	seen := map[string]bool{}
	for _, o := range strings.Split(v, ":") {
		o = strings.Trim(o, " \t")
		switch {
		case o != "0" && o != "1" && o != "d" && o != "s", seen[o]:
			return false
		}
		seen[o] = true
	}
	return !(seen["0"] && seen["1"])
}

// uris reads a dmarc-urilist (RFC 9989 §4.8): URIs separated by commas
// (a comma inside a URI must be encoded). Invalid URIs are left out.
func (r *Record) uris(tag, value string) []URI {
	var out []URI
	removed := false
	for _, item := range strings.Split(value, ",") {
		item = strings.Trim(item, " \t")
		u, sized, err := parseURI(item)
		removed = removed || sized
		if err == nil {
			r.mend(tag, u.Raw)
		} else if m, _, merr := parseURI("mailto:" + item); merr == nil && !strings.Contains(item, ":") {
			r.mend(tag, m.Raw) // an address written without mailto:
		}
		switch {
		case err != nil:
			r.add(Invalid, tag, "%s: %q %v", tag, item, err)
		case u.Scheme != "mailto":
			r.add(Unsupported, tag, "%s: %s is not a mailto: URI", tag, u.Raw)
			out = append(out, u)
		default:
			out = append(out, u)
		}
	}
	if removed {
		r.add(Removed, tag, "%s: the !size suffix of a report URI", tag)
	}
	return out
}

// mend keeps uri for Mended's tag, unless a character in it is outside
// the tag-value syntax (printable ASCII, RFC 9989 §4.8).
func (r *Record) mend(tag, uri string) {
	if strings.ContainsFunc(uri, func(c rune) bool { return c <= ' ' || c >= 0x7f }) {
		return
	}
	if r.mended == nil {
		r.mended = map[string][]string{}
	}
	r.mended[tag] = append(r.mended[tag], uri)
}

// parseURI reads one report URI. sized says it carried the obsolete
// "!" size suffix (obs-dmarc-report-size, RFC 9989 §4.8), which is
// ignored.
func parseURI(s string) (u URI, sized bool, err error) {
	if i := strings.LastIndexByte(s, '!'); i >= 0 && obsSize(s[i+1:]) {
		s, sized = s[:i], true
	}
	if s == "" {
		return URI{}, sized, errors.New("is empty")
	}
	pu, err := url.Parse(s)
	if err != nil || pu.Scheme == "" {
		if strings.Contains(s, "@") && !strings.Contains(s, ":") {
			return URI{}, sized, errors.New("is not a URI: mailto: is missing")
		}
		return URI{}, sized, errors.New("is not a URI")
	}
	u = URI{Raw: s, Scheme: strings.ToLower(pu.Scheme), Host: strings.ToLower(pu.Hostname())}
	if u.Scheme != "mailto" {
		if u.Host == "" {
			return URI{}, sized, errors.New("has no host")
		}
		return u, sized, nil
	}
	addr := pu.Opaque
	if unescaped, err := url.PathUnescape(addr); err == nil {
		addr = unescaped
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || !strings.Contains(a.Address, "@") {
		return URI{}, sized, errors.New("is not a mailto: URI with an email address")
	}
	u.Address = a.Address
	u.Host = strings.ToLower(a.Address[strings.LastIndexByte(a.Address, '@')+1:])
	return u, sized, nil
}

// obsSize matches obs-dmarc-report-size after the "!": 1*DIGIT
// [ "k" / "m" / "g" / "t" ].
func obsSize(s string) bool {
	s = strings.TrimRight(s, "kmgtKMGT")
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// With returns a copy of the record with tag set to value: in its place
// when the record has it, else at the end. Parse the result of Format to
// read the new values.
func (r Record) With(tag, value string) Record {
	r.Tags = r.Tags.With(tag, value)
	return r
}

// Without returns a copy of the record without tag.
func (r Record) Without(tag string) Record {
	r.Tags = r.Tags.Without(tag)
	return r
}

// Format writes the record's tags as a record: v=DMARC1 first, as RFC
// 9989 §4.7 requires, then p=, where RFC 7489 §6.3 receivers want it,
// then the others in the order written, each once. What taglist.Parse
// could not read as a tag is not in it.
func (r Record) Format() string {
	if rest := r.Tags.Without("v").Format("p"); rest != "" {
		return "v=" + Version + "; " + rest
	}
	return "v=" + Version
}

// Mended is the record without what receivers ignore, as the model of
// a fix: unknown tags and tags whose value is invalid are left out (p,
// sp and np too: a policy to publish is the caller's to choose), and a
// rua= or ruf= with invalid URIs keeps its valid ones, an address
// written without mailto: gaining it. The tags RFC 9989 removed stay
// when RFC 7489 receivers can still read them (pct from 0 to 100, rf,
// ri): they are in force there.
func (r Record) Mended() Record {
	for _, tag := range r.ignored {
		if uris := r.mended[tag]; len(uris) > 0 && (tag == "rua" || tag == "ruf") {
			r = r.With(tag, strings.Join(uris, ","))
			continue
		}
		r = r.Without(tag)
	}
	return r
}

// Meant reads txt, a TXT record meant as DMARC that is not a DMARC
// record (NotRecordReason: v= not first, not exactly DMARC1), as the
// record it was meant to be: v=DMARC1 first, its other tags as written.
func Meant(txt string) Record {
	tags, _ := taglist.Parse(txt, taglist.DMARC)
	r, _ := Parse(Record{Tags: tags}.Format()) // v=DMARC1 first: a record
	return r
}

// PolicyBroken reports whether p is missing or invalid, or sp or np
// invalid (RFC 9989 §4.10.1).
func (r Record) PolicyBroken() bool {
	return slices.ContainsFunc(r.Problems, func(p Problem) bool { return p.Kind == PolicyBroken })
}

// Applies reports whether DMARC applies under this record: its policy
// is sound, or it is broken and rua holds a valid URI, so it acts as
// p=none (RFC 9989 §4.10.1).
func (r Record) Applies() bool { return !r.PolicyBroken() || len(r.RUA) > 0 }

// Role says how the domain whose mail is judged stands to the record.
type Role int

const (
	// Own: the record is the author domain's own (p applies).
	Own Role = iota
	// Subdomain: the record is an organizational or public suffix
	// domain's and the author domain exists (sp, else p).
	Subdomain
	// NonExistent: like Subdomain, for an author domain that does not
	// exist (np, else sp, else p).
	NonExistent
)

// Policy is the Domain Owner Assessment Policy for a domain in role and
// the tag it comes from (RFC 9989 §4.7 np, sp; §4.10.1). A broken
// record that still applies acts as p=none. ok is false when DMARC does
// not apply at all.
func (r Record) Policy(role Role) (policy, tag string, ok bool) {
	switch {
	case !r.Applies():
		return "", "", false
	case r.PolicyBroken():
		return None, "p", true
	case role == NonExistent && r.NP != "":
		return r.NP, "np", true
	case role != Own && r.SP != "":
		return r.SP, "sp", true
	}
	return r.P, "p", true
}

// Applied is the policy receivers apply to failing mail: with t=y, one
// level lower than the one published (RFC 9989 §4.7 t).
func (r Record) Applied(policy string) string {
	if !r.Test {
		return policy
	}
	switch policy {
	case Reject:
		return Quarantine
	case Quarantine:
		return None
	}
	return policy
}

// ProblemsOf returns the record's problems of one kind.
func (r Record) ProblemsOf(kind ProblemKind) []Problem {
	var out []Problem
	for _, p := range r.Problems {
		if p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}
