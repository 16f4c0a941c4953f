package cmd

import (
	"encoding/json"
	"errors"
	"flag"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/preflight-mail/preflight/report"
)

// gateLine is the one line a failed gate writes on stderr.
var gateLine = regexp.MustCompile(`(?m)^gate: .+$`)

// cmdVerdict runs preflight with --format json and checks its verdicts
// and exit code, one row of the verdict table (verdict*.txtar):
//
//	verdict [-relay VERDICT] [-blocking ID,...] EXIT VERDICT ARGS...
//
// VERDICT is verdict.direct_delivery, -relay verdict.relay ("-" for
// none, the default), -blocking IDs that must block one of them. EXIT 1
// must come with exactly one "gate: " line on stderr, naming the
// blocking findings when a verdict is not_ready; EXIT 3 with no score
// and the checks that could not run. stdout and stderr stay for the
// script's next commands.
func cmdVerdict(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("verdict", flag.ContinueOnError)
	relay := fs.String("relay", "-", "verdict.relay, - for none")
	blocking := fs.String("blocking", "", "IDs that must block")
	if neg || fs.Parse(args) != nil || fs.NArg() < 3 {
		ts.Fatalf("usage: verdict [-relay VERDICT] [-blocking ID,...] EXIT VERDICT ARGS...")
	}
	wantCode, err := strconv.Atoi(fs.Arg(0))
	ts.Check(err)
	wantDirect := fs.Arg(1)
	err = ts.Exec("preflight", append(fs.Args()[2:], "--format", "json")...)
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("verdict: %v", err)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &r); err != nil {
		ts.Fatalf("verdict: no JSON report: %v", err)
	}
	gotRelay := r.Verdict.Relay
	if gotRelay == "" {
		gotRelay = "-"
	}
	blocked := append(slices.Clone(r.Verdict.Blocking), r.Verdict.RelayBlocking...)
	ts.Logf("verdict row: exit %d, direct %s %v, relay %s %v, incomplete %v", code, r.Verdict.DirectDelivery, r.Verdict.Blocking, gotRelay, r.Verdict.RelayBlocking, r.Incomplete)
	if code != wantCode || r.Verdict.DirectDelivery != wantDirect || gotRelay != *relay {
		ts.Fatalf("verdict: got exit %d, direct %s, relay %s; want exit %d, direct %s, relay %s", code, r.Verdict.DirectDelivery, gotRelay, wantCode, wantDirect, *relay)
	}
	for _, id := range strings.FieldsFunc(*blocking, func(r rune) bool { return r == ',' }) {
		if !slices.Contains(blocked, id) {
			ts.Fatalf("verdict: %s does not block (blocking %v)", id, blocked)
		}
	}
	gates := gateLine.FindAllString(ts.ReadFile("stderr"), -1)
	switch code {
	case report.ExitGateFailed:
		if len(gates) != 1 {
			ts.Fatalf("verdict: exit 1 with %d gate lines on stderr, want 1", len(gates))
		}
		for _, id := range blocked {
			if !strings.Contains(gates[0], id) {
				ts.Fatalf("verdict: %q does not name %s", gates[0], id)
			}
		}
	case report.ExitIncomplete:
		if r.Score != nil || r.Grade != nil || len(r.Incomplete) == 0 {
			ts.Fatalf("verdict: exit 3 with score %v, incomplete %v; want no score and the checks", r.Score, r.Incomplete)
		}
		fallthrough
	default:
		if len(gates) != 0 {
			ts.Fatalf("verdict: exit %d with a gate line %q", code, gates[0])
		}
	}
}
