package cmd

import (
	"encoding/json"
	"testing"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/report"
)

// checkDeclared fails the test for a finding ID in a JSON report that
// the catalogue does not declare: every ID is declared once, next to
// the check that emits it (checks.Catalog).
func checkDeclared(t testing.TB, what, doc string) {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return // validateOutput reports it
	}
	cat := checks.Catalog()
	for _, f := range r.Findings() {
		if _, ok := cat.Kind(f.ID); !ok {
			t.Errorf("%s: finding %s is not declared in the catalogue (checks.Catalog)", what, f.ID)
		}
	}
}

func TestCatalogBuilds(t *testing.T) {
	cat := checks.Catalog() // panics on an ID declared twice
	if len(cat.IDs()) < 80 {
		t.Errorf("catalogue has %d IDs; every check's are missing?", len(cat.IDs()))
	}
}
