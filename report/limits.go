package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"
)

// Bounds on what a report holds. Findings quote DNS and SMTP data, and
// one hostile answer made a 121 KB message and a 1.8 MB report (issue
// #13); a 16 KB SPF record of bad terms, 55 MB. Build applies them after
// judging, so every finding counts for the score, the verdict and the
// gate, and what it cuts says how much: "… N more octets", "… N more",
// and omitted_findings.
const (
	// MaxMessage bounds a finding's message, in octets.
	MaxMessage = 1 << 10
	// MaxFix bounds a finding's fix: room for a record to publish (an SPF
	// record should stay under 450 octets, a DKIM record with a 4096-bit
	// key is about 800).
	MaxFix = 2 << 10
	// MaxSubject bounds a finding's subject: a DNS name has at most 253.
	MaxSubject = 256
	// MaxEvidence bounds a finding's evidence (its text, roughly its
	// JSON): a record or two and an SMTP transcript of a dozen attempts.
	MaxEvidence = 16 << 10
	// MaxReportEvidence bounds the evidence of a whole report.
	MaxReportEvidence = 256 << 10
	// MaxFindings bounds the findings shown per check, worst first; the
	// others are counted in the check's omitted_findings.
	MaxFindings = 100
	// MaxReportFixRecords bounds the fix records of a whole report, in
	// octets of record data. Records are never cut (a cut record pasted
	// is a broken one): a finding past the bound, or whose records an
	// earlier finding already shows, says so instead.
	MaxReportFixRecords = 128 << 10

	// maxEvidenceString and maxEvidenceItems bound one string and one
	// list in evidence that is over MaxEvidence.
	maxEvidenceString = 2 << 10
	maxEvidenceItems  = 64
)

// limit cuts the results' findings and their texts to the bounds above.
func limit(results []CheckResult) {
	evidence := MaxReportEvidence
	fixes := fixBudget{left: MaxReportFixRecords, shown: map[string]string{}}
	for i := range results {
		c := &results[i]
		if n := len(c.Findings) - MaxFindings; n > 0 {
			c.Findings, c.OmittedFindings = c.Findings[:MaxFindings], n
		}
		for j := range c.Findings {
			f := &c.Findings[j]
			f.Message = cutText(f.Message, MaxMessage)
			f.Fix = cutText(f.Fix, MaxFix)
			f.Subject = cutText(f.Subject, MaxSubject)
			f.Evidence = limitEvidence(f.Evidence, &evidence)
			fixes.limit(f)
		}
	}
}

// fixBudget is what is left of MaxReportFixRecords, and which finding
// first showed each set of records.
type fixBudget struct {
	left  int
	shown map[string]string
}

// limit keeps f's fix records while they fit the budget. Past it, a
// finding whose records an earlier one shows says which, and any other
// says they were left out.
func (b *fixBudget) limit(f *Finding) {
	if len(f.FixRecords) == 0 {
		return
	}
	var key bytes.Buffer
	for _, r := range f.FixRecords {
		fmt.Fprintf(&key, "%s\x00%s\x00%s\x00%s\x00%s\x00", r.Action, r.Name, r.Type, r.Value, r.Old)
	}
	first, seen := b.shown[key.String()]
	switch {
	case key.Len() <= b.left:
		b.left -= key.Len()
		if !seen {
			b.shown[key.String()] = f.ID + " " + f.Subject
		}
	case seen:
		f.FixRecords = nil
		f.Fix = cutText(f.Fix+" (The records are those of "+first+" above.)", MaxFix)
	default:
		f.FixRecords = nil
		f.Fix = cutText(f.Fix+" (The records are left out: a report holds at most "+fmt.Sprint(MaxReportFixRecords>>10)+" KiB of them; check this domain alone to see them.)", MaxFix)
	}
}

// cutText keeps at most n octets of s, cut at a character, and says how
// many more there were.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return fmt.Sprintf("%s… %d more octets", s[:i], len(s)-i)
}

// limitEvidence returns ev as it is when its JSON fits MaxEvidence and
// what is left of the report's budget, else its JSON form cut to fit:
// strings of maxEvidenceString octets, lists of maxEvidenceItems, and
// nothing once the budget is spent. The budget is charged either way.
func limitEvidence(ev map[string]any, budget *int) map[string]any {
	if len(ev) == 0 {
		return ev
	}
	j, err := json.Marshal(ev)
	if err != nil {
		return ev // the JSON writer will say so
	}
	room := min(MaxEvidence, *budget)
	if len(j) <= room {
		*budget -= len(j)
		return ev
	}
	var generic map[string]any
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	if dec.Decode(&generic) != nil {
		return ev
	}
	c := evidenceCutter{left: room}
	out := c.object(generic)
	*budget -= room - max(c.left, 0)
	return out
}

// evidenceCutter cuts JSON values to the octets it has left.
type evidenceCutter struct{ left int }

func (c *evidenceCutter) value(v any) any {
	switch v := v.(type) {
	case string:
		s := cutText(v, max(min(maxEvidenceString, c.left), 0))
		c.left -= len(s) + 2
		return s
	case []any:
		out := make([]any, 0, min(len(v), maxEvidenceItems+1))
		for _, x := range v {
			if len(out) == maxEvidenceItems || c.left <= 0 {
				break
			}
			out = append(out, c.value(x))
		}
		if n := len(v) - len(out); n > 0 {
			out = append(out, fmt.Sprintf("… %d more", n))
			c.left -= 16
		}
		return out
	case map[string]any:
		return c.object(v)
	}
	c.left -= 8 // a number, true, false or null
	return v
}

func (c *evidenceCutter) object(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		c.left -= len(k) + 4
		out[k] = c.value(m[k])
	}
	return out
}
