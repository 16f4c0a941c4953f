package checks

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/spf/spftest"
)

// The openspf test suites run through the spf check: each scenario's
// zone data is served by dnstest over real UDP, the check runs on each
// case's sender, IP and HELO name, and the case's expected result must
// be the finding the check reports for the IP (spfResults). So the
// resolver, the walk, the lint, the evaluator and the mapping from
// result to finding ID are all under the suites.
//
// Suite cases whose sender or HELO name the command line refuses at its
// edge (an empty or unquoted local part with a space, a domain literal,
// labels over 63 octets, "JUMPIN' JUPITER") reach the check as the
// Target the edge would never build: the check must still answer as
// RFC 7208 says (none for a domain that is no domain, §4.3).

// spfResults maps each finding ID for an IP's verdict to its RFC 7208
// result (§2.6).
var spfResults = map[string]string{
	"spf.ip_pass": "pass", "spf.ip_fail": "fail", "spf.ip_softfail": "softfail",
	"spf.ip_neutral": "neutral", "spf.ip_none": "none", "spf.ip_permerror": "permerror",
	"spf.temperror": "temperror",
}

// unreleasedSuite holds RFC 7208 cases no release of the suite has,
// written for preflight in its format.
const unreleasedSuite = "../testdata/spf/rfc7208-unreleased-tests.yml"

// rfc4408Skipped are the RFC 4408 suite's cases whose answer RFC 7208
// contradicts, each with the reason; RFC 7208's answer is tested by its
// own suite. There are none: the twelve cases whose answer RFC 7208
// narrowed (cidr6-0-ip4, cidr6-ip4, exists-dnserr, multispf2, multitxt1,
// mx-limit, nospftxttimeout, spfonly, spfoverride, spftimeout, txtonly,
// txttimeout) list the RFC 7208 answer among those they accept, and
// the SPF RR type both suites still use is served as TXT only where a
// name has no TXT record (RFC 7208 §3.1 dropped the type).
var rfc4408Skipped = map[string]string{}

func TestSPFSuites(t *testing.T) {
	for _, s := range []struct {
		name, file string
		skip       map[string]string
	}{
		{"RFC 7208 suite", "../testdata/spf/rfc7208-tests.yml", nil},
		{"RFC 7208 suite, unreleased cases", unreleasedSuite, nil},
		{"RFC 4408 suite", "../testdata/spf/rfc4408-tests.yml", rfc4408Skipped},
	} {
		scenarios, err := spftest.Load(s.file)
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu      sync.Mutex
			passed  int
			total   int
			skipped []string
		)
		t.Run(s.name, func(t *testing.T) {
			for _, sc := range scenarios {
				srv := sc.Serve(t)
				for name, tc := range sc.Tests {
					total++
					if reason, ok := s.skip[name]; ok {
						skipped = append(skipped, fmt.Sprintf("  %s: %s", name, reason))
						continue
					}
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						got := suiteCase(t, srv.Addr, tc)
						ok := slices.Contains(tc.Result, got.result)
						if ok && tc.Explanation != "" && got.result == "fail" {
							ok = sameExplanation(got.explanation, tc.Explanation)
						}
						if !ok {
							t.Errorf("%s (%s; %s): got %s (finding %s, explanation %q, %s), want %v %q",
								name, sc.Description, strings.Join(tc.Spec, " "), got.result, got.id, got.explanation, got.reason, tc.Result, tc.Explanation)
							return
						}
						mu.Lock()
						passed++
						mu.Unlock()
					})
				}
			}
		})
		sort.Strings(skipped)
		msg := fmt.Sprintf("%s: %d of %d pass through the spf check's finding IDs", s.name, passed, total-len(skipped))
		if len(skipped) > 0 {
			msg += fmt.Sprintf(" (%d skipped where RFC 7208 changed the answer):\n%s", len(skipped), strings.Join(skipped, "\n"))
		}
		// Printed, not only logged: go test shows it without -v, and
		// .ci/test prints these lines.
		fmt.Println(msg)
	}
}

// suiteGot is what the check said about a case's IP.
type suiteGot struct {
	id, result, explanation, reason string
}

// suiteCase runs the spf check for one case against the scenario's
// server, and reads the verdict finding for the case's IP.
func suiteCase(t *testing.T, server string, tc spftest.Test) suiteGot {
	ip, err := netip.ParseAddr(tc.Host)
	if err != nil {
		t.Fatalf("host %q: %v", tc.Host, err)
	}
	target := suiteTarget(ip, tc.MailFrom, tc.Helo)
	env := Env{
		DNS: resolver.New(resolver.Config{Servers: []string{server}, AttemptTimeout: 200 * time.Millisecond, Attempts: 1}),
		Now: func() time.Time { return time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) },
	}
	fs := SPF(context.Background(), env, target)
	domain, _ := envelope(target)
	var got *report.Finding
	for i, f := range fs {
		// The IP's verdict: ipResult's finding (the HELO identity's
		// findings have the IP as subject too, but not the domain).
		if _, ok := spfResults[f.ID]; ok && f.Subject == ip.String() && f.Evidence["domain"] == domain {
			got = &fs[i]
		}
	}
	if got == nil {
		// No verdict: the root record could not be fetched, which the
		// lint reports once for the domain.
		if f, ok := find(fs, "spf.temperror"); ok && f.Subject == domain {
			return suiteGot{id: f.ID, result: "temperror", reason: f.Message}
		}
		t.Fatalf("no verdict for %s among %v", ip, ids(fs))
	}
	g := suiteGot{id: got.ID, result: spfResults[got.ID]}
	g.explanation, _ = got.Evidence["explanation"].(string)
	g.reason, _ = got.Evidence["reason"].(string)
	return g
}

// suiteTarget is the Target for a case: the sender and HELO name as the
// command line's edge parses them, or as given where the edge refuses
// them. An empty MAIL FROM is the HELO identity, postmaster@HELO
// (RFC 7208 §2.3).
func suiteTarget(ip netip.Addr, mailFrom, helo string) Target {
	sender := mailFrom
	if sender == "" {
		sender = "postmaster@" + helo
	}
	from, err := names.ParseSender(sender)
	if err != nil {
		i := strings.LastIndexByte(sender, '@')
		from = names.Address{Local: sender[:i], Domain: sender[i+1:]}
	}
	h, err := names.ParseHost(helo)
	if err != nil {
		h = names.Host{Name: helo}
	}
	return Target{Domain: from.Domain, IPs: []netip.Addr{ip}, MailFrom: from, HELO: h}
}

// sameExplanation compares explanations. "DEFAULT" is no explanation
// from the record. pyspf wrote the suite's IPv6 nibbles in upper case
// (v-macro-ip6); RFC 7208 §7.3 does not say, and DNS does not care.
func sameExplanation(got, want string) bool {
	if want == "DEFAULT" {
		return got == ""
	}
	return strings.EqualFold(got, want)
}
