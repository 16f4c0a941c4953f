// Package dmarctest reads the RFC 9989 corpus (testdata/dmarc): zone
// files and a table of cases with the finding IDs the dmarc check must
// give, so the check's tests and the command's testscript run one table.
package dmarctest

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Case is one line of cases.txt: DOMAIN | OPTIONS | IDS | REFERENCE.
type Case struct {
	Line      int
	Domain    string
	MailFrom  string // mail-from=ADDR
	PSL       bool   // psl: use the corpus's test.psl
	Want      []string
	Reference string
}

// Read reads a cases file.
func Read(path string) ([]Case, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Case
	for i, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 4 {
			return nil, fmt.Errorf("%s:%d: want 4 fields separated by |", path, i+1)
		}
		c := Case{Line: i + 1, Domain: strings.TrimSpace(f[0]), Want: strings.Fields(f[2]), Reference: strings.TrimSpace(f[3])}
		for _, opt := range strings.Fields(f[1]) {
			switch {
			case opt == "psl":
				c.PSL = true
			case strings.HasPrefix(opt, "mail-from="):
				c.MailFrom = strings.TrimPrefix(opt, "mail-from=")
			default:
				return nil, fmt.Errorf("%s:%d: unknown option %s", path, i+1, opt)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// Check compares the finding IDs a run gave with the case's; "" when
// they are the same (in any order).
func (c Case) Check(got []string) string {
	g := slices.Sorted(slices.Values(got))
	w := slices.Sorted(slices.Values(c.Want))
	if strings.Join(g, " ") == strings.Join(w, " ") {
		return ""
	}
	return fmt.Sprintf("cases.txt:%d %s: %s, want %s (%s)", c.Line, c.Domain, strings.Join(g, " "), strings.Join(w, " "), c.Reference)
}
