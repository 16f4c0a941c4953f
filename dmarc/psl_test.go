package dmarc

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/idna"
)

// The Public Suffix List's own test vectors (testdata/psl_tests.txt,
// CC0, from Debian's publicsuffix package) hold for the embedded list
// and for a file read with --psl.
func TestPSLVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/psl_tests.txt")
	if err != nil {
		t.Fatal(err)
	}
	file, err := LoadPSL(context.Background(), "testdata/mini.psl")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);`)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		in, want := strings.Trim(m[1], "'"), strings.Trim(m[2], "'")
		if m[2] == "null" {
			want = ""
		} else {
			want, _ = idna.Lookup.ToASCII(want)
		}
		for _, list := range []SuffixList{Embedded, file} {
			if got := registrable(list, in, m[1] == "null"); got != want {
				t.Errorf("%s: %s → %q, want %q", list, in, got, want)
			}
		}
	}
	if n < 70 {
		t.Errorf("only %d vectors", n)
	}
}

// registrable is the vectors' notion: the organizational domain of a
// name that is not itself a public suffix, "" otherwise or for input
// that is no domain name.
func registrable(list SuffixList, in string, null bool) string {
	if null || in == "" || strings.HasPrefix(in, ".") {
		return ""
	}
	ascii, err := idna.Lookup.ToASCII(strings.ToLower(in))
	if err != nil {
		return ""
	}
	if org := PSLOrgDomain(list, ascii); org != list.PublicSuffix(ascii) {
		return org
	}
	return ""
}

func TestPSLOrgDomain(t *testing.T) {
	for in, want := range map[string]string{
		"alice.github.io":       "alice.github.io", // a private suffix
		"www.alice.github.io":   "alice.github.io",
		"sub.example.co.uk":     "example.co.uk",
		"example.com":           "example.com",
		"com":                   "com",
		"mail.good.example":     "good.example", // unlisted TLD: the default rule
		"Mail.Example.COM.":     "example.com",
		"a.b.c.d.nodomain.test": "nodomain.test",
	} {
		if got := PSLOrgDomain(nil, in); got != want {
			t.Errorf("PSLOrgDomain(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestParsePSLErrors(t *testing.T) {
	for _, text := range []string{"", "// only comments\n", "a..b\n", "*.*.x\n", "!\n"} {
		if _, err := ParsePSL(strings.NewReader(text), "t.dat"); err == nil || !strings.Contains(err.Error(), "t.dat") {
			t.Errorf("ParsePSL(%q): %v", text, err)
		}
	}
	if _, err := LoadPSL(context.Background(), "testdata/nonexistent.dat"); err == nil {
		t.Error("a missing file loads")
	}
	// Untrusted input: nothing of a file of another kind is quoted, a
	// binary is refused by line and column; a bad line after a rule is
	// quoted, cut.
	for text, want := range map[string]string{
		"API_KEY=s3cret\n":                 "t.dat:1: not a public suffix rule, and no rule before it",
		"com\nA\x00B\n":                    "t.dat:2:2: control character 0x00",
		"com\n" + strings.Repeat("x=", 40): `t.dat:2: "x=x=x=x=x=x=x=x=x=x=x=x=x=x=x=x=x=x=x=x=…" is not`,
	} {
		_, err := ParsePSL(strings.NewReader(text), "t.dat")
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParsePSL(%q): %v, want %q", text, err, want)
		}
	}
}
