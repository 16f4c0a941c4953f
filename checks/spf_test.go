package checks

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// labZones answers from the lab's zone files, offline: the same data the
// lab's nsd serves, without a daemon.
func labZones(t *testing.T) Env {
	t.Helper()
	o, err := resolver.LoadOverlay(context.Background(), "../testdata/lab/zones")
	if err != nil {
		t.Fatal(err)
	}
	return Env{DNS: resolver.New(resolver.Config{Overlay: o, Offline: true})}
}

func find(fs []report.Finding, id string) (report.Finding, bool) {
	i := slices.IndexFunc(fs, func(f report.Finding) bool { return f.ID == id })
	if i < 0 {
		return report.Finding{}, false
	}
	return fs[i], true
}

func TestSPF(t *testing.T) {
	env := labZones(t)
	const ip = "203.0.113.10"
	tests := []struct {
		domain string
		ip     string   // the sending IP, ip when empty
		want   []string // the findings, exactly, as "ID subject"
		fixHas string   // in the fix or message of want[0]
	}{
		{"good.example", "", []string{"spf.lookups_ok good.example", "spf.ip_pass " + ip}, ""},
		{"good.example", "2001:db8:10::10", []string{"spf.ip_pass 2001:db8:10::10", "spf.lookups_ok good.example"}, ""},
		{"good.example", "198.51.100.7", []string{"spf.ip_pass 198.51.100.7", "spf.lookups_ok good.example"}, ""}, // via the ESP include
		{"good.example", "198.51.100.200", []string{"spf.ip_fail 198.51.100.200", "spf.lookups_ok good.example"}, `good.example. TXT "v=spf1 ip4:203.0.113.10 ip6:2001:db8:10::10 include:_spf.esp.example ip4:198.51.100.200 -all"`},
		{"none.spf.example", "", []string{"spf.missing none.spf.example", "spf.ip_none " + ip}, `Add none.spf.example. TXT "v=spf1 ip4:203.0.113.10 -all"`},
		{"nothing.spf.example", "", []string{"spf.missing nothing.spf.example", "spf.ip_none " + ip}, ""},
		{"two.spf.example", "", []string{"spf.multiple_records two.spf.example", "spf.ip_permerror " + ip}, "v=spf1 ip4:203.0.113.10 include:_spf.esp.example -all"},
		{"syntax.spf.example", "", []string{"spf.syntax_error syntax.spf.example", "spf.lookups_ok syntax.spf.example", "spf.ip_permerror " + ip}, `Correct or remove "ipv4:198.51.100.7"`},
		{"deep.spf.example", "", []string{"spf.lookup_limit deep.spf.example", "spf.ip_permerror " + ip}, "include:_s1.deep.spf.example (11)"},
		{"void.spf.example", "", []string{"spf.void_lookup_limit void.spf.example", "spf.lookups_ok void.spf.example", "spf.ip_permerror " + ip}, ""},
		{"plusall.spf.example", "", []string{"spf.permissive_all plusall.spf.example", "spf.lookups_ok plusall.spf.example", "spf.ip_pass " + ip}, "Replace plusall.spf.example. TXT \"v=spf1 ip4:203.0.113.10 +all\"\n   with plusall.spf.example. TXT \"v=spf1 ip4:203.0.113.10 ~all\""},
		{"neutralall.spf.example", "198.51.100.9", []string{"spf.permissive_all neutralall.spf.example", "spf.lookups_ok neutralall.spf.example", "spf.ip_neutral 198.51.100.9"}, ""},
		{"ptr.spf.example", "203.0.113.11", []string{"spf.ptr_mechanism ptr.spf.example", "spf.lookups_ok ptr.spf.example", "spf.ip_pass 203.0.113.11"}, ""},
		{"badinclude.spf.example", "", []string{"spf.include_without_spf none.spf.example", "spf.lookups_ok badinclude.spf.example", "spf.ip_permerror " + ip}, ""},
		{"soft.spf.example", "", []string{"spf.ip_softfail " + ip, "spf.lookups_ok soft.spf.example"}, "ip4:198.51.100.200 ip4:203.0.113.10 ~all"},
	}
	for _, tt := range tests {
		target := Target{Domain: tt.domain, IPs: []netip.Addr{netip.MustParseAddr(cmp.Or(tt.ip, ip))}}
		fs := SPF(context.Background(), env, target)
		var got []string
		for _, f := range fs {
			got = append(got, f.ID+" "+f.Subject)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tt.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s %v:\ngot  %q\nwant %q", tt.domain, target.IPs, got, want)
		}
		if tt.fixHas != "" {
			id, _, _ := strings.Cut(tt.want[0], " ")
			f, _ := find(fs, id)
			if text := fixAndRecords(f); !strings.Contains(text, tt.fixHas) {
				t.Errorf("%s: %s fix %q does not say %q", tt.domain, id, text, tt.fixHas)
			}
		}
	}
}

// fixAndRecords is a finding's message, fix and records as people read
// them.
func fixAndRecords(f report.Finding) string {
	lines := []string{f.Message, f.Fix}
	for _, r := range f.FixRecords {
		lines = append(lines, r.Lines()...)
	}
	return strings.Join(lines, "\n")
}

func TestSPFLookupLimitEvidence(t *testing.T) {
	fs := SPF(context.Background(), labZones(t), Target{Domain: "deep.spf.example", IPs: []netip.Addr{netip.MustParseAddr("203.0.113.10")}})
	f, _ := find(fs, "spf.lookup_limit")
	chain, _ := f.Evidence["chain"].([]string)
	if f.Evidence["lookups"] != 11 || len(chain) != 12 || chain[11] != "_s11.deep.spf.example" {
		t.Errorf("evidence: lookups %v, chain %v", f.Evidence["lookups"], chain)
	}
	if !strings.Contains(f.Message, "can take 11 DNS lookups") {
		t.Errorf("message: %s", f.Message)
	}
}

func TestSPFHELO(t *testing.T) {
	env := labZones(t)
	ip := netip.MustParseAddr("203.0.113.10")
	fs := SPF(context.Background(), env, Target{Domain: "good.example", IPs: []netip.Addr{ip}, HELO: names.MustHost("mail.good.example")})
	if _, ok := find(fs, "spf.helo_none"); !ok {
		t.Errorf("HELO without SPF: %v", ids(fs))
	}
	fs = SPF(context.Background(), env, Target{Domain: "good.example", IPs: []netip.Addr{ip}, HELO: names.MustHost("other.spf.example")})
	if _, ok := find(fs, "spf.helo_not_pass"); !ok {
		t.Errorf("HELO failing SPF: %v", ids(fs))
	}
}

func TestSPFMailFrom(t *testing.T) {
	env := labZones(t)
	// The envelope domain decides, not the From domain.
	fs := SPF(context.Background(), env, Target{Domain: "good.example", MailFrom: names.MustAddress("bounce@other.spf.example"), IPs: []netip.Addr{netip.MustParseAddr("203.0.113.10")}})
	if _, ok := find(fs, "spf.ip_fail"); !ok {
		t.Errorf("mail from other.spf.example: %v", ids(fs))
	}
}

func TestSPFOfflineIsTemperror(t *testing.T) {
	env := Env{DNS: resolver.New(resolver.Config{Offline: true})}
	fs := SPF(context.Background(), env, Target{Domain: "example.com", IPs: []netip.Addr{netip.MustParseAddr("203.0.113.10")}})
	if len(fs) != 1 || fs[0].ID != "spf.temperror" || fs[0].Severity != report.Error {
		t.Errorf("got %v", ids(fs))
	}
}

// zoneEnv answers from zone text, offline.
func zoneEnv(t testing.TB, zones ...string) Env {
	t.Helper()
	var zs []*resolver.Zone
	for _, z := range zones {
		pz, err := resolver.ParseZone(strings.NewReader(z), "test.zone")
		if err != nil {
			t.Fatal(err)
		}
		zs = append(zs, pz)
	}
	o, err := resolver.NewOverlay(zs...)
	if err != nil {
		t.Fatal(err)
	}
	return Env{DNS: resolver.New(resolver.Config{Overlay: o, Offline: true})}
}

// TestSPFWideRecordIsBounded: one record with 800 a: terms made 1,600
// queries (issue #13 item 11). The whole spf check, walk and verdict,
// now asks a few dozen, and the lint still counts every term; a tree
// too large to walk is counted "at least".
func TestSPFWideRecordIsBounded(t *testing.T) {
	var rec, z strings.Builder
	rec.WriteString("v=spf1")
	for i := range 800 {
		fmt.Fprintf(&rec, " a:h%d.wide.test", i)
	}
	rec.WriteString(" -all")
	z.WriteString("$ORIGIN wide.test.\n@ SOA ns hm 1 1 1 1 1\n@ TXT (")
	for s := rec.String(); s != ""; {
		n := min(len(s), 255)
		fmt.Fprintf(&z, " %q", s[:n])
		s = s[n:]
	}
	z.WriteString(" )\n")
	// deep: a chain of 60 includes, more than the walk follows.
	z.WriteString("deep TXT \"v=spf1 include:d1.wide.test -all\"\n")
	for i := 1; i < 60; i++ {
		fmt.Fprintf(&z, "d%d TXT \"v=spf1 include:d%d.wide.test -all\"\n", i, i+1)
	}
	srv := dnstest.New(t, z.String())
	ip := netip.MustParseAddr("203.0.113.5")

	env := Env{DNS: resolver.New(resolver.Config{Servers: []string{srv.Addr}})}
	fs := SPF(context.Background(), env, Target{Domain: "wide.test", IPs: []netip.Addr{ip}})
	if q := env.DNS.Stats().Questions; q > 40 {
		t.Errorf("800 a: terms: %d questions, want at most 40 (15 terms × A and AAAA, and the TXT)", q)
	}
	f, ok := find(fs, "spf.lookup_limit")
	if !ok || !strings.Contains(f.Message, "can take 800 DNS lookups") || f.Evidence["at_least"] != nil {
		t.Errorf("800 a: terms: %v\n%s", ids(fs), f.Message)
	}
	if _, ok := find(fs, "spf.void_lookup_limit"); !ok {
		t.Errorf("800 a: terms naming no host: %v", ids(fs))
	} else if v, _ := find(fs, "spf.void_lookup_limit"); !strings.HasPrefix(v.Message, "At least ") {
		t.Errorf("voids of a capped walk: %s", v.Message)
	}

	env = Env{DNS: resolver.New(resolver.Config{Servers: []string{srv.Addr}})}
	fs = SPF(context.Background(), env, Target{Domain: "deep.wide.test", IPs: []netip.Addr{ip}})
	f, ok = find(fs, "spf.lookup_limit")
	if !ok || !strings.Contains(f.Message, "can take at least ") || f.Evidence["at_least"] != true {
		t.Errorf("60 nested includes: %v\n%s", ids(fs), f.Message)
	}
	if _, ok := find(fs, "spf.lookups_ok"); ok {
		t.Errorf("60 nested includes: lookups_ok")
	}
}

// TestSPFLookupsOKOnlyWhenKnown: spf.lookups_ok ("at most 2 of 10") was
// printed beside spf.loop and an evaluation that ran out of lookups
// (issue #13 item 18). It is said only when the count is known.
func TestSPFLookupsOKOnlyWhenKnown(t *testing.T) {
	env := zoneEnv(t, `$ORIGIN t.
@           SOA ns hm 1 1 1 1 1
ok          TXT "v=spf1 include:b.ok.t -all"
b.ok        TXT "v=spf1 a:h.t -all"
loop        TXT "v=spf1 include:b.loop.t -all"
b.loop      TXT "v=spf1 include:loop.t -all"
bigloop     TXT "v=spf1 a:h.t a:h.t a:h.t a:h.t a:h.t a:h.t a:h.t a:h.t a:h.t include:b.bigloop.t -all"
b.bigloop   TXT "v=spf1 include:bigloop.t -all"
macro       TXT "v=spf1 include:%{d}.m.t -all"
failed      TXT "v=spf1 include:spf.elsewhere.example -all"
h           A   192.0.2.1
`)
	ip := []netip.Addr{netip.MustParseAddr("203.0.113.10")}
	for domain, want := range map[string]string{
		"ok.t":      "spf.lookups_ok",
		"loop.t":    "spf.loop",
		"bigloop.t": "spf.lookup_limit",
		"macro.t":   "",
		"failed.t":  "spf.temperror",
	} {
		fs := SPF(context.Background(), env, Target{Domain: domain, IPs: ip})
		if _, ok := find(fs, want); want != "" && !ok {
			t.Errorf("%s: no %s in %v", domain, want, ids(fs))
		}
		if _, ok := find(fs, "spf.lookups_ok"); ok && want != "spf.lookups_ok" {
			t.Errorf("%s: lookups_ok beside %v", domain, ids(fs))
		}
		if f, ok := find(fs, "spf.lookup_limit"); ok && !strings.Contains(f.Message, "at least 11") {
			t.Errorf("%s: a loop's count is a lower bound: %s", domain, f.Message)
		}
	}
}

// TestSPFCountsAsReceivers: the lint and the verdict count what a
// receiver evaluates (issue #14), case by case.
func TestSPFCountsAsReceivers(t *testing.T) {
	var big strings.Builder
	for i := range 11 {
		fmt.Fprintf(&big, " include:b%d.t", i)
	}
	env := zoneEnv(t, `$ORIGIN t.
@        SOA ns hm 1 1 1 1 1
; §6.1: a redirect beside "all" is ignored, and so is its subtree.
redir    TXT "v=spf1 include:i1.t include:i2.t a:h.t ip4:192.0.2.10 -all redirect=big.t"
big      TXT "v=spf1`+big.String()+` -all"
i1       TXT "v=spf1 ip4:198.51.100.1 -all"
i2       TXT "v=spf1 ip4:198.51.100.2 -all"
h        A   198.51.100.3
; §5.1: terms after "all" are never evaluated nor counted.
after    TXT "v=spf1 ip4:192.0.2.10 -all`+big.String()+`"
; §7.3: %{p} is a name of the IP that validates, else "unknown".
pmacro   TXT "v=spf1 exists:%{p}.ok.t -all"
mail.pmacro A 192.0.2.20
mail.pmacro.t.ok A 127.0.0.2
; §4.6.4, §5.3: void lookups are the queries made for the sender's
; family: x hosts have AAAA only, y hosts A only.
v6only   TXT "v=spf1 a:x1.t a:x2.t a:x3.t ip4:192.0.2.10 ip6:2001:db8::10 -all"
x1       AAAA 2001:db8::1
x2       AAAA 2001:db8::2
x3       AAAA 2001:db8::3
v4only   TXT "v=spf1 a:y1.t a:y2.t a:y3.t ip4:192.0.2.10 ip6:2001:db8::10 -all"
y1       A   198.51.100.11
y2       A   198.51.100.12
y3       A   198.51.100.13
; §4.6.4: an mx with more than 10 hosts is permerror where reached.
mx11     TXT "v=spf1 ip4:192.0.2.10 mx -all"
`+mxHosts("mx11", 11)+`
; mailauth #104: an IPv6 sender, MX hosts with A records only: the
; hosts' AAAA lookups are not the term's, so not void lookups.
mx4      TXT "v=spf1 mx mx:mx4.t a:y1.t ip6:2001:db8::10 -all"
`+mxHosts("mx4", 4)+`
`, `$ORIGIN 2.0.192.in-addr.arpa.
@        SOA ns.t. hm.t. 1 1 1 1 1
20       PTR mail.pmacro.t.
21       PTR mail.pmacro.t.
`)
	for _, tt := range []struct {
		domain, ip string
		want       []string // the findings, exactly, as "ID subject"
	}{
		{"redir.t", "192.0.2.99", []string{"spf.ip_fail 192.0.2.99", "spf.lookups_ok redir.t"}},
		{"after.t", "192.0.2.10", []string{"spf.ip_pass 192.0.2.10", "spf.lookups_ok after.t"}},
		{"pmacro.t", "192.0.2.20", []string{"spf.ip_pass 192.0.2.20", "spf.lookups_ok pmacro.t"}},
		{"pmacro.t", "192.0.2.21", []string{"spf.ip_fail 192.0.2.21", "spf.lookups_ok pmacro.t"}}, // the PTR does not validate
		{"v6only.t", "192.0.2.10", []string{"spf.ip_permerror 192.0.2.10", "spf.lookups_ok v6only.t", "spf.void_lookup_limit v6only.t"}},
		{"v6only.t", "2001:db8::10", []string{"spf.ip_pass 2001:db8::10", "spf.lookups_ok v6only.t"}},
		{"v4only.t", "192.0.2.10", []string{"spf.ip_pass 192.0.2.10", "spf.lookups_ok v4only.t"}},
		{"v4only.t", "2001:db8::10", []string{"spf.ip_permerror 2001:db8::10", "spf.lookups_ok v4only.t", "spf.void_lookup_limit v4only.t"}},
		{"mx11.t", "192.0.2.10", []string{"spf.ip_pass 192.0.2.10", "spf.lookups_ok mx11.t", "spf.mx_limit mx11.t"}},
		{"mx11.t", "192.0.2.99", []string{"spf.ip_permerror 192.0.2.99", "spf.lookups_ok mx11.t", "spf.mx_limit mx11.t"}},
		{"mx4.t", "2001:db8::10", []string{"spf.ip_pass 2001:db8::10", "spf.lookups_ok mx4.t"}},
	} {
		target := Target{Domain: tt.domain, IPs: []netip.Addr{netip.MustParseAddr(tt.ip)}}
		fs := SPF(context.Background(), env, target)
		var got []string
		for _, f := range fs {
			got = append(got, f.ID+" "+f.Subject)
		}
		slices.Sort(got)
		if want := slices.Sorted(slices.Values(tt.want)); !slices.Equal(got, want) {
			t.Errorf("%s %s:\ngot  %q\nwant %q", tt.domain, tt.ip, got, want)
			for _, f := range fs {
				t.Logf("  %s: %s %v", f.ID, f.Message, f.Evidence["reason"])
			}
		}
	}
}

// mxHosts is zone text for n MX hosts of name, each with an A record.
func mxHosts(name string, n int) string {
	var z strings.Builder
	for i := range n {
		fmt.Fprintf(&z, "%s MX 10 m%d.%s\nm%d.%s A 198.51.100.%d\n", name, i, name, i, name, 100+i)
	}
	return z.String()
}
