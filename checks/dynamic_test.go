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

func TestSpecial(t *testing.T) {
	tests := []struct {
		ip, want string // want: purpose substring, "" for public
	}{
		{"10.1.2.3", "private"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"127.0.0.1", "loopback"},
		{"169.254.1.1", "link-local"},
		{"192.0.2.1", "documentation"},
		{"198.18.0.1", "benchmarking"},
		{"240.0.0.1", "reserved"},
		{"224.0.0.5", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"::1", "loopback"},
		{"::ffff:198.51.100.1", "IPv4-mapped"},
		{"fd00::1", "unique local"},
		{"fe80::1", "link-local"},
		{"2001:db8::1", "documentation"},
		{"3fff::1", "documentation"},
		{"2001:0::1", "Teredo"},
		{"ff02::1", "multicast"},
		{"4000::1", "outside global unicast"},
		{"8.8.8.8", ""},
		{"74.125.82.182", ""},
		{"2a00:1450:4001::1", ""},
	}
	for _, tt := range tests {
		r, ok := special(netip.MustParseAddr(tt.ip))
		if tt.want == "" {
			if ok {
				t.Errorf("special(%s) = %s, want public", tt.ip, r.name)
			}
			continue
		}
		if !ok || !strings.Contains(r.name, tt.want) {
			t.Errorf("special(%s) = %q, %v; want %q", tt.ip, r.name, ok, tt.want)
		}
	}
}
