package checks

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

const forwardZone = `
$ORIGIN example.test.
@          SOA ns1 hostmaster 1 3600 600 86400 300
mail       A    203.0.113.5
mail       AAAA 2001:db8::5
wrong      A    203.0.113.99
elsewhere  A    203.0.113.77
broken     A    203.0.113.9
`

const ispZone = `
$ORIGIN isp.test.
@                      SOA ns1 hostmaster 1 3600 600 86400 300
dyn-203-0-113-8.pool   A 203.0.113.8
`

const reverse4 = `
$ORIGIN 113.0.203.in-addr.arpa.
@  SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300
5  PTR mail.example.test.
7  PTR wrong.example.test.
8  PTR dyn-203-0-113-8.pool.isp.test.
9  PTR broken.example.test.
`

const reverse6 = `
$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
@  SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300
5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR mail.example.test.
`

// testEnv serves the zones above from dnstest; broken.example.test fails
// with SERVFAIL.
func testEnv(t *testing.T) Env {
	t.Helper()
	srv := dnstest.New(t, forwardZone, ispZone, reverse4, reverse6)
	srv.SetRcode("broken.example.test", dns.RcodeServerFailure)
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}, AttemptTimeout: 300 * time.Millisecond, Attempts: 1, Trace: t.Logf})
	return Env{
		DNS:          r,
		PublicRanges: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")},
	}
}

// ids returns "id subject" for each finding, sorted.
func ids(fs []report.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+" "+f.Subject)
	}
	slices.Sort(out)
	return out
}

func TestRDNS(t *testing.T) {
	env := testEnv(t)
	tests := []struct {
		ip, helo string
		want     []string
	}{
		{"203.0.113.5", "", []string{"rdns.fcrdns_ok 203.0.113.5"}},
		{"203.0.113.6", "", []string{"rdns.no_ptr 203.0.113.6"}},
		{"203.0.113.7", "", []string{"rdns.fcrdns_mismatch 203.0.113.7"}},
		{"203.0.113.9", "", []string{"rdns.dns_error 203.0.113.9"}},
		{"2001:db8::5", "", []string{"rdns.fcrdns_ok 2001:db8::5"}},
		{"2001:db8::6", "", []string{"rdns.no_ptr 2001:db8::6"}},
		{"203.0.113.5", "mail.example.test", []string{"rdns.fcrdns_ok 203.0.113.5", "rdns.helo_ok 203.0.113.5"}},
		{"2001:db8::5", "mail.example.test", []string{"rdns.fcrdns_ok 2001:db8::5", "rdns.helo_ok 2001:db8::5"}},
		{"203.0.113.5", "nohost.example.test", []string{"rdns.fcrdns_ok 203.0.113.5", "rdns.helo_mismatch 203.0.113.5"}},
		{"203.0.113.5", "elsewhere.example.test", []string{"rdns.fcrdns_ok 203.0.113.5", "rdns.helo_mismatch 203.0.113.5"}},
		{"203.0.113.8", "dyn-203-0-113-8.pool.isp.test", []string{"rdns.fcrdns_ok 203.0.113.8", "rdns.helo_ok 203.0.113.8"}},
		{"203.0.113.6", "mail.example.test", []string{"rdns.helo_mismatch 203.0.113.6", "rdns.no_ptr 203.0.113.6"}},
		{"203.0.113.5", "[203.0.113.5]", []string{"rdns.fcrdns_ok 203.0.113.5", "rdns.helo_invalid [203.0.113.5]"}},
		{"203.0.113.5", "mailserver", []string{"rdns.fcrdns_ok 203.0.113.5", "rdns.helo_invalid mailserver"}},
		{"203.0.113.5", "mail.corp.local", []string{"rdns.fcrdns_ok 203.0.113.5", "rdns.helo_invalid mail.corp.local"}},
	}
	for _, tt := range tests {
		got := ids(RDNS(context.Background(), env, Target{IPs: []netip.Addr{netip.MustParseAddr(tt.ip)}, HELO: names.MustHost(tt.helo)}))
		if !slices.Equal(got, tt.want) {
			t.Errorf("rdns %s helo %q = %q, want %q", tt.ip, tt.helo, got, tt.want)
		}
	}
}

func TestRDNSFixNamesTheRecord(t *testing.T) {
	env := testEnv(t)
	fs := RDNS(context.Background(), env, Target{IPs: []netip.Addr{netip.MustParseAddr("203.0.113.6")}, HELO: names.MustHost("mail.example.test")})
	for _, f := range fs {
		// mail.example.test resolves to 203.0.113.5, not .6: the fix adds
		// the address too, or the PTR alone would not confirm.
		if f.ID == "rdns.no_ptr" && !strings.Contains(fixAndRecords(f), "Add 6.113.0.203.in-addr.arpa. PTR mail.example.test.\nAdd mail.example.test. A 203.0.113.6") {
			t.Errorf("fix does not name the records: %q", fixAndRecords(f))
		}
		if f.ID == "rdns.helo_mismatch" && !strings.Contains(fixAndRecords(f), "Add mail.example.test. A 203.0.113.6") {
			t.Errorf("helo_mismatch fix: %q", fixAndRecords(f))
		}
	}
	fs = RDNS(context.Background(), env, Target{IPs: []netip.Addr{netip.MustParseAddr("203.0.113.7")}})
	if len(fs) != 1 || !strings.Contains(fixAndRecords(fs[0]), "Add wrong.example.test. A 203.0.113.7") {
		t.Errorf("mismatch fix: %+v", fs)
	}
	// Without a HELO name or a domain there is no name to suggest.
	fs = RDNS(context.Background(), env, Target{IPs: []netip.Addr{netip.MustParseAddr("203.0.113.6")}})
	if len(fs) != 1 || fs[0].FixRecords != nil {
		t.Errorf("no_ptr without a name: %+v", fs)
	}
}
