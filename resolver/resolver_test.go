package resolver_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

const exampleZone = `
$ORIGIN example.test.
$TTL 300
@        SOA ns1 hostmaster 1 3600 600 86400 300
@        NS  ns1
@        MX  10 mail
@        TXT "v=spf1 ip4:203.0.113.5 -all"
mail     A   203.0.113.5
mail     AAAA 2001:db8::5
alias    CNAME mail
alias2   CNAME alias
outside  CNAME target.other.test.
loop1    CNAME loop2
loop2    CNAME loop1
*.wild   TXT "wildcard"
a.b.deep A   203.0.113.9
long     TXT ( "part one " "part two" )
`

const otherZone = `
other.test. SOA ns1.other.test. hostmaster.other.test. 1 3600 600 86400 300
target.other.test. A 203.0.113.77
`

func newResolver(t *testing.T, servers ...string) *resolver.Resolver {
	t.Helper()
	return resolver.New(resolver.Config{Servers: servers, AttemptTimeout: 500 * time.Millisecond, Attempts: 2, Trace: t.Logf})
}

func TestLookupKinds(t *testing.T) {
	srv := dnstest.New(t, exampleZone, otherZone)
	r := newResolver(t, srv.Addr)
	ctx := context.Background()
	tests := []struct {
		name     string
		qtype    uint16
		want     []string // record data, in order
		wantKind error
		wantVia  []string
	}{
		{"example.test", dns.TypeMX, []string{"10 mail.example.test."}, nil, nil},
		{"MAIL.Example.Test.", dns.TypeA, []string{"203.0.113.5"}, nil, nil},
		{"nope.example.test", dns.TypeA, nil, resolver.ErrNXDomain, nil},
		{"mail.example.test", dns.TypeTXT, nil, resolver.ErrNoData, nil},
		{"deep.example.test", dns.TypeA, nil, resolver.ErrNoData, nil}, // empty non-terminal
		{"alias2.example.test", dns.TypeA, []string{"203.0.113.5"}, nil, []string{"alias.example.test", "mail.example.test"}},
		{"outside.example.test", dns.TypeA, []string{"203.0.113.77"}, nil, []string{"target.other.test"}},
		{"x.wild.example.test", dns.TypeTXT, []string{`"wildcard"`}, nil, nil},
		{"loop1.example.test", dns.TypeA, nil, resolver.ErrTemporary, nil},
		{"unknown.invalid", dns.TypeA, nil, resolver.ErrTemporary, nil}, // REFUSED
	}
	for _, tt := range tests {
		ans, err := r.Lookup(ctx, tt.name, tt.qtype)
		if tt.wantKind != nil {
			if !errors.Is(err, tt.wantKind) {
				t.Errorf("%s %s: err = %v, want %v", tt.name, dns.TypeToString[tt.qtype], err, tt.wantKind)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", tt.name, dns.TypeToString[tt.qtype], err)
			continue
		}
		var got []string
		for _, rr := range ans.Records {
			got = append(got, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
		if !slices.Equal(got, tt.want) || !slices.Equal(ans.CNAMEs, tt.wantVia) {
			t.Errorf("%s %s = %q via %q, want %q via %q", tt.name, dns.TypeToString[tt.qtype], got, ans.CNAMEs, tt.want, tt.wantVia)
		}
	}
}

func TestNotFoundAndTemporaryAreDistinct(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	r := newResolver(t, srv.Addr)
	_, nx := r.LookupTXT(context.Background(), "nope.example.test")
	_, nodata := r.LookupTXT(context.Background(), "mail.example.test")
	srv.SetRcode("broken.example.test", dns.RcodeServerFailure)
	_, servfail := r.LookupTXT(context.Background(), "broken.example.test")
	for _, c := range []struct {
		err                 error
		notFound, temporary bool
	}{{nx, true, false}, {nodata, true, false}, {servfail, false, true}} {
		if resolver.IsNotFound(c.err) != c.notFound || resolver.IsTemporary(c.err) != c.temporary {
			t.Errorf("%v: IsNotFound %v IsTemporary %v, want %v %v", c.err, resolver.IsNotFound(c.err), resolver.IsTemporary(c.err), c.notFound, c.temporary)
		}
	}
	if errors.Is(nx, resolver.ErrNoData) || errors.Is(nodata, resolver.ErrNXDomain) {
		t.Errorf("NXDOMAIN and NODATA confused: %v / %v", nx, nodata)
	}
}

func TestTruncatedReplyRetriesOverTCP(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	srv.TruncateUDP(true)
	r := newResolver(t, srv.Addr)
	txt, err := r.LookupTXT(context.Background(), "example.test")
	if err != nil {
		t.Fatal(err)
	}
	if want := "v=spf1 ip4:203.0.113.5 -all"; len(txt) != 1 || txt[0] != want {
		t.Errorf("got %q, want %q", txt, want)
	}
	if log := srv.Log(); !slices.Equal(log, []string{"udp TXT example.test", "tcp TXT example.test"}) {
		t.Errorf("queries = %q, want UDP then TCP", log)
	}
}

func TestLargeAnswerComesOverTCP(t *testing.T) {
	// 40 TXT records of 100 bytes do not fit in 1232 bytes: the server
	// truncates, as a real one would, and we must get them all.
	srv := dnstest.New(t, bigZone())
	r := newResolver(t, srv.Addr)
	txt, err := r.LookupTXT(context.Background(), "big.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(txt) != 40 {
		t.Errorf("got %d records, want 40", len(txt))
	}
}

func TestServfailFailsOverToNextServer(t *testing.T) {
	bad := dnstest.New(t, exampleZone)
	bad.SetRcode("", dns.RcodeServerFailure)
	good := dnstest.New(t, exampleZone)
	r := newResolver(t, bad.Addr, good.Addr)
	ips, err := r.LookupIP(context.Background(), "ip4", "mail.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if want := netip.MustParseAddr("203.0.113.5"); len(ips) != 1 || ips[0] != want {
		t.Errorf("got %v, want %v", ips, want)
	}
	if bad.Queries() != 1 || good.Queries() != 1 {
		t.Errorf("queries: bad %d good %d, want 1 and 1", bad.Queries(), good.Queries())
	}
}

func TestAllServersFailingIsTemporaryAndNamesThem(t *testing.T) {
	a := dnstest.New(t, exampleZone)
	a.SetRcode("", dns.RcodeServerFailure)
	b := dnstest.New(t, exampleZone)
	b.SetRcode("", dns.RcodeRefused)
	r := newResolver(t, a.Addr, b.Addr)
	_, err := r.LookupTXT(context.Background(), "example.test")
	if !resolver.IsTemporary(err) {
		t.Fatalf("err = %v, want temporary", err)
	}
	for _, want := range []string{a.Addr + ": SERVFAIL", b.Addr + ": REFUSED"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestTimeoutIsTemporaryWithinAttemptBudget(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	srv.DropAll(true)
	const attempt = 200 * time.Millisecond
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}, AttemptTimeout: attempt, Attempts: 2})
	start := time.Now()
	_, err := r.LookupTXT(context.Background(), "example.test")
	elapsed := time.Since(start)
	if !resolver.IsTemporary(err) || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("err = %v, want temporary timeout", err)
	}
	// Two attempts of 200 ms; allow generous scheduling slack but not a
	// third attempt.
	if elapsed < 2*attempt || elapsed > 2*attempt+attempt/2+100*time.Millisecond {
		t.Errorf("took %v, want about %v", elapsed, 2*attempt)
	}
	if n := srv.Queries(); n != 2 {
		t.Errorf("server saw %d queries, want 2", n)
	}
}

func TestDroppedQueryIsRetried(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	srv.DropNext(1)
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}, AttemptTimeout: 200 * time.Millisecond, Attempts: 2})
	if _, err := r.LookupTXT(context.Background(), "example.test"); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Questions != 1 || st.Packets != 2 {
		t.Errorf("stats = %+v, want 1 question in 2 packets", st)
	}
}

func TestContextDeadlineCutsAttemptShort(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	srv.DropAll(true)
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}, AttemptTimeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.LookupTXT(ctx, "example.test")
	if !resolver.IsTemporary(err) {
		t.Errorf("err = %v, want temporary", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("took %v after a 150ms deadline", elapsed)
	}
}

func TestRepeatedQuestionsCostOneQuery(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	srv.SetLatency(50 * time.Millisecond)
	r := newResolver(t, srv.Addr)
	var wg sync.WaitGroup
	for range 20 { // in flight at once: deduplicated
		wg.Go(func() {
			if _, err := r.LookupTXT(context.Background(), "example.test"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for range 5 { // later: cached, also errors
		r.LookupTXT(context.Background(), "example.test")
		r.LookupTXT(context.Background(), "nope.example.test")
	}
	if n := srv.Queries(); n != 2 {
		t.Errorf("server saw %d queries, want 2", n)
	}
	if st := r.Stats(); st.Questions != 2 || st.CacheHits != 28 {
		t.Errorf("stats = %+v, want 2 questions, 28 cache hits", st)
	}
}

func TestCancelledAskerDoesNotPoisonCache(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	srv.SetLatency(100 * time.Millisecond)
	r := newResolver(t, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.LookupTXT(ctx, "example.test"); err == nil {
		t.Fatal("want an error from the impatient asker")
	}
	if _, err := r.LookupTXT(context.Background(), "example.test"); err != nil {
		t.Errorf("patient asker: %v", err)
	}
}

func TestAskerViewSharesCache(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	r := newResolver(t, srv.Addr)
	v1, v2 := r.Asker(0), r.Asker(1)
	v1.LookupTXT(context.Background(), "example.test")
	v2.LookupTXT(context.Background(), "example.test")
	v2.LookupMX(context.Background(), "example.test")
	if n := r.QuestionsByAsker(2); n[0] != 1 || n[1] != 1 || srv.Queries() != 2 {
		t.Errorf("view counts %v; server %d; want [1 1]; 2", n, srv.Queries())
	}
}

func TestLookupPTR(t *testing.T) {
	srv := dnstest.New(t, `
$ORIGIN 113.0.203.in-addr.arpa.
@ SOA ns hm 1 1 1 1 1
5 PTR Mail.Example.Test.
`, `
$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
@ SOA ns hm 1 1 1 1 1
5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR mail6.example.test.
`)
	r := newResolver(t, srv.Addr)
	for ip, want := range map[string]string{"203.0.113.5": "mail.example.test", "2001:db8::5": "mail6.example.test"} {
		names, err := r.LookupPTR(context.Background(), netip.MustParseAddr(ip))
		if err != nil || len(names) != 1 || names[0] != want {
			t.Errorf("PTR %s = %q, %v; want %q", ip, names, err, want)
		}
	}
}

func TestLookupIPBothFamilies(t *testing.T) {
	srv := dnstest.New(t, exampleZone)
	r := newResolver(t, srv.Addr)
	ips, err := r.LookupIP(context.Background(), "ip", "mail.example.test")
	if err != nil || len(ips) != 2 {
		t.Errorf("got %v, %v; want v4 and v6", ips, err)
	}
	srv.SetRcode("alias.example.test", dns.RcodeServerFailure)
	if _, err := r.LookupIP(context.Background(), "ip", "alias.example.test"); !resolver.IsTemporary(err) {
		t.Errorf("both failing: err = %v, want temporary", err)
	}
	if _, err := r.LookupIP(context.Background(), "ip", "nope.example.test"); !errors.Is(err, resolver.ErrNXDomain) {
		t.Errorf("err = %v, want NXDOMAIN", err)
	}
}

func TestNoServers(t *testing.T) {
	r := resolver.New(resolver.Config{NoServersReason: "open /etc/resolv.conf: no such file"})
	_, err := r.LookupTXT(context.Background(), "example.test")
	if !resolver.IsTemporary(err) || !strings.Contains(err.Error(), "resolv.conf") {
		t.Errorf("err = %v", err)
	}
}

func TestOverlayAndOffline(t *testing.T) {
	dir := t.TempDir()
	zf := filepath.Join(dir, "example.zone")
	os.WriteFile(zf, []byte(exampleZone), 0o644)
	overlay, err := resolver.LoadOverlay(context.Background(), zf)
	if err != nil {
		t.Fatal(err)
	}
	// The server would answer differently: the overlay must win.
	srv := dnstest.New(t, `example.test. SOA ns hm 1 1 1 1 1
example.test. TXT "from the network"
`, `other.test. SOA ns hm 1 1 1 1 1
other.test. TXT "network only"`)
	online := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Overlay: overlay})
	txt, err := online.LookupTXT(context.Background(), "example.test")
	if err != nil || txt[0] != "v=spf1 ip4:203.0.113.5 -all" {
		t.Errorf("overlay name: %q, %v", txt, err)
	}
	if _, err := online.LookupTXT(context.Background(), "nope.example.test"); !errors.Is(err, resolver.ErrNXDomain) {
		t.Errorf("absent overlay name: %v, want NXDOMAIN", err)
	}
	if txt, err := online.LookupTXT(context.Background(), "other.test"); err != nil || txt[0] != "network only" {
		t.Errorf("outside overlay: %q, %v", txt, err)
	}
	if n := srv.Queries(); n != 1 {
		t.Errorf("server saw %d queries, want 1 (only the name outside the overlay)", n)
	}
	srv.ResetLog()
	offline := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Overlay: overlay, Offline: true})
	if ips, err := offline.LookupIP(context.Background(), "ip4", "alias2.example.test"); err != nil || len(ips) != 1 {
		t.Errorf("offline overlay CNAME: %v, %v", ips, err)
	}
	_, err = offline.LookupTXT(context.Background(), "other.test")
	if !resolver.IsTemporary(err) || !strings.Contains(err.Error(), "offline, not in zone files") {
		t.Errorf("offline outside overlay: %v", err)
	}
	// CNAME out of the overlay while offline: temporary, names the chain.
	_, err = offline.LookupIP(context.Background(), "ip4", "outside.example.test")
	if !resolver.IsTemporary(err) || !strings.Contains(err.Error(), "target.other.test") {
		t.Errorf("offline CNAME leaving overlay: %v", err)
	}
	if n := srv.Queries(); n != 0 {
		t.Errorf("offline resolver sent %d queries", n)
	}
}

func TestOfflineSendsNoPacket(t *testing.T) {
	// A UDP socket that records anything sent to it.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	r := resolver.New(resolver.Config{Servers: []string{pc.LocalAddr().String()}, Offline: true})
	for _, q := range []uint16{dns.TypeA, dns.TypeTXT, dns.TypePTR} {
		r.Lookup(context.Background(), "example.com", q)
	}
	pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _, err := pc.ReadFrom(make([]byte, 512)); err == nil {
		t.Errorf("offline resolver sent a %d-byte packet", n)
	}
	if st := r.Stats(); st.Packets != 0 {
		t.Errorf("stats: %+v", st)
	}
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int64 { return c.n.Add(1) }

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
