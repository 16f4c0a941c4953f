package report

import (
	"cmp"
	"fmt"
	"slices"
)

// Penalty is what a finding costs the score, by the severity it was
// found with. README explains the weights.
type Penalty struct{ Fail, Warn int }

// Kind declares a finding ID once: what it costs and whether it stands
// in the way of direct delivery. Checks declare their kinds next to the
// code that emits them (package checks); the score, the verdict and the
// "fix first" order read them from the Catalog, never from a list kept
// elsewhere.
type Kind struct {
	ID      string
	Penalty Penalty
	// Blocks: found at warn or fail, the finding makes direct delivery
	// not_ready (DESIGN §8).
	Blocks bool
}

// Catalog is every declared finding kind, and the checks the
// direct-delivery verdict needs.
type Catalog struct {
	kinds map[string]Kind
	// deciding checks must have run without error for a ready verdict;
	// decidingWhenRun ones only when they ran (the test send).
	deciding, decidingWhenRun []string
}

// NewCatalog builds a catalogue; an ID declared twice is an error (a
// programming error: each ID is declared exactly once).
func NewCatalog(kinds []Kind, deciding, decidingWhenRun []string) (Catalog, error) {
	c := Catalog{kinds: make(map[string]Kind, len(kinds)), deciding: deciding, decidingWhenRun: decidingWhenRun}
	for _, k := range kinds {
		if _, dup := c.kinds[k.ID]; dup {
			return Catalog{}, fmt.Errorf("finding %s is declared twice", k.ID)
		}
		c.kinds[k.ID] = k
	}
	return c, nil
}

// Kind returns the declaration of a finding ID.
func (c Catalog) Kind(id string) (Kind, bool) {
	k, ok := c.kinds[id]
	return k, ok
}

// IDs returns every declared ID, sorted.
func (c Catalog) IDs() []string {
	ids := make([]string, 0, len(c.kinds))
	for id := range c.kinds {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// penalty is what one finding costs. Pass, info and error cost nothing:
// an error means unknown, and the verdict and exit code carry that.
func (c Catalog) penalty(f Finding) int {
	p := c.kinds[f.ID].Penalty
	switch f.Severity {
	case Fail:
		return p.Fail
	case Warn:
		return p.Warn
	}
	return 0
}

// Blocks reports whether a finding stands in the way of direct delivery.
func (c Catalog) Blocks(f Finding) bool {
	return c.kinds[f.ID].Blocks && (f.Severity == Fail || f.Severity == Warn)
}

// Score is 100 minus the penalty of each distinct finding ID (the
// highest of its instances), never below 0: an ID costs once however
// many IPs, names or lists it was found for, since the score grades the
// setup, not the number of addresses.
func (c Catalog) Score(fs []Finding) int {
	worst := map[string]int{}
	for _, f := range fs {
		worst[f.ID] = max(worst[f.ID], c.penalty(f))
	}
	score := 100
	for _, p := range worst {
		score -= p
	}
	return max(score, 0)
}

// Grade maps a score to a letter: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else F.
func Grade(score int) string {
	switch {
	case score >= 90:
		return "A"
	case score >= 80:
		return "B"
	case score >= 70:
		return "C"
	case score >= 60:
		return "D"
	}
	return "F"
}

// Judge decides the direct-delivery verdict (DESIGN §8): not_ready when
// any finding blocks; otherwise unknown when a deciding check did not
// run or ended in error; otherwise ready.
func (c Catalog) Judge(checks []CheckResult) Verdict {
	v := Verdict{Blocking: []string{}}
	ran := map[string]CheckResult{}
	for _, cr := range checks {
		ran[cr.ID] = cr
		for _, f := range cr.Findings {
			if c.Blocks(f) && !slices.Contains(v.Blocking, f.ID) {
				v.Blocking = append(v.Blocking, f.ID)
			}
		}
	}
	needed := slices.Clone(c.deciding)
	for _, id := range c.decidingWhenRun {
		if _, ok := ran[id]; ok {
			needed = append(needed, id)
		}
	}
	for _, id := range needed {
		cr, ok := ran[id]
		if !ok || slices.ContainsFunc(cr.Findings, func(f Finding) bool { return f.Severity == Error }) {
			v.Unchecked = append(v.Unchecked, id)
		}
	}
	switch {
	case len(v.Blocking) > 0:
		v.DirectDelivery = NotReady
	case len(v.Unchecked) > 0:
		v.DirectDelivery = Unknown
	default:
		v.DirectDelivery = Ready
	}
	return v
}

// TopFixes returns the findings worth fixing, most impact first: those
// blocking direct delivery, then by penalty, then failures before
// warnings. Passing, informational and error findings are left out.
func TopFixes(r Report) []Finding {
	c := r.catalog
	var out []Finding
	for _, f := range r.Findings() {
		if f.Severity == Fail || f.Severity == Warn {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		if x := cmp.Compare(boolInt(c.Blocks(b)), boolInt(c.Blocks(a))); x != 0 {
			return x
		}
		if x := cmp.Compare(c.penalty(b), c.penalty(a)); x != 0 {
			return x
		}
		return cmp.Compare(b.Severity, a.Severity)
	})
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
