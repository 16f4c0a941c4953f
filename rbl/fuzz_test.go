package rbl

import (
	"net/netip"
	"testing"
)

// FuzzDecode: any set of answers decodes without panic, and an answer
// outside 127.0.0.0/8 is never "listed" or "clean".
func FuzzDecode(f *testing.F) {
	for _, b := range [][]byte{{127, 0, 0, 2}, {127, 255, 255, 254}, {127, 0, 1, 255}, {8, 8, 8, 8}, {127, 0, 0, 2, 127, 0, 0, 10}, {}} {
		f.Add(b, uint8(0))
	}
	lists := []List{}
	for _, zone := range []string{"zen.spamhaus.org", "dbl.spamhaus.org", "multi.uribl.com", "multi.surbl.org", "bl.example.net"} {
		l, _ := ParseList(zone)
		lists = append(lists, l)
	}
	f.Fuzz(func(t *testing.T, raw []byte, which uint8) {
		var addrs []netip.Addr
		outside := false
		for i := 0; i+4 <= len(raw) && i < 64; i += 4 {
			a := netip.AddrFrom4([4]byte(raw[i : i+4]))
			addrs = append(addrs, a)
			outside = outside || raw[i] != 127
		}
		ans := Decode(lists[int(which)%len(lists)], addrs, nil)
		if outside && ans.Status != Unknown {
			t.Fatalf("answers %v gave %s", addrs, ans.Status)
		}
	})
}

// FuzzParseList: any --list value is accepted or refused, never a panic.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{"zen.spamhaus.org", "bl.example.net:domain@127.0.0.1:53", "dbl.spamhaus.org:ip", ":", "@", "a.b:c@d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { ParseList(s) })
}
