package dmarc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// rootServer serves "name TXT-text" (or "name A") records from a zone
// at the root, so that every other name is NXDOMAIN, as on the Internet.
func rootServer(t *testing.T, records ...string) *dnstest.Server {
	t.Helper()
	var rrs []dns.RR
	for _, r := range records {
		name, txt, _ := strings.Cut(r, " ")
		text := fmt.Sprintf("%s. 300 IN TXT %q", name, txt)
		if txt == "A" {
			text = name + ". 300 IN A 192.0.2.1"
		}
		rr, err := dns.NewRR(text)
		if err != nil {
			t.Fatal(err)
		}
		rrs = append(rrs, rr)
	}
	return dnstest.NewRecords(t, rrs...)
}

// walkCase is one tree walk over its own zone, with the questions it
// must put on the wire, in order.
type walkCase struct {
	name    string
	records []string
	start   string
	queries []string // the names asked, without "_dmarc."
	org     string
	policy  string // "domain tag=policy", "" for none
}

func (c walkCase) run(t *testing.T) {
	t.Helper()
	srv := rootServer(t, c.records...)
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}})
	d := Discover(context.Background(), r, c.start)
	var asked []string
	for _, l := range srv.Log() {
		if f := strings.Fields(l); f[1] == "TXT" {
			asked = append(asked, strings.TrimPrefix(f[2], "_dmarc."))
		}
	}
	if !slices.Equal(asked, c.queries) {
		t.Errorf("%s: asked %v, want %v", c.name, asked, c.queries)
	}
	// The resolver's own counter proves the budget: every question it
	// sent is one the server logged, and the walk's are at most eight.
	if q := r.Stats().Questions; int(q) != len(srv.Log()) || len(asked) > MaxQueries {
		t.Errorf("%s: %d questions on the wire, %d logged, %d for the walk", c.name, q, len(srv.Log()), len(asked))
	}
	if d.Org != c.org {
		t.Errorf("%s: organizational domain %s, want %s", c.name, d.Org, c.org)
	}
	policy := ""
	if d.Applies() {
		policy = fmt.Sprintf("%s %s=%s", d.Step.Domain, d.Tag, d.Policy)
	}
	if policy != c.policy {
		t.Errorf("%s: policy %q, want %q", c.name, policy, c.policy)
	}
}

// The examples of RFC 9989 Appendix B.4 and §4.10.2, each a walk from
// one domain (the identifiers' walks are their own rows).
func TestTreeWalkAppendixB(t *testing.T) {
	b41 := []string{"_dmarc.example.com v=DMARC1; p=reject", "_dmarc.signing.example.com v=DMARC1; p=none"}
	b43 := []string{"_dmarc.giant.bank.example v=DMARC1; p=quarantine", "_dmarc.bank.example v=DMARC1; p=reject; psd=y"}
	for _, c := range []walkCase{
		// B.4.1: the author's own record; the walk goes on to _dmarc.com
		// for the organizational domain.
		{"B.4.1 author", b41, "example.com", []string{"example.com", "com"}, "example.com", "example.com p=reject"},
		{"B.4.1 DKIM identifier", b41, "signing.example.com", []string{"signing.example.com", "example.com", "com"}, "example.com", "signing.example.com p=none"},
		// B.4.2: thirteen labels jump to seven; eight queries in all.
		{"B.4.2 author", b41, "a.b.c.d.e.f.g.h.i.j.k.example.com",
			[]string{"a.b.c.d.e.f.g.h.i.j.k.example.com", "g.h.i.j.k.example.com", "h.i.j.k.example.com", "i.j.k.example.com", "j.k.example.com", "k.example.com", "example.com", "com"},
			"example.com", "example.com p=reject"},
		// B.4.3: psd=y stops the walk; the name below it is the
		// organizational domain.
		{"B.4.3 author", b43, "giant.bank.example", []string{"giant.bank.example", "bank.example"}, "giant.bank.example", "giant.bank.example p=quarantine"},
		{"B.4.3 SPF identifier", b43, "mail.giant.bank.example", []string{"mail.giant.bank.example", "giant.bank.example", "bank.example"}, "giant.bank.example", "giant.bank.example p=quarantine"},
		{"B.4.3 DKIM identifier", b43, "mail.mega.bank.example", []string{"mail.mega.bank.example", "mega.bank.example", "bank.example"}, "mega.bank.example", "bank.example p=reject"},
		// §4.10.2's three examples from a.mail.example.com.
		{"§4.10.2 fewest labels", []string{"_dmarc.mail.example.com v=DMARC1; p=none", "_dmarc.example.com v=DMARC1; p=reject"},
			"a.mail.example.com", []string{"a.mail.example.com", "mail.example.com", "example.com", "com"}, "example.com", "example.com p=reject"},
		{"§4.10.2 psd=n", []string{"_dmarc.mail.example.com v=DMARC1; p=none; psd=n", "_dmarc.example.com v=DMARC1; p=reject"},
			"a.mail.example.com", []string{"a.mail.example.com", "mail.example.com"}, "mail.example.com", "mail.example.com p=none"},
		{"§4.10.2 single-label psd=y", []string{"_dmarc.com v=DMARC1; p=reject; psd=y"},
			"a.mail.example.com", []string{"a.mail.example.com", "mail.example.com", "example.com", "com"}, "example.com", "com p=reject"},
	} {
		c.run(t)
	}
}

// Cases modelled on the public RFC 9989 compliance lists of other
// implementations, written here, each citing the section that decides
// it.
func TestTreeWalkCases(t *testing.T) {
	for _, c := range []walkCase{
		// §4.10 step 4: eight labels lose one, nine jump to seven.
		{"8 labels", nil, "a.b.c.d.e.f.example.com",
			[]string{"a.b.c.d.e.f.example.com", "b.c.d.e.f.example.com", "c.d.e.f.example.com", "d.e.f.example.com", "e.f.example.com", "f.example.com", "example.com", "com"}, "a.b.c.d.e.f.example.com", ""},
		{"9 labels", nil, "x.a.b.c.d.e.f.example.com",
			[]string{"x.a.b.c.d.e.f.example.com", "b.c.d.e.f.example.com", "c.d.e.f.example.com", "d.e.f.example.com", "e.f.example.com", "f.example.com", "example.com", "com"}, "x.a.b.c.d.e.f.example.com", ""},
		{"30 labels, 8 queries", nil, strings.Repeat("x.", 28) + "example.com",
			[]string{strings.Repeat("x.", 28) + "example.com", "x.x.x.x.x.example.com", "x.x.x.x.example.com", "x.x.x.example.com", "x.x.example.com", "x.example.com", "example.com", "com"},
			strings.Repeat("x.", 28) + "example.com", ""},
		// §4.10.2 rule 3 with no record above: the author is its own
		// organizational domain (a PSL would say example.com).
		{"own record only", []string{"_dmarc.mail.example.com v=DMARC1; p=reject"}, "mail.example.com",
			[]string{"mail.example.com", "example.com", "com"}, "mail.example.com", "mail.example.com p=reject"},
		// §4.10.1: the policy is the organizational domain's, not an
		// intermediate record's.
		{"intermediate record", []string{"_dmarc.b.example.com v=DMARC1; p=none", "_dmarc.example.com v=DMARC1; p=reject; sp=quarantine"}, "a.b.example.com",
			[]string{"a.b.example.com", "b.example.com", "example.com", "com"}, "example.com", "example.com sp=quarantine"},
		// §4.10 step 6: psd=n in the middle of the tree stops the walk.
		{"psd=n mid-tree", []string{"_dmarc.b.example.com v=DMARC1; p=quarantine; psd=n", "_dmarc.example.com v=DMARC1; p=none"}, "a.b.example.com",
			[]string{"a.b.example.com", "b.example.com"}, "b.example.com", "b.example.com p=quarantine"},
		// §4.10 step 2: several records at a name are all discarded,
		// and the walk goes on.
		{"two records above", []string{"_dmarc.b.example.com v=DMARC1; p=reject; psd=n", "_dmarc.b.example.com v=DMARC1; p=none", "_dmarc.example.com v=DMARC1; p=quarantine"}, "a.b.example.com",
			[]string{"a.b.example.com", "b.example.com", "example.com", "com"}, "example.com", "example.com p=quarantine"},
		// §4.7 v: v=DMARC10 is no record; the walk finds the parent's.
		{"v=DMARC10 discarded", []string{"_dmarc.mail.example.com v=DMARC10; p=none", "_dmarc.example.com v=DMARC1; p=reject"}, "mail.example.com",
			[]string{"mail.example.com", "example.com", "com"}, "example.com", "example.com p=reject"},
		// §4.10.1 and §4.7 np: NXDOMAIN vs NODATA for the author domain.
		{"np, NXDOMAIN", []string{"_dmarc.example.com v=DMARC1; p=none; sp=quarantine; np=reject"}, "gone.example.com",
			[]string{"gone.example.com", "example.com", "com"}, "example.com", "example.com np=reject"},
		{"np, exists (NODATA for TXT)", []string{"_dmarc.example.com v=DMARC1; p=none; sp=quarantine; np=reject", "here.example.com A"}, "here.example.com",
			[]string{"here.example.com", "example.com", "com"}, "example.com", "example.com sp=quarantine"},
		{"np absent, NXDOMAIN", []string{"_dmarc.example.com v=DMARC1; p=none; sp=quarantine"}, "gone.example.com",
			[]string{"gone.example.com", "example.com", "com"}, "example.com", "example.com sp=quarantine"},
		// A public suffix operator's record (psd=y, §4.10.1 last choice).
		{"PSD record", []string{"_dmarc.gov.example v=DMARC1; p=reject; psd=y; np=reject; sp=quarantine", "agency.gov.example A"}, "agency.gov.example",
			[]string{"agency.gov.example", "gov.example"}, "agency.gov.example", "gov.example sp=quarantine"},
		{"PSD np", []string{"_dmarc.gov.example v=DMARC1; p=none; psd=y; np=reject"}, "fake.gov.example",
			[]string{"fake.gov.example", "gov.example"}, "fake.gov.example", "gov.example np=reject"},
		// §4.10.1: a broken policy with a valid rua acts as p=none.
		{"p-less with rua", []string{"_dmarc.example.com v=DMARC1; rua=mailto:d@example.com"}, "example.com",
			[]string{"example.com", "com"}, "example.com", "example.com p=none"},
		{"p-less without rua", []string{"_dmarc.example.com v=DMARC1; adkim=s"}, "example.com",
			[]string{"example.com", "com"}, "example.com", ""},
	} {
		c.run(t)
	}
}

// Only the names a walk asks about: none beyond MaxQueries.
func TestNames(t *testing.T) {
	for domain, want := range map[string]int{"com": 1, "example.com": 2, "a.b.c.d.e.f.g.h": 8, "a.b.c.d.e.f.g.h.i.j.k.l": 8} {
		if got := Names(domain); len(got) != want || got[0] != domain || got[len(got)-1] != domain[strings.LastIndexByte(domain, '.')+1:] {
			t.Errorf("Names(%s) = %v", domain, got)
		}
	}
}

// A name too long to ask for is not asked, and counts as no record.
func TestTreeWalkLongName(t *testing.T) {
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + ".example"
	srv := rootServer(t, "_dmarc.example v=DMARC1; p=reject; psd=y")
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}})
	w := TreeWalk(context.Background(), r, long)
	if !w.Steps[0].Skipped || w.OrgDomain() != "d"+strings.Repeat("d", 59)+".example" {
		t.Errorf("walk %+v, org %s", w.Steps[0], w.OrgDomain())
	}
}

// A name that cannot be resolved is noted, and the walk goes on.
func TestTreeWalkError(t *testing.T) {
	srv := rootServer(t, "_dmarc.example.com v=DMARC1; p=reject")
	srv.DropName("_dmarc.com.")
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Attempts: 1, AttemptTimeout: 50_000_000})
	w := TreeWalk(context.Background(), r, "mail.example.com")
	if errs := w.Errors(); len(errs) != 1 || errs[0].Domain != "com" || w.OrgDomain() != "example.com" {
		t.Errorf("errors %v, org %s", errs, w.OrgDomain())
	}
}

// Both worlds: the RFC 9989 walk and an RFC 7489 receiver's Public
// Suffix List lookup, over one resolver (the second asks nothing new
// when the walk went through the PSL's organizational domain).
func TestDiscover7489(t *testing.T) {
	for _, tt := range []struct {
		name         string
		records      []string
		domain       string
		org9989      string
		policy9989   string
		org7489      string
		policy7489   string
		newQuestions int64
	}{
		// A private suffix of the PSL: the walk finds github.io's record.
		{"alice.github.io", []string{"_dmarc.github.io v=DMARC1; p=reject"}, "alice.github.io", "github.io", "reject", "alice.github.io", "", 0},
		// An own record and none above: each world its own org domain.
		{"sub.example.co.uk", []string{"_dmarc.sub.example.co.uk v=DMARC1; p=quarantine"}, "sub.example.co.uk", "sub.example.co.uk", "quarantine", "example.co.uk", "quarantine", 0},
		// No own record: RFC 7489 asks the PSL's org domain (walked).
		{"mail.example.co.uk", []string{"_dmarc.example.co.uk v=DMARC1; p=reject; sp=none"}, "mail.example.co.uk", "example.co.uk", "none", "example.co.uk", "none", 0},
		// A PSD policy: only RFC 9989 receivers apply it.
		{"PSD", []string{"_dmarc.co.uk v=DMARC1; p=reject; psd=y"}, "example.co.uk", "example.co.uk", "reject", "example.co.uk", "", 0},
		// np is unknown to RFC 7489; t=y too.
		{"np and t", []string{"_dmarc.example.com v=DMARC1; p=reject; np=bogus; rua=mailto:d@example.com; t=y"}, "example.com", "example.com", "none", "example.com", "reject", 0},
		// Several records at the author: RFC 7489 stops there.
		{"two records", []string{"_dmarc.example.com v=DMARC1; p=reject", "_dmarc.example.com v=DMARC1; p=none"}, "example.com", "example.com", "", "example.com", "", 0},
		// psd=n stops the walk before the PSL's org domain: one question more.
		{"psd=n below", []string{"_dmarc.a.b.example.com v=DMARC1; p=none; psd=n", "_dmarc.example.com v=DMARC1; p=reject"}, "x.a.b.example.com", "a.b.example.com", "none", "example.com", "reject", 1},
	} {
		srv := rootServer(t, tt.records...)
		r := resolver.New(resolver.Config{Servers: []string{srv.Addr}})
		d := Discover(context.Background(), r, tt.domain)
		before := r.Stats().Questions
		l := Discover7489(context.Background(), r, nil, tt.domain)
		if d.Org != tt.org9989 || d.Policy != tt.policy9989 || l.Org != tt.org7489 || l.Policy != tt.policy7489 {
			t.Errorf("%s: RFC 9989 %s %q, RFC 7489 %s %q; want %s %q, %s %q", tt.name, d.Org, d.Policy, l.Org, l.Policy, tt.org9989, tt.policy9989, tt.org7489, tt.policy7489)
		}
		if n := r.Stats().Questions - before; n != tt.newQuestions {
			t.Errorf("%s: RFC 7489 discovery asked %d new questions, want %d", tt.name, n, tt.newQuestions)
		}
	}
}
