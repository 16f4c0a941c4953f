package checks

import (
	"slices"

	"github.com/preflight-mail/preflight/report"
)

// minorPenalty is the cost of a finding that is worth fixing but says
// little on its own about whether receivers take the mail.
var minorPenalty = report.Penalty{Warn: 3}

// commonKinds are the findings every check can end in: a lookup with no
// usable answer, no result by the deadline, a crash.
var commonKinds = []string{"dns_error", "unfinished", "internal_error"}

// CommonKinds returns the slugs of the findings every check declares
// ("dns_error" for "<check>.dns_error").
func CommonKinds() []string { return slices.Clone(commonKinds) }

// Catalog is the finding catalogue: every check's declared kinds plus
// the common ones. The required facts of the verdict come with the kinds
// that establish them (report.Kind.Establishes), so the checks the
// verdict needs are those that declare such kinds. It panics on an ID
// declared twice (a test catches that before a release).
func Catalog() report.Catalog {
	var kinds []report.Kind
	for _, c := range All {
		kinds = append(kinds, c.Kinds...)
		for _, k := range commonKinds {
			kinds = append(kinds, report.Kind{ID: c.ID + "." + k})
		}
	}
	cat, err := report.NewCatalog(kinds)
	if err != nil {
		panic(err)
	}
	return cat
}
