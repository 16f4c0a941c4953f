package checks

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/preflight-mail/preflight/internal/words"
	"github.com/preflight-mail/preflight/rbl"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// rblKinds are the rbl check's findings.
var rblKinds = []report.Kind{
	// An abuse listing of the IP, or of a name it sends with (the domain,
	// the HELO name, its PTR names): receivers refuse both.
	{ID: "rbl.listed", Penalty: report.Penalty{Fail: 35}, Blocks: true},
	{ID: "rbl.policy_listed", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	{ID: "rbl.public_resolver", Penalty: minorPenalty},
	{ID: "rbl.clean", Establishes: []report.Fact{report.NotListed}},
	{ID: "rbl.list_unusable"},
}

// RBL looks the sending IPs up on the IP blocklists, and the domain, the
// HELO name, the IPs' PTR names and any extra names on the domain lists.
// A list that fails its self-test is reported once, as unusable; none of
// its answers count.
func RBL(ctx context.Context, env Env, t Target) []report.Finding {
	if len(env.Lists) == 0 {
		return nil
	}
	targets := rblTargets(ctx, env, t)
	if len(targets) == 0 {
		return nil
	}
	results := rbl.Query(ctx, env.DNS, env.Lists, targets)
	var out []report.Finding
	out = append(out, publicResolver(env)...)

	unusable := map[string]rbl.Result{} // zone → first failing self-test
	perTarget := map[string][]rbl.Result{}
	for _, r := range results {
		if r.Unusable {
			if _, seen := unusable[r.Zone]; !seen {
				unusable[r.Zone] = r
			}
			continue
		}
		perTarget[r.Target] = append(perTarget[r.Target], r)
	}
	for _, zone := range slices.Sorted(maps.Keys(unusable)) {
		r := unusable[zone]
		out = append(out, report.Finding{
			ID: "rbl.list_unusable", Severity: report.Error, Subject: zone,
			Message:  fmt.Sprintf("%s cannot be used: %s. Nothing it answers counts, neither listed nor clean.", zone, r.Reason),
			Fix:      capitalize(r.Hint) + ".",
			Evidence: map[string]any{"zone": zone, "reason": r.Reason, "hint": r.Hint, "server": listServer(env, r.List)},
		})
	}
	for _, target := range targets {
		out = append(out, targetFindings(target, perTarget[target])...)
	}
	return out
}

// targetFindings turns one target's answers from the usable lists into
// findings: one per listing or unanswered list, one for the clean ones.
func targetFindings(target string, results []rbl.Result) []report.Finding {
	var out []report.Finding
	var clean, cleanShown, skipped []string
	asked := map[string]string{} // zone → the name asked, when not target
	for _, r := range results {
		switch r.Status {
		case rbl.Listed, rbl.PolicyListed:
			out = append(out, listing(target, r))
		case rbl.Clean:
			clean = append(clean, r.Zone)
			cleanShown = append(cleanShown, r.Zone+askedAs(r))
			if r.Asked != "" {
				asked[r.Zone] = r.Asked
			}
		case rbl.Unknown:
			if r.Skipped {
				skipped = append(skipped, r.Zone)
				continue
			}
			out = append(out, report.Finding{
				ID: "rbl.list_unusable", Severity: report.Error, Subject: r.Zone,
				Message:  fmt.Sprintf("Could not check %s on %s%s: %s.", target, r.Zone, askedAs(r), r.Reason),
				Fix:      capitalize(cmp.Or(r.Hint, "try again")) + ".",
				Evidence: map[string]any{"target": target, "reason": r.Reason},
			})
		}
	}
	if len(clean) > 0 {
		ev := map[string]any{"lists": clean}
		if len(skipped) > 0 {
			ev["not_covering"] = skipped
		}
		if len(asked) > 0 {
			ev["asked"] = asked
		}
		out = append(out, report.Finding{
			ID: "rbl.clean", Severity: report.Pass, Subject: target,
			Message:  fmt.Sprintf("%s is on none of %d %s: %s.", target, len(clean), words.Plural(len(clean), "list", "lists"), strings.Join(cleanShown, ", ")),
			Evidence: ev,
		})
	}
	return out
}

// askedAs says which name a list was asked about, when not the target: its
// registered domain (rbl.RegisteredDomain lists).
func askedAs(r rbl.Result) string {
	if r.Asked == "" {
		return ""
	}
	return " (as " + r.Asked + ")"
}

// listing is the finding for a target a list lists: abuse or policy.
func listing(target string, r rbl.Result) report.Finding {
	ev := map[string]any{"zone": r.Zone, "codes": r.Codes, "meanings": r.Meanings}
	if r.Asked != "" {
		ev["asked"] = r.Asked
	}
	if len(r.TXT) > 0 {
		ev["txt"] = r.TXT
	}
	if r.List.Delist != "" {
		ev["delist"] = r.List.Delist
	}
	if r.Status == rbl.PolicyListed {
		return report.Finding{
			ID: "rbl.policy_listed", Severity: report.Fail, Subject: target,
			Message: fmt.Sprintf("%s is on %s%s as end-user address space: %s. Not an abuse listing, but receivers using it refuse direct mail from it.", target, r.Zone, askedAs(r), strings.Join(r.Meanings, "; ")),
			Fix: fmt.Sprintf("If %s is a static address of a mail server, ask its provider to take it out of the end-user space listing (or remove it yourself at %s); otherwise send through a relay.",
				target, cmp.Or(r.List.Delist, "the list's web site")) + ipGatewayFix(target),
			Evidence: ev,
		}
	}
	return report.Finding{
		ID: "rbl.listed", Severity: report.Fail, Subject: target,
		Message:  fmt.Sprintf("%s is listed on %s%s: %s.", target, r.Zone, askedAs(r), strings.Join(r.Meanings, "; ")) + txtNote(r.TXT),
		Fix:      delistFix(target, r) + ipGatewayFix(target),
		Evidence: ev,
	}
}

// rblTargets are the IPs and the names to look up, without repeats.
func rblTargets(ctx context.Context, env Env, t Target) []string {
	var out []string
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	hasDomainLists := slices.ContainsFunc(env.Lists, func(l rbl.List) bool { return l.Kind == rbl.Domain })
	for _, ip := range t.IPs {
		add(ip.String())
	}
	if !hasDomainLists {
		return out
	}
	add(t.Domain)
	if d, _ := envelope(t); d != t.Domain {
		add(d)
	}
	if t.HELO.Qualified() {
		add(t.HELO.Name)
	}
	for _, n := range t.Names {
		add(n)
	}
	if t.Domain == "" {
		return out // the rbl command: the names given, nothing more
	}
	// PTR names: a listed name in the PTR taints the IP.
	names := make([][]string, len(t.IPs))
	var wg sync.WaitGroup
	for i, ip := range t.IPs {
		wg.Go(func() { names[i], _ = env.DNS.LookupPTR(ctx, ip) })
	}
	wg.Wait()
	for _, ns := range names {
		for j, n := range ns {
			if j == resolver.MaxNames {
				break
			}
			add(n)
		}
	}
	return out
}

// publicResolver warns when the run's resolver is a public one: most
// lists refuse it, and their "not listed" would be worthless.
func publicResolver(env Env) []report.Finding {
	var out []report.Finding
	for _, s := range env.DNS.Servers() {
		if rbl.IsPublicResolver(s) {
			out = append(out, report.Finding{
				ID: "rbl.public_resolver", Severity: report.Warn, Subject: s,
				Message: fmt.Sprintf("DNS goes through %s, a public resolver: most blocklists refuse it or limit it, so their answers are unreliable (each list's self-test says which).", s),
				Fix:     "Run preflight with your own recursive resolver (--resolver), such as the one your mail server uses.",
			})
		}
	}
	return out
}

func listServer(env Env, l rbl.List) string {
	if l.Server != "" {
		return l.Server
	}
	return strings.Join(env.DNS.Servers(), ", ")
}

func txtNote(txt []string) string {
	if len(txt) == 0 {
		return ""
	}
	return " The list says: " + strings.Join(txt, " ")
}

func delistFix(target string, r rbl.Result) string {
	how := "Find and stop what sent the spam (a compromised account, script or host), then ask for removal"
	if r.List.Delist != "" {
		how += " at " + r.List.Delist
	} else {
		how += " from the list's operator"
	}
	return how + "."
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
