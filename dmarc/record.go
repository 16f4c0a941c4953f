// Package dmarc reads DMARC records (RFC 7489 §6.3) and finds
// organizational domains. Parsing is pure; discovery and judgement are
// the dmarc check's work (checks/dmarc.go).
package dmarc

import (
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/preflight-mail/preflight/internal/taglist"
)

// Record is a parsed DMARC record (RFC 7489 §6.3).
type Record struct {
	Raw    string
	Tags   map[string]string
	Policy string // p
	Sub    string // sp, defaults to p
	Pct    int
	ADKIM  string // r or s
	ASPF   string
	RUA    []string // mailto: addresses
	RUF    []string
}

// Parse parses a DMARC record and returns every problem found.
func Parse(txt string) (Record, []string) {
	r := Record{Raw: txt, Pct: 100, ADKIM: "r", ASPF: "r"}
	list, syntax := taglist.Parse(txt, taglist.DMARC)
	r.Tags = map[string]string{}
	var order, problems []string
	for _, t := range list {
		r.Tags[t.Name] = t.Value
		order = append(order, t.Name)
	}
	for _, p := range syntax {
		problems = append(problems, p.String())
	}
	if len(order) == 0 || order[0] != "v" || r.Tags["v"] != "DMARC1" {
		problems = append(problems, "must start with v=DMARC1")
	}
	if len(order) < 2 || order[1] != "p" {
		if _, ok := r.Tags["p"]; ok {
			problems = append(problems, "p= must come right after v=DMARC1 (RFC 7489 §6.3)")
		}
	}
	policy := func(tag string) string {
		v := strings.ToLower(r.Tags[tag])
		switch v {
		case "none", "quarantine", "reject":
			return v
		}
		problems = append(problems, fmt.Sprintf("%s=%s: want none, quarantine or reject", tag, r.Tags[tag]))
		return ""
	}
	if _, ok := r.Tags["p"]; !ok {
		problems = append(problems, "no p= (the policy)")
	} else {
		r.Policy = policy("p")
	}
	r.Sub = r.Policy
	if _, ok := r.Tags["sp"]; ok {
		r.Sub = policy("sp")
	}
	problems = append(problems, r.parseOptional()...)
	return r, problems
}

// parseOptional reads the optional tags: pct, adkim, aspf, fo, ri, and
// the report addresses.
func (r *Record) parseOptional() []string {
	var problems []string
	if v, ok := r.Tags["pct"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			problems = append(problems, fmt.Sprintf("pct=%s: want 0 to 100", v))
		} else {
			r.Pct = n
		}
	}
	for _, tag := range []string{"adkim", "aspf"} {
		if v, ok := r.Tags[tag]; ok {
			if v != "r" && v != "s" {
				problems = append(problems, fmt.Sprintf("%s=%s: want r or s", tag, v))
			} else if tag == "adkim" {
				r.ADKIM = v
			} else {
				r.ASPF = v
			}
		}
	}
	if v, ok := r.Tags["fo"]; ok {
		for _, o := range strings.Split(v, ":") {
			if !slices.Contains([]string{"0", "1", "d", "s"}, strings.TrimSpace(o)) {
				problems = append(problems, fmt.Sprintf("fo=%s: want 0, 1, d, s separated by ':'", v))
				break
			}
		}
	}
	if v, ok := r.Tags["ri"]; ok {
		if _, err := strconv.ParseUint(v, 10, 32); err != nil {
			problems = append(problems, fmt.Sprintf("ri=%s: want seconds", v))
		}
	}
	var p []string
	r.RUA, p = reportAddresses(r.Tags, "rua")
	problems = append(problems, p...)
	r.RUF, p = reportAddresses(r.Tags, "ruf")
	return append(problems, p...)
}

// reportAddresses reads a rua= or ruf= list.
func reportAddresses(tags map[string]string, tag string) (addrs, problems []string) {
	v, ok := tags[tag]
	if !ok {
		return nil, nil
	}
	for _, u := range strings.Split(v, ",") {
		addr, err := reportAddress(strings.TrimSpace(u))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", tag, err))
			continue
		}
		addrs = append(addrs, addr)
	}
	return addrs, problems
}

// reportAddress reads "mailto:addr[!size]" (RFC 7489 §6.2, §6.4).
func reportAddress(u string) (string, error) {
	if !strings.HasPrefix(strings.ToLower(u), "mailto:") {
		return "", fmt.Errorf("%q is not a mailto: URI", u)
	}
	addr := u[len("mailto:"):]
	if i := strings.LastIndexByte(addr, '!'); i >= 0 {
		size := strings.TrimRight(addr[i+1:], "kmgtKMGT")
		if _, err := strconv.ParseUint(size, 10, 64); err != nil {
			return "", fmt.Errorf("%q has a bad size limit", u)
		}
		addr = addr[:i]
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || !strings.Contains(a.Address, "@") {
		return "", fmt.Errorf("%q is not an email address", u)
	}
	return a.Address, nil
}

// OrgDomain is the organizational domain (RFC 7489 §3.2) by the Public
// Suffix List; a public suffix is its own.
func OrgDomain(d string) string {
	org, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return org
}
