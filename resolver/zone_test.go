package resolver

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func mustZone(t *testing.T, text string) *Zone {
	t.Helper()
	z, err := ParseZone(strings.NewReader(text), "test.zone")
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestZoneLookup(t *testing.T) {
	z := mustZone(t, `
$ORIGIN example.test.
@          SOA ns hm 1 1 1 1 1
host       A 203.0.113.1
*.wild     A 203.0.113.2
*.wild     TXT "w"
x.wild     TXT "exact"
a.b.c      A 203.0.113.3
*          MX 10 host
alias      CNAME host
`)
	tests := []struct {
		name  string
		qtype uint16
		want  int // records, or -1 NXDOMAIN, 0 NODATA
	}{
		{"host.example.test", dns.TypeA, 1},
		{"HOST.example.test.", dns.TypeA, 1},
		{"host.example.test", dns.TypeTXT, 0},
		{"foo.wild.example.test", dns.TypeA, 1},
		{"foo.wild.example.test", dns.TypeAAAA, 0},   // wildcard name exists, no AAAA
		{"x.wild.example.test", dns.TypeA, 0},        // existing name: no wildcard
		{"deep.foo.wild.example.test", dns.TypeA, 1}, // closest encloser wild.example.test
		{"b.c.example.test", dns.TypeA, 0},           // empty non-terminal
		{"z.b.c.example.test", dns.TypeMX, -1},       // closest encloser b.c (ENT) has no wildcard
		{"nothing.example.test", dns.TypeMX, 1},      // apex wildcard
		{"nothing.example.test", dns.TypeA, 0},       // apex wildcard, other type
		{"alias.example.test", dns.TypeA, 1},         // the CNAME itself
		{"alias.example.test", dns.TypeCNAME, 1},
	}
	for _, tt := range tests {
		res := z.Lookup(tt.name, tt.qtype)
		got := len(res.Records)
		if errors.Is(res.Kind, ErrNXDomain) {
			got = -1
		}
		if got != tt.want {
			t.Errorf("%s %s: %d records, kind %v; want %d", tt.name, dns.TypeToString[tt.qtype], len(res.Records), res.Kind, tt.want)
		}
		for _, rr := range res.Records {
			if rr.Header().Name != dns.CanonicalName(tt.name) {
				t.Errorf("%s: owner %s, want the question's name", tt.name, rr.Header().Name)
			}
		}
	}
}

func TestZoneErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"example.test. SOA ns hm 1 1 1 1 1\nhost.example.test. A 300.1.1.1\n", "test.zone:2:"},
		{"$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\n\n\nhost IN BOGUS x\n", "test.zone:5:"},
		{"$INCLUDE /etc/passwd\n", "test.zone:1:"},
		{"host.example.test. A 203.0.113.1\n", "no SOA record and no $ORIGIN"},
		{"example.test. SOA ns hm 1 1 1 1 1\nother.test. A 203.0.113.1\n", "other.test is outside the zone example.test"},
		{"example.test. SOA ns hm 1 1 1 1 1\nexample.test. SOA ns hm 2 1 1 1 1\n", "more than one SOA"},
		{"$ORIGIN example.test.\nx CNAME y\nx A 203.0.113.1\n", "x.example.test has a CNAME and other records"},
	}
	for _, tt := range tests {
		_, err := ParseZone(strings.NewReader(tt.text), "test.zone")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseZone(%q) error = %v, want it to contain %q", tt.text, err, tt.want)
		}
	}
}

func TestOverlayPicksMostSpecificZone(t *testing.T) {
	parent := mustZone(t, "example.test. SOA ns hm 1 1 1 1 1\nsub.example.test. TXT \"parent\"\n")
	child := mustZone(t, "sub.example.test. SOA ns hm 1 1 1 1 1\n")
	o, err := NewOverlay(parent, child)
	if err != nil {
		t.Fatal(err)
	}
	if z := o.Zone("x.sub.example.test"); z != child {
		t.Errorf("x.sub.example.test answered by %s", z.Apex)
	}
	if z := o.Zone("example.test"); z != parent {
		t.Errorf("example.test answered by %v", z)
	}
	if z := o.Zone("example.org"); z != nil {
		t.Errorf("example.org answered by %s", z.Apex)
	}
	if _, err := NewOverlay(parent, parent); err == nil {
		t.Error("two zones with one apex: no error")
	}
}

func TestLoadZoneFileNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.zone")
	os.WriteFile(p, []byte("$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\nmail A not-an-ip\n"), 0o644)
	_, err := LoadZoneFile(p)
	if err == nil || !strings.HasPrefix(err.Error(), p+":3:") {
		t.Errorf("err = %v, want it to start with %s:3:", err, p)
	}
	if _, err := LoadZoneFile(filepath.Join(t.TempDir(), "missing.zone")); err == nil || !strings.Contains(err.Error(), "missing.zone") {
		t.Errorf("missing file: %v", err)
	}
}

func TestZoneRefusesLongStrings(t *testing.T) {
	long := strings.Repeat("a", 256)
	text := "$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\n@ TXT \"ok\" ; \"" + long + "\"\nx TXT \"" + long + "\"\n"
	_, err := ParseZone(strings.NewReader(text), "test.zone")
	if err == nil || !strings.Contains(err.Error(), "test.zone:4:7: a quoted string of 256 octets") {
		t.Errorf("err = %v", err)
	}
	ok := "$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\nx TXT \"" + long[:255] + "\" \"\\\"q\\\"\"\n"
	if _, err := ParseZone(strings.NewReader(ok), "test.zone"); err != nil {
		t.Errorf("255 octets and escapes: %v", err)
	}
}
