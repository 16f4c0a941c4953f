package checks

import (
	"errors"
	"fmt"

	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// dnsFix is the fix of every finding for a lookup without a usable
// answer.
const dnsFix = "Run again; if it persists, check the DNS servers (--resolver) or the names' authoritative servers."

// dnsError is the finding for a lookup that gave no usable answer: the
// thing could not be checked. It is never a pass or a fail (STYLE 6).
func dnsError(check, subject, what string, err error) report.Finding {
	return dnsErrorID(check+".dns_error", subject, what, err)
}

// dnsErrorID is dnsError with its own finding ID (spf.temperror).
func dnsErrorID(id, subject, what string, err error) report.Finding {
	reason := resolver.Reason(err)
	return report.Finding{
		ID:       id,
		Severity: report.Error,
		Subject:  subject,
		Message:  fmt.Sprintf("Could not check %s: %s.", what, reason),
		Fix:      dnsFix,
		Evidence: map[string]any{"error": err.Error()},
	}
}

func isNotFound(err error) bool { return resolver.IsNotFound(err) }

func isNotFoundNX(err error) bool { return errors.Is(err, resolver.ErrNXDomain) }
