package checks

import (
	"net/netip"
	"strings"
	"testing"
)

func TestJudgePTR(t *testing.T) {
	tests := []struct {
		name, ip string
		dynamic  bool
		reason   string // a substring of the reasons, or of the exemption
	}{
		{"c-67-168-174-61.hsd1.wa.comcast.net", "67.168.174.61", true, "octets"},
		{"61.174.168.67.dsl.example.net", "67.168.174.61", true, "octets"},
		{"p5b0e0c61.dip0.t-ipconnect.de", "91.14.12.97", true, "hex"},
		{"dhcp4-22.pool.example.net", "203.0.113.22", true, `token "dhcp"`},
		{"host-1-2-3-4.example.com", "203.0.113.9", true, "number groups"},
		{"cpe-00ab.cable.example.com", "203.0.113.9", true, `token "cpe"`},
		{"ppp-0x0a0b0c0d.example.net", "203.0.113.9", true, "hex word"},
		{"2001-db8-0-0-1-2-3-4.dyn.example.net", "2001:db8::1:2:3:4", true, "groups"},
		// Exemptions: generic-looking names of static or mail hosts.
		{"static-203-0-113-5.example.net", "203.0.113.5", false, "static"},
		{"mail-we0-f182.google.com", "74.125.82.182", false, ""},
		{"o167-89-97-77.outbound-mail.sendgrid.net", "167.89.97.77", false, "outbound"},
		// Names that say nothing of the sort.
		{"mail.example.com", "203.0.113.5", false, ""},
		{"mx1.example.co.uk", "203.0.113.5", false, ""},
		{"server7.example.com", "203.0.113.5", false, ""},
		// Only labels left of the organizational domain count.
		{"www.dslreports.com", "203.0.113.5", false, ""},
		{"cable.co.uk", "203.0.113.5", false, ""},
	}
	for _, tt := range tests {
		v := judgePTR(tt.name, netip.MustParseAddr(tt.ip))
		got := len(v.Reasons) > 0
		all := strings.Join(v.Reasons, "; ") + " exempt=" + v.Exempt
		if got != tt.dynamic || !strings.Contains(all, tt.reason) {
			t.Errorf("judgePTR(%s, %s) = dynamic %v (%s); want %v with %q", tt.name, tt.ip, got, all, tt.dynamic, tt.reason)
		}
	}
}
