package resolver_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

func TestRedact(t *testing.T) {
	keys := []string{"s3cretkey"}
	for in, want := range map[string]string{
		"2.0.0.127.s3cretkey.zen.dq.spamhaus.net": "2.0.0.127.<key>.zen.dq.spamhaus.net",
		"a.S3CRETKEY.x → b.s3CretKey.y":           "a.<key>.x → b.<key>.y",
		"xs3cretkeyx.s3cretkeys3cretkey":          "x<key>x.<key><key>",
		"nothing here":                            "nothing here",
		"é.s3cretkey.ü":                           "é.<key>.ü",
	} {
		if got := resolver.Redact(in, keys); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := resolver.Redact("a.b", nil); got != "a.b" {
		t.Errorf("no keys: %q", got)
	}
}

// TestKeysNeverLeaveTheResolver: a server answering names that carry a
// key (a DNSBL's DQS names) with CNAME chains and loops through more
// names carrying it, in any letter case. No error, reason, answer name
// or trace line shows the key (issue #13 item 5).
func TestKeysNeverLeaveTheResolver(t *testing.T) {
	const key = "Zk3yS3cret0123456789abcdef"
	var zone strings.Builder
	fmt.Fprintf(&zone, "$ORIGIN dq.test.\n@ SOA ns hm 1 1 1 1 1\n")
	fmt.Fprintf(&zone, "loop.%s CNAME loop2.%s\nloop2.%s CNAME loop.%s\n", key, strings.ToUpper(key), key, key)
	fmt.Fprintf(&zone, "long.%s CNAME c1.%s\n", key, key)
	for i := 1; i < 15; i++ {
		fmt.Fprintf(&zone, "c%d.%s CNAME c%d.%s\n", i, key, i+1, strings.ToUpper(key))
	}
	fmt.Fprintf(&zone, "ok.%s CNAME end.%s\nend.%s A 127.0.0.2\n", key, key, key)
	fmt.Fprintf(&zone, "gone.%s CNAME nowhere.%s\n", key, key)
	srv := dnstest.New(t, zone.String())

	var (
		mu    sync.Mutex
		trace strings.Builder
	)
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}, AttemptTimeout: 500 * time.Millisecond, Keys: []string{key},
		Trace: func(f string, a ...any) { mu.Lock(); fmt.Fprintf(&trace, f+"\n", a...); mu.Unlock() }})
	ctx := context.Background()
	var seen []string
	for _, name := range []string{"loop", "long", "ok", "gone", "refused"} {
		q := name + "." + key + ".dq.test"
		if name == "refused" {
			q = name + "." + key + ".elsewhere.test"
		}
		ans, err := r.Lookup(ctx, q, dns.TypeA)
		if err != nil {
			seen = append(seen, err.Error(), resolver.Reason(err))
			continue
		}
		seen = append(seen, ans.Name, ans.Canonical, strings.Join(ans.CNAMEs, " "))
	}
	for _, bad := range []string{"bad..name." + key, strings.Repeat("x", 250) + "." + key} {
		_, err := r.Lookup(ctx, bad, dns.TypeA)
		seen = append(seen, err.Error())
	}
	seen = append(seen, trace.String())
	all := strings.Join(seen, "\n")
	for _, want := range []string{"CNAME loop", "CNAME chain longer", "<key>.dq.test", "REFUSED"} {
		if !strings.Contains(all, want) {
			t.Errorf("the test did not reach %q:\n%s", want, all)
		}
	}
	if strings.Contains(strings.ToLower(all), strings.ToLower(key)) {
		t.Errorf("the key shows:\n%s", all)
	}
}
