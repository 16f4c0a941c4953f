package rbl

import (
	"context"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// A name of 240 octets: valid, but with any list's zone after it, over
// DNS's 255.
var longName = strings.Repeat(strings.Repeat("l", 59)+".", 4) + "example"

func TestQueryNameLimits(t *testing.T) {
	for _, tt := range []struct {
		target, zone string
		ok           bool
	}{
		{"203.0.113.5", "zen.spamhaus.org", true},
		{"2001:db8::5", "zen.spamhaus.org", true},
		{"example.com", "dbl.spamhaus.org", true},
		{longName, "dbl.spamhaus.org", false},
		{longName[:255-len(".dbl.spamhaus.org")-2], "dbl.spamhaus.org", true}, // 255 on the wire
		{longName[:255-len(".dbl.spamhaus.org")-1], "dbl.spamhaus.org", false},
		{strings.Repeat("x", 64) + ".example", "dbl.spamhaus.org", false},
		{"a..example", "dbl.spamhaus.org", false},
		{"203.0.113.5", strings.Repeat("z", 60) + "." + strings.Repeat("z", 60) + "." + strings.Repeat("z", 60) + "." + strings.Repeat("z", 60), false},
	} {
		name, err := QueryName(tt.target, tt.zone)
		if (err == nil) != tt.ok {
			t.Errorf("QueryName(%d octets, %s) = %q, %v; want ok %v", len(tt.target), tt.zone, name, err, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), tt.zone) {
			t.Errorf("the error names the zone, which may hold a key: %v", err)
		}
	}
}

// TestUnrepresentableNameIsNeverClean: a target whose query name DNS
// cannot carry was reported clean without a query (the resolver calls
// such a name nonexistent). It is unknown, with the reason, and nothing
// is asked about it (issue #13 item 13).
func TestUnrepresentableNameIsNeverClean(t *testing.T) {
	srv := dnstest.New(t, `dbl.spamhaus.org. SOA ns hm 1 1 1 1 1
test.dbl.spamhaus.org. A 127.0.1.2
`)
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}})
	res := Query(context.Background(), r, []List{catalogList("dbl.spamhaus.org")}, []string{longName, "example.com"})
	if len(res) != 2 {
		t.Fatalf("%d results", len(res))
	}
	if got := res[0]; got.Status != Unknown || got.Skipped || got.Unusable || !strings.Contains(got.Reason, "255 octets") {
		t.Errorf("long name: %+v, want unknown with the reason", got)
	}
	if res[1].Status != Clean {
		t.Errorf("example.com: %+v, want clean", res[1])
	}
	for _, q := range srv.Log() {
		if strings.Contains(q, "lll") {
			t.Errorf("asked about the long name: %s", q)
		}
	}
}

// TestDomainPolicy: URIBL and SURBL are asked about a host's registered
// domain (by the Public Suffix List), as their usage policies say; DBL,
// which lists host names, about the name itself. A public suffix has no
// registered domain: such lists do not cover it (issue #13 item 13).
func TestDomainPolicy(t *testing.T) {
	for _, l := range Catalog {
		if l.Kind == Domain && l.DomainPolicy != FullName && l.DomainPolicy != RegisteredDomain {
			t.Errorf("%s: the catalogue does not say which name to ask (DomainPolicy %q)", l.Zone, l.DomainPolicy)
		}
	}
	for target, want := range map[string]string{
		"www.shop.example.co.uk": "example.co.uk",
		"example.co.uk":          "example.co.uk",
		"Mail.Example.COM.":      "example.com",
		"user.github.io":         "user.github.io", // a private suffix: users' sites are registered domains
		"mail.example.test":      "example.test",   // not in the list: the default rule * applies
	} {
		if got, ok := catalogList("multi.uribl.com").Subject(target); !ok || got != want {
			t.Errorf("URIBL subject of %s = %q, %v; want %q", target, got, ok, want)
		}
		if got, _ := catalogList("dbl.spamhaus.org").Subject(target); got != target {
			t.Errorf("DBL subject of %s = %q, want the name itself", target, got)
		}
	}

	srv := dnstest.New(t, `$ORIGIN test.
@ SOA ns hm 1 1 1 1 1
test.multi.uribl A 127.0.0.2
example.co.uk.multi.uribl A 127.0.0.2
test.multi.surbl A 127.0.0.64
test.dbl.spamhaus A 127.0.1.2
www.shop.example.co.uk.dbl.spamhaus A 127.0.1.2
`)
	var lists []List
	for _, zone := range []string{"multi.uribl.com", "multi.surbl.org", "dbl.spamhaus.org"} {
		l := catalogList(zone)
		l.Zone = strings.TrimSuffix(strings.TrimSuffix(zone, ".com"), ".org") + ".test" // served by srv, catalogue entry kept
		lists = append(lists, l)
	}
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}})
	got := map[string]string{}
	for _, res := range Query(context.Background(), r, lists, []string{"www.shop.example.co.uk", "co.uk"}) {
		got[res.Target+" "+res.Zone] = string(res.Status) + " " + res.Asked
	}
	for k, want := range map[string]string{
		"www.shop.example.co.uk multi.uribl.test":  "listed example.co.uk",
		"www.shop.example.co.uk multi.surbl.test":  "clean example.co.uk",
		"www.shop.example.co.uk dbl.spamhaus.test": "listed ",
		"co.uk multi.uribl.test":                   "unknown ",
		"co.uk dbl.spamhaus.test":                  "clean ",
	} {
		if got[k] != want {
			t.Errorf("%s: %q, want %q", k, got[k], want)
		}
	}
	for _, q := range srv.Log() {
		name := q[strings.LastIndex(q, " ")+1:]
		if strings.Contains(name, ".multi.") && (strings.HasPrefix(name, "www.") || strings.HasPrefix(name, "co.uk.")) {
			t.Errorf("a registered-domain list was asked %s", q)
		}
	}
}
