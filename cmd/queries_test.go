package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// TestQueryCountsDeterministic: the demo against a DNS server, its
// blocklist on a second server (--list ZONE@SERVER). The report counts
// every question either server was asked, and each check's count is the
// same in every run: a question several checks ask is the first's, in
// the report's order (issue #16: rdns and mx traded theirs between
// runs).
func TestQueryCountsDeterministic(t *testing.T) {
	var zones []string
	for _, f := range []string{"demo.example.zone", "100.51.198.in-addr.arpa.zone", "1.5.0.0.8.b.d.0.1.0.0.2.ip6.arpa.zone", "dbl.demo.example.zone", "provider.example.zone"} {
		b, err := os.ReadFile(filepath.Join("../testdata/demo", f))
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, string(b))
	}
	bl, err := os.ReadFile("../testdata/demo/bl.demo.example.zone")
	if err != nil {
		t.Fatal(err)
	}
	dns := dnstest.New(t, zones...)
	lists := dnstest.New(t, string(bl))
	var first string
	for i := range 8 {
		before, beforeLists := dns.Queries(), lists.Queries()
		code, stdout, stderr := run(t, "check", "demo.example", "--ip", "198.51.100.7,2001:db8:51::7", "--helo", "mail.demo.example",
			"--resolver", dns.Addr, "--list", "bl.demo.example@"+lists.Addr, "--list", "dbl.demo.example:domain",
			"--treat-as-public", "198.51.100.0/24", "--treat-as-public", "2001:db8::/32", "--format", "json")
		var r report.Report
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("exit %d, %v: %s", code, err, stderr)
		}
		var sum int64
		counts := ""
		for _, c := range r.Checks {
			sum += c.DNSQueries
			counts += fmt.Sprintf("%s=%d ", c.ID, c.DNSQueries)
		}
		asked := dns.Queries() - before + lists.Queries() - beforeLists
		// The servers count packets: a question asked again after an
		// answer that proves nothing (REFUSED for a name outside the
		// test server's zones, such as the DMARC walk's _dmarc.example
		// and the dnssec check's DNSKEY of the root and DS of example)
		// is one question and two packets.
		if sum != r.Resolver.Queries || asked < r.Resolver.Queries || asked > r.Resolver.Queries+4 {
			t.Errorf("run %d: checks %d, report %d, the servers were asked %d; want the first two equal, the packets no fewer and at most 4 more", i, sum, r.Resolver.Queries, asked)
		}
		if lists.Queries() == beforeLists {
			t.Errorf("run %d: the blocklist server was not asked", i)
		}
		if i == 0 {
			first = counts
			t.Logf("per check: %s", counts)
		} else if counts != first {
			t.Errorf("run %d: %s, run 0: %s", i, counts, first)
		}
	}
}
