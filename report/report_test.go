package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testCatalog declares the IDs these tests use, with the project's
// weights (package checks declares the real catalogue).
var testCatalog, _ = NewCatalog([]Kind{
	{ID: "ip.not_public", Penalty: Penalty{Fail: 60}, Blocks: true},
	{ID: "ip.dynamic_ptr", Penalty: Penalty{Fail: 20}, Blocks: true},
	{ID: "ip.static_likely", Establishes: []Fact{Public, NotDynamic}},
	{ID: "rdns.no_ptr", Penalty: Penalty{Fail: 30}, Blocks: true},
	{ID: "rdns.fcrdns_ok", Establishes: []Fact{FCrDNS}},
	{ID: "rdns.helo_mismatch", Penalty: Penalty{Warn: 8}},
	{ID: "rbl.listed", Penalty: Penalty{Fail: 35}, Blocks: true},
	{ID: "rbl.clean", Establishes: []Fact{NotListed}},
	{ID: "spf.ip_softfail", Penalty: Penalty{Fail: 15}, Blocks: true},
	{ID: "spf.ip_pass", Establishes: []Fact{SPFPass}},
	{ID: "spf.permissive_all", Penalty: Penalty{Warn: 15}},
	{ID: "dkim.missing", Penalty: Penalty{Warn: 15}},
	{ID: "dmarc.policy_none", Penalty: Penalty{Warn: 5}},
	{ID: "send.accepted", Establishes: []Fact{Accepted}},
	{ID: "send.rejected", Penalty: Penalty{Fail: 35}, Blocks: true},
	{ID: "send.direct_failed", Penalty: Penalty{Fail: 25}, Blocks: true},
	{ID: "send.deferred", Penalty: Penalty{Warn: 5}},
	{ID: "send.no_starttls", Penalty: Penalty{Fail: 15, Warn: 8}, Blocks: true},
	{ID: "send.open_relay", Penalty: Penalty{Fail: 40}, Blocks: true},
})

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
			{ID: "ip.dynamic_ptr", Severity: Fail, Subject: "2001:db8::5", Message: "The PTR name of 2001:db8::5 looks dynamic: token \"dsl\".",
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

// sendFixture is a complete check with a test send on the auto path that
// fell back to a relay: every fact of direct delivery holds but the
// direct send, which failed twice; the relay accepted.
func sendFixture() Report {
	ip := "203.0.113.5"
	pass := func(id string) Finding {
		return Finding{ID: id, Severity: Pass, Subject: ip, Message: id + " holds for " + ip + "."}
	}
	return Build(Report{
		Tool:        Tool{Name: "preflight", Version: "v0.1.0-test"},
		Command:     "check",
		Target:      Target{Domain: "example.com", IPs: []string{ip}, HELO: "mail.example.com", SendTo: "user@example.net"},
		GeneratedAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		DurationMS:  1210,
	}, []CheckResult{
		{ID: "ip", Findings: []Finding{pass("ip.static_likely")}},
		{ID: "rdns", Findings: []Finding{pass("rdns.fcrdns_ok")}},
		{ID: "rbl", Findings: []Finding{pass("rbl.clean")}},
		{ID: "spf", Findings: []Finding{pass("spf.ip_pass")}},
		{ID: "dmarc", Findings: []Finding{{ID: "dmarc.policy_none", Severity: Warn, Subject: "example.com", Message: "The DMARC policy is p=none."}}},
		{ID: "send", Findings: []Finding{
			{ID: "send.direct_failed", Severity: Fail, Subject: "user@example.net", Path: PathDirect,
				Message: "Direct delivery to example.net failed on both MX hosts; the relay took the mail instead.",
				Fix:     "Read the replies below.",
				Attempts: []Attempt{
					{Path: PathDirect, Host: "mx1.example.net", Addr: "192.0.2.10:25", Step: "RCPT TO", Result: "rejected", Reply: "550 5.7.1 Service unavailable; client host blocked"},
					{Path: PathDirect, Host: "mx2.example.net", Addr: "192.0.2.11:25", Step: "connect", Result: "connect_failed", Reply: "dial tcp 192.0.2.11:25: connect: connection refused"},
				}},
			{ID: "send.accepted", Severity: Pass, Subject: "user@example.net", Path: PathRelay,
				Message:  "smtp.example.com:587 accepted the mail on the relay path.",
				Attempts: []Attempt{{Path: PathRelay, Host: "smtp.example.com:587", Step: "RCPT TO", Result: "accepted", Reply: "250 2.1.5 Ok"}},
				Evidence: map[string]any{"attempts": []testAttempt{{Path: PathRelay, Host: "smtp.example.com:587", Result: "accepted",
					TLS: map[string]any{"version": "TLS 1.3", "verified": true},
					Transcript: []testLine{{0, "S", "220 smtp.example.com ESMTP <ready>"}, {3, "C", "EHLO mail.example.com"},
						{5, "*", "TLS 1.3, TLS_AES_128_GCM_SHA256"}, {12, "C", "AUTH PLAIN <redacted>"}, {40, "S", "250 2.1.5 Ok"}}}}}},
		}},
	}, testCatalog)
}

// testAttempt and testLine have the JSON shape of the test send's
// evidence (delivery.Attempt, smtp.Line), which report cannot import.
type testAttempt struct {
	Path       string         `json:"path"`
	Host       string         `json:"host"`
	Result     string         `json:"result"`
	TLS        map[string]any `json:"tls"`
	Transcript []testLine     `json:"transcript"`
}

type testLine struct {
	MS   int64  `json:"ms"`
	Dir  string `json:"dir"`
	Text string `json:"text"`
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file   string
		format string
		opts   Options
		rep    func() Report
	}{
		{"report.json", "json", Options{}, fixture},
		{"report.txt", "text", Options{}, fixture},
		{"report-verbose.txt", "text", Options{Verbose: true}, fixture},
		{"report-color.txt", "text", Options{Color: true}, fixture},
		{"report-github.txt", "github", Options{}, fixture},
		{"report-send.json", "json", Options{}, sendFixture},
		{"report-send.txt", "text", Options{}, sendFixture},
		{"report-send-github.txt", "github", Options{}, sendFixture},
		{"report-verbose-80.txt", "text", Options{Verbose: true, Width: 80}, fixture},
		{"report-send-verbose-60.txt", "text", Options{Verbose: true, Width: 60}, sendFixture},
	} {
		t.Run(tc.file, func(t *testing.T) {
			w, err := NewWriter(tc.format, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := w.Write(&buf, tc.rep()); err != nil {
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
	if back.SchemaVersion != 2 || back.Checks[1].Findings[0].Severity != Fail || back.Checks[1].Status != Fail || back.Score != nil || back.Grade != nil {
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
		{"severity picks the weight", []Finding{{ID: "send.no_starttls", Severity: Warn}}, 92},
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
	const ip, ip6 = "203.0.113.5", "2001:db8::5"
	check := func(id string, fs ...Finding) CheckResult { return CheckResult{ID: id, Findings: fs} }
	on := func(id string, sev Severity, subject string) Finding {
		return Finding{ID: id, Severity: sev, Subject: subject}
	}
	sent := func(id string, sev Severity, path string) Finding {
		return Finding{ID: id, Severity: sev, Subject: "user@example.net", Path: path}
	}
	facts := func(subjects ...string) []CheckResult {
		var ipc, rdns, rbl, spf []Finding
		for _, s := range subjects {
			ipc = append(ipc, on("ip.static_likely", Pass, s))
			rdns = append(rdns, on("rdns.fcrdns_ok", Pass, s))
			rbl = append(rbl, on("rbl.clean", Pass, s))
			spf = append(spf, on("spf.ip_pass", Pass, s))
		}
		return []CheckResult{check("ip", ipc...), check("rdns", rdns...), check("rbl", rbl...), check("spf", spf...)}
	}
	with := func(base []CheckResult, extra ...CheckResult) []CheckResult {
		return append(slices.Clone(base), extra...)
	}
	all := []string{"ip", "rdns", "rbl", "spf"}
	tests := []struct {
		name           string
		ips            []string
		in             []CheckResult
		want           string
		wantBlocking   []string
		wantUnchecked  []string
		wantRelay      string
		wantIncomplete []string
	}{
		{"every fact for every IP", []string{ip, ip6}, facts(ip, ip6), Ready, nil, nil, "", nil},
		{"a warning does not block", []string{ip}, with(facts(ip), check("dkim", on("dkim.missing", Warn, "s1"))), Ready, nil, nil, "", nil},
		{"a fact not shown for the second IP", []string{ip, ip6}, facts(ip), Unknown, nil, all, "", all},
		{"no IP: nothing established", nil, facts(ip), Unknown, nil, all, "", nil},
		{"single check", []string{ip}, []CheckResult{check("rdns", on("rdns.fcrdns_ok", Pass, ip))}, Unknown, nil, []string{"ip", "rbl", "spf"}, "", nil},
		{"a finding at fail blocks, over unknown", []string{ip}, []CheckResult{check("rdns", on("rdns.no_ptr", Fail, ip))}, NotReady, []string{"rdns.no_ptr"}, []string{"ip", "rbl", "spf"}, "", nil},
		{"softfail is fail", []string{ip}, with(facts(ip)[:3], check("spf", on("spf.ip_softfail", Fail, ip))), NotReady, []string{"spf.ip_softfail"}, nil, "", nil},
		{"false for one IP, established for the other", []string{ip, ip6}, with(facts(ip, ip6)[:1], facts(ip)[1], facts(ip, ip6)[2], facts(ip, ip6)[3], check("rdns", on("rdns.no_ptr", Fail, ip6))),
			NotReady, []string{"rdns.no_ptr"}, nil, "", nil},
		{"an error beside a failure", []string{ip}, with(facts(ip)[:3], check("spf", on("spf.ip_softfail", Fail, ip), on("spf.temperror", Error, "helo.example"))), NotReady, []string{"spf.ip_softfail"}, nil, "", []string{"spf"}},
		{"an error about the IP", []string{ip}, with(facts(ip)[:3], check("spf", on("spf.ip_pass", Pass, ip), on("spf.temperror", Error, ip))), Unknown, nil, []string{"spf"}, "", []string{"spf"}},
		{"an error about a list covers every IP", []string{ip}, with(facts(ip), check("rbl", on("rbl.list_unusable", Error, "bl.example"))), Unknown, nil, []string{"rbl"}, "", []string{"rbl"}},
		{"an error outside the deciding checks", []string{ip}, with(facts(ip), check("dkim", on("dkim.dns_error", Error, "s1"))), Ready, nil, nil, "", []string{"dkim"}},
		{"direct send accepted", []string{ip}, with(facts(ip), check("send", sent("send.accepted", Pass, PathDirect))), Ready, nil, nil, "", nil},
		{"direct send rejected", []string{ip}, with(facts(ip), check("send", sent("send.rejected", Fail, PathDirect))), NotReady, []string{"send.rejected"}, nil, "", nil},
		{"direct send deferred: not established", []string{ip}, with(facts(ip), check("send", sent("send.deferred", Warn, PathDirect))), Unknown, nil, []string{"send"}, "", []string{"send"}},
		{"relay only: direct from the facts, relay ready", []string{ip}, with(facts(ip), check("send", sent("send.accepted", Pass, PathRelay))), Ready, nil, nil, Ready, nil},
		{"relay refused: the relay is not ready, direct is", []string{ip}, with(facts(ip), check("send", sent("send.rejected", Fail, PathRelay))), Ready, nil, nil, NotReady, nil},
		{"auto fell back", []string{ip}, with(facts(ip), check("send", sent("send.direct_failed", Fail, PathDirect), sent("send.accepted", Pass, PathRelay))), NotReady, []string{"send.direct_failed"}, nil, Ready, nil},
		{"relay deferred", nil, []CheckResult{check("send", sent("send.deferred", Warn, PathRelay))}, Unknown, nil, all, Unknown, []string{"send"}},
	}
	for _, tt := range tests {
		j := testCatalog.judge(tt.ips, tt.in)
		v := j.Verdict
		if v.DirectDelivery != tt.want || !slices.Equal(v.Blocking, append([]string{}, tt.wantBlocking...)) || !slices.Equal(v.Unchecked, tt.wantUnchecked) ||
			v.Relay != tt.wantRelay || !slices.Equal(j.incomplete, tt.wantIncomplete) {
			t.Errorf("%s: got %+v incomplete %v, want %s blocking %v unchecked %v relay %q incomplete %v",
				tt.name, v, j.incomplete, tt.want, tt.wantBlocking, tt.wantUnchecked, tt.wantRelay, tt.wantIncomplete)
		}
	}
}

// An incomplete run has no score: nothing checked is not 100/100.
func TestIncompleteHasNoScore(t *testing.T) {
	r := Build(Report{Target: Target{IPs: []string{"203.0.113.5"}}}, []CheckResult{
		{ID: "rdns", Findings: []Finding{{ID: "rdns.dns_error", Severity: Error, Subject: "203.0.113.5"}}},
		{ID: "spf", Findings: []Finding{{ID: "spf.temperror", Severity: Error, Subject: "example.com"}}},
	}, testCatalog)
	if r.Score != nil || r.Grade != nil || !slices.Equal(r.Incomplete, []string{"rdns", "spf"}) {
		t.Errorf("score %v grade %v incomplete %v", r.Score, r.Grade, r.Incomplete)
	}
	var buf bytes.Buffer
	TextWriter{}.Write(&buf, r)
	if want := "  Score     —  incomplete: 2 checks could not run (rdns, spf)\n"; !bytes.Contains(buf.Bytes(), []byte(want)) {
		t.Errorf("text:\n%s\nwant the line %q", buf.Bytes(), want)
	}
	buf.Reset()
	JSONWriter{}.Write(&buf, r)
	if !bytes.Contains(buf.Bytes(), []byte(`"score": null,`)) || !bytes.Contains(buf.Bytes(), []byte(`"grade": null,`)) {
		t.Errorf("json:\n%s", buf.Bytes())
	}
}

func TestGate(t *testing.T) {
	score := func(n int) *int { return &n }
	rep := func(s *int, v Verdict, sevs ...Severity) Report {
		var fs []Finding
		var incomplete []string
		for _, sev := range sevs {
			fs = append(fs, Finding{ID: "x.y", Severity: sev})
			if sev == Error {
				incomplete = []string{"x"}
			}
		}
		if v.DirectDelivery == "" {
			v.DirectDelivery = Ready
		}
		return Report{Score: s, Verdict: v, Incomplete: incomplete, Checks: []CheckResult{{ID: "x", Findings: fs}}}
	}
	notReady := Verdict{DirectDelivery: NotReady, Blocking: []string{"spf.ip_softfail"}}
	relayNotReady := Verdict{DirectDelivery: Ready, Relay: NotReady, RelayBlocking: []string{"send.auth_failed"}}
	tests := []struct {
		name    string
		gate    Gate
		rep     Report
		want    int
		reasons []string
	}{
		{"clean", Gate{FailOn: Fail}, rep(score(100), Verdict{}, Pass, Info), ExitOK, nil},
		{"not ready", Gate{FailOn: Fail}, rep(score(85), notReady, Fail), ExitGateFailed, []string{"verdict not_ready (spf.ip_softfail)"}},
		{"relay not ready", Gate{FailOn: Fail}, rep(score(85), relayNotReady, Fail), ExitGateFailed, []string{"relay verdict not_ready (send.auth_failed)"}},
		{"warn under fail-on fail", Gate{FailOn: Fail}, rep(score(95), Verdict{}, Warn), ExitOK, nil},
		{"warn under fail-on warn", Gate{FailOn: Warn}, rep(score(95), Verdict{}, Warn), ExitGateFailed, []string{"--fail-on warn: x.y at warn"}},
		{"error only", Gate{FailOn: Warn}, rep(nil, Verdict{DirectDelivery: Unknown}, Error), ExitIncomplete, []string{"incomplete: 1 check could not run (x)"}},
		{"not ready beats error", Gate{FailOn: Fail}, rep(nil, notReady, Error, Fail), ExitGateFailed, []string{"verdict not_ready (spf.ip_softfail)"}},
		{"min score", Gate{FailOn: Fail, MinScore: 96}, rep(score(95), Verdict{}, Warn), ExitGateFailed, []string{"score 95 < --min-score 96"}},
		{"min score met", Gate{FailOn: Fail, MinScore: 75}, rep(score(75), Verdict{}, Warn), ExitOK, nil},
		{"min score without a score: incomplete, not passed", Gate{FailOn: Fail, MinScore: 75}, rep(nil, Verdict{DirectDelivery: Unknown}, Error), ExitIncomplete, []string{"incomplete: 1 check could not run (x)"}},
		{"every reason", Gate{FailOn: Warn, MinScore: 90}, rep(score(80), notReady, Fail, Warn), ExitGateFailed,
			[]string{"verdict not_ready (spf.ip_softfail)", "--fail-on warn: x.y at warn", "score 80 < --min-score 90"}},
	}
	for _, tt := range tests {
		if got := tt.gate.Apply(tt.rep); got.Code != tt.want || !slices.Equal(got.Reasons, tt.reasons) {
			t.Errorf("%s: exit %d %q, want %d %q", tt.name, got.Code, got.Reasons, tt.want, tt.reasons)
		}
	}
}

func TestTopFixesOrder(t *testing.T) {
	r := Build(Report{}, []CheckResult{{ID: "x", Findings: []Finding{
		{ID: "rdns.helo_mismatch", Severity: Warn},
		{ID: "dkim.missing", Severity: Warn},
		{ID: "ip.dynamic_ptr", Severity: Fail},
		{ID: "rdns.no_ptr", Severity: Fail},
		{ID: "rdns.fcrdns_ok", Severity: Pass},
	}}}, testCatalog)
	var got []string
	for _, f := range TopFixes(r) {
		got = append(got, f.ID)
	}
	// Blocking (fail) first, then by weight.
	want := []string{"rdns.no_ptr", "ip.dynamic_ptr", "dkim.missing", "rdns.helo_mismatch"}
	if !slices.Equal(got, want) {
		t.Errorf("TopFixes = %v, want %v", got, want)
	}
}

func TestCompare(t *testing.T) {
	mk := func(score int, fs ...Finding) Report {
		r := Report{Score: &score, Checks: []CheckResult{{ID: "x", Findings: fs}}}
		if slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Error }) {
			r.Score, r.Incomplete = nil, []string{"x"}
		}
		return r
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
		{"warning below fail-on: listed, not failing", mk(100), mk(95, warn), Fail, 10, 1, 0, ExitOK},
		{"warning at fail-on", mk(100), mk(95, warn), Warn, 10, 1, 0, ExitGateFailed},
		{"drop beyond max", mk(100), mk(95, warn), Fail, 0, 1, 0, ExitGateFailed},
		{"a warning that became a failure", mk(85, Finding{ID: "spf.ip_softfail", Severity: Warn}), mk(85, Finding{ID: "spf.ip_softfail", Severity: Fail}), Fail, 0, 1, 1, ExitGateFailed},
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
	if _, err := NewCatalog([]Kind{{ID: "a.b"}, {ID: "a.b"}}); err == nil {
		t.Error("NewCatalog with a.b twice: no error")
	}
	if _, err := NewCatalog([]Kind{{ID: "a.b", Penalty: Penalty{Fail: 5}}}); err == nil {
		t.Error("NewCatalog with a fail penalty on a kind that does not block: no error")
	}
	if _, err := NewCatalog([]Kind{{ID: "a.b", Establishes: []Fact{SPFPass}}, {ID: "c.d", Establishes: []Fact{SPFPass}}}); err == nil {
		t.Error("NewCatalog with a fact of two checks: no error")
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

// TestWrap: at a width, every line of the text report fits (issue #16),
// and wrapping loses no word; evidence is never JSON. Without a width,
// nothing wraps.
func TestWrap(t *testing.T) {
	for _, rep := range []func() Report{fixture, sendFixture} {
		var flat bytes.Buffer
		TextWriter{Options{Verbose: true}}.Write(&flat, rep())
		if bytes.Contains(flat.Bytes(), []byte(`{"`)) || bytes.Contains(flat.Bytes(), []byte(`\u00`)) {
			t.Errorf("JSON in the verbose text:\n%s", flat.Bytes())
		}
		for _, width := range []int{100, 80, 60, 40} {
			var buf bytes.Buffer
			TextWriter{Options{Verbose: true, Width: width, Color: true}}.Write(&buf, rep())
			for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
				if n := visibleLen(l); n > width {
					t.Errorf("width %d: a line of %d octets: %q", width, n, l)
				}
			}
			var plain bytes.Buffer
			TextWriter{Options{Verbose: true, Width: width}}.Write(&plain, rep())
			if got, want := strings.Fields(plain.String()), strings.Fields(flat.String()); len(got) < len(want) {
				t.Errorf("width %d: %d words, %d unwrapped", width, len(got), len(want))
			}
		}
	}
}

func TestWrapText(t *testing.T) {
	for _, tt := range []struct {
		text        string
		first, rest int
		want        []string
	}{
		{"a b c", 80, 80, []string{"a b c"}},
		{"✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓", 20, 20, []string{"✓ ✓ ✓ ✓ ✓", "✓ ✓ ✓"}}, // octets: ✓ is 3
		{"   with x", 80, 80, []string{"   with x"}},
		{"one  two three four five six seven eight nine ten eleven twelve", 24, 22,
			[]string{"one  two three four five", "six seven eight nine", "ten eleven twelve"}},
		{strings.Repeat("x", 50), 20, 20, []string{strings.Repeat("x", 20), strings.Repeat("x", 20), strings.Repeat("x", 10)}},
	} {
		if got := wrapText(tt.text, tt.first, tt.rest, true); !slices.Equal(got, tt.want) {
			t.Errorf("wrapText(%q, %d, %d) = %q, want %q", tt.text, tt.first, tt.rest, got, tt.want)
		}
	}
}

// A message's report has no Delivery line (ip, rdns and rbl do not run
// for it), and a fix repeated by several findings is listed once.
func TestTextMessageReport(t *testing.T) {
	same := Finding{ID: "dkim.body_hash_mismatch", Severity: Warn, Subject: "s/news.example", Message: "It fails.", Fix: "Sign after footers."}
	r := Build(Report{Command: "message", Target: Target{Domain: "news.example"}}, []CheckResult{
		{ID: "dkim", Findings: []Finding{same, same, same}},
	}, testCatalog)
	r.Verdict.Message = MessagePass
	var buf bytes.Buffer
	TextWriter{}.Write(&buf, r)
	fix, _, _ := strings.Cut(buf.String(), "Checks")
	if strings.Contains(buf.String(), "Delivery") || strings.Count(fix, "dkim.body_hash_mismatch") != 1 || !strings.Contains(fix, "and 2 more findings with this fix below") {
		t.Errorf("text:\n%s", buf.String())
	}
}
