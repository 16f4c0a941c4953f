package dmarc

import (
	"context"
	"errors"
	"strings"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
)

// MaxQueries is the most DNS queries one tree walk makes (RFC 9989
// §4.10): a name of more than eight labels jumps to its last seven.
const MaxQueries = 8

// maxName is the longest name DNS can ask for (RFC 1035 §3.1: 255
// octets on the wire, 253 in text without the final dot).
const maxName = 253

// Step is one name of a tree walk.
type Step struct {
	Domain string   // the name; the query is for _dmarc.Domain
	TXT    []string // every TXT record there
	// Records are the DMARC records among TXT (v=DMARC1 first, §4.10
	// step 2); Record is the one record when there is exactly one.
	// Several are all discarded.
	Records []string
	Record  *Record
	// Err is a lookup error other than "not found" (a timeout, SERVFAIL,
	// offline): the name's records are unknown.
	Err error
	// Skipped: _dmarc.Domain is too long to ask for, so it cannot exist.
	Skipped bool
}

// Walk is the DNS tree walk from Start (RFC 9989 §4.10), in the order
// asked: from Start towards the top-level domain.
type Walk struct {
	Start string
	Steps []Step
}

// Names lists the names a walk from domain asks about, in order, when
// nothing stops it (RFC 9989 §4.10 steps 3-7): domain itself, then, if
// it has eight labels or more, its last seven, then one label fewer at
// a time down to the top-level domain. Never more than MaxQueries.
func Names(domain string) []string {
	labels := strings.Split(domain, ".")
	names := []string{domain}
	next := len(labels) - 1
	if len(labels) >= MaxQueries {
		next = MaxQueries - 1
	}
	for n := next; n >= 1; n-- {
		names = append(names, strings.Join(labels[len(labels)-n:], "."))
	}
	return names
}

// TreeWalk walks from domain, stopping at a name with exactly one DMARC
// record that has psd=y or psd=n (§4.10 steps 2 and 6). A name that
// fails to resolve is noted in its step, and the walk goes on.
func TreeWalk(ctx context.Context, r *resolver.Resolver, domain string) Walk {
	w := Walk{Start: domain}
	for _, name := range Names(domain) {
		s := LookupStep(ctx, r, name)
		w.Steps = append(w.Steps, s)
		if s.Record != nil && (s.Record.PSD == "y" || s.Record.PSD == "n") {
			break
		}
	}
	return w
}

// LookupStep asks for the TXT records at _dmarc.domain and picks out
// the DMARC record.
func LookupStep(ctx context.Context, r *resolver.Resolver, domain string) Step {
	s := Step{Domain: domain}
	name := "_dmarc." + domain
	if len(name) > maxName {
		s.Skipped = true
		return s
	}
	txts, err := r.LookupTXT(ctx, name)
	switch {
	case err != nil && !resolver.IsNotFound(err):
		s.Err = err
		return s
	case err != nil:
		return s
	}
	s.TXT = txts
	for _, txt := range txts {
		if IsRecord(txt) {
			s.Records = append(s.Records, txt)
		}
	}
	if len(s.Records) == 1 {
		rec, _ := Parse(s.Records[0]) // IsRecord said it is one
		s.Record = &rec
	}
	return s
}

// Step returns the walk's step for domain, nil when it was not asked.
func (w Walk) Step(domain string) *Step {
	for i := range w.Steps {
		if w.Steps[i].Domain == domain {
			return &w.Steps[i]
		}
	}
	return nil
}

// Errors are the steps whose names could not be resolved.
func (w Walk) Errors() []Step {
	var out []Step
	for _, s := range w.Steps {
		if s.Err != nil {
			out = append(out, s)
		}
	}
	return out
}

// OrgDomain is the organizational domain of the walk's start, chosen
// among the names with a DMARC record from the longest to the shortest
// (RFC 9989 §4.10.2): a record with psd=n is its own organizational
// domain; a record with psd=y, other than the start's, makes the name
// one label below it the organizational domain; otherwise the name with
// the fewest labels. With no record at all, the start is its own.
func (w Walk) OrgDomain() string {
	org := ""
	for i, s := range w.Steps {
		switch {
		case s.Record == nil:
		case s.Record.PSD == "n":
			return s.Domain
		case s.Record.PSD == "y" && i > 0:
			return oneBelow(w.Start, s.Domain)
		default:
			org = s.Domain
		}
	}
	if org == "" {
		return w.Start
	}
	return org
}

// oneBelow is the name under suffix with one label more, taken from
// start (which is at or under it).
func oneBelow(start, suffix string) string {
	rest := strings.TrimSuffix(start, "."+suffix)
	return rest[strings.LastIndexByte(rest, '.')+1:] + "." + suffix
}

// Source says where a policy came from (RFC 9989 §4.10.1).
type Source int

const (
	// NoPolicy: no DMARC record applies.
	NoPolicy Source = iota
	// AuthorRecord: the author domain's own record.
	AuthorRecord
	// OrgRecord: the organizational domain's record.
	OrgRecord
	// PSDRecord: a public suffix domain's record (psd=y).
	PSDRecord
)

// PolicyStep finds the record that applies to mail from the walk's
// start (RFC 9989 §4.10.1): the start's own, else the organizational
// domain's, else a public suffix domain's (a record with psd=y).
func (w Walk) PolicyStep() (*Step, Source) {
	if len(w.Steps) == 0 {
		return nil, NoPolicy
	}
	if w.Steps[0].Record != nil {
		return &w.Steps[0], AuthorRecord
	}
	if s := w.Step(w.OrgDomain()); s != nil && s.Record != nil {
		return s, OrgRecord
	}
	last := &w.Steps[len(w.Steps)-1]
	if last.Record != nil && last.Record.PSD == "y" {
		return last, PSDRecord
	}
	return nil, NoPolicy
}

// Exists reports whether domain exists for DMARC (RFC 9989 §3.2.13,
// Appendix A.4): any answer but NXDOMAIN means it does, whatever the
// record type. The question is for A records.
func Exists(ctx context.Context, r *resolver.Resolver, domain string) (bool, error) {
	_, err := r.Lookup(ctx, domain, dns.TypeA)
	switch {
	case err == nil, errors.Is(err, resolver.ErrNoData):
		return true, nil
	case errors.Is(err, resolver.ErrNXDomain):
		return false, nil
	}
	return false, err
}
