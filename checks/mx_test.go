package checks

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
)

func TestMX(t *testing.T) {
	env := labZones(t)
	tests := []struct{ domain, want string }{
		{"good.example", "mx.domain_exists good.example;mx.ok good.example"},
		{"nullmx.example", "mx.domain_exists nullmx.example;mx.null nullmx.example"},
		{"nomx.example", "mx.domain_exists nomx.example;mx.implicit nomx.example"},
		{"isp.example", "mx.domain_exists isp.example;mx.missing isp.example"},
		{"stale.example", "mx.domain_exists stale.example;mx.ok stale.example"},
	}
	for _, tt := range tests {
		if got := strings.Join(ids(MX(context.Background(), env, Target{Domain: tt.domain})), ";"); got != tt.want {
			t.Errorf("mx %s = %s, want %s", tt.domain, got, tt.want)
		}
	}
}

// TestDomainExists: Yahoo's SOA query for the From and MAIL FROM domains
// (issue #17): NXDOMAIN is mx.no_such_domain, NODATA is a name that exists.
func TestDomainExists(t *testing.T) {
	env := zoneEnv(t, `
$ORIGIN soa.test.
@        SOA  ns hm 1 1 1 1 1
@        MX   10 mx
mx       A    203.0.113.5
bounces  TXT  "v=spf1 -all"
`)
	for _, tt := range []struct{ from, want string }{
		{"", "mx.domain_exists soa.test"},
		{"bounces.soa.test", "mx.domain_exists soa.test;mx.domain_exists bounces.soa.test"},
		{"gone.soa.test", "mx.domain_exists soa.test;mx.no_such_domain gone.soa.test"},
	} {
		tg := Target{Domain: "soa.test"}
		if tt.from != "" {
			tg.MailFrom = mustSender(t, tt.from)
		}
		var got []string
		for _, f := range MX(context.Background(), env, tg) {
			if f.ID == "mx.domain_exists" || f.ID == "mx.no_such_domain" {
				got = append(got, f.ID+" "+f.Subject)
			}
		}
		if g := strings.Join(got, ";"); g != tt.want {
			t.Errorf("mail from %q: %s, want %s", tt.from, g, tt.want)
		}
	}
}

func TestMXTargets(t *testing.T) {
	env := zoneEnv(t, `
$ORIGIN odd.test.
@      SOA  ns hm 1 1 1 1 1
@      MX   10 alias
@      MX   20 203.0.113.9
@      MX   30 gone
@      MX   40 real
alias  CNAME real
real   A    203.0.113.5
`)
	got := strings.Join(ids(MX(context.Background(), env, Target{Domain: "odd.test"})), ";")
	want := "mx.domain_exists odd.test;mx.host_no_address gone.odd.test;mx.ok odd.test;mx.target_cname alias.odd.test;mx.target_ip 203.0.113.9.odd.test"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestMXFixRecords(t *testing.T) {
	env := zoneEnv(t, `
$ORIGIN fix.test.
@           SOA  ns hm 1 1 1 1 1
null        MX   0 .
nullhost    MX   0 .
mail.nullhost A  192.0.2.25
mixed       MX   0 .
mixed       MX   10 mail.mixed
mail.mixed  A    192.0.2.26
ip          MX   10 192.0.2.27
gone        MX   10 mx1.gone
gone        MX   20 mx2.gone
mx2.gone    A    192.0.2.28
noaddr      MX   10 mx.noaddr
alias       MX   10 a.alias
a.alias     CNAME real.alias
real.alias  A    192.0.2.29
implicit    A    192.0.2.30
`)
	ip := []netip.Addr{netip.MustParseAddr("203.0.113.5")}
	add := func(name, typ, value string) report.FixRecord {
		return report.FixRecord{Action: report.FixAdd, Name: name, Type: typ, Value: value}
	}
	removeNull := func(name string) report.FixRecord {
		return report.FixRecord{Action: report.FixRemove, Name: name, Type: "MX", Old: "0 ."}
	}
	tests := []struct {
		domain string
		ips    []netip.Addr
		id     string
		want   []report.FixRecord
	}{
		// A null MX is removed, and the MX names a host with an address:
		// the sending IP's, given to a new mail.DOMAIN...
		{"null.fix.test", ip, "mx.null", []report.FixRecord{removeNull("null.fix.test"), add("null.fix.test", "MX", "10 mail.null.fix.test"), add("mail.null.fix.test", "A", "203.0.113.5")}},
		// ...or none when nothing is known to receive (preflight mx).
		{"null.fix.test", nil, "mx.null", nil},
		// An existing mail.DOMAIN with an address is used as it is.
		{"nullhost.fix.test", nil, "mx.null", []report.FixRecord{removeNull("nullhost.fix.test"), add("nullhost.fix.test", "MX", "10 mail.nullhost.fix.test")}},
		{"mixed.fix.test", nil, "mx.null", []report.FixRecord{removeNull("mixed.fix.test")}},
		{"ip.fix.test", nil, "mx.target_ip", []report.FixRecord{{Action: report.FixReplace, Name: "ip.fix.test", Type: "MX", Old: "10 192.0.2.27.fix.test", Value: "10 mail.ip.fix.test"}, add("mail.ip.fix.test", "A", "192.0.2.27")}},
		{"gone.fix.test", nil, "mx.host_no_address", []report.FixRecord{{Action: report.FixRemove, Name: "gone.fix.test", Type: "MX", Old: "10 mx1.gone.fix.test"}}},
		{"noaddr.fix.test", ip, "mx.missing", []report.FixRecord{add("mx.noaddr.fix.test", "A", "203.0.113.5")}},
		{"noaddr.fix.test", ip, "mx.host_no_address", nil},
		{"alias.fix.test", nil, "mx.target_cname", []report.FixRecord{{Action: report.FixReplace, Name: "alias.fix.test", Type: "MX", Old: "10 a.alias.fix.test", Value: "10 real.alias.fix.test"}}},
		{"implicit.fix.test", nil, "mx.implicit", []report.FixRecord{add("implicit.fix.test", "MX", "10 implicit.fix.test")}},
		{"nothing.fix.test", ip, "mx.missing", []report.FixRecord{add("nothing.fix.test", "MX", "10 mail.nothing.fix.test"), add("mail.nothing.fix.test", "A", "203.0.113.5")}},
	}
	for _, tt := range tests {
		hasFixRecords(t, fmt.Sprintf("%s (ips %v)", tt.domain, tt.ips), MX(context.Background(), env, Target{Domain: tt.domain, IPs: tt.ips}), tt.id, tt.want)
	}
}

func mustSender(t *testing.T, s string) names.Address {
	t.Helper()
	a, err := names.ParseSender(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
