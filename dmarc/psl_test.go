package dmarc

import (
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
	file, err := LoadPSL("testdata/mini.psl")
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
	if _, err := LoadPSL("testdata/nonexistent.dat"); err == nil {
		t.Error("a missing file loads")
	}
}
