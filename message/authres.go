package message

import (
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// Verdicts is what a receiver wrote in its Authentication-Results
// field (RFC 8601): the result per method, the first of each, lower case.
type Verdicts struct {
	ServID string
	DKIM   []DKIMVerdict
	SPF    string
	DMARC  string
	ARC    string
}

// DKIMVerdict is one dkim= result with its domain (header.d=, or the
// domain of header.i=).
type DKIMVerdict struct {
	Result, Domain string
}

// AuthResults reads the Authentication-Results fields of the receiver
// named servID (all when servID is empty: the topmost field's
// receiver). ok is false when there is none to read.
func (m *Message) AuthResults(servID string) (v Verdicts, ok bool) {
	for _, f := range m.Get("Authentication-Results") {
		id, results, err := authres.Parse(f.Value)
		if err != nil && len(results) == 0 {
			continue
		}
		id = strings.ToLower(strings.TrimSpace(id))
		if servID != "" && !hostMatches(id, servID) {
			continue
		}
		if ok && id != v.ServID {
			continue // another receiver's, below the first read
		}
		v.ServID, ok = id, true
		for _, r := range results {
			switch r := r.(type) {
			case *authres.DKIMResult:
				d := r.Domain
				if d == "" {
					// Gmail writes header.i=@domain, not header.d.
					_, d, _ = strings.Cut(r.Identifier, "@")
				}
				if len(v.DKIM) < MaxSignatures {
					v.DKIM = append(v.DKIM, DKIMVerdict{strings.ToLower(string(r.Value)), strings.ToLower(d)})
				}
			case *authres.SPFResult:
				if v.SPF == "" {
					v.SPF = strings.ToLower(string(r.Value))
				}
			case *authres.DMARCResult:
				if v.DMARC == "" {
					v.DMARC = strings.ToLower(string(r.Value))
				}
			case *authres.ARCResult:
				if v.ARC == "" {
					v.ARC = strings.ToLower(string(r.Value))
				}
			}
		}
	}
	return v, ok
}
