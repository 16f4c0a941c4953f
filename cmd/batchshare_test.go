package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// shareZones: 200 domains whose SPF records include one ESP's, 250
// sending hosts with forward-confirmed PTRs, and the default blocklists
// listing their test points only. TTLs are an hour and negative answers
// five minutes (the SOA's MINIMUM), longer than any run of the test.
func shareZones() []string {
	var fwd, rev strings.Builder
	fwd.WriteString("$TTL 3600\n$ORIGIN share.test.\n@ SOA ns hm 1 3600 600 86400 300\nmail A 203.0.113.1\n")
	for i := range 200 {
		fmt.Fprintf(&fwd, "d%d TXT \"v=spf1 include:_spf.esp.test -all\"\nd%d MX 10 mail\n_dmarc.d%d TXT \"v=DMARC1; p=reject\"\n", i, i, i)
	}
	rev.WriteString("$TTL 3600\n$ORIGIN 113.0.203.in-addr.arpa.\n@ SOA ns hm 1 3600 600 86400 300\n")
	for i := 1; i <= 250; i++ {
		fmt.Fprintf(&fwd, "h%d A 203.0.113.%d\n", i, i)
		fmt.Fprintf(&rev, "%d PTR h%d.share.test.\n", i, i)
	}
	zones := []string{fwd.String(), rev.String(),
		"$TTL 3600\n$ORIGIN esp.test.\n@ SOA ns hm 1 3600 600 86400 300\n_spf TXT \"v=spf1 ip4:203.0.113.0/24 -all\"\n",
		"$TTL 3600\n$ORIGIN test.\n@ SOA ns hm 1 3600 600 86400 300\n",
	}
	for _, z := range []string{"zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org", "bl.mailspike.net", "psbl.surriel.com"} {
		zones = append(zones, fmt.Sprintf("$TTL 3600\n$ORIGIN %s.\n@ SOA ns hm 1 3600 600 86400 300\n2.0.0.127 A 127.0.0.2\n", z))
	}
	for z, code := range map[string]string{"dbl.spamhaus.org": "127.0.1.2", "multi.uribl.com": "127.0.0.2", "multi.surbl.org": "127.0.0.8"} {
		zones = append(zones, fmt.Sprintf("$TTL 3600\n$ORIGIN %s.\n@ SOA ns hm 1 3600 600 86400 300\ntest A %s\n", z, code))
	}
	return zones
}

// TestBatchAsksSharedQuestionsOnce: a batch of 1,000 targets that share
// one SPF include, the default blocklists (and so their self-tests) and
// 250 sending hosts sends every question once, and the reports' query
// counts add up to what the server saw: answers from the batch's cache
// are not counted as sent (issue #21).
func TestBatchAsksSharedQuestionsOnce(t *testing.T) {
	// A signed root above the zones (delegated without DS: insecure, as
	// most domains are) so the dnssec check's questions have answers a
	// batch keeps, as against a recursive resolver.
	root, err := dnstest.SignText(". 3600 IN SOA ns.test. hm.test. 1 3600 600 86400 300\ntest. NS ns.test.\norg. NS ns.test.\nnet. NS ns.test.\ncom. NS ns.test.\n", dnstest.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rz, err := root.Zone()
	if err != nil {
		t.Fatal(err)
	}
	zones := []*resolver.Zone{rz}
	for _, text := range shareZones() {
		z, err := resolver.ParseZone(strings.NewReader(text), "share.zone")
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, z)
	}
	srv, err := dnstest.StartZones(zones...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	anchor := filepath.Join(t.TempDir(), "root.ds")
	if err := os.WriteFile(anchor, []byte(root.DS[0].String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "targets.txt")
	var lines bytes.Buffer
	for i := range 1000 {
		host := i%250 + 1
		fmt.Fprintf(&lines, "d%d.share.test 203.0.113.%d h%d.share.test s1\n", i%200, host, host)
	}
	if err := os.WriteFile(file, lines.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "check", "--targets", file, "--resolver", srv.Addr, "--treat-as-public", "203.0.113.0/24", "--timeout", "1m", "--trust-anchor", anchor)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var reported, shared int64
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var rep struct {
			Resolver struct{ Queries, Shared int64 } `json:"resolver"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		reported += rep.Resolver.Queries
		shared += rep.Resolver.Shared
		n++
	}
	if n != 1000 {
		t.Fatalf("%d reports, want 1000", n)
	}
	log := srv.Log()
	if int64(len(log)) != srv.Queries() {
		t.Fatalf("the server logged %d of %d queries: the test is too large for its log", len(log), srv.Queries())
	}
	seen := map[string]int{}
	for _, q := range log {
		seen[q]++
	}
	for q, c := range seen {
		if c > 1 {
			t.Errorf("%s asked %d times, want once", q, c)
		}
	}
	for _, q := range []string{"udp TXT _spf.esp.test", "udp A 2.0.0.127.zen.spamhaus.org", "udp A 1.0.0.127.bl.spamcop.net", "udp A test.multi.uribl.com", "udp A invalid.dbl.spamhaus.org"} {
		if seen[q] != 1 {
			t.Errorf("%q asked %d times, want once", q, seen[q])
		}
	}
	if reported != srv.Queries() {
		t.Errorf("the reports count %d queries sent, the server saw %d", reported, srv.Queries())
	}
	// What the batch's cache answered is in each report as shared: a
	// target whose questions others asked first does not read as one
	// that asked nothing.
	if shared < 1000 {
		t.Errorf("the reports count %d questions answered by the batch's cache, want more than one a target", shared)
	}
	t.Logf("1,000 targets: %d questions (%.1f a target); %s", srv.Queries(), float64(srv.Queries())/1000, strings.TrimSpace(stderr))
}
