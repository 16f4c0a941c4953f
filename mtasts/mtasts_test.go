package mtasts

import (
	"errors"
	"slices"
	"testing"
)

func TestParseRecord(t *testing.T) {
	for _, tt := range []struct {
		in, id string
		err    error
	}{
		{"v=STSv1; id=20260101T000000", "20260101T000000", nil},
		{"v=STSv1;id=abc;", "abc", nil},
		{"v=STSv1; id=1; ext=value", "1", nil},
		{"v=spf1 -all", "", ErrNotSTS},
		{"id=1; v=STSv1", "", ErrNotSTS},
		{"v=STSv1", "", ErrRecord},
		{"v=STSv1; id=", "", ErrRecord},
		{"v=STSv1; id=has-dash", "", ErrRecord},
		{"v=STSv1; id=123456789012345678901234567890123", "", ErrRecord},
		{"v=STSv1; id=1; id=2", "", ErrRecord},
		{"v=STSv1;; id=1", "", ErrRecord},
	} {
		r, err := ParseRecord(tt.in)
		if !errors.Is(err, tt.err) || r.ID != tt.id {
			t.Errorf("ParseRecord(%q) = %q, %v; want %q, %v", tt.in, r.ID, err, tt.id, tt.err)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	good := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"
	p, err := ParsePolicy([]byte(good))
	if err != nil || p.Mode != Enforce || p.MaxAge != 604800 || !slices.Equal(p.MX, []string{"mail.example.com", "*.example.net"}) {
		t.Fatalf("ParsePolicy(good) = %+v, %v", p, err)
	}
	for _, tt := range []struct {
		name, in string
		err      error
	}{
		{"LF endings, unknown key", "version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\nfoo: bar\n", nil},
		{"mode none without mx", "version: STSv1\nmode: none\nmax_age: 86400\n", nil},
		{"empty", "", ErrPolicy},
		{"no version", "mode: enforce\nmx: a.example\nmax_age: 1\n", ErrPolicy},
		{"bad version", "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", ErrPolicy},
		{"bad mode", "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n", ErrPolicy},
		{"no mx", "version: STSv1\nmode: enforce\nmax_age: 1\n", ErrPolicy},
		{"max_age too large", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", ErrPolicy},
		{"max_age negative", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", ErrPolicy},
		{"no max_age", "version: STSv1\nmode: enforce\nmx: a.example\n", ErrPolicy},
		{"mode twice", "version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 1\n", ErrPolicy},
		{"not key: value", "version: STSv1\nmode enforce\n", ErrPolicy},
		{"double wildcard", "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n", ErrPolicy},
		{"wildcard inside", "version: STSv1\nmode: enforce\nmx: mail*.example\nmax_age: 1\n", ErrPolicy},
		{"HTML", "<html><body>Not found</body></html>", ErrPolicy},
		{"only blank lines", "\n  \n\t\n", ErrPolicy},
		{"only a comment", "# nothing\n", ErrPolicy},
		// Lenient parsers skip these; Quirks names them for a warning
		// (TestParsePolicyQuirks).
		{"a blank line", "version: STSv1\nmode: enforce\n\nmx: a.example\nmax_age: 1\n", nil},
		{"a comment", "# ours\nversion: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n", nil},
		{"a BOM", "\ufeffversion: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n", nil},
		{"a trailing whitespace-only line", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n \n", nil},
	} {
		_, err := ParsePolicy([]byte(tt.in))
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.err)
		}
	}
}

// RFC 8461 §4.1: a wildcard matches exactly one leftmost label.
func TestMatches(t *testing.T) {
	for _, tt := range []struct {
		pattern, host string
		want          bool
	}{
		{"mail.example.com", "mail.example.com", true},
		{"mail.example.com", "MAIL.Example.COM.", true},
		{"*.example.com", "mx1.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "a.b.example.com", false},
		{"*.example.com", ".example.com", false},
		{"mail.example.com", "mail.example.com.evil", false},
	} {
		if got := Matches(tt.pattern, tt.host); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add("v=STSv1; id=20260101")
	f.Add("v=STSv1;id=a;x=y;")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecord(s)
		if err == nil && !validID(r.ID) {
			t.Errorf("ParseRecord(%q): id %q accepted", s, r.ID)
		}
	})
}

// What the RFC 8461 grammar does not allow but lenient parsers skip is
// named in Quirks, each once; a clean policy has none (review of #19).
func TestParsePolicyQuirks(t *testing.T) {
	p, err := ParsePolicy([]byte("\ufeff# ours\r\nversion: STSv1\r\n\r\nmode: enforce\r\nmx: a.example\r\nmax_age: 1\r\n \r\n"))
	want := []string{"a byte-order mark before the first line", "line 1 is a comment", "line 3 is blank", "line 7 is blank"}
	if err != nil || !slices.Equal(p.Quirks, want) {
		t.Errorf("Quirks %q, %v; want %q", p.Quirks, err, want)
	}
	if p, _ := ParsePolicy([]byte("version: STSv1\nmode: none\nmax_age: 1\n")); p.Quirks != nil {
		t.Errorf("clean policy: Quirks %q", p.Quirks)
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"))
	f.Add([]byte("version: STSv1\nmode: none\nmax_age: 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		if p.MaxAge < 0 || p.MaxAge > MaxAge || p.Mode == "" || len(p.MX)*4 > len(b) {
			t.Errorf("ParsePolicy(%q) = %+v", b, p)
		}
		for _, m := range p.MX {
			if !Matches(m, "x."+m[min(len(m), 2):]) && m[0] == '*' {
				t.Errorf("pattern %q does not match its own subdomain", m)
			}
		}
	})
}
