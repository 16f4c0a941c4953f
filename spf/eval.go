package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	blitiri "blitiri.com.ar/go/spf"

	"github.com/preflight-mail/preflight/resolver"
)

// SPF results (RFC 7208 §2.6).
const (
	Pass      = "pass"
	Fail      = "fail"
	SoftFail  = "softfail"
	Neutral   = "neutral"
	None      = "none"
	TempError = "temperror"
	PermError = "permerror"
)

// Result is the outcome of check_host() for one IP and sender.
type Result struct {
	Result string
	// Deep is the innermost term that matched ("ip4:198.51.100.0/24")
	// and DeepIn the domain whose record holds it.
	Deep   string
	DeepIn string
	// Reason explains permerror and temperror.
	Reason string
	// Explanation is the exp= text for a fail (§6.2), "" without one.
	Explanation string
	// LookupLimit is set when evaluation stopped at the §4.6.4 limit of
	// DNS-querying terms.
	LookupLimit bool
}

// Evaluate runs check_host(ip, domain of sender, sender) (§4) with
// blitiri.com.ar/go/spf through r, and corrects what that library leaves
// out: a syntax error anywhere in a record it evaluated makes the result
// permerror (§4.6; the library stops reading at the first match), and a
// fail gets its exp= explanation. sender may be empty: the HELO identity
// is then checked as postmaster@helo (§2.3).
func Evaluate(ctx context.Context, r *resolver.Resolver, ip netip.Addr, helo, sender string, now time.Time) Result {
	var (
		mu     sync.Mutex
		events []event
	)
	trace := func(f string, a ...any) {
		mu.Lock()
		events = append(events, event{f, a})
		mu.Unlock()
	}
	if sender == "" {
		sender = "postmaster@" + helo
	} else if !strings.Contains(sender, "@") {
		sender = "postmaster@" + sender
	}
	// §4.3: a domain that is not a valid DNS name has no record: none.
	if d := senderDomain(sender); !validDomain(d) {
		return Result{Result: None, Reason: fmt.Sprintf("%q is not a valid domain name", d)}
	}
	res, err := blitiri.CheckHostWithSender(ip.AsSlice(), helo, sender,
		blitiri.WithResolver(r.SPF()), blitiri.WithContext(ctx), blitiri.WithTraceFunc(trace))

	out := Result{Result: string(res)}
	records := map[string]string{} // domain (lower case) → record evaluated
	var evaluated []string         // the keys of records, in the order read
	cur := ""
	for _, e := range events {
		switch e.format {
		case "check %q %d %d":
			cur = strings.ToLower(strings.TrimSuffix(fmt.Sprint(e.args[0]), "."))
		case "dns record %q":
			if txt := fmt.Sprint(e.args[0]); txt != "" {
				if _, seen := records[cur]; !seen {
					evaluated = append(evaluated, cur)
				}
				records[cur] = txt
			}
		}
	}
	out.Deep = matchedTerm(events)
	if out.Deep != "" {
		out.DeepIn = holder(evaluated, records, out.Deep)
	}

	switch out.Result {
	case PermError, TempError:
		out.Reason = reason(err)
	}
	// §4.6: a record with a syntax error anywhere is permerror, also
	// when a term before the error already matched.
	for _, d := range evaluated {
		if rec := Parse(records[d]); !rec.Valid() {
			out.Result = PermError
			out.Reason = fmt.Sprintf("syntax error in the SPF record of %s: %v", d, rec.Errors[0])
			out.Deep, out.DeepIn = "", ""
			break
		}
	}
	if errors.Is(err, blitiri.ErrLookupLimitReached) || errors.Is(err, blitiri.ErrVoidLookupLimitReached) {
		out.Deep, out.DeepIn = "", ""
	}
	out.LookupLimit = errors.Is(err, blitiri.ErrLookupLimitReached)
	if out.Result == Fail {
		env := MacroEnv{Sender: sender, IP: ip, HELO: helo, Now: now}
		out.Explanation = explanation(ctx, r, events, records, senderDomain(sender), env)
	}
	return out
}

type event struct {
	format string
	args   []any
}

// matchedTerm reads the trace: the first match is the innermost term.
func matchedTerm(events []event) string {
	for _, e := range events {
		switch e.format {
		case "%q %v, %v":
			return fmt.Sprint(e.args[0])
		case "all: %v":
			return qualifierOf(fmt.Sprint(e.args[0])) + "all"
		}
	}
	return ""
}

// holder finds the first evaluated record holding a term (written
// without its qualifier by the library).
func holder(order []string, records map[string]string, term string) string {
	for _, d := range order {
		for _, t := range Parse(records[d]).Terms {
			if strings.EqualFold(strings.TrimLeft(t.Raw, "+-~?"), strings.TrimLeft(term, "+-~?")) {
				return d
			}
		}
	}
	return ""
}

func qualifierOf(result string) string {
	switch result {
	case Fail:
		return "-"
	case SoftFail:
		return "~"
	case Neutral:
		return "?"
	}
	return "+"
}

// explanation computes the exp= text for a fail (§6.2). The exp that
// counts is the one in the record whose evaluation gave the result: the
// top-level record, or the record a redirect replaced it with; includes
// never lend theirs. Any problem means no explanation.
func explanation(ctx context.Context, r *resolver.Resolver, events []event, records map[string]string, domain string, env MacroEnv) string {
	hops := 0
	for i := len(events) - 1; i >= 0 && events[i].format == "%q: %v, %v"; i-- {
		hops++
	}
	dom := strings.ToLower(strings.TrimSuffix(domain, "."))
	rec := Parse(records[dom])
	for ; hops > 0; hops-- {
		if rec.Redirect == nil {
			return ""
		}
		env.Domain = dom
		next, err := expandWithP(ctx, r, rec.Redirect.Domain, env, false)
		if err != nil {
			return ""
		}
		dom = strings.ToLower(strings.TrimSuffix(next, "."))
		rec = Parse(records[dom])
	}
	if rec.Exp == nil {
		return ""
	}
	env.Domain = dom
	target, err := expandWithP(ctx, r, rec.Exp.Domain, env, false)
	if err != nil {
		return ""
	}
	txts, err := r.LookupTXT(ctx, target)
	if err != nil || len(txts) != 1 {
		return ""
	}
	for i := 0; i < len(txts[0]); i++ {
		if c := txts[0][i]; c < 0x20 || c > 0x7e {
			return "" // explanations are 7-bit ASCII (§6.2)
		}
	}
	text, err := expandWithP(ctx, r, txts[0], env, true)
	if err != nil {
		return ""
	}
	return text
}

// expandWithP expands s, resolving the p macro first when s uses it.
func expandWithP(ctx context.Context, r *resolver.Resolver, s string, env MacroEnv, exp bool) (string, error) {
	if NeedsValidatedName(s) {
		env.Validated = ValidatedName(ctx, r, env.IP, env.Domain)
	}
	return Expand(s, env, exp)
}

// ValidatedName is the p macro (§7.3, §5.5): a PTR name of ip whose
// addresses include ip, preferring domain itself, then a subdomain of
// it, then any; "" when none validates.
func ValidatedName(ctx context.Context, r *resolver.Resolver, ip netip.Addr, domain string) string {
	names, err := r.LookupPTR(ctx, ip)
	if err != nil {
		return ""
	}
	if len(names) > MaxPTRNames {
		names = names[:MaxPTRNames]
	}
	network := "ip6"
	if ip.Unmap().Is4() {
		network = "ip4"
	}
	var valid []string
	for _, n := range names {
		addrs, err := r.LookupIP(ctx, network, n)
		if err == nil && slices.Contains(addrs, ip.Unmap()) {
			valid = append(valid, n)
		}
	}
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, n := range valid {
		if n == domain {
			return n
		}
	}
	for _, n := range valid {
		if strings.HasSuffix(n, "."+domain) {
			return n
		}
	}
	if len(valid) > 0 {
		return valid[0]
	}
	return ""
}

// validDomain: a fully qualified name whose labels are 1 to 63 octets.
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
	}
	return true
}

// reason says in words why the library ended in an error.
func reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, blitiri.ErrLookupLimitReached):
		return fmt.Sprintf("more than %d DNS lookups (RFC 7208 §4.6.4)", MaxLookups)
	case errors.Is(err, blitiri.ErrVoidLookupLimitReached):
		return fmt.Sprintf("more than %d lookups found nothing (RFC 7208 §4.6.4)", MaxVoidLookups)
	case errors.Is(err, blitiri.ErrMultipleRecords):
		return "more than one SPF record (RFC 7208 §4.5)"
	case errors.Is(err, blitiri.ErrNoResult):
		return "an include or redirect names a domain without an SPF record (RFC 7208 §5.2, §6.1)"
	case errors.Is(err, blitiri.ErrTooManyMXRecords):
		return fmt.Sprintf("an mx mechanism names more than %d MX hosts (RFC 7208 §4.6.4)", MaxMXHosts)
	}
	return err.Error()
}
