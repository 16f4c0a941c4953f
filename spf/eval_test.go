package spf

import (
	"context"
	"net/netip"
	"testing"
)

// TestDecidingTerm: the result names the term that decided it, inside
// an include when the include matched, never an included record's all
// that only ended the include (issue #14).
func TestDecidingTerm(t *testing.T) {
	w := newWorld()
	w.txt["d.test"] = []string{"v=spf1 include:esp.test include:crm.test -all"}
	w.txt["esp.test"] = []string{"v=spf1 ip4:198.51.100.0/24 ~all"}
	w.txt["crm.test"] = []string{"v=spf1 redirect=mta.crm.test"}
	w.txt["mta.crm.test"] = []string{"v=spf1 a:out.crm.test ?all"}
	w.addrs["out.crm.test"] = []netip.Addr{netip.MustParseAddr("203.0.113.7")}
	for _, tt := range []struct {
		ip, result, deep, in string
	}{
		{"198.51.100.5", Pass, "ip4:198.51.100.0/24", "esp.test"},
		{"203.0.113.7", Pass, "a:out.crm.test", "mta.crm.test"}, // through an include's redirect
		{"192.0.2.1", Fail, "-all", "d.test"},                   // not esp.test's ~all nor mta.crm.test's ?all
	} {
		r := CheckHost(context.Background(), w, Args{IP: netip.MustParseAddr(tt.ip), Sender: "user@d.test"})
		if r.Result != tt.result || r.Deep != tt.deep || r.DeepIn != tt.in {
			t.Errorf("%s: %s by %q in %s, want %s by %q in %s", tt.ip, r.Result, r.Deep, r.DeepIn, tt.result, tt.deep, tt.in)
		}
	}
}
