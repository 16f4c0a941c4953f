package profiles_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/profiles"
	"github.com/preflight-mail/preflight/report"
)

// unknownIDs lists the finding IDs the table's rules name that the
// catalogue does not declare.
func unknownIDs(t *profiles.Table, cat report.Catalog) []string {
	var out []string
	for _, p := range append(slices.Clone(t.Providers), t.Receivers...) {
		for _, r := range p.Rules {
			if r.Establish == nil {
				continue
			}
			for _, id := range r.Establish.IDs() {
				if _, ok := cat.Kind(id); !ok {
					out = append(out, r.ID+": "+id)
				}
			}
		}
	}
	return out
}

// TestRulesNameCatalogueIDs is the catalogue-consistency test of issue
// #17: every finding ID a rule names is declared by a check, and every
// required rule says how it is known (finding IDs, or not_checkable).
func TestRulesNameCatalogueIDs(t *testing.T) {
	table, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	if bad := unknownIDs(table, checks.Catalog()); len(bad) > 0 {
		t.Errorf("rules name finding IDs no check declares:\n%s", strings.Join(bad, "\n"))
	}
	for _, p := range append(slices.Clone(table.Providers), table.Receivers...) {
		for _, r := range p.Rules {
			if r.Required() && (r.Establish == nil || len(r.Establish.IDs()) == 0) && r.NotCheckable == "" {
				t.Errorf("%s: required, with neither finding IDs nor not_checkable", r.ID)
			}
		}
	}
	// The profiles the issue names, each with rules.
	for _, id := range []string{"gmail", "gmail-bulk", "yahoo", "yahoo-bulk", "outlook", "outlook-bulk", "apple", "gmx"} {
		if p, ok := table.Profile(id); !ok || len(table.RulesOf(p)) == 0 {
			t.Errorf("no profile %s", id)
		}
	}
}

// TestConsistencyCatchesBrokenTables: the two checks above fail on a
// table that names an undeclared ID or leaves a required rule unknown.
func TestConsistencyCatchesBrokenTables(t *testing.T) {
	bogus := `
providers:
  - id: x
    name: X
    source: https://example.com/
    read: 2026-11-29
    rules:
      - id: x.r
        level: required
        summary: s
        fix: f
        establish: {pass: [rdns.no_such_id]}
`
	table, err := profiles.Parse([]byte(bogus))
	if err != nil {
		t.Fatal(err)
	}
	if got := unknownIDs(table, checks.Catalog()); len(got) != 1 || got[0] != "x.r: rdns.no_such_id" {
		t.Errorf("unknownIDs = %v, want the bogus ID", got)
	}
	for _, c := range []struct{ name, yaml string }{
		{"no establish", strings.Replace(bogus, "        establish: {pass: [rdns.no_such_id]}\n", "", 1)},
		{"fail IDs alone", strings.Replace(bogus, "pass: [rdns.no_such_id]", "fail: [rdns.no_ptr]", 1)},
		{"unknown key", strings.Replace(bogus, "fix: f", "fix: f\n        typo: 1", 1)},
		{"bad level", strings.Replace(bogus, "level: required", "level: must", 1)},
		{"bad date", strings.Replace(bogus, "read: 2026-11-29", "read: late 2026", 1)},
		{"rule outside its namespace", strings.Replace(bogus, "id: x.r", "id: y.r", 1)},
	} {
		if _, err := profiles.Parse([]byte(c.yaml)); err == nil {
			t.Errorf("%s: parsed without an error", c.name)
		}
	}
}

// minReplies is what issue #17 asks the explainer to recognise.
const minReplies = 40

// TestExplainStoredReplies runs the explainer over testdata/replies: each
// file's reply is attributed to exactly the provider and rule it names,
// or, for "none", to no provider, with the RFC 3463 meaning of its code.
func TestExplainStoredReplies(t *testing.T) {
	table := profiles.MustLoad()
	files, err := filepath.Glob("../testdata/replies/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	recognised := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var provider, rule string
		var also, text []string
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			switch {
			case strings.HasPrefix(line, "# provider: "):
				provider = strings.TrimPrefix(line, "# provider: ")
			case strings.HasPrefix(line, "# rule: "):
				rule = strings.TrimPrefix(line, "# rule: ")
			case strings.HasPrefix(line, "# also: "):
				also = append(also, strings.TrimPrefix(line, "# also: "))
			default:
				text = append(text, line)
			}
		}
		name := filepath.Base(f)
		if provider == "" {
			t.Errorf("%s: no # provider: line", name)
			continue
		}
		e := table.Explain(strings.Join(text, "\n"))
		var got []string
		for _, m := range e.Matches {
			got = append(got, m.Provider.ID+" "+m.Rule.ID)
		}
		want := append([]string{provider + " " + rule}, also...)
		if provider == "none" {
			want = nil
			if !strings.Contains(e.Generic, "(RFC ") {
				t.Errorf("%s: generic meaning %q, want one by the RFCs", name, e.Generic)
			}
		} else {
			recognised++
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: matched %q, want %q (reply %d %s)", name, got, want, e.Reply.Basic, e.Reply.Enhanced)
		}
	}
	if recognised < minReplies {
		t.Errorf("%d stored replies name a provider, want at least %d", recognised, minReplies)
	}
}

func TestParseReply(t *testing.T) {
	for _, c := range []struct {
		in       string
		basic    int
		enhanced string
		text     string
	}{
		{"550 5.7.1 no", 550, "5.7.1", "550 5.7.1 no"},
		{"550-5.7.26 a\r\n550-5.7.26 b\r\n550 5.7.26 c - gsmtp", 550, "5.7.26", "550-5.7.26 a b c - gsmtp"},
		{"421 4.7.0 [TSS04] from 203.0.113.5 - 4.16.55.1", 421, "4.7.0", "421 4.7.0 [TSS04] from 203.0.113.5 - 4.16.55.1"},
		{"host mx.example[192.0.2.1] said: 554 5.7.1 blocked", 554, "5.7.1", "host mx.example[192.0.2.1] said: 554 5.7.1 blocked"},
		{"550 4.7.1 classes disagree", 550, "", "550 4.7.1 classes disagree"},
		{"5.7.1 alone", 0, "5.7.1", "5.7.1 alone"},
		{"192.0.2.55 is not a code", 0, "", "192.0.2.55 is not a code"},
		{"550\x1b[31m 5.7.1\x00 red\u202e", 550, "5.7.1", "550 5.7.1 red"},
		{"", 0, "", ""},
	} {
		r := profiles.ParseReply(c.in)
		if r.Basic != c.basic || r.Enhanced != c.enhanced || r.Text != c.text {
			t.Errorf("ParseReply(%q) = %d %q %q, want %d %q %q", c.in, r.Basic, r.Enhanced, r.Text, c.basic, c.enhanced, c.text)
		}
	}
}

// TestExplainUnknown: a code in no rule, and no code at all, get the
// RFCs' meaning and no provider.
func TestExplainUnknown(t *testing.T) {
	table := profiles.MustLoad()
	for in, want := range map[string]string{
		"550 5.7.1 go away":               "5.7.1 (RFC 3463): delivery is not authorized",
		"451 4.3.0 try later":             "4.3.0 (RFC 3463): other or undefined mail system status; a temporary failure",
		"550 5.9.99 odd":                  "5.9.99 (RFC 3463): a code RFC 3463 and its registry do not define",
		"554 no enhanced code":            "554 (RFC 5321): a permanent refusal",
		"nothing that looks like a reply": "No SMTP reply code found",
	} {
		e := table.Explain(in)
		if len(e.Matches) > 0 || !strings.HasPrefix(e.Generic, want) {
			t.Errorf("Explain(%q) = %d matches, %q; want none and %q…", in, len(e.Matches), e.Generic, want)
		}
	}
}

// FuzzExplain: reply text is hostile input. Whatever it holds, parsing
// ends, the text is bounded, printable and valid UTF-8, and a provider is
// named only when its code is the reply's.
func FuzzExplain(f *testing.F) {
	files, _ := filepath.Glob("../testdata/replies/*.txt")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("550-5.7.26\x00\xff\xfe 5.7.26 - gsmtp\r\n550 5.7.26")
	f.Add(strings.Repeat("550-5.7.1 ", 5000))
	table := profiles.MustLoad()
	f.Fuzz(func(t *testing.T, s string) {
		e := table.Explain(s)
		r := e.Reply
		if len(r.Text) > profiles.MaxReply || !utf8.ValidString(r.Text) {
			t.Fatalf("text of %d octets, valid UTF-8 %v", len(r.Text), utf8.ValidString(r.Text))
		}
		for _, c := range r.Text {
			if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
				t.Fatalf("control character %U in %q", c, r.Text)
			}
		}
		if r.Basic != 0 && (r.Basic < 200 || r.Basic > 599) {
			t.Fatalf("basic code %d", r.Basic)
		}
		for _, m := range e.Matches {
			ok := false
			for _, mm := range m.Rule.Replies {
				ok = ok || mm.Code == r.Enhanced || r.Basic != 0 && mm.Code == strings.TrimSpace(string(rune('0'+r.Basic/100))+string(rune('0'+r.Basic/10%10))+string(rune('0'+r.Basic%10)))
			}
			if !ok {
				t.Fatalf("%s matched reply %d %q", m.Rule.ID, r.Basic, r.Enhanced)
			}
		}
		if e.Generic == "" {
			t.Fatal("no generic meaning")
		}
	})
}
