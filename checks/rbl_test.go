package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/rbl"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// TestRBLDomainListsAskWhatTheirPolicySays (issue #13 item 13): URIBL
// is asked about a host's registered domain and the finding says so; a
// name whose query name DNS cannot carry is "could not check" on that
// list, never clean.
func TestRBLDomainListsAskWhatTheirPolicySays(t *testing.T) {
	srv := dnstest.New(t, `$ORIGIN test.
@ SOA ns hm 1 1 1 1 1
test.multi.uribl A 127.0.0.2
example.co.uk.multi.uribl A 127.0.0.2
test.dbl.spamhaus A 127.0.1.2
`)
	var lists []rbl.List
	for _, zone := range []string{"multi.uribl.com", "dbl.spamhaus.org"} {
		l, err := rbl.ParseList(zone)
		if err != nil {
			t.Fatal(err)
		}
		l.Zone = strings.TrimSuffix(strings.TrimSuffix(zone, ".com"), ".org") + ".test" // served by srv, catalogue entry kept
		lists = append(lists, l)
	}
	long := strings.Repeat(strings.Repeat("l", 59)+".", 4) + "example" // 240 octets
	env := Env{DNS: resolver.New(resolver.Config{Servers: []string{srv.Addr}}), Lists: lists}
	fs := RBL(context.Background(), env, Target{Names: []string{"www.shop.example.co.uk", long}})

	listed, ok := find(fs, "rbl.listed")
	if !ok || listed.Subject != "www.shop.example.co.uk" || !strings.Contains(listed.Message, "multi.uribl.test (as example.co.uk)") || listed.Evidence["asked"] != "example.co.uk" {
		t.Errorf("listed: %+v in %v", listed, ids(fs))
	}
	var unusable, clean bool
	for _, f := range fs {
		switch {
		case f.ID == "rbl.list_unusable" && f.Subject == "dbl.spamhaus.test" && strings.Contains(f.Message, long) && f.Severity == report.Error:
			unusable = true
			if !strings.Contains(f.Message, "255 octets") {
				t.Errorf("unusable without the reason: %s", f.Message)
			}
		case f.ID == "rbl.clean" && f.Subject == long:
			clean = true
			if strings.Contains(f.Message, "dbl.spamhaus.test") {
				t.Errorf("the long name is clean on a list that was never asked: %s", f.Message)
			}
			if !strings.Contains(f.Message, "multi.uribl.test (as "+strings.Repeat("l", 59)+".example)") {
				t.Errorf("clean on URIBL without the name asked: %s", f.Message)
			}
		}
	}
	if !unusable || !clean {
		t.Errorf("long name: unusable on DBL %v, clean on URIBL %v: %v", unusable, clean, ids(fs))
	}
}
