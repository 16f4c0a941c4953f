package checks

import (
	"net/netip"
	"testing"
)

// FuzzJudgePTR: the dynamic-name heuristics never panic on any name.
func FuzzJudgePTR(f *testing.F) {
	for _, s := range []string{"c-67-168-174-61.hsd1.wa.comcast.net", "p5b0e0c61.dip0.t-ipconnect.de", "mail.example.com", "..", "-.-", "0x"} {
		f.Add(s, []byte{203, 0, 113, 5})
	}
	f.Fuzz(func(t *testing.T, name string, ip []byte) {
		if a, ok := netip.AddrFromSlice(ip); ok {
			judgePTR(name, a)
		}
	})
}
