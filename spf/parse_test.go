package spf

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		record  string
		errs    int    // syntax errors expected
		err     string // the first error, exactly: it reaches reports
		is      error  // the sentinel the first error wraps, if any
		queries int
	}{
		{"v=spf1 -all", 0, "", nil, 0},
		{"v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 include:_spf.example.com mx a:mail.example.com/28//64 ptr exists:%{i}.bl.example.com redirect=example.net", 0, "", nil, 6},
		{"V=SPF1 IP4:203.0.113.5 -ALL", 0, "", nil, 0},
		{"v=spf1 ip4:203.0.113.5 bogus -all", 1, `"bogus": unknown mechanism "bogus"`, ErrUnknownMechanism, 0},
		{"v=spf1 ip4:203.0.113.5 ipv4:198.51.100.7 -all", 1, `"ipv4:198.51.100.7": unknown mechanism "ipv4"`, ErrUnknownMechanism, 0},
		{"v=spf1 ip4:203.0.113.300 -all", 1, `"ip4:203.0.113.300": "203.0.113.300" is not an IP address`, nil, 0},
		{"v=spf1 ip4:2001:db8::1 -all", 1, `"ip4:2001:db8::1": "2001:db8::1" is not an IPv4 address`, nil, 0},
		{"v=spf1 ip6:203.0.113.5 -all", 1, `"ip6:203.0.113.5": "203.0.113.5" is not an IPv6 address (use ip4:)`, nil, 0},
		{"v=spf1 ip4:203.0.113.0/33 -all", 1, `"ip4:203.0.113.0/33": CIDR length "33" is not 0 to 32`, nil, 0},
		{"v=spf1 ip4:203.0.113.0/024 -all", 1, `"ip4:203.0.113.0/024": bad CIDR length "024"`, nil, 0},
		{"v=spf1 a/129 -all", 1, `"a/129": CIDR length "129" is not 0 to 32`, nil, 0}, // a term with an error is not counted
		{"v=spf1 include -all", 1, `"include": include needs ":domain"`, nil, 0},
		{"v=spf1 include:example -all", 1, `"include:example": "example" is not a fully qualified domain`, ErrNotFQDN, 0},
		{"v=spf1 a:example.123 -all", 1, `"a:example.123": "example.123": top-level label "123" is all digits`, nil, 0},
		{"v=spf1 all:x", 1, `"all:x": all takes no argument`, nil, 0},
		{"v=spf1 ptr/24 -all", 1, `"ptr/24": ptr takes ":domain", not a CIDR length`, nil, 0},
		{"v=spf1 mx;x -all", 1, `"mx;x": unknown mechanism "mx;x"`, ErrUnknownMechanism, 0},
		{"v=spf1 mx/24x -all", 1, `"mx/24x": bad argument`, nil, 0},
		{"v=spf1 ip4 -all", 1, `"ip4": ip4 needs ":address"`, nil, 0},
		{"v=spf1 a:x.example/24/ -all", 1, `"a:x.example/24/": "x.example/24/": top-level label "example/24/" has '/'`, nil, 0},
		{"v=spf1 ip6:2001:db8::/ -all", 1, `"ip6:2001:db8::/": bad CIDR length ""`, nil, 0},
		{"v=spf1 ip6:2021:178::/+0 -all", 1, `"ip6:2021:178::/+0": bad CIDR length "+0"`, nil, 0},
		{"v=spf1 ip4:192.0.2.0/+24 -all", 1, `"ip4:192.0.2.0/+24": bad CIDR length "+24"`, nil, 0},
		{"v=spf1 a:x.example//129 -all", 1, `"a:x.example//129": CIDR length "129" is not 0 to 128`, nil, 0},
		{"v=spf1 1x=y -all", 1, `"1x=y": not a valid modifier name`, nil, 0},
		{"v=spf1 redirect=a.example redirect=b.example", 1, `"redirect=b.example": redirect= appears twice (§6)`, ErrDuplicateModifier, 1},
		{"v=spf1 include:a.example -all redirect=b.example", 0, "", nil, 1},       // redirect ignored beside all (§6.1)
		{"v=spf1 redirect=b.example include:a.example", 0, "", nil, 2},            // redirect evaluated last (§6.1)
		{"v=spf1 ip4:203.0.113.5 ~all include:a.example a mx ptr", 0, "", nil, 0}, // never tested after all (§5.1)
		{"v=spf1 exp=a.example exp=b.example -all", 1, `"exp=b.example": exp= appears twice (§6)`, ErrDuplicateModifier, 0},
		{"v=spf1 exists:%{x}.example.com -all", 1, `"exists:%{x}.example.com": unknown macro letter 'x'`, nil, 0},
		{"v=spf1 exists:%{c}.example.com -all", 1, `"exists:%{c}.example.com": macro letter 'c' is allowed only in exp= explanations (§7.2)`, ErrExpOnlyMacro, 0},
		{"v=spf1 exists:%{i0}.example.com -all", 1, `"exists:%{i0}.example.com": macro %{i0}: keeping 0 labels`, nil, 0},
		{"v=spf1 a:foo%bar.example.com -all", 1, `"a:foo%bar.example.com": invalid macro "%b" (write %% for a literal percent sign)`, nil, 0},
		{"v=spf1 a:foo:bar/baz.example.com", 0, "", nil, 1},        // '/' is a macro-literal
		{"v=spf1 moo.cow=far%{d}.example.com -all", 0, "", nil, 0}, // unknown modifier: ignored
		{"v=spf1 moo.cow=far%x -all", 1, `"moo.cow=far%x": unknown modifier with an invalid value: invalid macro "%x" (write %% for a literal percent sign)`, nil, 0},
		{"v=spf1 a:exämple.com -all", 2, "byte 0xc3 at offset 11: SPF records are 7-bit printable ASCII (§3)", ErrNotASCII, 0},
		{"v=spf1  ip4:203.0.113.5  -all ", 0, "", nil, 0},
		{"v=spf10 -all", 1, `does not start with "v=spf1"`, ErrNotSPF, 0},
	}
	for _, tt := range tests {
		r := Parse(tt.record)
		if len(r.Errors) != tt.errs {
			t.Errorf("Parse(%q): %d errors %v, want %d", tt.record, len(r.Errors), r.Errors, tt.errs)
			continue
		}
		if tt.errs > 0 {
			err := r.Errors[0]
			if err.Error() != tt.err {
				t.Errorf("Parse(%q): error %s, want %s", tt.record, err, tt.err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Parse(%q): error %s is not %v", tt.record, err, tt.is)
			}
		}
		if q := r.QueryTerms(); q != tt.queries {
			t.Errorf("Parse(%q): %d querying terms, want %d", tt.record, q, tt.queries)
		}
	}
}

func TestIsSPF(t *testing.T) {
	for txt, want := range map[string]bool{
		"v=spf1": true, "v=spf1 -all": true, "V=SPF1 -all": true,
		"v=spf10 -all": false, "v=spf2.0/pra -all": false, "spf1": false, "": false,
	} {
		if got := IsSPF(txt); got != want {
			t.Errorf("IsSPF(%q) = %v", txt, got)
		}
	}
}
