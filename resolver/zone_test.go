package resolver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	_, err := LoadZoneFile(context.Background(), p)
	if err == nil || !strings.HasPrefix(err.Error(), p+":3:") {
		t.Errorf("err = %v, want it to start with %s:3:", err, p)
	}
	if _, err := LoadZoneFile(context.Background(), filepath.Join(t.TempDir(), "missing.zone")); err == nil || !strings.Contains(err.Error(), "missing.zone") {
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

// TestZoneNotText: a file with control characters is no zone file, and
// the error quotes none of it (issue #13 item 9: /proc/self/environ).
func TestZoneNotText(t *testing.T) {
	environ := "SHELL=/bin/sh\x00SECRET_TOKEN=hunter2hunter2\x00HOME=/root\x00"
	_, err := ParseZone(strings.NewReader(environ), "environ")
	if err == nil || err.Error() != "environ:1:14: control character 0x00: a zone file is text" {
		t.Errorf("err = %v", err)
	}
	for _, text := range []string{
		"$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\n@ TXT \"a\x1b]0;title\x07\"\n",
		"$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\nx\x7f A 192.0.2.1\n",
	} {
		if _, err := ParseZone(strings.NewReader(text), "test.zone"); err == nil || !strings.Contains(err.Error(), "test.zone:3:") || !strings.Contains(err.Error(), "a zone file is text") {
			t.Errorf("%q: err = %v", text, err)
		}
	}
}

// TestZoneErrorExcerpts: a parse error quotes the token it stopped at
// only once the file has given a record, sanitised and cut to 40
// octets: a secrets file in zone syntax's clothes is never echoed.
func TestZoneErrorExcerpts(t *testing.T) {
	tests := []struct{ text, want string }{
		{"PASSWORD=hunter2\n", "test.zone:1:16: not a TTL"},
		{"$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\nmail A 203.0.113.500\n", `test.zone:3:20: bad A A: "203.0.113.500"`},
		{"$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\nmail A " + strings.Repeat("9", 60) + "\n", `test.zone:3:67: bad A A: "` + strings.Repeat("9", 40) + `…"`},
	}
	for _, tt := range tests {
		_, err := ParseZone(strings.NewReader(tt.text), "test.zone")
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: err = %v, want %s", tt.text, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the error quotes the file: %v", tt.text, err)
		}
	}
}

// TestZoneBudget: the records, octets and files of one run's zone files
// are bounded together; $GENERATE's records count like any others.
func TestZoneBudget(t *testing.T) {
	gen := "$ORIGIN example.test.\n@ SOA ns hm 1 1 1 1 1\n$GENERATE 1-65535 h$ A 192.0.2.1\n$GENERATE 1-65535 i$ A 192.0.2.1\n"
	if _, err := ParseZone(strings.NewReader(gen), "gen.zone"); err == nil || !strings.Contains(err.Error(), "more than 100000 records in the zone files, the limit for one run") {
		t.Errorf("131,071 records: %v", err)
	}

	b := &zoneBudget{files: 2, records: 3, bytes: 1000}
	one := "$ORIGIN a.test.\n@ SOA ns hm 1 1 1 1 1\n@ A 192.0.2.1\n"
	if _, err := parseZone(context.Background(), strings.NewReader(one), "a.zone", b); err != nil {
		t.Fatal(err)
	}
	if _, err := parseZone(context.Background(), strings.NewReader(strings.ReplaceAll(one, "a.test", "b.test")), "b.zone", b); err == nil || !strings.Contains(err.Error(), "b.zone: more than") {
		t.Errorf("the second file's records are not charged: %v", err)
	}
	b = &zoneBudget{files: 2, records: 100, bytes: int64(len(one)) + 10}
	parseZone(context.Background(), strings.NewReader(one), "a.zone", b)
	if _, err := parseZone(context.Background(), strings.NewReader(one), "c.zone", b); err == nil || !strings.Contains(err.Error(), "c.zone:1: the zone files hold more than 64 MiB together") {
		t.Errorf("the second file's octets are not charged: %v", err)
	}

	dir := t.TempDir()
	for i := range MaxZoneFiles + 1 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("z%02d.zone", i)), []byte(fmt.Sprintf("$ORIGIN z%d.test.\n@ SOA ns hm 1 1 1 1 1\n", i)), 0o644)
	}
	if _, err := LoadOverlay(context.Background(), dir); err == nil || err.Error() != dir+": more than 64 zone files, the limit for one run" {
		t.Errorf("65 files: %v", err)
	}
	os.Remove(filepath.Join(dir, "z64.zone"))
	if _, err := LoadOverlay(context.Background(), dir, filepath.Join(dir, "z00.zone")); err == nil || !strings.Contains(err.Error(), "more than 64 zone files") {
		t.Errorf("64 files and one more: %v", err)
	}
}

// blankLines is an endless zone of empty lines.
type blankLines struct{}

func (blankLines) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '\n'
	}
	return len(p), nil
}

// TestZoneDeadline: a zone that does not load in time stops at the
// deadline, not at its end.
func TestZoneDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := parseZone(ctx, io.MultiReader(strings.NewReader("$ORIGIN example.test.\n"), blankLines{}), "blank.zone", &zoneBudget{files: 1, records: 10, bytes: 1 << 40})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "blank.zone:") {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("stopped after %v", d)
	}
}
