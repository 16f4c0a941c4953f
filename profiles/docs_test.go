package profiles_test

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/profiles"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite README's providers table from profiles/rules.yaml")

const (
	readmePath = "../README.md"
	docsBegin  = "<!-- providers: written by go test ./profiles -update-docs, from profiles/rules.yaml -->\n"
	docsEnd    = "<!-- end of providers -->\n"
)

// providersTable is README's table of every provider's rules, with the
// sources and the dates they were read.
func providersTable(t *profiles.Table) string {
	var b strings.Builder
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for i, p := range slices.Concat(t.Providers, t.Receivers) {
		if i == len(t.Providers) {
			b.WriteString("Blocklists and filters `explain` knows (not profiles):\n\n")
		}
		fmt.Fprintf(&b, "**`%s`** — %s", p.ID, cell(p.Name))
		if p.Who != "" {
			fmt.Fprintf(&b, ": %s", cell(p.Who))
		}
		if p.Extends != "" {
			fmt.Fprintf(&b, "; the rules of `%s` too", p.Extends)
		}
		fmt.Fprintf(&b, ". Source: <%s>, read %s.\n\n", p.Source, p.Read)
		b.WriteString("| rule | | what | replies | shown by |\n|---|---|---|---|---|\n")
		for _, r := range p.Rules {
			how := ""
			switch {
			case r.NotCheckable != "" && r.Needs != "":
				how = "needs " + r.Needs + " (" + cell(r.NotCheckable) + ")"
			case r.NotCheckable != "":
				how = "not checkable: " + cell(r.NotCheckable)
			default:
				var ids []string
				for _, id := range r.Establish.PassIDs() {
					ids = append(ids, "`"+id+"`")
				}
				how = strings.Join(ids, " ")
				if r.Needs != "" {
					how = "needs " + r.Needs + ": " + how
				}
			}
			summary := r.Summary
			if r.Source != "" {
				summary += fmt.Sprintf(" (<%s>, read %s)", r.Source, r.Read)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", r.ID, r.Level, cell(summary), cell(strings.Join(r.Codes, ", ")), how)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestREADMEProviders: README's providers table is the rules file's;
// -update-docs rewrites it.
func TestREADMEProviders(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, docsBegin), strings.Index(s, docsEnd)
	if i < 0 || j < i {
		t.Fatalf("README has no %q ... %q section", docsBegin, docsEnd)
	}
	want := providersTable(profiles.MustLoad())
	if got := s[i+len(docsBegin) : j]; got != want {
		if !*updateDocs {
			t.Fatalf("README's providers table is not profiles/rules.yaml's (go test ./profiles -update-docs)")
		}
		s = s[:i+len(docsBegin)] + want + s[j:]
		if err := os.WriteFile(readmePath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
