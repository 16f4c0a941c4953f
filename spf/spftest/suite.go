// Package spftest reads the openspf SPF test suites (the RFC 7208 and
// RFC 4408 suites in testdata/spf, and preflight's own cases written in
// their format) and serves a scenario's zone data from dnstest, over
// real UDP, so the resolver is part of what the suites test.
package spftest

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/miekg/dns"
	"go.yaml.in/yaml/v3"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// Scenario is one YAML document of a suite: zone data and the tests
// that run against it.
type Scenario struct {
	Description string
	Tests       map[string]Test
	ZoneData    map[string][]Record `yaml:"zonedata"`
}

// Test is one case: check_host() for Host, MailFrom (or postmaster@Helo
// when MailFrom is empty) and Helo gives one of Result, and for a fail
// the Explanation ("DEFAULT": none from the record).
type Test struct {
	Description string
	Spec        StrList
	Helo        string
	Host        string
	MailFrom    string `yaml:"mailfrom"`
	Result      StrList
	Explanation string
}

// Record is one entry of a name's zone data: records of a type, or the
// TIMEOUT and SERVFAIL markers.
type Record struct {
	A        StrList `yaml:"A"`
	AAAA     StrList `yaml:"AAAA"`
	SPF      StrList `yaml:"SPF"`
	TXT      StrList `yaml:"TXT"`
	PTR      StrList `yaml:"PTR"`
	MX       []any   `yaml:"MX"`
	CNAME    string  `yaml:"CNAME"`
	TIMEOUT  bool    `yaml:"-"`
	SERVFAIL bool    `yaml:"-"`
}

// UnmarshalYAML reads both "- TIMEOUT" and "- A: ...".
func (r *Record) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "TIMEOUT":
			r.TIMEOUT = true
		case "SERVFAIL":
			r.SERVFAIL = true
		default:
			return fmt.Errorf("unknown marker %q", n.Value)
		}
		return nil
	}
	type plain Record
	return n.Decode((*plain)(r))
}

// StrList reads a string or a list of strings.
type StrList []string

// UnmarshalYAML reads a string or a list of strings.
func (l *StrList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		var s []string
		err := n.Decode(&s)
		*l = s
		return err
	}
	var s string
	err := n.Decode(&s)
	*l = []string{s}
	return err
}

// Load reads a suite file: one Scenario per YAML document.
func Load(path string) ([]Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Scenario
	dec := yaml.NewDecoder(f)
	for {
		var s Scenario
		err := dec.Decode(&s)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, s)
	}
}

// Serve starts a dnstest server answering the scenario's zone data,
// stopped when the test ends. Names marked TIMEOUT never answer, names
// marked SERVFAIL answer SERVFAIL.
func (s Scenario) Serve(tb testing.TB) *dnstest.Server {
	tb.Helper()
	rrs, timeouts, servfails := s.Records()
	srv := dnstest.NewRecords(tb, rrs...)
	for _, n := range timeouts {
		srv.DropName(n)
	}
	for _, n := range servfails {
		srv.SetRcode(n, dns.RcodeServerFailure)
	}
	return srv
}

// Records turns the scenario's zone data into DNS records, and names
// the names that time out and those that answer SERVFAIL. SPF-type
// records stand in for TXT where a name has no TXT (the suite's drivers
// are expected to do so; RFC 7208 dropped the SPF type). A list of
// strings is one record with several character-strings.
func (s Scenario) Records() (rrs []dns.RR, timeouts, servfails []string) {
	hdr := func(name string, typ uint16) dns.RR_Header {
		return dns.RR_Header{Name: dns.Fqdn(name), Rrtype: typ, Class: dns.ClassINET, Ttl: 300}
	}
	txt := func(parts []string) []string {
		var out []string
		for _, p := range parts {
			for len(p) > 255 {
				out, p = append(out, p[:255]), p[255:]
			}
			out = append(out, p)
		}
		return out
	}
	for raw, recs := range s.ZoneData {
		name := resolver.EscapeName(raw)
		// "TXT: NONE" says the name has no TXT records (and its SPF-type
		// records must not stand in for them). TIMEOUT applies to the TXT
		// lookup unless real TXT records are given: then it is the
		// SPF-type lookup that times out, which RFC 7208 never makes.
		hasTXT := slices.ContainsFunc(recs, func(r Record) bool { return len(r.TXT) > 0 })
		realTXT := slices.ContainsFunc(recs, func(r Record) bool { return len(r.TXT) > 0 && r.TXT[0] != "NONE" })
		for _, r := range recs {
			switch {
			case r.TIMEOUT:
				if !realTXT {
					timeouts = append(timeouts, name)
				}
			case r.SERVFAIL:
				servfails = append(servfails, name)
			case len(r.TXT) == 1 && r.TXT[0] == "NONE":
			case len(r.TXT) > 0:
				rrs = append(rrs, &dns.TXT{Hdr: hdr(name, dns.TypeTXT), Txt: txt(r.TXT)})
			case len(r.SPF) > 0:
				if !hasTXT {
					rrs = append(rrs, &dns.TXT{Hdr: hdr(name, dns.TypeTXT), Txt: txt(r.SPF)})
				}
			case r.CNAME != "":
				rrs = append(rrs, &dns.CNAME{Hdr: hdr(name, dns.TypeCNAME), Target: dns.Fqdn(r.CNAME)})
			case len(r.MX) == 2:
				rrs = append(rrs, &dns.MX{Hdr: hdr(name, dns.TypeMX), Preference: uint16(r.MX[0].(int)), Mx: dns.Fqdn(fmt.Sprint(r.MX[1]))})
			}
			for _, a := range r.A {
				rrs = append(rrs, &dns.A{Hdr: hdr(name, dns.TypeA), A: netip.MustParseAddr(a).AsSlice()})
			}
			for _, a := range r.AAAA {
				rrs = append(rrs, &dns.AAAA{Hdr: hdr(name, dns.TypeAAAA), AAAA: netip.MustParseAddr(a).AsSlice()})
			}
			for _, p := range r.PTR {
				rrs = append(rrs, &dns.PTR{Hdr: hdr(name, dns.TypePTR), Ptr: dns.Fqdn(p)})
			}
		}
	}
	return rrs, timeouts, servfails
}
