package checks

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/report"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite README's weights table and docs/schema.json's finding IDs from the catalogue")

const (
	readmePath = "../README.md"
	schemaPath = "../docs/schema.json"
	tableBegin = "<!-- weights: written by go test ./checks -update-docs, from the catalogue -->\n"
	tableEnd   = "<!-- end of weights -->\n"
)

// weightsTable is README's table of every finding that blocks or costs
// something, in check order.
func weightsTable() string {
	var b strings.Builder
	b.WriteString("| finding | blocks | fail | warn |\n|---|---|---|---|\n")
	num := func(n int) string {
		if n == 0 {
			return ""
		}
		return fmt.Sprint(n)
	}
	for _, c := range All {
		for _, k := range c.Kinds {
			if !k.Blocks && k.Penalty == (report.Penalty{}) {
				continue
			}
			blocks := ""
			if k.Blocks {
				blocks = "yes"
			}
			fail := num(k.Penalty.Fail)
			if k.Blocks {
				fail = fmt.Sprint(k.Penalty.Fail)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.ID, blocks, fail, num(k.Penalty.Warn))
		}
	}
	return b.String()
}

// schemaIDs matches docs/schema.json's list of finding IDs.
var schemaIDs = regexp.MustCompile(`("examples": )\[[^\]]*\]`)

// README's weights table and docs/schema.json's finding IDs are the
// catalogue's; -update-docs rewrites them.
func TestDocsMatchTheCatalogue(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(readme, []byte(tableBegin)), bytes.Index(readme, []byte(tableEnd))
	if i < 0 || j < i {
		t.Fatalf("README.md has no weights table between %q and %q", tableBegin, tableEnd)
	}
	table := weightsTable()
	gotTable := string(readme[i+len(tableBegin) : j])

	schema, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := json.Marshal(Catalog().IDs())
	ids = bytes.ReplaceAll(ids, []byte(`","`), []byte(`", "`))
	var doc struct {
		Defs struct {
			FindingID struct {
				Examples []string `json:"examples"`
			} `json:"finding_id"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schema, &doc); err != nil {
		t.Fatal(err)
	}

	if *updateDocs {
		readme = slices.Concat(readme[:i+len(tableBegin)], []byte(table), readme[j:])
		if err := os.WriteFile(readmePath, readme, 0o644); err != nil {
			t.Fatal(err)
		}
		if !schemaIDs.Match(schema) {
			t.Fatalf("%s: no \"examples\" list of finding IDs to rewrite", schemaPath)
		}
		schema = schemaIDs.ReplaceAll(schema, append([]byte("${1}"), ids...))
		if err := os.WriteFile(schemaPath, schema, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if gotTable != table {
		t.Errorf("README.md's weights table is not the catalogue's (go test ./checks -update-docs):\n--- got\n%s--- want\n%s", gotTable, table)
	}
	if !slices.Equal(doc.Defs.FindingID.Examples, Catalog().IDs()) {
		t.Errorf("%s: $defs.finding_id.examples is not the catalogue's IDs (go test ./checks -update-docs)", schemaPath)
	}
}
