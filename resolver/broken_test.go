package resolver_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// Replies that prove nothing (issue #13 item 15): each must end as a
// temporary error from that server, and the next server must be asked;
// none may be read as NODATA.

func quickResolver(t *testing.T, servers ...string) *resolver.Resolver {
	t.Helper()
	return resolver.New(resolver.Config{Servers: servers, AttemptTimeout: 100 * time.Millisecond, Attempts: 2, Trace: t.Logf})
}

func TestReplyToAnotherQuestionIsNotNoData(t *testing.T) {
	tests := []struct {
		name     string
		question func(dns.Question) []dns.Question
	}{
		{"no question", func(dns.Question) []dns.Question { return nil }},
		{"other name", func(q dns.Question) []dns.Question {
			q.Name = "other." + q.Name
			return []dns.Question{q}
		}},
		{"other type", func(q dns.Question) []dns.Question {
			q.Qtype = dns.TypeA
			return []dns.Question{q}
		}},
		{"other class", func(q dns.Question) []dns.Question {
			q.Qclass = dns.ClassCHAOS
			return []dns.Question{q}
		}},
		{"two questions", func(q dns.Question) []dns.Question { return []dns.Question{q, q} }},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			bad := dnstest.New(t, exampleZone)
			bad.SetReplyQuestion(tt.question)
			good := dnstest.New(t, exampleZone)
			// mail.example.test has no TXT: the broken reply is an
			// empty NOERROR, which used to be read as NODATA.
			_, err := quickResolver(t, bad.Addr).LookupTXT(context.Background(), "mail.example.test")
			if !resolver.IsTemporary(err) || !strings.Contains(err.Error(), "does not match the question") {
				t.Errorf("broken server alone: err = %v, want temporary, naming the mismatch", err)
			}
			if n := bad.Queries(); n != 2 {
				t.Errorf("broken server saw %d queries, want 2 (one per attempt)", n)
			}
			_, err = quickResolver(t, bad.Addr, good.Addr).LookupTXT(context.Background(), "mail.example.test")
			var le *resolver.LookupError
			if !errors.Is(err, resolver.ErrNoData) || !errors.As(err, &le) || le.Reason != "from "+good.Addr {
				t.Errorf("broken then good server: err = %v, want NODATA from %s", err, good.Addr)
			}
		})
	}
}

func TestErrorReplyWithoutQuestionFailsOverAtOnce(t *testing.T) {
	// RFC 1035 lets a server leave the question out of an error reply:
	// it is taken as the error it is, without waiting for the timeout.
	bad := dnstest.New(t, exampleZone)
	bad.SetRcode("", dns.RcodeServerFailure)
	bad.SetReplyQuestion(func(dns.Question) []dns.Question { return nil })
	good := dnstest.New(t, exampleZone)
	r := resolver.New(resolver.Config{Servers: []string{bad.Addr, good.Addr}, AttemptTimeout: 5 * time.Second, Trace: t.Logf})
	start := time.Now()
	if _, err := r.LookupTXT(context.Background(), "example.test"); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("took %v: the SERVFAIL was not taken at once", elapsed)
	}
}

func TestAnswerOfAnotherTypeIsNotNoData(t *testing.T) {
	const zone = `
$ORIGIN example.test.
@     SOA ns1 hostmaster 1 3600 600 86400 300
host  A    203.0.113.5
host  AAAA 2001:db8::5
host  TXT  "not an address"
alias CNAME host
`
	for _, tt := range []struct {
		network string
		qtype   uint16
		want    string
	}{{"ip4", dns.TypeA, "203.0.113.5"}, {"ip6", dns.TypeAAAA, "2001:db8::5"}} {
		for _, name := range []string{"host.example.test", "alias.example.test"} {
			bad := dnstest.New(t, zone)
			bad.AnswerAs(tt.qtype, dns.TypeTXT)
			good := dnstest.New(t, zone)
			_, err := quickResolver(t, bad.Addr).LookupIP(context.Background(), tt.network, name)
			if !resolver.IsTemporary(err) || !strings.Contains(err.Error(), "TXT records at host.example.test") {
				t.Errorf("%s %s, answered with TXT: err = %v, want temporary naming the TXT records", name, tt.network, err)
			}
			ips, err := quickResolver(t, bad.Addr, good.Addr).LookupIP(context.Background(), tt.network, name)
			if err != nil || len(ips) != 1 || ips[0] != netip.MustParseAddr(tt.want) {
				t.Errorf("%s %s, broken then good server: %v, %v; want %s", name, tt.network, ips, err, tt.want)
			}
		}
	}
	// A CNAME chain to a name without records of the type is NODATA.
	srv := dnstest.New(t, zone)
	if _, err := quickResolver(t, srv.Addr).Lookup(context.Background(), "alias.example.test", dns.TypeMX); !errors.Is(err, resolver.ErrNoData) {
		t.Errorf("MX at the end of a CNAME chain: err = %v, want NODATA", err)
	}
}

// bigZone holds 40 TXT records of 100 octets at big.test: more than fits
// in 1232 octets, so a server truncates them, as a real one would.
func bigZone() string {
	var b strings.Builder
	b.WriteString("big.test. SOA ns hm 1 1 1 1 1\n")
	for i := range 40 {
		fmt.Fprintf(&b, "big.test. TXT \"%02d%s\"\n", i, strings.Repeat("x", 98))
	}
	return b.String()
}

func TestBrokenUDPReplyRetriesOverTCP(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*dnstest.Server)
	}{
		{"oversize without TC", func(s *dnstest.Server) { s.OversizeUDP(true) }},
		{"cut short without TC", func(s *dnstest.Server) {
			s.OversizeUDP(true)
			s.SetHook(func(q, reply *dns.Msg, proto string) []byte {
				if proto != "udp" {
					return nil
				}
				b, _ := reply.Pack()
				return b[:1000]
			})
		}},
		{"cut short, small", func(s *dnstest.Server) {
			s.SetHook(func(q, reply *dns.Msg, proto string) []byte {
				if proto != "udp" {
					return nil
				}
				b, _ := reply.Pack()
				return b[:len(b)-30]
			})
		}},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			srv := dnstest.New(t, bigZone())
			tt.setup(srv)
			txt, err := quickResolver(t, srv.Addr).LookupTXT(context.Background(), "big.test")
			if err != nil || len(txt) != 40 {
				t.Fatalf("got %d records, %v; want 40", len(txt), err)
			}
			if log := srv.Log(); !slices.Equal(log, []string{"udp TXT big.test", "tcp TXT big.test"}) {
				t.Errorf("queries = %q, want UDP then TCP", log)
			}
		})
	}
}

// ednsLog records, for each query, whether it had an OPT record.
func ednsLog(s *dnstest.Server) func() []bool {
	var (
		mu  sync.Mutex
		log []bool
	)
	s.SetHook(func(q, reply *dns.Msg, proto string) []byte {
		mu.Lock()
		log = append(log, q.IsEdns0() != nil)
		mu.Unlock()
		return nil
	})
	return func() []bool { mu.Lock(); defer mu.Unlock(); return slices.Clone(log) }
}

func TestFormerrToEDNSRetriesWithoutEDNS(t *testing.T) {
	srv := dnstest.New(t, bigZone())
	srv.RefuseEDNS(true)
	edns := ednsLog(srv)
	// Without EDNS the answer is truncated at 512 octets: then TCP,
	// still without EDNS.
	txt, err := quickResolver(t, srv.Addr).LookupTXT(context.Background(), "big.test")
	if err != nil || len(txt) != 40 {
		t.Fatalf("got %d records, %v; want 40", len(txt), err)
	}
	if log := srv.Log(); !slices.Equal(log, []string{"udp TXT big.test", "udp TXT big.test", "tcp TXT big.test"}) {
		t.Errorf("queries = %q, want UDP, UDP again, TCP", log)
	}
	if got := edns(); !slices.Equal(got, []bool{true, false, false}) {
		t.Errorf("EDNS in queries = %v, want only the first", got)
	}
}

func TestFormerrWithoutEDNSIsNotRetriedAgain(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	srv.SetRcode("", dns.RcodeFormatError)
	edns := ednsLog(srv)
	_, err := quickResolver(t, srv.Addr).LookupTXT(context.Background(), "example.test")
	if !resolver.IsTemporary(err) || !strings.Contains(err.Error(), "FORMERR") {
		t.Errorf("err = %v, want temporary FORMERR", err)
	}
	if got := edns(); !slices.Equal(got, []bool{true, false, true, false}) {
		t.Errorf("EDNS in queries = %v, want with and without, once per attempt", got)
	}
}
