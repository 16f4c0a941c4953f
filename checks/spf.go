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
var spfKinds = []report.Kind{
	{ID: "spf.missing", Penalty: report.Penalty{Fail: 25}, Blocks: true},
	{ID: "spf.multiple_records", Penalty: report.Penalty{Fail: 25}, Blocks: true},
	{ID: "spf.syntax_error", Penalty: report.Penalty{Fail: 20}, Blocks: true},
	{ID: "spf.lookup_limit", Penalty: report.Penalty{Fail: 20}, Blocks: true},
	{ID: "spf.void_lookup_limit", Penalty: report.Penalty{Fail: 15}, Blocks: true},
	{ID: "spf.permissive_all", Penalty: report.Penalty{Fail: 20, Warn: 5}},
	{ID: "spf.ptr_mechanism", Penalty: report.Penalty{Warn: 3}},
	{ID: "spf.ip_fail", Penalty: report.Penalty{Fail: 30}, Blocks: true},
	{ID: "spf.ip_softfail", Penalty: report.Penalty{Warn: 15}, Blocks: true},
	{ID: "spf.ip_neutral", Penalty: report.Penalty{Warn: 10}, Blocks: true},
	{ID: "spf.ip_permerror", Penalty: minorPenalty},
	{ID: "spf.ip_none", Penalty: minorPenalty},
	{ID: "spf.no_all", Penalty: minorPenalty},
	{ID: "spf.include_without_spf", Penalty: minorPenalty},
	{ID: "spf.loop", Penalty: minorPenalty},
	{ID: "spf.record_too_large", Penalty: minorPenalty},
	{ID: "spf.helo_not_pass", Penalty: minorPenalty},
	{ID: "spf.ip_pass"},
	{ID: "spf.lookups_ok"},
	{ID: "spf.helo_pass"},
	{ID: "spf.helo_none"},
	{ID: "spf.temperror"},
	{ID: "spf.mx_limit", Penalty: report.Penalty{Fail: 15}, Blocks: true},
}

// SPF checks the envelope domain's SPF: the result for each sending IP
// (check_host() over the record the walk parsed), a lint of the whole
// include/redirect tree, and the HELO identity.
func SPF(ctx context.Context, env Env, t Target) []report.Finding {
	domain, sender := envelope(t)
	if domain == "" {
		return nil
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
		return append(lintTree(tree, t, nil), helo...) // the record itself could not be fetched: nothing to evaluate
	}

	// The verdict for each IP, concurrently; the walk has filled the
	// cache, so these cost no round trips.
	results := make([]spf.Result, len(t.IPs))
	var wg sync.WaitGroup
	for i, ip := range t.IPs {
		wg.Go(func() { results[i] = spfVerdict(ctx, env, tree.Root, ip, heloOr(t, domain), sender) })
	}
	wg.Wait()
	out := lintTree(tree, t, results)
	root := tree.Root
	for i, ip := range t.IPs {
		out = append(out, ipResult(domain, root, ip, results[i]))
	}
	heloDone.Wait()
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
// count.
func lintTree(tree *spf.Tree, t Target, results []spf.Result) []report.Finding {
	if out := lintRoot(tree.Root, t); out != nil {
		return out
	}
	var out []report.Finding
	tree.Each(func(n *spf.Node) {
		out = append(out, lintNode(tree, n)...)
		if n != tree.Root {
			out = append(out, lintLink(tree, n)...)
		}
	})
	out = append(out, lookupLimit(tree, results)...)
	out = append(out, voidLimit(tree, t.IPs)...)
	out = append(out, mxLimit(tree)...)
	return append(out, lintEnd(tree.Root)...)
}

// lintRoot reports a root record that cannot be linted: not fetched,
// missing, or more than one. The lint stops there when it says anything.
func lintRoot(root *spf.Node, t Target) []report.Finding {
	domain := root.Domain
	switch {
	case root.Err != nil && !isNotFound(root.Err):
		return []report.Finding{dnsErrorID("spf.temperror", domain, "the SPF record of "+domain, root.Err)}
	case len(root.Records) == 0:
		return []report.Finding{{
			ID: "spf.missing", Severity: report.Fail, Subject: domain,
			Message: fmt.Sprintf("%s has no SPF record: receivers cannot tell which servers may send as it, and many junk or refuse its mail.", domain),
			Fix:     fmt.Sprintf("Publish\n%s. TXT \"%s\"", domain, suggestRecord(t.IPs)),
		}}
	case len(root.Records) > 1:
		return []report.Finding{{
			ID: "spf.multiple_records", Severity: report.Fail, Subject: domain,
			Message:  fmt.Sprintf("%s has %d SPF records: receivers treat that as a permanent error (RFC 7208 §4.5), as if there were none.", domain, len(root.Records)),
			Fix:      fmt.Sprintf("Keep exactly one, merging the others into it:\n%s. TXT \"%s\"", domain, mergeRecords(root.Records)),
			Evidence: map[string]any{"records": root.Records},
		}}
	}
	return nil
}

// lintNode reports what is wrong in one record: syntax errors, ptr, +all,
// and an answer too large for UDP.
func lintNode(tree *spf.Tree, n *spf.Node) []report.Finding {
	var out []report.Finding
	where := n.Domain
	if n.Parsed != nil {
		for _, e := range n.Parsed.Errors {
			out = append(out, report.Finding{
				ID: "spf.syntax_error", Severity: report.Fail, Subject: where,
				Message:  fmt.Sprintf("The SPF record of %s has a syntax error: %v. Receivers return permerror for it (RFC 7208 §4.6), even when an earlier term matched.", where, e),
				Fix:      fmt.Sprintf("Correct or remove %q in\n%s. TXT \"%s\"", e.Term, where, n.Record),
				Evidence: map[string]any{"record": n.Record, "term": e.Term},
			})
		}
		for _, term := range n.Parsed.Terms {
			if term.Mechanism == "ptr" {
				out = append(out, report.Finding{
					ID: "spf.ptr_mechanism", Severity: report.Warn, Subject: where,
					Message: fmt.Sprintf("The SPF record of %s uses %q: slow, unreliable, and RFC 7208 §5.5 says not to use it; some receivers ignore it.", where, term.Raw),
					Fix:     "Replace it with ip4:/ip6: ranges or a: names of the sending hosts.",
				})
			}
			if term.Mechanism == "all" && term.Qualifier == '+' {
				out = append(out, plusAll(tree, n, term))
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

// plusAll is the finding for a +all term in n's record, in the root or
// in a record the root includes.
func plusAll(tree *spf.Tree, n *spf.Node, term spf.Term) report.Finding {
	where, domain := n.Domain, tree.Root.Domain
	f := report.Finding{
		ID: "spf.permissive_all", Severity: report.Fail, Subject: where,
		Message:  fmt.Sprintf("The SPF record of %s ends in %q: every server on the Internet may send as %s.", where, term.Raw, domain),
		Fix:      fmt.Sprintf("End it with -all (or ~all while you check):\n%s. TXT \"%s\"", where, replaceAll(n.Record, "-all")),
		Evidence: map[string]any{"record": n.Record},
	}
	if n != tree.Root {
		f.Message = fmt.Sprintf("%s, included by %s, has %q: the include matches every server, so every server passes SPF for %s.", where, domain, term.Raw, domain)
	}
	return f
}

// lintLink reports why the include or redirect that reached n (not the
// root) fails: no record there, several, a loop, or a failed lookup.
func lintLink(tree *spf.Tree, n *spf.Node) []report.Finding {
	where := n.Domain
	var f report.Finding
	switch {
	case n.Problem == "no SPF record":
		f = report.Finding{
			ID: "spf.include_without_spf", Severity: report.Fail, Subject: where,
			Message: fmt.Sprintf("%s has %q, but %s publishes no SPF record: receivers return permerror when they reach it (RFC 7208 §5.2, §6.1).", parentOf(tree, n), n.Via, where),
			Fix:     fmt.Sprintf("Remove %q from the record of %s, or fix the name (check the provider's documentation).", n.Via, parentOf(tree, n)),
		}
	case n.Problem == "more than one SPF record":
		f = report.Finding{
			ID: "spf.multiple_records", Severity: report.Fail, Subject: where,
			Message:  fmt.Sprintf("%s, reached by %q, has %d SPF records: permerror when evaluated (RFC 7208 §4.5).", where, n.Via, len(n.Records)),
			Fix:      "Whoever runs " + where + " must keep exactly one SPF record.",
			Evidence: map[string]any{"records": n.Records},
		}
	case n.Problem == "loop":
		f = report.Finding{
			ID: "spf.loop", Severity: report.Fail, Subject: where,
			Message: fmt.Sprintf("%q in the record of %s leads back to a record already being evaluated: a loop, which ends in permerror.", n.Via, parentOf(tree, n)),
			Fix:     fmt.Sprintf("Remove %q.", n.Via),
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
// "Within the limit" is said only when the count is known: a loop, a
// macro domain or a failed lookup leave parts of the tree uncounted, and
// an evaluation that ran out of lookups proves the count wrong. Those
// have findings of their own (spf.loop, spf.temperror, spf.ip_permerror).
func lookupLimit(tree *spf.Tree, results []spf.Result) []report.Finding {
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
	return []report.Finding{{
		ID: "spf.lookup_limit", Severity: report.Fail, Subject: domain,
		Message: fmt.Sprintf("Evaluating the SPF record of %s can take %s DNS lookups (DNS-querying terms in the tree%s; the limit is %d, RFC 7208 §4.6.4): receivers that reach the 11th return permerror. Chain: %s.",
			domain, count, stopped, spf.MaxLookups, strings.Join(chain, " → ")),
		Fix: "Bring the tree to 10 lookups or fewer: remove includes you no longer use, and replace the costliest with the ip4:/ip6: ranges they stand for. Lookups per include: " +
			strings.Join(cost, ", ") + ".",
		Evidence: evidence,
	}}
}

// voidLimit reports more void lookups than §4.6.4 allows, counted for
// the address families of the sending IPs (both without IPs): an a term
// asks only its sender's family (§5.3), so three hosts with only AAAA
// records are three void lookups for an IPv4 sender and none for an
// IPv6 one.
func voidLimit(tree *spf.Tree, ips []netip.Addr) []report.Finding {
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
	return []report.Finding{{
		ID: "spf.void_lookup_limit", Severity: report.Fail, Subject: domain,
		Message:  fmt.Sprintf("%s terms in the SPF tree of %s look up names that do not exist or have no records for %s (%s); receivers return permerror after %d (RFC 7208 §4.6.4).", count, domain, who, strings.Join(terms, ", "), spf.MaxVoidLookups),
		Fix:      "Remove the terms that name hosts you no longer have, and give a: hosts an address of each family you send from.",
		Evidence: evidence,
	}}
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
			ID: "spf.mx_limit", Severity: report.Fail, Subject: m.Domain,
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
func lintEnd(root *spf.Node) []report.Finding {
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
			Message: fmt.Sprintf("The SPF record of %s has no \"all\" and no redirect: mail from any other server gets neutral, the same as no policy.", domain),
			Fix:     fmt.Sprintf("End it with -all (or ~all while you check):\n%s. TXT \"%s -all\"", domain, rec.Raw),
		}}
	case all != nil && all.Qualifier == '?':
		return []report.Finding{{
			ID: "spf.permissive_all", Severity: report.Warn, Subject: domain,
			Message: fmt.Sprintf("The SPF record of %s ends in \"?all\": mail from any other server gets neutral, the same as no policy.", domain),
			Fix:     fmt.Sprintf("End it with -all (or ~all while you check):\n%s. TXT \"%s\"", domain, replaceAll(rec.Raw, "-all")),
		}}
	}
	return nil
}

// ipVerdicts are the findings for the results a term decides; the
// message takes the IP, the domain and what matched, and fix says
// whether to suggest adding the IP to the record.
var ipVerdicts = map[string]struct {
	id       string
	severity report.Severity
	message  string
	fix      bool
}{
	spf.Pass:     {"spf.ip_pass", report.Pass, "SPF passes for %s sending as %s%s.", false},
	spf.Fail:     {"spf.ip_fail", report.Fail, "SPF fails for %s sending as %s%s: receivers that enforce SPF refuse its mail.", true},
	spf.SoftFail: {"spf.ip_softfail", report.Warn, "SPF softfails for %s sending as %s%s: its mail is likely to be junked.", true},
	spf.Neutral:  {"spf.ip_neutral", report.Warn, "SPF is neutral for %s sending as %s%s: the record neither allows nor refuses it, so SPF does not help its mail.", true},
}

// ipResult is the finding for one sending IP's verdict.
func ipResult(domain string, root *spf.Node, ip netip.Addr, r spf.Result) report.Finding {
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
		if v.fix && root.Record != "" && len(root.Records) == 1 {
			f.Fix = fmt.Sprintf("If %s should send for %s, publish\n%s. TXT \"%s\"", ip, domain, domain, withIP(root.Record, ip))
		}
		return f
	}
	switch r.Result {
	case spf.None:
		f.ID, f.Severity = "spf.ip_none", report.Info
		f.Message = fmt.Sprintf("No SPF result for %s sending as %s: there is no usable SPF record (see spf.missing).", ip, domain)
	case spf.PermError:
		f.ID, f.Severity = "spf.ip_permerror", report.Fail
		f.Message = fmt.Sprintf("SPF evaluation for %s sending as %s ends in permerror: %s. Receivers treat that like a failed check.", ip, domain, r.Reason)
		f.Fix = "Fix the SPF errors reported above."
	default:
		f.ID, f.Severity = "spf.temperror", report.Error
		f.Message = fmt.Sprintf("Could not evaluate SPF for %s sending as %s: %s.", ip, domain, r.Reason)
	}
	return f
}

// heloSPF checks the HELO identity (RFC 7208 §2.3): receivers may check
// SPF for postmaster@HELO, and do for bounces, whose MAIL FROM is empty.
func heloSPF(ctx context.Context, env Env, t Target) []report.Finding {
	var out []report.Finding
	for _, ip := range t.IPs {
		r := heloVerdict(ctx, env, ip, t.HELO.Name)
		f := report.Finding{Subject: ip.String(), Evidence: map[string]any{"helo": t.HELO.Name, "result": r.Result}}
		switch r.Result {
		case spf.Pass:
			f.ID, f.Severity = "spf.helo_pass", report.Pass
			f.Message = fmt.Sprintf("SPF for the HELO name %s passes for %s.", t.HELO.Name, ip)
		case spf.None:
			// The same for every IP: say it once.
			return []report.Finding{{
				ID: "spf.helo_none", Severity: report.Info, Subject: t.HELO.Name,
				Message: fmt.Sprintf("The HELO name %s has no SPF record: bounces (empty MAIL FROM) get no SPF result (RFC 7208 §2.3).", t.HELO.Name),
				Fix:     fmt.Sprintf("Publish\n%s. TXT \"v=spf1 a -all\"", t.HELO.Name),
			}}
		case spf.TempError:
			f = dnsErrorID("spf.temperror", ip.String(), "SPF for the HELO name "+t.HELO.Name, fmt.Errorf("%s", r.Reason))
		default:
			f.ID, f.Severity = "spf.helo_not_pass", report.Warn
			f.Message = fmt.Sprintf("SPF for the HELO name %s gives %s for %s: bounces from it fail SPF.", t.HELO.Name, r.Result, ip)
			f.Fix = fmt.Sprintf("Publish\n%s. TXT \"v=spf1 a -all\"\nif %s resolves to %s; or use a HELO name that does.", t.HELO.Name, t.HELO.Name, ip)
		}
		out = append(out, f)
	}
	return out
}

// suggestRecord is a starting SPF record for the sending IPs.
func suggestRecord(ips []netip.Addr) string {
	rec := spf.Version
	if len(ips) == 0 {
		return rec + " mx -all"
	}
	for _, ip := range ips {
		rec += " " + ipTerm(ip)
	}
	return rec + " -all"
}

func ipTerm(ip netip.Addr) string {
	if ip.Unmap().Is4() {
		return "ip4:" + ip.Unmap().String()
	}
	return "ip6:" + ip.String()
}

// withIP inserts ip before "all" (or redirect=), or at the end.
func withIP(record string, ip netip.Addr) string {
	terms := strings.Fields(record)
	at := len(terms)
	for i, t := range terms {
		l := strings.ToLower(strings.TrimLeft(t, "+-~?"))
		if l == "all" || strings.HasPrefix(l, "redirect=") {
			at = i
			break
		}
	}
	return strings.Join(slices.Insert(terms, at, ipTerm(ip)), " ")
}

// replaceAll swaps the record's all term.
func replaceAll(record, all string) string {
	terms := strings.Fields(record)
	for i, t := range terms {
		if strings.EqualFold(strings.TrimLeft(t, "+-~?"), "all") {
			terms[i] = all
		}
	}
	return strings.Join(terms, " ")
}

// mergeRecords joins several SPF records into one, each mechanism once,
// ending with the strictest all among them.
func mergeRecords(records []string) string {
	var terms []string
	all := ""
	rank := map[string]int{"-all": 4, "~all": 3, "?all": 2, "+all": 1, "all": 1}
	for _, r := range records {
		for _, t := range strings.Fields(r)[1:] {
			l := strings.ToLower(t)
			if strings.TrimLeft(l, "+-~?") == "all" {
				if rank[l] > rank[all] {
					all = l
				}
				continue
			}
			if !slices.Contains(terms, t) {
				terms = append(terms, t)
			}
		}
	}
	if all == "" {
		all = "-all"
	}
	return strings.Join(append(append([]string{spf.Version}, terms...), all), " ")
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

// parentOf finds the domain whose record leads to n.
func parentOf(tree *spf.Tree, n *spf.Node) string {
	parent := ""
	tree.Each(func(p *spf.Node) {
		if slices.Contains(p.Children, n) {
			parent = p.Domain
		}
	})
	return parent
}
