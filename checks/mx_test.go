package checks

import (
	"context"
	"strings"
	"testing"
)

func TestMX(t *testing.T) {
	env := labZones(t)
	tests := []struct{ domain, want string }{
		{"good.example", "mx.ok good.example"},
		{"nullmx.example", "mx.null nullmx.example"},
		{"nomx.example", "mx.implicit nomx.example"},
		{"isp.example", "mx.missing isp.example"},
		{"stale.example", "mx.ok stale.example"},
	}
	for _, tt := range tests {
		if got := strings.Join(ids(MX(context.Background(), env, Target{Domain: tt.domain})), ";"); got != tt.want {
			t.Errorf("mx %s = %s, want %s", tt.domain, got, tt.want)
		}
	}
}

func TestMXTargets(t *testing.T) {
	env := zoneEnv(t, `
$ORIGIN odd.test.
@      SOA  ns hm 1 1 1 1 1
@      MX   10 alias
@      MX   20 203.0.113.9
@      MX   30 gone
@      MX   40 real
alias  CNAME real
real   A    203.0.113.5
`)
	got := strings.Join(ids(MX(context.Background(), env, Target{Domain: "odd.test"})), ";")
	want := "mx.host_no_address gone.odd.test;mx.ok odd.test;mx.target_cname alias.odd.test;mx.target_ip 203.0.113.9.odd.test"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
