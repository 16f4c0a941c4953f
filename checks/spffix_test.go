package checks

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
)

// fixZone is the zone the SPF fix tests edit: each case's records go
// under its own name.
const fixZone = `$ORIGIN fix.example.
@          SOA  ns1 hostmaster 1 3600 600 86400 300
_spf       TXT  "v=spf1 ip4:198.51.100.0/24 -all"
explain    TXT  "Not allowed"
plus       TXT  "v=spf1 +all"
neutral    TXT  "v=spf1 a ?all"
redirect   TXT  "v=spf1 ip4:192.0.2.1 redirect=_spf.fix.example exp=explain.fix.example"
deny       TXT  "v=spf1 -ip4:203.0.113.0/24 ip4:192.0.2.0/24 ~all"
two        TXT  "v=spf1 ip4:192.0.2.1 redirect=_spf.fix.example"
two        TXT  "v=spf1 ip4:192.0.2.2 exp=explain.fix.example -all"
twoptr     TXT  "v=spf1 ptr ?all"
twoptr     TXT  "v=spf1 a -all"
twoinc     TXT  "v=spf1 include:gone.fix.example ?all"
twoinc     TXT  "v=spf1 a -all"
twoexp     TXT  "v=spf1 exp=explain.fix.example exp=other.fix.example -all"
noall      TXT  "v=spf1 ip4:192.0.2.1 include:_spf.fix.example"
helo       TXT  "v=spf1 ip4:192.0.2.1 -all"
inc        TXT  "v=spf1 include:plusinc.fix.example -all"
plusinc    TXT  "v=spf1 ip4:192.0.2.9 +all"
deadinc    TXT  "v=spf1 include:gone.fix.example ?all"
`

func TestSPFFixRecords(t *testing.T) {
	env := zoneEnv(t, fixZone)
	ip := netip.MustParseAddr("203.0.113.5")
	tests := []struct {
		domain string
		helo   string
		// want maps each finding that must carry the fix to the final
		// record of domain (the same for all of them).
		want map[string]string
	}{
		// +all passes the IP: the fix keeps it passing (issue #12).
		{"plus.fix.example", "", map[string]string{"spf.permissive_all": "v=spf1 ip4:203.0.113.5 ~all"}},
		// ?all: one fix, the same for the lint and the IP's verdict.
		{"neutral.fix.example", "", map[string]string{"spf.permissive_all": "v=spf1 a ip4:203.0.113.5 ~all", "spf.ip_neutral": "v=spf1 a ip4:203.0.113.5 ~all"}},
		// redirect= and exp= are kept, each once; the IP goes before the redirect.
		{"redirect.fix.example", "", map[string]string{"spf.ip_fail": "v=spf1 ip4:192.0.2.1 ip4:203.0.113.5 redirect=_spf.fix.example exp=explain.fix.example"}},
		// A range that refuses the IP: allowing it after that range would not do.
		{"deny.fix.example", "", map[string]string{"spf.ip_fail": "v=spf1 ip4:203.0.113.5 -ip4:203.0.113.0/24 ip4:192.0.2.0/24 ~all"}},
		// Two records: every term once, the redirect kept as an include
		// beside the other's -all, one exp=.
		// (The walk stops at the two records, so the include was not
		// fetched: the IP's permerror promises no complete mend.)
		{"two.fix.example", "", map[string]string{"spf.multiple_records": "v=spf1 ip4:192.0.2.1 ip4:192.0.2.2 exp=explain.fix.example include:_spf.fix.example ip4:203.0.113.5 -all"}},
		// Two records, one with ptr: the merged record drops it, as a
		// single record's fix does (the record had kept it, and pasting
		// it gave spf.ptr_mechanism). Nothing unfetched: the permerror
		// carries the same record.
		{"twoptr.fix.example", "", map[string]string{"spf.multiple_records": "v=spf1 a ip4:203.0.113.5 -all", "spf.ip_permerror": "v=spf1 a ip4:203.0.113.5 -all"}},
		// A second exp= is a syntax error: dropped, not doubled.
		{"twoexp.fix.example", "", map[string]string{"spf.syntax_error": "v=spf1 exp=explain.fix.example ip4:203.0.113.5 -all"}},
		// No all: the IP is allowed and the record closed with ~all.
		{"noall.fix.example", "", map[string]string{"spf.no_all": "v=spf1 ip4:192.0.2.1 include:_spf.fix.example ip4:203.0.113.5 ~all", "spf.ip_neutral": "v=spf1 ip4:192.0.2.1 include:_spf.fix.example ip4:203.0.113.5 ~all"}},
		// The HELO name is the domain: one record, so one final version
		// (the domain's, which also drops the dead include).
		{"deadinc.fix.example", "deadinc.fix.example", map[string]string{"spf.helo_not_pass": "v=spf1 ip4:203.0.113.5 ~all", "spf.include_without_spf": "v=spf1 ip4:203.0.113.5 ~all"}},
		// The HELO name's record is its own: allow the IP there.
		{"_spf.fix.example", "helo.fix.example", map[string]string{"spf.helo_not_pass": "v=spf1 ip4:192.0.2.1 ip4:203.0.113.5 -all"}},
	}
	for _, tt := range tests {
		target := Target{Domain: tt.domain, IPs: []netip.Addr{ip}}
		if tt.helo != "" {
			target.HELO = names.MustHost(tt.helo)
		}
		fs := SPF(context.Background(), env, target)
		for id, want := range tt.want {
			f, ok := find(fs, id)
			if !ok {
				t.Errorf("%s: no %s in %v", tt.domain, id, ids(fs))
				continue
			}
			name := tt.domain
			if tt.helo != "" {
				name = tt.helo
			}
			if got := finalValue(f, name); got != want {
				t.Errorf("%s %s: final record\ngot  %q\nwant %q\n(%+v)", tt.domain, id, got, want, f.FixRecords)
			}
		}
	}
}

// hasFixRecords finds the finding id in fs and fails unless it carries
// exactly want; what names the case.
func hasFixRecords(t *testing.T, what string, fs []report.Finding, id string, want []report.FixRecord) (report.Finding, bool) {
	t.Helper()
	f, ok := find(fs, id)
	if !ok {
		t.Errorf("%s: no %s in %v", what, id, ids(fs))
		return f, false
	}
	if !slices.Equal(f.FixRecords, want) {
		t.Errorf("%s %s:\ngot  %+v\nwant %+v", what, id, f.FixRecords, want)
	}
	return f, true
}

// finalValue is the record a finding's fix leaves at name.
func finalValue(f report.Finding, name string) string {
	for _, r := range f.FixRecords {
		if r.Name == name && r.Action != report.FixRemove {
			return r.Value
		}
	}
	return ""
}

func TestSPFFixIncludedPlusAll(t *testing.T) {
	// 203.0.113.5 passes only by the +all of an included record: that
	// record must change, and the root must then allow the IP itself.
	fs := SPF(context.Background(), zoneEnv(t, fixZone), Target{Domain: "inc.fix.example", IPs: []netip.Addr{netip.MustParseAddr("203.0.113.5")}})
	f, ok := find(fs, "spf.permissive_all")
	if !ok {
		t.Fatalf("no spf.permissive_all: %v", ids(fs))
	}
	got := []string{finalValue(f, "plusinc.fix.example"), finalValue(f, "inc.fix.example")}
	want := []string{"v=spf1 ip4:192.0.2.9 ~all", "v=spf1 include:plusinc.fix.example ip4:203.0.113.5 -all"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Two records, one with an include that was never fetched (the walk
// stops at a name with several records): the IP's permerror does not
// claim "these changes mend them all", which pasting would have shown
// false (the dead include stays, and so does the permerror).
func TestSPFFixMergedIncludeNotPromised(t *testing.T) {
	env := zoneEnv(t, fixZone)
	target := Target{Domain: "twoinc.fix.example", IPs: []netip.Addr{netip.MustParseAddr("203.0.113.5")}}
	fs := SPF(context.Background(), env, target)
	f, ok := find(fs, "spf.ip_permerror")
	if !ok {
		t.Fatalf("no spf.ip_permerror in %v", ids(fs))
	}
	if len(f.FixRecords) != 0 {
		t.Errorf("spf.ip_permerror promises a complete mend of a merged record whose include was not fetched: %q %+v", f.Fix, f.FixRecords)
	}
	if _, ok := find(fs, "spf.multiple_records"); !ok {
		t.Errorf("no spf.multiple_records in %v", ids(fs))
	}
}
