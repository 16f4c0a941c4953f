package checks

import "github.com/preflight-mail/preflight/report"

// minorPenalty is the cost of a finding that is worth fixing but says
// little on its own about whether receivers take the mail.
var minorPenalty = report.Penalty{Fail: 10, Warn: 3}

// spfKinds are the spf check's findings.
var spfKinds = []report.Kind{
	{ID: "spf.missing", Penalty: report.Penalty{Fail: 25}, Blocks: true},
	{ID: "spf.multiple_records", Penalty: report.Penalty{Fail: 25}, Blocks: true},
	{ID: "spf.syntax_error", Penalty: report.Penalty{Fail: 20}, Blocks: true},
	{ID: "spf.lookup_limit", Penalty: report.Penalty{Fail: 20}, Blocks: true},
	{ID: "spf.void_lookup_limit", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	{ID: "spf.permissive_all", Penalty: report.Penalty{Fail: 20, Warn: 5}},
	{ID: "spf.ptr_mechanism", Penalty: report.Penalty{Warn: 3}},
	{ID: "spf.ip_fail", Penalty: report.Penalty{Fail: 30}, Blocks: true},
	{ID: "spf.ip_softfail", Penalty: report.Penalty{Warn: 15}, Blocks: true},
	{ID: "spf.ip_neutral", Penalty: report.Penalty{Warn: 10}, Blocks: true},
	{ID: "spf.ip_permerror", Penalty: minorPenalty},
	{ID: "spf.ip_none", Penalty: minorPenalty},
	{ID: "spf.no_all", Penalty: minorPenalty},
	{ID: "spf.include_without_spf", Penalty: minorPenalty},
	{ID: "spf.loop", Penalty: minorPenalty},
	{ID: "spf.record_too_large", Penalty: minorPenalty},
	{ID: "spf.helo_not_pass", Penalty: minorPenalty},
	{ID: "spf.ip_pass"},
	{ID: "spf.lookups_ok"},
	{ID: "spf.helo_pass"},
	{ID: "spf.helo_none"},
	{ID: "spf.temperror"},
}

// sendKinds are the send check's findings.
var sendKinds = []report.Kind{
	{ID: "send.rejected", Penalty: report.Penalty{Fail: 35}, Blocks: true},
	{ID: "send.connect_failed", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	{ID: "send.port25_blocked", Penalty: report.Penalty{Fail: 35}, Blocks: true},
	{ID: "send.no_starttls", Penalty: report.Penalty{Fail: 15, Warn: 8}},
	{ID: "send.tls_unverified", Penalty: report.Penalty{Warn: 3}},
	{ID: "send.deferred", Penalty: report.Penalty{Warn: 5}},
	{ID: "send.auth_failed", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	{ID: "send.open_relay", Penalty: report.Penalty{Fail: 40}},
	{ID: "send.accepted"},
	{ID: "send.tls_ok"},
	{ID: "send.relay_refused"},
}

// commonKinds are the findings every check can end in: a lookup with no
// usable answer, no result by the deadline, a crash.
var commonKinds = []string{"dns_error", "unfinished", "internal_error"}

// Catalog is the finding catalogue: every check's declared kinds plus
// the common ones, and the checks the direct-delivery verdict needs. It
// panics on an ID declared twice (a test catches that before a release).
func Catalog() report.Catalog {
	var kinds []report.Kind
	var deciding, whenRun []string
	for _, c := range All {
		kinds = append(kinds, c.Kinds...)
		for _, k := range commonKinds {
			kinds = append(kinds, report.Kind{ID: c.ID + "." + k})
		}
		switch c.Decides {
		case DecidesAlways:
			deciding = append(deciding, c.ID)
		case DecidesWhenRun:
			whenRun = append(whenRun, c.ID)
		}
	}
	cat, err := report.NewCatalog(kinds, deciding, whenRun)
	if err != nil {
		panic(err)
	}
	return cat
}
