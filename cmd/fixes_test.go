package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/preflight-mail/preflight/report"
)

// fixCorpus holds the round-trip scenarios: broken zones, one file each.
const fixCorpus = "../testdata/fixes"

// minScenarios is the corpus size issue #12 asks for.
const minScenarios = 40

// fixScenario is one file of the corpus (a txtar archive):
//
//	-- args --   the command, without --zone, --offline and --format;
//	             $DIR is the scenario's directory (for key files)
//	-- want --   a line per finding to fix: "ID SUBJECT", and "advice"
//	             after it when its fix must be words only (no record can
//	             mend it)
//	-- zones/NAME.zone --  the zone files, each with a SOA record
//
// and any other file the command reads.
type fixScenario struct {
	name  string
	args  []string
	wants []fixWant
	files []txtar.File
}

type fixWant struct {
	id, subject string
	advice      bool
}

func loadFixScenarios(t *testing.T) []fixScenario {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(fixCorpus, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	var out []fixScenario
	for _, p := range paths {
		a, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := fixScenario{name: strings.TrimSuffix(filepath.Base(p), ".txtar")}
		for _, f := range a.Files {
			switch f.Name {
			case "args":
				sc.args = strings.Fields(string(f.Data))
			case "want":
				for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
					fields := strings.Fields(line)
					if len(fields) < 2 || len(fields) > 3 || len(fields) == 3 && fields[2] != "advice" {
						t.Fatalf("%s: want line %q: want \"ID SUBJECT [advice]\"", p, line)
					}
					sc.wants = append(sc.wants, fixWant{fields[0], fields[1], len(fields) == 3})
				}
			default:
				sc.files = append(sc.files, f)
			}
		}
		if len(sc.args) == 0 || len(sc.wants) == 0 {
			t.Fatalf("%s: needs an args and a want file", p)
		}
		out = append(out, sc)
	}
	return out
}

// TestFixesRoundTrip is the contract of fix_records (issue #12): for
// every broken scenario of the corpus, the finding carries records (or,
// where no record can mend it, advice alone); applying its records to the
// zone files, as someone pasting them would, and running the same command
// again makes the finding go away, and brings no new warn or fail. It also
// checks that a report never gives two different final versions of one
// record: every finding that changes a record changes it the same way.
func TestFixesRoundTrip(t *testing.T) {
	scenarios := loadFixScenarios(t)
	if len(scenarios) < minScenarios {
		t.Errorf("the corpus has %d scenarios, want at least %d", len(scenarios), minScenarios)
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range sc.files {
				p := filepath.Join(dir, f.Name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := runFixScenario(t, sc, dir, filepath.Join(dir, "zones"))
			sameFinalRecords(t, before)
			for _, w := range sc.wants {
				f, ok := findingOf(before, w.id, w.subject)
				switch {
				case !ok:
					t.Errorf("no %s %s in the report: %v", w.id, w.subject, keys(before))
				case w.advice:
					if len(f.FixRecords) > 0 || f.Fix == "" {
						t.Errorf("%s %s: want advice and no records, got fix %q, records %+v", w.id, w.subject, f.Fix, f.FixRecords)
					}
				case len(f.FixRecords) == 0:
					t.Errorf("%s %s: no fix_records (fix %q)", w.id, w.subject, f.Fix)
				default:
					roundTrip(t, sc, dir, f, before)
				}
			}
		})
	}
}

// roundTrip applies f's records to the scenario's zones and runs the
// command again.
func roundTrip(t *testing.T, sc fixScenario, dir string, f report.Finding, before report.Report) {
	t.Helper()
	zs, err := loadZones(filepath.Join(dir, "zones"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fr := range f.FixRecords {
		t.Logf("%s %s: %s", f.ID, f.Subject, strings.Join(fr.Lines(), " "))
		if err := zs.apply(fr); err != nil {
			t.Errorf("%s %s: applying %+v: %v", f.ID, f.Subject, fr, err)
			return
		}
	}
	fixed := filepath.Join(dir, "fixed-"+strings.ReplaceAll(f.ID, ".", "-"))
	if err := zs.write(fixed); err != nil {
		t.Fatal(err)
	}
	after := runFixScenario(t, sc, dir, fixed)
	if g, ok := findingOf(after, f.ID, f.Subject); ok {
		t.Errorf("%s %s is still there after its fix: %s\nrecords: %+v", f.ID, f.Subject, g.Message, f.FixRecords)
	}
	for _, g := range after.Findings() {
		if g.Severity != report.Warn && g.Severity != report.Fail {
			continue
		}
		if old, ok := findingOf(before, g.ID, g.Subject); !ok || old.Severity != g.Severity && old.Severity != report.Fail {
			t.Errorf("fixing %s %s brought %s %s %s: %s\nrecords: %+v", f.ID, f.Subject, g.Severity, g.ID, g.Subject, g.Message, f.FixRecords)
		}
	}
}

// runFixScenario runs the scenario's command on the zones in zones and
// returns its report.
func runFixScenario(t *testing.T, sc fixScenario, dir, zones string) report.Report {
	t.Helper()
	args := make([]string, len(sc.args))
	for i, a := range sc.args {
		args[i] = strings.ReplaceAll(a, "$DIR", dir)
	}
	args = append(args, "--zone", zones, "--offline", "--format", "json")
	code, stdout, stderr := run(t, args...)
	var rep report.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("preflight %s: exit %d, no report: %v\n%s", strings.Join(args, " "), code, err, stderr)
	}
	return rep
}

// sameFinalRecords fails when two findings of a report change one record
// differently: the same old record replaced by different values, or two
// different new SPF or DMARC records added at one name.
func sameFinalRecords(t *testing.T, rep report.Report) {
	t.Helper()
	seen := map[string]string{}
	for _, f := range rep.Findings() {
		for _, fr := range f.FixRecords {
			var key string
			switch {
			case fr.Action == report.FixReplace:
				key = fmt.Sprint(fr.Name, fr.Type, fr.Old)
			case fr.Action == report.FixAdd && fr.Type == "TXT":
				kind, _, _ := strings.Cut(fr.Value, " ")
				key = fmt.Sprint(fr.Name, fr.Type, strings.TrimSuffix(kind, ";"))
			default:
				continue
			}
			if v, ok := seen[key]; ok && v != fr.Value {
				t.Errorf("two final versions of one record at %s (%s): %q and %q", fr.Name, f.ID, v, fr.Value)
			}
			seen[key] = fr.Value
		}
	}
}

func findingOf(rep report.Report, id, subject string) (report.Finding, bool) {
	fs := rep.Findings()
	i := slices.IndexFunc(fs, func(f report.Finding) bool { return f.ID == id && f.Subject == subject })
	if i < 0 {
		return report.Finding{}, false
	}
	return fs[i], true
}

func keys(rep report.Report) []string {
	var out []string
	for _, f := range rep.Findings() {
		out = append(out, f.ID+" "+f.Subject)
	}
	return out
}
