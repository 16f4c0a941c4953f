package checks

import "github.com/preflight-mail/preflight/report"

// minorPenalty is the cost of a finding that is worth fixing but says
// little on its own about whether receivers take the mail.
var minorPenalty = report.Penalty{Fail: 10, Warn: 3}

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
