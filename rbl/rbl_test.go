package rbl

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func catalogList(zone string) List {
	l, err := ParseList(zone)
	if err != nil {
		panic(err)
	}
	return l
}

// Every rule of notes/dnsbl.md: none may give a false listed or clean.
func TestDecode(t *testing.T) {
	zen, dbl, uribl, surbl := catalogList("zen.spamhaus.org"), catalogList("dbl.spamhaus.org"), catalogList("multi.uribl.com"), catalogList("multi.surbl.org")
	custom := catalogList("bl.example.net")
	nx := &resolver.LookupError{Kind: resolver.ErrNXDomain}
	nodata := &resolver.LookupError{Kind: resolver.ErrNoData}
	timeout := &resolver.LookupError{Kind: resolver.ErrTemporary, Reason: "timeout"}
	servfail := &resolver.LookupError{Kind: resolver.ErrTemporary, Reason: "SERVFAIL"}
	refused := &resolver.LookupError{Kind: resolver.ErrTemporary, Reason: "REFUSED"}
	tests := []struct {
		name    string
		list    List
		answers []netip.Addr
		err     error
		want    Status
		has     string // in meanings, reason or hint
	}{
		{"NXDOMAIN", zen, nil, nx, Clean, ""},
		{"NODATA", zen, nil, nodata, Clean, ""},
		{"timeout", zen, nil, timeout, Unknown, "timeout"},
		{"SERVFAIL", zen, nil, servfail, Unknown, "SERVFAIL"},
		{"REFUSED", zen, nil, refused, Unknown, "REFUSED"},
		{"SBL", zen, addrs("127.0.0.2"), nil, Listed, "SBL"},
		{"XBL and PBL", zen, addrs("127.0.0.4", "127.0.0.10"), nil, Listed, "XBL"},
		{"PBL only", zen, addrs("127.0.0.10"), nil, PolicyListed, "PBL"},
		{"public resolver", zen, addrs("127.255.255.254"), nil, Unknown, "public"},
		{"over quota", zen, addrs("127.255.255.255"), nil, Unknown, "limit"},
		{"any error code", custom, addrs("127.255.255.100"), nil, Unknown, "error code"},
		{"outside 127/8", zen, addrs("198.51.100.1"), nil, Unknown, "outside 127.0.0.0/8"},
		{"mixed with outside", zen, addrs("127.0.0.2", "203.0.113.1"), nil, Unknown, "outside"},
		{"DBL spam", dbl, addrs("127.0.1.2"), nil, Listed, "spam domain"},
		{"DBL error", dbl, addrs("127.0.1.255"), nil, Unknown, "IP address"},
		{"URIBL refused", uribl, addrs("127.0.0.1"), nil, Unknown, "refused"},
		{"URIBL black+grey", uribl, addrs("127.0.0.6"), nil, Listed, "grey"},
		{"SURBL blocked", surbl, addrs("127.0.0.1"), nil, Unknown, "refused"},
		{"SURBL phishing", surbl, addrs("127.0.0.8"), nil, Listed, "PH"},
		{"unknown code", zen, addrs("127.0.0.42"), nil, Listed, "unrecognised code 127.0.0.42"},
		{"custom policy", custom, addrs("127.0.0.10"), nil, PolicyListed, "PBL style"},
	}
	for _, tt := range tests {
		got := Decode(tt.list, tt.answers, tt.err)
		text := strings.Join(got.Meanings, ";") + got.Reason + got.Hint
		if got.Status != tt.want || !strings.Contains(text, tt.has) {
			t.Errorf("%s: %s (%s), want %s with %q", tt.name, got.Status, text, tt.want, tt.has)
		}
	}
}

func TestSelfTest(t *testing.T) {
	pts := TestPoints{"127.0.0.2", "127.0.0.1"}
	listed := Answer{Status: Listed}
	clean := Answer{Status: Clean}
	unknown := Answer{Status: Unknown, Reason: "timeout"}
	tests := []struct {
		pos, neg Answer
		want     string
	}{
		{listed, clean, ""},
		{clean, clean, "answers NXDOMAIN for everything"},
		{listed, listed, "answers for everything"},
		{unknown, clean, "timeout"},
		{listed, unknown, "timeout"},
	}
	for _, tt := range tests {
		reason, _ := SelfTest(tt.pos, tt.neg, pts)
		if tt.want == "" && reason != "" || !strings.Contains(reason, tt.want) {
			t.Errorf("SelfTest(%v, %v) = %q, want %q", tt.pos.Status, tt.neg.Status, reason, tt.want)
		}
	}
}

func TestQueryName(t *testing.T) {
	for _, tt := range []struct{ target, want string }{
		{"203.0.113.40", "40.113.0.203.bl.example"},
		{"2001:db8::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example"},
		{"::ffff:127.0.0.2", "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example"},
		{"Spammy.Example.", "spammy.example.bl.example"},
	} {
		if got, _ := QueryName(tt.target, "bl.example"); got != tt.want {
			t.Errorf("QueryName(%s) = %s, want %s", tt.target, got, tt.want)
		}
	}
}

func TestParseList(t *testing.T) {
	for spec, want := range map[string]string{
		"zen.spamhaus.org":                   "zen.spamhaus.org ip catalog",
		"bl.example.net":                     "bl.example.net ip custom",
		"dbl.example.net:domain@127.0.0.1:5": "dbl.example.net domain custom @127.0.0.1:5",
		"dbl.spamhaus.org:ip":                "error",
		"dnsbl.sorbs.net":                    "error",
		"nodot":                              "error",
		"bl.example.net:both":                "error",
		"zen..x":                             "error", // issue #16: accepted, then misdiagnosed as a broken list
	} {
		l, err := ParseList(spec)
		got := "error"
		if err == nil {
			got = l.Zone + " " + string(l.Kind) + " catalog"
			if l.Custom {
				got = l.Zone + " " + string(l.Kind) + " custom"
			}
			if l.Server != "" {
				got += " @" + l.Server
			}
		}
		if got != want {
			t.Errorf("ParseList(%q) = %s (%v), want %s", spec, got, err, want)
		}
	}
	dq, err := WithDQSKey([]List{catalogList("zen.spamhaus.org"), catalogList("bl.spamcop.net")}, "SECRETKEY")
	if err != nil || dq[0].Zone != "SECRETKEY.zen.dq.spamhaus.net" || strings.Contains(dq[0].Shown(), "SECRET") {
		t.Errorf("DQS: %s shown as %s (%v)", dq[0].Zone, dq[0].Shown(), err)
	}
	if keys := Keys(dq); !slices.Equal(keys, []string{"SECRETKEY"}) {
		t.Errorf("Keys = %q, want the key once", keys)
	}
	for _, bad := range []string{"short", "has.dot1234", "has space12", "a\\escaped1", strings.Repeat("k", 64)} {
		if _, err := WithDQSKey(dq, bad); err == nil {
			t.Errorf("WithDQSKey(%q) accepted a key it cannot hide", bad)
		}
	}
}

// Against a DNS server that misbehaves as resolvers do in the field.
func TestQueryNeverLies(t *testing.T) {
	list := catalogList("zen.spamhaus.org")
	target := "203.0.113.40"
	zone := "zen.spamhaus.org. SOA ns hm 1 1 1 1 1\n"
	tests := []struct {
		name   string
		zone   string
		setup  func(*dnstest.Server)
		want   Status
		unusab bool
		has    string
	}{
		{"listed", zone + "2.0.0.127.zen.spamhaus.org. A 127.0.0.2\n40.113.0.203.zen.spamhaus.org. A 127.0.0.2\n", nil, Listed, false, "SBL"},
		{"clean", zone + "2.0.0.127.zen.spamhaus.org. A 127.0.0.2\n", nil, Clean, false, ""},
		{"NXDOMAIN for everything", zone, nil, Unknown, true, "NXDOMAIN for everything"},
		{"lists the world", zone + "*.zen.spamhaus.org. A 127.0.0.2\n", nil, Unknown, true, "answers for everything"},
		{"public resolver", zone + "*.zen.spamhaus.org. A 127.255.255.254\n", nil, Unknown, true, "public"},
		{"SERVFAIL", zone, func(s *dnstest.Server) { s.SetRcode("", dns.RcodeServerFailure) }, Unknown, true, "SERVFAIL"},
		{"timeout", zone, func(s *dnstest.Server) { s.DropAll(true) }, Unknown, true, "timeout"},
	}
	for _, tt := range tests {
		srv := dnstest.New(t, tt.zone)
		if tt.setup != nil {
			tt.setup(srv)
		}
		r := resolver.New(resolver.Config{Servers: []string{srv.Addr}, AttemptTimeout: 100 * time.Millisecond, Attempts: 1})
		res := Query(context.Background(), r, []List{list}, []string{target})
		if len(res) != 1 {
			t.Fatalf("%s: %d results", tt.name, len(res))
		}
		got := res[0]
		if got.Status != tt.want || got.Unusable != tt.unusab || !strings.Contains(strings.Join(got.Meanings, ";")+got.Reason+got.Hint, tt.has) {
			t.Errorf("%s: %+v, want %s unusable %v with %q", tt.name, got.Answer, tt.want, tt.unusab, tt.has)
		}
	}
}

func TestQueryFetchesTXTOnlyForListed(t *testing.T) {
	srv := dnstest.New(t, `zen.spamhaus.org. SOA ns hm 1 1 1 1 1
2.0.0.127.zen.spamhaus.org. A 127.0.0.2
40.113.0.203.zen.spamhaus.org. A 127.0.0.2
40.113.0.203.zen.spamhaus.org. TXT "https://check.spamhaus.org/listed"
`)
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}})
	res := Query(context.Background(), r, []List{catalogList("zen.spamhaus.org")}, []string{"203.0.113.40", "203.0.113.41", "2001:db8::1"})
	if res[0].Status != Listed || len(res[0].TXT) != 1 || res[1].Status != Clean {
		t.Errorf("results: %+v", res)
	}
	txtQueries := 0
	for _, q := range srv.Log() {
		if strings.Contains(q, " TXT ") {
			txtQueries++
		}
	}
	if txtQueries != 1 {
		t.Errorf("%d TXT queries, want 1 (only the listed target): %v", txtQueries, srv.Log())
	}
}

func TestIsPublicResolver(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8:53": true, "1.1.1.1": true, "[2606:4700:4700::1111]:53": true, "9.9.9.9:53": true,
		"127.0.0.1:53": false, "10.255.255.53:53": false, "[::1]:53": false,
	} {
		if got := IsPublicResolver(s); got != want {
			t.Errorf("IsPublicResolver(%s) = %v", s, got)
		}
	}
}
