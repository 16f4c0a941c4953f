package checks

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestIP(t *testing.T) {
	env := testEnv(t)
	tests := []struct {
		ip   string
		want []string
	}{
		{"203.0.113.5", []string{"ip.static_likely 203.0.113.5", "ip.treated_as_public 203.0.113.5"}},
		{"203.0.113.8", []string{"ip.dynamic_ptr 203.0.113.8", "ip.treated_as_public 203.0.113.8"}},
		{"203.0.113.6", []string{"ip.no_ptr 203.0.113.6", "ip.treated_as_public 203.0.113.6"}},
		{"10.0.0.1", []string{"ip.not_public 10.0.0.1"}},
		{"192.0.2.1", []string{"ip.not_public 192.0.2.1"}},
		{"::ffff:203.0.113.5", []string{"ip.not_public ::ffff:203.0.113.5"}},
	}
	for _, tt := range tests {
		got := ids(IP(context.Background(), env, Target{IPs: []netip.Addr{netip.MustParseAddr(tt.ip)}}))
		if !slices.Equal(got, tt.want) {
			t.Errorf("ip %s = %q, want %q", tt.ip, got, tt.want)
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
