package message

import (
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// Verdicts is what a receiver wrote in its Authentication-Results
// field (RFC 8601): the result per method, the first of each, lower case.
type Verdicts struct {
	ServID string
	// Below is set when a field read was below the entry hop's
	// Received field (in the receiver's trace block).
	Below bool
	DKIM  []DKIMVerdict
	SPF   string
	DMARC string
	ARC   string
}

// DKIMVerdict is one dkim= result with its domain (header.d=, or the
// domain of header.i=).
type DKIMVerdict struct {
	Result, Domain string
}

// AuthResults reads the Authentication-Results fields (RFC 8601) the
// receiver of the entry hop wrote: those whose authserv-id is that
// receiver's (servID, --received-by, when given; else the entry hop's
// or its internal hops' by host, or a parent domain of it), placed
// above the entry hop, or right below it among the receiver's trace
// fields (Received-SPF, ARC sets), where Gmail and Postfix's milters
// write theirs. Fields below that, or from another authserv-id, may be
// the sender's and are not read. ok is false when there is none.
func (m *Message) AuthResults(e Entry, servID string) (v Verdicts, ok bool) {
	hosts := []string{e.By}
	for _, h := range e.Internal {
		hosts = append(hosts, h.By)
	}
	ours := func(id string) bool {
		if id == "" {
			return false
		}
		if servID != "" {
			return hostMatches(id, servID)
		}
		for _, h := range hosts {
			if h != "" && (hostMatches(id, h) || strings.Contains(id, ".") && hostMatches(h, id)) {
				return true
			}
		}
		return false
	}
	for pos, f := range m.Fields {
		if pos > e.Pos && !receiverBlock(m.Fields[e.Pos+1:pos]) {
			break
		}
		if !strings.EqualFold(f.Name, "Authentication-Results") {
			continue
		}
		id, results, err := authres.Parse(f.Value)
		if err != nil && len(results) == 0 && !strings.HasSuffix(strings.TrimSpace(f.Value), "none") {
			continue
		}
		id = strings.ToLower(strings.TrimSpace(id))
		if !ours(id) {
			continue
		}
		if ok && id != v.ServID {
			continue // another receiver's, below the first read
		}
		v.ServID, ok = id, true
		v.Below = v.Below || pos > e.Pos
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

// receiverBlock reports whether the fields between the entry hop and
// an Authentication-Results field below it are all the receiver's trace
// fields.
func receiverBlock(fs []Field) bool {
	for _, f := range fs {
		n := strings.ToLower(f.Name)
		if n != "authentication-results" && n != "received-spf" && !strings.HasPrefix(n, "arc-") {
			return false
		}
	}
	return true
}
