package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Penalty is what a finding costs the score, by the severity it was
// found with. README explains the weights.
type Penalty struct{ Fail, Warn int }

// Kind declares a finding ID once: what it costs, whether it blocks a
// verdict, and which required facts it establishes. Checks declare their
// kinds next to the code that emits them (package checks); the score,
// the verdict and the "fix first" order read them from the Catalog,
// never from a list kept elsewhere.
//
// One rule links severity and verdict (DESIGN §8): a finding is found at
// fail exactly when it makes a required fact false, and then it blocks.
// Blocks declares that a kind is found at fail (on some path; it may be
// found at a lower severity on others, where it blocks nothing); a kind
// that does not block is never found at fail. The tests of package
// checks and cmd hold the code to this.
type Kind struct {
	ID      string
	Penalty Penalty
	// Blocks: found at fail, the finding makes a required fact false.
	Blocks bool
	// Establishes are the required facts a finding of this kind, found
	// at pass or info, shows to hold for its subject: an IP for the
	// per-IP facts, the run for the test send's.
	Establishes []Fact
}

// Catalog is every declared finding kind, and the required facts they
// establish.
type Catalog struct {
	kinds map[string]Kind
	// facts are the required facts, each with the check that
	// establishes it, in declaration order.
	facts []factOwner
}

type factOwner struct {
	fact  Fact
	check string
}

// NewCatalog builds a catalogue; an ID declared twice is an error (a
// programming error: each ID is declared exactly once), and so is a fact
// established by the kinds of two checks or a kind found at fail that
// costs nothing.
func NewCatalog(kinds []Kind) (Catalog, error) {
	c := Catalog{kinds: make(map[string]Kind, len(kinds))}
	for _, k := range kinds {
		if _, dup := c.kinds[k.ID]; dup {
			return Catalog{}, fmt.Errorf("finding %s is declared twice", k.ID)
		}
		if !k.Blocks && k.Penalty.Fail != 0 {
			return Catalog{}, fmt.Errorf("finding %s has a fail penalty but does not block: only blocking findings are found at fail", k.ID)
		}
		c.kinds[k.ID] = k
		check, _, _ := strings.Cut(k.ID, ".")
		for _, f := range k.Establishes {
			i := slices.IndexFunc(c.facts, func(o factOwner) bool { return o.fact == f })
			switch {
			case i < 0:
				c.facts = append(c.facts, factOwner{f, check})
			case c.facts[i].check != check:
				return Catalog{}, fmt.Errorf("fact %s is established by two checks, %s and %s", f, c.facts[i].check, check)
			}
		}
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

// Facts returns the required facts, each with the check whose kinds
// establish it.
func (c Catalog) Facts() map[Fact]string {
	out := make(map[Fact]string, len(c.facts))
	for _, o := range c.facts {
		out[o.fact] = o.check
	}
	return out
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

// Score is 100 minus the penalty of each distinct finding ID (the
// highest of its instances), never below 0: an ID costs once however
// many IPs, names or lists it was found for, since the score grades the
// setup, not the number of addresses. Build gives no score to an
// incomplete run.
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

// TopFixes returns the findings worth fixing, most impact first: the
// blocking ones (found at fail), then by penalty. Passing, informational
// and error findings are left out.
func TopFixes(r Report) []Finding {
	c := r.catalog
	var out []Finding
	for _, f := range r.Findings() {
		if f.Severity == Fail || f.Severity == Warn {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		if x := cmp.Compare(b.Severity, a.Severity); x != 0 {
			return x
		}
		return cmp.Compare(c.penalty(b), c.penalty(a))
	})
	return out
}
