package checks

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/spf"
)

// spfKinds are the spf check's findings.
//
// The verdict rests on the result for each IP (spf.ip_*): anything but
// pass is a fail. The lint of the tree blocks only where it makes every
// IP's result permerror or none: no record, or a syntax error or several
// records at the root. Elsewhere in the tree (an include that an IP's
// evaluation may never reach), and for the limits, which an IP that
// matches early never hits, it is a warning; spf.ip_permerror says when
// an IP's evaluation did hit it.
var spfKinds = []report.Kind{
	{ID: "spf.missing", Penalty: report.Penalty{Fail: 25}, Blocks: true},
	{ID: "spf.multiple_records", Penalty: report.Penalty{Fail: 25, Warn: 25}, Blocks: true},
	{ID: "spf.syntax_error", Penalty: report.Penalty{Fail: 20, Warn: 20}, Blocks: true},
	{ID: "spf.lookup_limit", Penalty: report.Penalty{Warn: 20}},
	{ID: "spf.void_lookup_limit", Penalty: report.Penalty{Warn: 15}},
	// +all (anyone passes) and ?all (no policy for others) alike: a hole
	// in the domain's protection, not in this IP's delivery.
	{ID: "spf.permissive_all", Penalty: report.Penalty{Warn: 15}},
	{ID: "spf.ptr_mechanism", Penalty: report.Penalty{Warn: 3}},
	{ID: "spf.ip_fail", Penalty: report.Penalty{Fail: 30}, Blocks: true},
	{ID: "spf.ip_softfail", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	{ID: "spf.ip_neutral", Penalty: report.Penalty{Fail: 10}, Blocks: true},
	{ID: "spf.ip_permerror", Penalty: report.Penalty{Fail: 10}, Blocks: true},
	// spf.missing carries the cost of having no record.
	{ID: "spf.ip_none", Penalty: report.Penalty{Fail: 0}, Blocks: true},
	{ID: "spf.no_all", Penalty: minorPenalty},
	{ID: "spf.include_without_spf", Penalty: report.Penalty{Warn: 10}},
	{ID: "spf.loop", Penalty: report.Penalty{Warn: 10}},
	{ID: "spf.record_too_large", Penalty: minorPenalty},
	{ID: "spf.helo_not_pass", Penalty: minorPenalty},
	{ID: "spf.ip_pass", Establishes: []report.Fact{report.SPFPass}},
	{ID: "spf.lookups_ok"},
	{ID: "spf.helo_pass"},
	{ID: "spf.helo_none"},
	{ID: "spf.temperror"},
	{ID: "spf.mx_limit", Penalty: report.Penalty{Warn: 15}},
	// A message whose Received fields name no client address (issue #18).
	{ID: "spf.no_client_ip"},
}

// SPF checks the envelope domain's SPF: the result for each sending IP
// (check_host() over the record the walk parsed), a lint of the whole
// include/redirect tree, and the HELO identity.
func SPF(ctx context.Context, env Env, t Target) []report.Finding {
	domain, sender := envelope(t)
	if domain == "" {
		return nil
	}
	if t.Message != nil && len(t.IPs) == 0 {
		return []report.Finding{{ID: "spf.no_client_ip", Severity: report.Error, Subject: domain,
			Message: "The message names no connecting client (no Received field with an address), so SPF for " + domain + " cannot be evaluated.",
			Fix:     "Give the address with --ip, or the receiver whose Received field to read with --received-by HOST."}}
	}
	// The HELO identity is independent of the domain's tree: evaluate it
	// while the walk runs, not after.
	var helo []report.Finding
	var heloDone sync.WaitGroup
	if t.HELO.Qualified() {
		heloDone.Go(func() { helo = heloSPF(ctx, env, t) })
	}
	defer heloDone.Wait()

	tree := spf.Walk(ctx, env.DNS, domain, t.IPs)
	if err := tree.Root.Err; err != nil && !isNotFound(err) {
		heloDone.Wait()
		// The record itself could not be fetched: nothing to evaluate.
		return append(lintTree(tree, t.IPs, nil, nil), helo...)
	}

	// The verdict for each IP, concurrently; the walk has filled the
	// cache, so these cost no round trips.
	results := make([]spf.Result, len(t.IPs))
	var wg sync.WaitGroup
	for i, ip := range t.IPs {
		wg.Go(func() { results[i] = spfVerdict(ctx, env, tree.Root, ip, heloOr(t, domain), sender) })
	}
	wg.Wait()
	// One plan for the run: every finding about a record carries the
	// same final record.
	plan := planSPF(tree, t.IPs, results)
	out := lintTree(tree, t.IPs, results, plan)
	for i, ip := range t.IPs {
		out = append(out, ipResult(domain, ip, results[i], plan))
	}
	heloDone.Wait()
	if strings.EqualFold(t.HELO.Name, domain) {
		// The HELO name's record is the domain's: one final record.
		for i := range helo {
			if helo[i].FixRecords != nil {
				helo[i].FixRecords = plan.root
			}
		}
	}
	return append(out, helo...)
}

// envelope returns the domain SPF is checked for (MAIL FROM's, §2.4)
// and the sender address.
func envelope(t Target) (domain, sender string) {
	switch {
	case !t.MailFrom.IsZero():
		return t.MailFrom.Domain, t.MailFrom.Sender().String()
	case t.Domain != "":
		return t.Domain, "postmaster@" + t.Domain
	}
	return "", ""
}

func heloOr(t Target, domain string) string {
	return cmp.Or(t.HELO.EHLO(), domain)
}

// spfVerdict is check_host() for one sending IP (RFC 7208 §4) over the
// root record the walk parsed, so the lint and the verdict read the
// same parse; without one (none, several) CheckHost says what that
// means.
func spfVerdict(ctx context.Context, env Env, root *spf.Node, ip netip.Addr, helo, sender string) spf.Result {
	args := spf.Args{IP: ip, Sender: sender, Domain: root.Domain, HELO: helo, Now: env.now()}
	if root.Parsed != nil {
		return spf.Evaluate(ctx, root.Parsed, env.DNS, args)
	}
	return spf.CheckHost(ctx, env.DNS, args)
}

// heloVerdict is check_host() for the HELO identity: postmaster@HELO
// (RFC 7208 §2.3).
func heloVerdict(ctx context.Context, env Env, ip netip.Addr, helo string) spf.Result {
	return spf.CheckHost(ctx, env.DNS, spf.Args{IP: ip, Sender: "postmaster@" + helo, HELO: helo, Now: env.now()})
}

// lintTree reports what is wrong anywhere in the tree, whatever the IP;
// results are the IPs' verdicts, for what they say about the lookup
// count; the fixes come from plan (nil when the root could not be
// fetched).
func lintTree(tree *spf.Tree, ips []netip.Addr, results []spf.Result, plan *spfPlan) []report.Finding {
	if out := lintRoot(tree.Root, plan); out != nil {
		return out
	}
	var out []report.Finding
	tree.Each(func(n *spf.Node) {
		out = append(out, lintNode(tree, n, plan)...)
		if n != tree.Root {
			out = append(out, lintLink(tree, n, plan)...)
		}
	})
	out = append(out, lookupLimit(tree, results, plan)...)
	out = append(out, voidLimit(tree, ips, plan)...)
	out = append(out, mxLimit(tree)...)
	return append(out, lintEnd(tree.Root, plan)...)
}

// lintRoot reports a root record that cannot be linted: not fetched,
// missing, or more than one. The lint stops there when it says anything.
func lintRoot(root *spf.Node, plan *spfPlan) []report.Finding {
	domain := root.Domain
	switch {
	case root.Err != nil && !isNotFound(root.Err):
		return []report.Finding{dnsErrorID("spf.temperror", domain, "the SPF record of "+domain, root.Err)}
	case len(root.Records) == 0:
		return []report.Finding{{
			ID: "spf.missing", Severity: report.Fail, Subject: domain,
			Message:    fmt.Sprintf("%s has no SPF record: receivers cannot tell which servers may send as it, and many junk or refuse its mail.", domain),
			Fix:        fmt.Sprintf("Publish an SPF record for %s that allows the sending IPs and refuses everyone else; add any other server that sends as %s before -all:", domain, domain),
			FixRecords: plan.root,
		}}
	case len(root.Records) > 1:
		return []report.Finding{{
			ID: "spf.multiple_records", Severity: report.Fail, Subject: domain,
			Message:    fmt.Sprintf("%s has %d SPF records: receivers treat that as a permanent error (RFC 7208 §4.5), as if there were none.", domain, len(root.Records)),
			Fix:        "Keep exactly one: the record below holds every term of them all once, the first redirect= and exp=, and the strictest all. Replace one with it and remove the others:",
			FixRecords: plan.root,
			Evidence:   map[string]any{"records": root.Records},
		}}
	}
	return nil
}

// lintNode reports what is wrong in one record: syntax errors, ptr, +all,
// and an answer too large for UDP.
func lintNode(tree *spf.Tree, n *spf.Node, plan *spfPlan) []report.Finding {
	var out []report.Finding
	where := n.Domain
	if n.Parsed != nil {
		for _, e := range n.Parsed.Errors {
			fix := fmt.Sprintf("Correct or remove %q; the record below leaves it out and allows the sending IPs by address:", e.Term)
			if e.Term == "" {
				fix = "Rewrite the record in printable ASCII, starting with v=spf1."
			}
			out = append(out, report.Finding{
				ID: "spf.syntax_error", Severity: rootFails(tree, n), Subject: where,
				Message:    fmt.Sprintf("The SPF record of %s has a syntax error: %v. Receivers return permerror for it (RFC 7208 §4.6), even when an earlier term matched.", where, e),
				Fix:        fix,
				FixRecords: plan.forNode(tree, n),
				Evidence:   map[string]any{"record": n.Record, "term": e.Term},
			})
		}
		for _, term := range n.Parsed.Terms {
			if term.Mechanism == "ptr" {
				out = append(out, report.Finding{
					ID: "spf.ptr_mechanism", Severity: report.Warn, Subject: where,
					Message:    fmt.Sprintf("The SPF record of %s uses %q: slow, unreliable, and RFC 7208 §5.5 says not to use it; some receivers ignore it.", where, term.Raw),
					Fix:        "Replace it with ip4:/ip6: ranges or a: names of the sending hosts. The record below drops it and allows the sending IPs by address; add any other server it let through.",
					FixRecords: plan.forNode(tree, n),
				})
			}
			if term.Mechanism == "all" && term.Qualifier == '+' {
				out = append(out, plusAll(tree, n, term, plan))
			}
		}
	}
	if n.Problem == "" && n.AnswerSize > spf.MaxUDPAnswer {
		out = append(out, report.Finding{
			ID: "spf.record_too_large", Severity: report.Warn, Subject: where,
			Message:  fmt.Sprintf("The TXT answer for %s is %d octets, over %d: it needs TCP or EDNS0, which some receivers' resolvers handle badly (RFC 7208 §3.4).", where, n.AnswerSize, spf.MaxUDPAnswer),
			Fix:      "Shorten the SPF record, or move other TXT records (site verifications) off this name.",
			Evidence: map[string]any{"answer_octets": n.AnswerSize},
		})
	}
	return out
}

// softAdvice is the advice of every fix that mends how a record ends.
const softAdvice = "End it with ~all, keeping the sending IPs allowed; once your DMARC reports show no mail of yours softfailing, make it -all:"

// rootFails is the severity of a syntax error in n's record: fail at the
// root, whose errors make every IP's result permerror (RFC 7208 §4.6);
// a warning elsewhere, where only the evaluations that reach n fail
// (spf.ip_permerror then says so).
func rootFails(tree *spf.Tree, n *spf.Node) report.Severity {
	if n == tree.Root {
		return report.Fail
	}
	return report.Warn
}

// plusAll is the finding for a +all term in n's record, in the root or
// in a record the root includes.
func plusAll(tree *spf.Tree, n *spf.Node, term spf.Term, plan *spfPlan) report.Finding {
	where, domain := n.Domain, tree.Root.Domain
	f := report.Finding{
		ID: "spf.permissive_all", Severity: report.Warn, Subject: where,
		Message:    fmt.Sprintf("The SPF record of %s ends in %q: every server on the Internet may send as %s.", where, term.Raw, domain),
		Fix:        softAdvice,
		FixRecords: plan.forNode(tree, n),
		Evidence:   map[string]any{"record": n.Record},
	}
	if n != tree.Root {
		f.Message = fmt.Sprintf("%s, included by %s, has %q: the include matches every server, so every server passes SPF for %s.", where, domain, term.Raw, domain)
		f.Fix = fmt.Sprintf("Whoever runs %s must end it with ~all or -all; %s must then allow the sending IPs itself:", where, domain)
	}
	return f
}

// lintLink reports why the include or redirect that reached n (not the
// root) fails: no record there, several, a loop, or a failed lookup.
func lintLink(tree *spf.Tree, n *spf.Node, plan *spfPlan) []report.Finding {
	where := n.Domain
	parent := parentOf(tree, n)
	var f report.Finding
	switch {
	case n.Problem == "no SPF record":
		f = report.Finding{
			ID: "spf.include_without_spf", Severity: report.Warn, Subject: where,
			Message:    fmt.Sprintf("%s has %q, but %s publishes no SPF record: receivers return permerror when they reach it (RFC 7208 §5.2, §6.1).", parent.Domain, n.Via, where),
			Fix:        fmt.Sprintf("Remove %q from the record of %s (the record below does), or fix the name (check the provider's documentation).", n.Via, parent.Domain),
			FixRecords: plan.forNode(tree, parent),
		}
	case n.Problem == "more than one SPF record":
		f = report.Finding{
			ID: "spf.multiple_records", Severity: report.Warn, Subject: where,
			Message:  fmt.Sprintf("%s, reached by %q, has %d SPF records: permerror when evaluated (RFC 7208 §4.5).", where, n.Via, len(n.Records)),
			Fix:      "Whoever runs " + where + " must keep exactly one SPF record.",
			Evidence: map[string]any{"records": n.Records},
		}
	case n.Problem == "loop":
		f = report.Finding{
			ID: "spf.loop", Severity: report.Warn, Subject: where,
			Message:    fmt.Sprintf("%q in the record of %s leads back to a record already being evaluated: a loop, which ends in permerror.", n.Via, parent.Domain),
			Fix:        fmt.Sprintf("Remove %q (the record below does).", n.Via),
			FixRecords: plan.forNode(tree, parent),
		}
	case strings.HasPrefix(n.Problem, "lookup failed"):
		f = dnsErrorID("spf.temperror", where, "the SPF record of "+where+" (reached by "+n.Via+")", n.Err)
	default:
		return nil
	}
	return []report.Finding{f}
}

// lookupLimit counts lookups (§4.6.4) over the whole tree: a receiver
// that evaluates everything (an IP that matches nothing) pays them all.
//
// "Within the limit" is said only when the count is known: a loop, a
// macro domain or a failed lookup leave parts of the tree uncounted, and
// an evaluation that ran out of lookups proves the count wrong. Those
// have findings of their own (spf.loop, spf.temperror, spf.ip_permerror).
func lookupLimit(tree *spf.Tree, results []spf.Result, plan *spfPlan) []report.Finding {
	root, total := tree.Root, tree.Total()
	domain := root.Domain
	evidence := map[string]any{"tree": root, "lookups": total, "limit": spf.MaxLookups}
	known := tree.Complete() && !slices.ContainsFunc(results, func(r spf.Result) bool { return r.LookupLimit })
	if total <= spf.MaxLookups {
		if !known {
			return nil
		}
		return []report.Finding{{
			ID: "spf.lookups_ok", Severity: report.Pass, Subject: domain,
			Message:  fmt.Sprintf("The SPF tree of %s takes at most %d of %d DNS lookups.", domain, total, spf.MaxLookups),
			Evidence: evidence,
		}}
	}
	count, stopped := fmt.Sprint(total), ""
	if !tree.Complete() {
		// Parts of the tree are not counted.
		count = "at least " + count
		stopped = "; not every include could be followed"
		evidence["at_least"] = true
	}
	var cost []string
	for _, c := range tree.Costliest() {
		if c.Total > 0 {
			cost = append(cost, fmt.Sprintf("%s (%d)", c.Via, c.Total+1))
		}
	}
	chain := costliestChain(root)
	evidence["chain"] = chain
	f := report.Finding{
		ID: "spf.lookup_limit", Severity: report.Warn, Subject: domain,
		Message: fmt.Sprintf("Evaluating the SPF record of %s can take %s DNS lookups (DNS-querying terms in the tree%s; the limit is %d, RFC 7208 §4.6.4): receivers that reach the 11th return permerror. Chain: %s.",
			domain, count, stopped, spf.MaxLookups, strings.Join(chain, " → ")),
		Fix:      lookupAdvice(cost),
		Evidence: evidence,
	}
	if plan.lookupsFixed && plan.root != nil {
		f.Fix += " The record below replaces the costliest includes that list only addresses with those addresses as they are today: when the provider changes them, your record is out of date, so re-check after provider changes."
		f.FixRecords = plan.root
	}
	return []report.Finding{f}
}

// voidLimit reports more void lookups than §4.6.4 allows, counted for
// the address families of the sending IPs (both without IPs): an a term
// asks only its sender's family (§5.3), so three hosts with only AAAA
// records are three void lookups for an IPv4 sender and none for an
// IPv6 one.
func voidLimit(tree *spf.Tree, ips []netip.Addr, plan *spfPlan) []report.Finding {
	var over []string
	var voids []spf.Void
	for _, family := range spfFamilies(ips) {
		if v := tree.VoidsFor(family); len(v) > spf.MaxVoidLookups {
			over = append(over, family)
			if len(v) > len(voids) {
				voids = v
			}
		}
	}
	if len(over) == 0 {
		return nil
	}
	domain := tree.Root.Domain
	var terms []string
	for _, v := range voids {
		terms = append(terms, fmt.Sprintf("%s in %s", v.Term, v.Domain))
	}
	slices.Sort(terms)
	count := fmt.Sprint(len(voids))
	evidence := map[string]any{"void_lookups": voids, "families": over}
	if tree.Unlooked > 0 {
		// Terms past the walk's cap were not looked up.
		count = "At least " + count
		evidence["not_looked_up"] = tree.Unlooked
	}
	senders := map[string]string{"ip4": "IPv4 senders", "ip6": "IPv6 senders"}
	who := senders[over[0]]
	if len(over) > 1 {
		who = "IPv4 and IPv6 senders"
	}
	f := report.Finding{
		ID: "spf.void_lookup_limit", Severity: report.Warn, Subject: domain,
		Message:  fmt.Sprintf("%s terms in the SPF tree of %s look up names that do not exist or have no records for %s (%s); receivers return permerror after %d (RFC 7208 §4.6.4).", count, domain, who, strings.Join(terms, ", "), spf.MaxVoidLookups),
		Fix:      "Remove the terms that name hosts you no longer have, and give a: hosts an address of each family you send from.",
		Evidence: evidence,
	}
	if plan.voidsFixed {
		f.Fix = "Remove the terms that name hosts you no longer have; the record below takes them out of the record of " + domain + ":"
		f.FixRecords = plan.root
	}
	return []report.Finding{f}
}

// spfFamilies are the address families of ips as SPF sees them, both
// when there are no IPs.
func spfFamilies(ips []netip.Addr) []string {
	var out []string
	for _, family := range []string{"ip4", "ip6"} {
		if len(ips) == 0 || slices.ContainsFunc(ips, func(ip netip.Addr) bool { return spf.Family(ip) == family }) {
			out = append(out, family)
		}
	}
	return out
}

// mxLimit reports mx terms whose name has more than 10 MX hosts: one mx
// term may look up at most 10 (RFC 7208 §4.6.4), so evaluating it is
// permerror for every IP that reaches it.
func mxLimit(tree *spf.Tree) []report.Finding {
	var out []report.Finding
	for _, m := range tree.MXLimits {
		out = append(out, report.Finding{
			ID: "spf.mx_limit", Severity: report.Warn, Subject: m.Domain,
			Message: fmt.Sprintf("%q in the SPF record of %s names %s, which has %d MX hosts: one mx term may look up at most %d (RFC 7208 §4.6.4), so receivers that reach it return permerror.",
				m.Term, m.Domain, m.Name, m.Hosts, spf.MaxMXHosts),
			Fix:      fmt.Sprintf("Replace %q with the ip4:/ip6: ranges (or a: names) of the hosts that send mail.", m.Term),
			Evidence: map[string]any{"term": m.Term, "name": m.Name, "mx_hosts": m.Hosts, "limit": spf.MaxMXHosts},
		})
	}
	return out
}

// lintEnd reports how the root record ends: without "all" and redirect,
// or with "?all".
func lintEnd(root *spf.Node, plan *spfPlan) []report.Finding {
	rec := root.Parsed
	if rec == nil || !rec.Valid() {
		return nil
	}
	domain := root.Domain
	all := rec.All()
	switch {
	case all == nil && rec.Redirect == nil:
		return []report.Finding{{
			ID: "spf.no_all", Severity: report.Warn, Subject: domain,
			Message:    fmt.Sprintf("The SPF record of %s has no \"all\" and no redirect: mail from any other server gets neutral, the same as no policy.", domain),
			Fix:        softAdvice,
			FixRecords: plan.root,
		}}
	case all != nil && all.Qualifier == '?':
		return []report.Finding{{
			ID: "spf.permissive_all", Severity: report.Warn, Subject: domain,
			Message:    fmt.Sprintf("The SPF record of %s ends in \"?all\": mail from any other server gets neutral, the same as no policy.", domain),
			Fix:        softAdvice,
			FixRecords: plan.root,
		}}
	}
	return nil
}

// ipVerdicts are the findings for the results a term decides; the
// message takes the IP, the domain and what matched, and fix says
// whether to suggest allowing the IP in the record.
var ipVerdicts = map[string]struct {
	id       string
	severity report.Severity
	message  string
	fix      bool
}{
	spf.Pass:     {"spf.ip_pass", report.Pass, "SPF passes for %s sending as %s%s.", false},
	spf.Fail:     {"spf.ip_fail", report.Fail, "SPF fails for %s sending as %s%s: receivers that enforce SPF refuse its mail.", true},
	spf.SoftFail: {"spf.ip_softfail", report.Fail, "SPF softfails for %s sending as %s%s: its mail is likely to be junked.", true},
	spf.Neutral:  {"spf.ip_neutral", report.Fail, "SPF is neutral for %s sending as %s%s: the record neither allows nor refuses it, so SPF does not help its mail.", true},
}

// ipResult is the finding for one sending IP's verdict.
func ipResult(domain string, ip netip.Addr, r spf.Result, plan *spfPlan) report.Finding {
	f := report.Finding{Subject: ip.String(), Evidence: map[string]any{"result": r.Result, "domain": domain}}
	if r.Deep != "" {
		f.Evidence["matched"] = r.Deep
		if r.DeepIn != "" {
			f.Evidence["matched_in"] = r.DeepIn
		}
	}
	if r.Explanation != "" {
		f.Evidence["explanation"] = r.Explanation
	}
	if r.Reason != "" {
		f.Evidence["reason"] = r.Reason
	}
	matched := ""
	if r.Deep != "" {
		matched = fmt.Sprintf(" (matched %s", r.Deep)
		if r.DeepIn != "" && r.DeepIn != domain {
			matched += " in " + r.DeepIn
		}
		matched += ")"
	}
	if v, ok := ipVerdicts[r.Result]; ok {
		f.ID, f.Severity = v.id, v.severity
		f.Message = fmt.Sprintf(v.message, ip, domain, matched)
		if v.fix && plan.root != nil {
			f.Fix = fmt.Sprintf("If %s should send for %s, allow it in the SPF record:", ip, domain)
			f.FixRecords = plan.root
		}
		return f
	}
	switch r.Result {
	case spf.None:
		f.ID, f.Severity = "spf.ip_none", report.Fail
		f.Message = fmt.Sprintf("No SPF result for %s sending as %s: there is no usable SPF record (see spf.missing).", ip, domain)
	case spf.PermError:
		f.ID, f.Severity = "spf.ip_permerror", report.Fail
		f.Message = fmt.Sprintf("SPF evaluation for %s sending as %s ends in permerror: %s. Receivers treat that like a failed check.", ip, domain, r.Reason)
		f.Fix = "Fix the SPF errors reported above."
		if all := plan.all(); plan.complete && all != nil {
			f.Fix = "Fix the SPF errors reported above; these changes mend them all and allow " + ip.String() + ":"
			f.FixRecords = all
		}
	default:
		f.ID, f.Severity = "spf.temperror", report.Error
		f.Message = fmt.Sprintf("Could not evaluate SPF for %s sending as %s: %s.", ip, domain, r.Reason)
	}
	return f
}

// heloSPF checks the HELO identity (RFC 7208 §2.3): receivers may check
// SPF for postmaster@HELO, and do for bounces, whose MAIL FROM is empty.
func heloSPF(ctx context.Context, env Env, t Target) []report.Finding {
	helo := t.HELO.Name
	results := make([]spf.Result, len(t.IPs))
	for i, ip := range t.IPs {
		results[i] = heloVerdict(ctx, env, ip, helo)
	}
	// The HELO name's record, from the cache the evaluation filled: its
	// one final record for every finding below.
	change := func() []report.FixRecord {
		txts, err := env.DNS.LookupTXT(ctx, helo)
		if err != nil && !isNotFound(err) {
			return nil
		}
		return heloChange(helo, spf.Select(txts), t.IPs, results)
	}
	var out []report.Finding
	for i, ip := range t.IPs {
		r := results[i]
		f := report.Finding{Subject: ip.String(), Evidence: map[string]any{"helo": helo, "result": r.Result}}
		switch r.Result {
		case spf.Pass:
			f.ID, f.Severity = "spf.helo_pass", report.Pass
			f.Message = fmt.Sprintf("SPF for the HELO name %s passes for %s.", helo, ip)
		case spf.None:
			// The same for every IP: say it once.
			return []report.Finding{{
				ID: "spf.helo_none", Severity: report.Info, Subject: helo,
				Message:    fmt.Sprintf("The HELO name %s has no SPF record: bounces (empty MAIL FROM) get no SPF result (RFC 7208 §2.3).", helo),
				Fix:        "Publish an SPF record for the HELO name that allows the sending IPs:",
				FixRecords: change(),
			}}
		case spf.TempError:
			f = dnsErrorID("spf.temperror", ip.String(), "SPF for the HELO name "+helo, fmt.Errorf("%s", r.Reason))
		default:
			f.ID, f.Severity = "spf.helo_not_pass", report.Warn
			f.Message = fmt.Sprintf("SPF for the HELO name %s gives %s for %s: bounces from it fail SPF.", helo, r.Result, ip)
			f.Fix = fmt.Sprintf("Allow %s in the SPF record of the HELO name, or use a HELO name whose record does:", ip)
			f.FixRecords = change()
		}
		out = append(out, f)
	}
	return out
}

// costliestChain follows the most expensive include at each level.
func costliestChain(n *spf.Node) []string {
	chain := []string{n.Domain}
	for len(n.Children) > 0 {
		best := n.Children[0]
		for _, c := range n.Children[1:] {
			if c.Total > best.Total {
				best = c
			}
		}
		chain = append(chain, best.Domain)
		n = best
	}
	return chain
}

// parentOf finds the node whose record leads to n.
func parentOf(tree *spf.Tree, n *spf.Node) *spf.Node {
	var parent *spf.Node
	tree.Each(func(p *spf.Node) {
		if slices.Contains(p.Children, n) {
			parent = p
		}
	})
	return parent
}

// lookupAdvice says how to bring a tree under the lookup limit, with what
// each include costs when there are includes.
func lookupAdvice(cost []string) string {
	if len(cost) == 0 {
		return "Bring the record to 10 lookups or fewer: replace a:, mx: and exists: terms with the ip4:/ip6: ranges they stand for, and remove those of hosts you no longer have."
	}
	return "Bring the tree to 10 lookups or fewer: remove includes you no longer use, and replace the costliest with the ip4:/ip6: ranges they stand for. Lookups per include: " + strings.Join(cost, ", ") + "."
}
