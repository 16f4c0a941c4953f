package checks

import "github.com/preflight-mail/preflight/report"

// oneTXT is the change that leaves final as the one record of its kind
// (SPF, DMARC) at name, where old are the records of that kind there
// now: add final when there are none, else replace old[keep] with it and
// remove the others. Pasting it never leaves two records of a kind,
// which receivers treat as none (RFC 7208 §4.5, RFC 7489 §6.6.3). Nil
// when final is already the only one.
func oneTXT(name string, old []string, keep int, final string) []report.FixRecord {
	if len(old) == 0 {
		return []report.FixRecord{{Action: report.FixAdd, Name: name, Type: "TXT", Value: final}}
	}
	var out []report.FixRecord
	if old[keep] != final {
		out = append(out, report.FixRecord{Action: report.FixReplace, Name: name, Type: "TXT", Old: old[keep], Value: final})
	}
	for i, o := range old {
		if i != keep {
			out = append(out, report.FixRecord{Action: report.FixRemove, Name: name, Type: "TXT", Old: o})
		}
	}
	return out
}
