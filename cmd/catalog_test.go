package cmd

import (
	"encoding/json"
	"flag"
	"strings"
	"sync"
	"testing"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/report"
)

// seenAtFail are the finding IDs the tests' reports had at fail.
var seenAtFail = struct {
	sync.Mutex
	ids map[string]bool
}{ids: map[string]bool{}}

// checkDeclared fails the test for a finding ID in a JSON report that
// the catalogue does not declare (every ID is declared once, next to
// the check that emits it: checks.Catalog), and for a finding at fail
// whose kind does not block: only a finding that makes a required fact
// false is a fail (DESIGN §8).
func checkDeclared(t testing.TB, what, doc string) {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return // validateOutput reports it
	}
	cat := checks.Catalog()
	for _, f := range r.Findings() {
		k, ok := cat.Kind(f.ID)
		switch {
		case !ok:
			t.Errorf("%s: finding %s is not declared in the catalogue (checks.Catalog)", what, f.ID)
		case f.Severity == report.Fail && !k.Blocks:
			t.Errorf("%s: finding %s is at fail, but its kind does not block", what, f.ID)
		case f.Severity == report.Fail:
			seenAtFail.Lock()
			seenAtFail.ids[f.ID] = true
			seenAtFail.Unlock()
		}
	}
}

// notRunAtFail are the blocking kinds no script can make fail, and where
// they are tested instead.
var notRunAtFail = map[string]string{
	"send.port25_blocked": "needs outbound port 25 with SYNs dropped; checks.TestSendPort25Blocked",
}

// checkBlockingRun fails the test unless every blocking kind of the
// catalogue was at fail in a report of the real binary (the verdict
// table, verdict*.txtar), but those in notRunAtFail. A run of chosen
// scripts (-run TestScript/name) is not checked.
func checkBlockingRun(t *testing.T) {
	if strings.Contains(flag.Lookup("test.run").Value.String(), "/") || t.Failed() {
		return
	}
	cat := checks.Catalog()
	seenAtFail.Lock()
	defer seenAtFail.Unlock()
	for _, id := range cat.IDs() {
		if k, _ := cat.Kind(id); k.Blocks && !seenAtFail.ids[id] && notRunAtFail[id] == "" {
			t.Errorf("blocking finding %s was at fail in no script's report: add a row to the verdict table (testdata/script/verdict*.txtar)", id)
		}
	}
}

func TestCatalogBuilds(t *testing.T) {
	cat := checks.Catalog() // panics on an ID declared twice
	if len(cat.IDs()) < 80 {
		t.Errorf("catalogue has %d IDs; every check's are missing?", len(cat.IDs()))
	}
}

// Each check command's --help lists the catalogue's IDs of its check,
// the common ones included.
func TestHelpListsTheCatalogue(t *testing.T) {
	for _, c := range checks.All {
		command := c.ID
		if checks.MessageOnly(c.ID) {
			command = "message" // its help lists the checks of a message
		}
		code, stdout, stderr := run(t, command, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d, %s", c.ID, code, stderr)
		}
		ids := []string{}
		for _, k := range c.Kinds {
			ids = append(ids, k.ID)
		}
		for _, k := range checks.CommonKinds() {
			ids = append(ids, c.ID+"."+k)
		}
		for _, id := range ids {
			if !strings.Contains(stdout, " "+id) {
				t.Errorf("%s --help does not list %s", c.ID, id)
			}
		}
	}
}
