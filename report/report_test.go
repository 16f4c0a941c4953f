package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testCatalog declares the IDs these tests use, with the project's
// weights (package checks declares the real catalogue).
var testCatalog, _ = NewCatalog([]Kind{
	{ID: "ip.dynamic_ptr", Penalty: Penalty{Warn: 20}, Blocks: true},
	{ID: "rdns.no_ptr", Penalty: Penalty{Fail: 30}, Blocks: true},
	{ID: "rdns.helo_mismatch", Penalty: Penalty{Warn: 8}},
	{ID: "dkim.missing", Penalty: Penalty{Fail: 15}},
	{ID: "dmarc.policy_none", Penalty: Penalty{Warn: 5}},
	{ID: "spf.permissive_all", Penalty: Penalty{Fail: 20, Warn: 5}},
	{ID: "ip.not_public", Penalty: Penalty{Fail: 60}},
	{ID: "rbl.listed", Penalty: Penalty{Fail: 35}},
	{ID: "send.open_relay", Penalty: Penalty{Fail: 40}},
}, []string{"ip", "rdns", "rbl", "spf"}, []string{"send"})

// fixture is one report with every severity, a fix with a record, and
// evidence, so the golden files show every part of each format.
func fixture() Report {
	return Build(Report{
		Tool:        Tool{Name: "preflight", Version: "v0.1.0-test"},
		Command:     "rdns",
		Target:      Target{IPs: []string{"203.0.113.5", "2001:db8::5"}, HELO: "mail.example.com"},
		GeneratedAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		DurationMS:  412,
		Resolver:    &Resolver{Zones: []string{"testdata/demo/example.zone"}, Offline: true, Queries: 0},
	}, []CheckResult{
		{ID: "ip", DurationMS: 3, DNSQueries: 1, Findings: []Finding{
			{ID: "ip.static_likely", Severity: Pass, Subject: "203.0.113.5", Message: "203.0.113.5's PTR name mail.example.com does not look dynamic."},
			{ID: "ip.dynamic_ptr", Severity: Warn, Subject: "2001:db8::5", Message: "The PTR name of 2001:db8::5 looks dynamic: token \"dsl\".",
				Fix:      "Ask the provider for a static address with a PTR name of your own.",
				Evidence: map[string]any{"ptr": []string{"dsl-5.pool.example.net"}, "reasons": []string{"token \"dsl\"", "token \"pool\""}}},
		}},
		{ID: "rdns", DurationMS: 12, DNSQueries: 3, Findings: []Finding{
			{ID: "rdns.fcrdns_ok", Severity: Pass, Subject: "203.0.113.5", Message: "203.0.113.5 → mail.example.com → 203.0.113.5."},
			{ID: "rdns.no_ptr", Severity: Fail, Subject: "2001:db8::5", Message: "2001:db8::5 has no PTR record.",
				Fix: "Ask whoever runs 2001:db8::5 to set its PTR record, and give the name an address:",
				FixRecords: []FixRecord{
					{Action: FixAdd, Name: "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", Type: "PTR", Value: "mail.example.com"},
					{Action: FixAdd, Name: "mail.example.com", Type: "AAAA", Value: "2001:db8::5"},
				},
				Evidence: map[string]any{"query": "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"}},
			{ID: "rdns.dns_error", Severity: Error, Subject: "mail.example.com", Message: "Could not look up mail.example.com: timeout."},
			{ID: "rdns.helo_not_ptr", Severity: Info, Subject: "203.0.113.5", Message: "HELO name differs from the PTR name."},
		}},
	}, testCatalog)
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file   string
		format string
		opts   Options
	}{
		{"report.json", "json", Options{}},
		{"report.txt", "text", Options{}},
		{"report-verbose.txt", "text", Options{Verbose: true}},
		{"report-color.txt", "text", Options{Color: true}},
		{"report-github.txt", "github", Options{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			w, err := NewWriter(tc.format, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := w.Write(&buf, fixture()); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./report -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from golden file (go test ./report -update to accept):\n--- got\n%s\n--- want\n%s", tc.file, buf.Bytes(), want)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	JSONWriter{}.Write(&buf, fixture())
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.SchemaVersion != 1 || back.Checks[1].Findings[0].Severity != Fail || back.Checks[1].Status != Fail {
		t.Errorf("round trip lost data: %+v", back)
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := NewWriter("xml", Options{}); err == nil {
		t.Error("xml: no error")
	}
}

func TestWorst(t *testing.T) {
	f := func(ss ...Severity) []Finding {
		var out []Finding
		for _, s := range ss {
			out = append(out, Finding{Severity: s})
		}
		return out
	}
	tests := []struct {
		in   []Finding
		want Severity
	}{
		{nil, Pass},
		{f(Pass, Info), Info},
		{f(Warn, Pass), Warn},
		{f(Warn, Error), Error},
		{f(Error, Fail), Fail},
	}
	for _, tt := range tests {
		if got := Worst(tt.in); got != tt.want {
			t.Errorf("Worst(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		name string
		in   []Finding
		want int
	}{
		{"nothing", nil, 100},
		{"passes and info", []Finding{{ID: "rdns.fcrdns_ok", Severity: Pass}, {ID: "x.y", Severity: Info}}, 100},
		{"one fail", []Finding{{ID: "rdns.no_ptr", Severity: Fail}}, 70},
		{"same id twice counts once", []Finding{{ID: "rdns.no_ptr", Severity: Fail}, {ID: "rdns.no_ptr", Severity: Fail, Subject: "b"}}, 70},
		{"severity picks the weight", []Finding{{ID: "spf.permissive_all", Severity: Warn}}, 95},
		{"errors cost nothing", []Finding{{ID: "rdns.dns_error", Severity: Error}}, 100},
		{"undeclared id costs nothing (a test in checks forbids them)", []Finding{{ID: "new.thing", Severity: Fail}}, 100},
		{"floor at 0", []Finding{{ID: "ip.not_public", Severity: Fail}, {ID: "rbl.listed", Severity: Fail}, {ID: "send.open_relay", Severity: Fail}}, 0},
	}
	for _, tt := range tests {
		if got := testCatalog.Score(tt.in); got != tt.want {
			t.Errorf("%s: Score = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestGrade(t *testing.T) {
	for score, want := range map[int]string{100: "A", 90: "A", 89: "B", 80: "B", 75: "C", 60: "D", 59: "F", 0: "F"} {
		if got := Grade(score); got != want {
			t.Errorf("Grade(%d) = %s, want %s", score, got, want)
		}
	}
}

func TestJudge(t *testing.T) {
	check := func(id string, fs ...Finding) CheckResult { return CheckResult{ID: id, Findings: fs} }
	pass := func(id string) Finding { return Finding{ID: id, Severity: Pass} }
	all := func(extra ...CheckResult) []CheckResult {
		base := []CheckResult{
			check("ip", pass("ip.static_likely")),
			check("rdns", pass("rdns.fcrdns_ok")),
			check("rbl", pass("rbl.clean")),
			check("spf", pass("spf.ip_pass")),
		}
		return append(base, extra...)
	}
	tests := []struct {
		name          string
		in            []CheckResult
		want          string
		wantBlocking  []string
		wantUnchecked []string
	}{
		{"all good", all(check("dkim", Finding{ID: "dkim.missing", Severity: Fail})), Ready, []string{}, nil},
		{"single check", []CheckResult{check("rdns", pass("rdns.fcrdns_ok"))}, Unknown, []string{}, []string{"ip", "rbl", "spf"}},
		{"blocker wins over unchecked", []CheckResult{check("rdns", Finding{ID: "rdns.no_ptr", Severity: Fail})}, NotReady, []string{"rdns.no_ptr"}, []string{"ip", "rbl", "spf"}},
		{"error in deciding check", all(check("send", Finding{ID: "send.dns_error", Severity: Error})), Unknown, []string{}, []string{"send"}},
		{"warn that blocks", all(check("dmarc"), check("x", Finding{ID: "ip.dynamic_ptr", Severity: Warn})), NotReady, []string{"ip.dynamic_ptr"}, nil},
		{"non-blocking warn", all(check("y", Finding{ID: "rdns.helo_mismatch", Severity: Warn})), Ready, []string{}, nil},
	}
	for _, tt := range tests {
		v := testCatalog.Judge(tt.in)
		if v.DirectDelivery != tt.want || !slices.Equal(v.Blocking, tt.wantBlocking) || !slices.Equal(v.Unchecked, tt.wantUnchecked) {
			t.Errorf("%s: got %+v, want %s blocking %v unchecked %v", tt.name, v, tt.want, tt.wantBlocking, tt.wantUnchecked)
		}
	}
}

func TestGate(t *testing.T) {
	rep := func(score int, sevs ...Severity) Report {
		var fs []Finding
		for _, s := range sevs {
			fs = append(fs, Finding{ID: "x.y", Severity: s})
		}
		return Report{Score: score, Checks: []CheckResult{{ID: "x", Findings: fs}}}
	}
	tests := []struct {
		name string
		gate Gate
		rep  Report
		want int
	}{
		{"clean", Gate{FailOn: Fail}, rep(100, Pass, Info), ExitOK},
		{"fail", Gate{FailOn: Fail}, rep(70, Fail), ExitGateFailed},
		{"warn under fail-on fail", Gate{FailOn: Fail}, rep(95, Warn), ExitOK},
		{"warn under fail-on warn", Gate{FailOn: Warn}, rep(95, Warn), ExitGateFailed},
		{"error only", Gate{FailOn: Warn}, rep(100, Error), ExitIncomplete},
		{"fail beats error", Gate{FailOn: Fail}, rep(70, Error, Fail), ExitGateFailed},
		{"min score", Gate{FailOn: Fail, MinScore: 80}, rep(75, Warn), ExitGateFailed},
		{"min score met", Gate{FailOn: Fail, MinScore: 75}, rep(75, Warn), ExitOK},
	}
	for _, tt := range tests {
		if got := tt.gate.Apply(tt.rep); got.Code != tt.want {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, got.Code, got.Reasons, tt.want)
		}
	}
}

func TestTopFixesOrder(t *testing.T) {
	r := Build(Report{}, []CheckResult{{ID: "x", Findings: []Finding{
		{ID: "rdns.helo_mismatch", Severity: Warn},
		{ID: "dkim.missing", Severity: Fail},
		{ID: "rdns.no_ptr", Severity: Fail},
		{ID: "ip.dynamic_ptr", Severity: Warn},
		{ID: "rdns.fcrdns_ok", Severity: Pass},
	}}}, testCatalog)
	var got []string
	for _, f := range TopFixes(r) {
		got = append(got, f.ID)
	}
	want := []string{"rdns.no_ptr", "ip.dynamic_ptr", "dkim.missing", "rdns.helo_mismatch"}
	if !slices.Equal(got, want) {
		t.Errorf("TopFixes = %v, want %v", got, want)
	}
}

func TestCompare(t *testing.T) {
	mk := func(score int, fs ...Finding) Report {
		return Report{Score: score, Checks: []CheckResult{{ID: "x", Findings: fs}}}
	}
	noPTR := Finding{ID: "rdns.no_ptr", Severity: Fail, Subject: "203.0.113.5"}
	noPTR6 := Finding{ID: "rdns.no_ptr", Severity: Fail, Subject: "2001:db8::5"}
	warn := Finding{ID: "dmarc.policy_none", Severity: Warn}
	tests := []struct {
		name           string
		before, after  Report
		failOn         Severity
		maxDrop        int
		wantNew, wantR int
		wantCode       int
	}{
		{"same failure", mk(70, noPTR), mk(70, noPTR), Fail, 0, 0, 0, ExitOK},
		{"new subject", mk(70, noPTR), mk(70, noPTR, noPTR6), Fail, 0, 1, 0, ExitGateFailed},
		{"resolved", mk(70, noPTR), mk(100), Fail, 0, 0, 1, ExitOK},
		{"warning below fail-on", mk(100), mk(95, warn), Fail, 10, 0, 0, ExitOK},
		{"warning at fail-on", mk(100), mk(95, warn), Warn, 10, 1, 0, ExitGateFailed},
		{"drop beyond max", mk(100), mk(95, warn), Fail, 0, 0, 0, ExitGateFailed},
		{"errors only", mk(100), mk(100, Finding{ID: "x.dns_error", Severity: Error}), Fail, 0, 0, 0, ExitIncomplete},
	}
	for _, tt := range tests {
		d := Compare(tt.before, tt.after, tt.failOn)
		if len(d.New) != tt.wantNew || len(d.Resolved) != tt.wantR {
			t.Errorf("%s: %d new, %d resolved; want %d, %d", tt.name, len(d.New), len(d.Resolved), tt.wantNew, tt.wantR)
		}
		if got := d.Gate(tt.after, tt.maxDrop).Code; got != tt.wantCode {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.wantCode)
		}
	}
}

func TestCatalogRefusesTwins(t *testing.T) {
	if _, err := NewCatalog([]Kind{{ID: "a.b"}, {ID: "a.b"}}, nil, nil); err == nil {
		t.Error("NewCatalog with a.b twice: no error")
	}
}

func TestSeverityOrder(t *testing.T) {
	order := []Severity{Pass, Info, Warn, Error, Fail}
	if !slices.IsSorted(order) {
		t.Errorf("severities out of order: %v", order)
	}
	if Error.Judged(Warn) || !Fail.Judged(Warn) || Warn.Judged(Fail) {
		t.Error("Judged: an error is never a judgement; fail is at least warn; warn is not at least fail")
	}
}
