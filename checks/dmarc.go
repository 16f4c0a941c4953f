package checks

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/dmarc"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// dmarcKinds are the dmarc check's findings.
//
// DMARC is no required fact of direct delivery, so none of them blocks.
var dmarcKinds = []report.Kind{
	{ID: "dmarc.missing", Penalty: report.Penalty{Warn: 15}},
	{ID: "dmarc.multiple_records", Penalty: report.Penalty{Warn: 15}},
	{ID: "dmarc.syntax_error", Penalty: report.Penalty{Warn: 15}},
	{ID: "dmarc.policy_none", Penalty: report.Penalty{Warn: 5}},
	{ID: "dmarc.external_rua_unauthorized", Penalty: report.Penalty{Warn: 2}},
	{ID: "dmarc.spf_unaligned", Penalty: minorPenalty},
	{ID: "dmarc.ok"},
	{ID: "dmarc.spf_aligned"},
	// RFC 9989 (issue #15).
	{ID: "dmarc.no_policy", Penalty: report.Penalty{Warn: 8}},
	{ID: "dmarc.test_mode", Penalty: report.Penalty{Warn: 5}},
	{ID: "dmarc.psd_policy", Penalty: report.Penalty{Warn: 8}},
	{ID: "dmarc.org_domain_differs", Penalty: report.Penalty{Warn: 5}},
	{ID: "dmarc.tag_ignored", Penalty: report.Penalty{Warn: 2}},
	{ID: "dmarc.removed_tag"},
}

// DMARC checks the From domain's DMARC policy as RFC 9989 receivers find
// it (the DNS tree walk, §4.10) and says where receivers that still
// follow RFC 7489 (a Public Suffix List) see something else: syntax,
// the policy in force, the tags receivers ignore, whether external
// report addresses accept reports (RFC 9990 §3), and with a MAIL FROM,
// SPF alignment. The findings that a DNS change mends carry it as
// fix_records: one final record per run (dmarcPlan).
//
// With a message, the message's DMARC result follows (messageDMARC).
func DMARC(ctx context.Context, env Env, t Target) []report.Finding {
	if t.Message == nil {
		return dmarcPolicy(ctx, env, t)
	}
	return append(dmarcPolicy(ctx, env, t), messageDMARC(ctx, env, t)...)
}

// dmarcPolicy is the DMARC check of the domain's policy.
func dmarcPolicy(ctx context.Context, env Env, t Target) []report.Finding {
	domain := t.Domain
	if domain == "" {
		return nil
	}
	// The walk, the report authorization of the domain's own record and
	// the envelope domain's walk do not wait for each other: the
	// resolver asks each name once, and the walk's first question is
	// the authorization's.
	var (
		disc    dmarc.Discovery
		ownAuth []report.Finding
		envWalk *dmarc.Walk
		wg      sync.WaitGroup
	)
	wg.Go(func() { disc = dmarc.Discover(ctx, env.DNS, domain) })
	wg.Go(func() {
		if s := dmarc.LookupStep(ctx, env.DNS, domain); s.Record != nil {
			ownAuth = reportAuthorization(ctx, env, domain, *s.Record)
		}
	})
	if envDomain, _ := envelope(t); !t.MailFrom.IsZero() && envDomain != domain {
		wg.Go(func() { w := dmarc.TreeWalk(ctx, env.DNS, envDomain); envWalk = &w })
	}
	wg.Wait()
	first := disc.Walk.Steps[0]
	if first.Err != nil {
		return []report.Finding{dnsError("dmarc", domain, "the DMARC record at _dmarc."+domain, first.Err)}
	}
	legacy := dmarc.Discover7489(ctx, env.DNS, env.PSL, domain)
	meant := meantRecord(domain, first, legacy)
	plan := planDMARC(disc, legacy, meant)
	out := discardedRecord(domain, first, disc, meant)
	if f, ok := multipleRecords(domain, disc, legacy); ok {
		return append(out, f)
	}
	if f, ok := unresolvedWalk(domain, disc, legacy); ok {
		return append(out, f)
	}
	if disc.Step == nil {
		if len(out) == 0 {
			out = append(out, dmarcMissing(domain, disc, legacy, plan))
		}
		return out
	}
	out = append(out, policyFinding(domain, disc, legacy, plan)...)
	out = append(out, tagFindings(domain, disc, plan)...)
	out = append(out, bothWorlds(domain, disc, legacy, plan)...)
	if disc.Source == dmarc.AuthorRecord {
		out = append(out, ownAuth...)
	} else {
		out = append(out, reportAuthorization(ctx, env, disc.Step.Domain, *disc.Step.Record)...)
	}
	if disc.Applies() {
		out = append(out, alignment(ctx, env, t, disc, *disc.Step.Record, envWalk)...)
	}
	return out
}

// dmarcPlan is the one change a run's DMARC fixes make to the policy in
// force: the final record at name, replacing old[keep] and removing the
// other records in old, or added when old is empty. Every finding that
// this change mends carries it, so pasting any of them gives the same
// zone, and never two records at one name.
type dmarcPlan struct {
	name  string
	old   []string
	keep  int
	final string
}

func (p *dmarcPlan) records() []report.FixRecord {
	if p == nil {
		return nil
	}
	return oneTXT(p.name, p.old, p.keep, p.final)
}

// planDMARC is the run's DMARC change. A record that applies, the
// domain's own or its organizational domain's, is mended where it is
// (dmarcFinal). A public suffix operator's record (psd=y) is not the
// domain's to change, so then, as when no record applies, the domain
// gets a record of its own: the TXT record at _dmarc.DOMAIN that was
// meant as DMARC made one (meant), else a new one at the organizational
// domain by the Public Suffix List, where RFC 9989 and RFC 7489
// receivers both find it (at a subdomain of it, RFC 9989 would make the
// subdomain its own organizational domain, and the two kinds of
// receivers would align mail differently: dmarc.org_domain_differs).
func planDMARC(disc dmarc.Discovery, legacy dmarc.Legacy, meant *dmarcPlan) *dmarcPlan {
	if disc.Step != nil && disc.Source != dmarc.PSDRecord {
		return &dmarcPlan{name: "_dmarc." + disc.Step.Domain, old: disc.Step.Records,
			final: dmarcFinal(*disc.Step.Record, disc.Role, legacy.Org).Format()}
	}
	if meant != nil && legacy.Org == disc.Domain {
		return meant
	}
	return &dmarcPlan{name: "_dmarc." + legacy.Org, final: ownRecord(disc, legacy)}
}

// meantRecord is the change that makes the TXT records at _dmarc.DOMAIN
// that were meant as DMARC but are not DMARC records the one record
// they were meant to be: the first, mended, replacing them all. Nil when
// there are none, or when a DMARC record is there beside them.
func meantRecord(domain string, first dmarc.Step, legacy dmarc.Legacy) *dmarcPlan {
	meant := meantAsDMARC(first)
	if len(meant) == 0 || len(first.Records) > 0 {
		return nil
	}
	return &dmarcPlan{name: "_dmarc." + domain, old: meant,
		final: dmarcFinal(dmarc.Meant(meant[0]), dmarc.Own, legacy.Org).Format()}
}

// dmarcFinal is the one DMARC record a run's fixes publish where rec is,
// for a domain in role to it: what receivers ignore dropped (a rua= or
// ruf= keeps its valid addresses: dmarc.Record.Mended), a missing or
// invalid p= set to quarantine, and what is weak for the checked domain
// raised to quarantine: p= of its own record; for a domain inheriting
// the record, sp= (np= when that applies to a domain that does not
// exist), whose p= then stays as it is (it is the organizational
// domain's own policy). t=y goes: a record in test mode is not
// enforcing (dmarc.test_mode). A policy raised with no rua= gets one, so
// reports say whether mail passes.
func dmarcFinal(rec dmarc.Record, role dmarc.Role, org string) dmarc.Record {
	rec = rec.Mended()
	raised := false
	if !rec.Tags.Has("p") {
		rec, raised = rec.With("p", dmarc.Quarantine), true // no p=, no policy (RFC 9989 §4.10.1)
	}
	if now, err := dmarc.Parse(rec.Format()); err == nil {
		if policy, tag, ok := now.Policy(role); ok && policy == dmarc.None {
			if role != dmarc.Own && tag == "p" {
				tag = "sp"
			}
			rec, raised = rec.With(tag, dmarc.Quarantine), true
		}
		if now.Test {
			rec = rec.Without("t")
		}
	}
	if raised && !rec.Tags.Has("rua") {
		rec = rec.With("rua", "mailto:"+reportAddress(org))
	}
	return rec
}

// reportAddress is the address suggested for aggregate reports.
func reportAddress(org string) string { return "dmarc-reports@" + org }

// strongestDMARC picks, among several records at one name, the one to
// keep: the first with a sound policy and the strongest p=, a record
// with a valid rua= before one without; else the first.
func strongestDMARC(records []string) int {
	rank := map[string]int{dmarc.None: 2, dmarc.Quarantine: 4, dmarc.Reject: 6}
	best, bestRank := 0, 0
	for i, txt := range records {
		rec, err := dmarc.Parse(txt)
		if err != nil || rec.PolicyBroken() {
			continue
		}
		r := rank[rec.P]
		if len(rec.RUA) > 0 {
			r++
		}
		if r > bestRank {
			best, bestRank = i, r
		}
	}
	return best
}

// reportURIs names a record's report addresses for people.
func reportURIs(uris []dmarc.URI) string {
	var out []string
	for _, u := range uris {
		out = append(out, cmp.Or(u.Address, u.Raw))
	}
	return strings.Join(out, ", ")
}

// dmarcEvidence is what every finding about the policy carries: the
// record and where it was found, and the organizational domain by both
// methods.
func dmarcEvidence(disc dmarc.Discovery, legacy dmarc.Legacy) map[string]any {
	ev := map[string]any{"org_domain": disc.Org, "org_domain_psl": legacy.Org}
	var asked []string
	for _, s := range disc.Walk.Steps {
		if !s.Skipped {
			asked = append(asked, "_dmarc."+s.Domain)
		}
	}
	ev["tree_walk"] = asked
	if unchecked := uncheckedNames(disc.Walk); len(unchecked) > 0 {
		ev["unchecked"] = unchecked
	}
	if disc.Step != nil {
		ev["name"] = "_dmarc." + disc.Step.Domain
		ev["record"] = disc.Step.Record.Raw
		if disc.Source != dmarc.AuthorRecord {
			ev["inherited_from"] = disc.Step.Domain
		}
	}
	if disc.Applies() {
		ev["policy"] = disc.Policy
		ev["policy_tag"] = disc.Tag
		if disc.Applied != disc.Policy {
			ev["applied"] = disc.Applied
		}
	}
	return ev
}

// policyPhrase names the policy RFC 9989 receivers apply: "p=reject
// from _dmarc.example.com", or "no policy".
func policyPhrase(disc dmarc.Discovery) string {
	if !disc.Applies() {
		return "no policy"
	}
	return fmt.Sprintf("%s=%s from _dmarc.%s", disc.Tag, disc.Policy, disc.Step.Domain)
}

// uncheckedNames are the walk's names that could not be resolved, with
// why.
func uncheckedNames(w dmarc.Walk) []string {
	var out []string
	for _, s := range w.Errors() {
		out = append(out, "_dmarc."+s.Domain+" ("+resolver.Reason(s.Err)+")")
	}
	return out
}

// discardedRecord is the finding for a TXT record at _dmarc.DOMAIN that
// was meant as DMARC but is not a DMARC record, so receivers ignore it
// (RFC 9989 §4.7 v): v=DMARC10, v=dmarc1, v not first. Its fix makes it
// the record it was meant to be (meant), or removes it beside a DMARC
// record receivers use: a fix never leaves two records.
func discardedRecord(domain string, first dmarc.Step, disc dmarc.Discovery, meant *dmarcPlan) []report.Finding {
	var out []report.Finding
	name := "_dmarc." + domain
	for _, txt := range meantAsDMARC(first) {
		instead := "No other record applies, so receivers apply no DMARC to " + domain + "."
		if disc.Applies() && disc.Source != dmarc.AuthorRecord {
			instead = fmt.Sprintf("Receivers apply the policy found up the DNS tree instead: %s=%s at _dmarc.%s.", disc.Tag, disc.Policy, disc.Step.Domain)
		} else if disc.Source == dmarc.AuthorRecord {
			instead = "Receivers use the other record there."
		}
		f := report.Finding{
			ID: "dmarc.syntax_error", Severity: report.Warn, Subject: domain,
			Message:  fmt.Sprintf("The TXT record at %s is not a DMARC record: %s, and receivers ignore such records (RFC 9989 §4.7 v). %s", name, dmarc.NotRecordReason(txt), instead),
			Evidence: map[string]any{"record": txt, "name": name},
		}
		if meant != nil {
			f.Fix = "Start the record with v=DMARC1, exactly so: the record below is the one it was meant to be, its valid tags kept, a missing p= set to quarantine and a none policy raised to quarantine (make it reject if that is what you meant):"
			f.FixRecords = meant.records()
		} else {
			f.Fix = fmt.Sprintf("Remove it: the DMARC record at %s is the one receivers use.", name)
			f.FixRecords = []report.FixRecord{{Action: report.FixRemove, Name: name, Type: "TXT", Old: txt}}
		}
		out = append(out, f)
	}
	return out
}

// meantAsDMARC are the TXT records of a step that are not DMARC records
// but were meant as one (dmarc.LooksLikeDMARC); other TXT records at a
// _dmarc name (site verifications) are left alone.
func meantAsDMARC(s dmarc.Step) []string {
	var out []string
	for _, txt := range s.TXT {
		if !dmarc.IsRecord(txt) && dmarc.LooksLikeDMARC(txt) {
			out = append(out, txt)
		}
	}
	return out
}

// multipleRecords is the finding for a name on the way to the policy
// with several DMARC records. Receivers discard them all, and then
// differ: RFC 7489 ones stop (§6.6.3), RFC 9989 ones walk on up the tree
// (§4.10 step 2). The fix keeps the strongest record, mended for the
// domain, and removes the others.
func multipleRecords(domain string, disc dmarc.Discovery, legacy dmarc.Legacy) (report.Finding, bool) {
	for _, s := range disc.Walk.Steps {
		if disc.Step != nil && s.Domain == disc.Step.Domain {
			return report.Finding{}, false
		}
		if len(s.Records) < 2 {
			continue
		}
		then := "RFC 9989 receivers then walk on up the DNS tree and apply " + policyPhrase(disc)
		legacyNote := ""
		if legacy.Multiple {
			legacyNote = "; RFC 7489 receivers apply no policy at all (RFC 7489 §6.6.3)"
		}
		role := dmarc.Subdomain
		if s.Domain == domain {
			role = dmarc.Own
		}
		keep := strongestDMARC(s.Records)
		rec, _ := dmarc.Parse(s.Records[keep]) // a DMARC record: the walk picked it
		return report.Finding{
			ID: "dmarc.multiple_records", Severity: report.Warn, Subject: domain,
			Message: fmt.Sprintf("_dmarc.%s has %d DMARC records, and receivers discard them all (RFC 9989 §4.10 step 2). What follows differs between receivers: %s%s.",
				s.Domain, len(s.Records), then, legacyNote),
			Fix:        fmt.Sprintf("Keep exactly one record at _dmarc.%s: the strongest of them, mended (tags receivers ignore dropped, a none policy raised). Replace it and remove the others:", s.Domain),
			FixRecords: oneTXT("_dmarc."+s.Domain, s.Records, keep, dmarcFinal(rec, role, legacy.Org).Format()),
			Evidence:   map[string]any{"records": s.Records, "name": "_dmarc." + s.Domain},
		}, true
	}
	return report.Finding{}, false
}

// unresolvedWalk is a dns_error when a name the policy may come from
// could not be resolved: a name at or under the organizational domain
// by the Public Suffix List, above a domain without its own record.
// Names above that are public suffixes, where a record is a public
// suffix operator's and rare (--offline with zone files never reaches
// them): they are noted in the evidence, not an error.
func unresolvedWalk(domain string, disc dmarc.Discovery, legacy dmarc.Legacy) (report.Finding, bool) {
	if disc.Source == dmarc.AuthorRecord {
		return report.Finding{}, false
	}
	for _, s := range disc.Walk.Errors() {
		if dns.IsSubDomain(legacy.Org, s.Domain) {
			return dnsError("dmarc", domain, "the DMARC record at _dmarc."+s.Domain, s.Err), true
		}
	}
	if disc.ExistsErr != nil && npDiffers(*disc.Step.Record) {
		return dnsError("dmarc", domain, "whether "+domain+" exists (np= applies if it does not)", disc.ExistsErr), true
	}
	return report.Finding{}, false
}

// npDiffers: whether the domain exists changes the policy.
func npDiffers(rec dmarc.Record) bool {
	nx, _, _ := rec.Policy(dmarc.NonExistent)
	sub, _, _ := rec.Policy(dmarc.Subdomain)
	return nx != sub
}

// dmarcMissing is the finding for a domain no DMARC record applies to;
// its fix is the run's plan: a record at the organizational domain.
func dmarcMissing(domain string, disc dmarc.Discovery, legacy dmarc.Legacy, plan *dmarcPlan) report.Finding {
	note := ""
	if unchecked := uncheckedNames(disc.Walk); len(unchecked) > 0 {
		note = fmt.Sprintf("; %s could not be checked, where a public suffix operator's record could add a policy", strings.Join(unchecked, ", "))
	}
	covers := domain
	if plan.name != "_dmarc."+domain {
		covers = fmt.Sprintf("%s (and every name under %s without a record of its own)", domain, legacy.Org)
	}
	return report.Finding{
		ID: "dmarc.missing", Severity: report.Warn, Subject: domain,
		Message: fmt.Sprintf("%s has no DMARC record: none at _dmarc.%s nor up the DNS tree (RFC 9989 §4.10)%s. Gmail and Yahoo require one from bulk senders, and others trust mail without it less.",
			domain, domain, note),
		Fix: fmt.Sprintf("Publish a DMARC record at %s, where RFC 9989 and RFC 7489 receivers both find it. The one below asks receivers to quarantine mail from %s that fails both SPF and DKIM alignment (enforcement), and to send aggregate reports to %s (create that mailbox, or use your report service's address). "+
			"If you are not sure all your mail is aligned yet, publish it with p=none for a few weeks and read the reports first (monitoring mode; preflight warns dmarc.policy_none until you raise it):", plan.name, covers, reportAddress(legacy.Org)),
		FixRecords: plan.records(),
		Evidence:   dmarcEvidence(disc, legacy),
	}
}

// policyFinding is the one finding about the policy in force: broken,
// missing p=, monitoring mode, test mode, or enforcement. All but the
// last carry the run's plan.
func policyFinding(domain string, disc dmarc.Discovery, legacy dmarc.Legacy, plan *dmarcPlan) []report.Finding {
	rec := *disc.Step.Record
	name := "_dmarc." + disc.Step.Domain
	ev := dmarcEvidence(disc, legacy)
	where := "at " + name
	if disc.Source != dmarc.AuthorRecord {
		where = fmt.Sprintf("inherited from %s, where %s= applies to %s%s", name, disc.Tag, domain, existence(disc))
	}
	f := report.Finding{Severity: report.Warn, Subject: domain, FixRecords: plan.records(), Evidence: ev}
	const mended = "the record below keeps the tags receivers use and drops the others; a p= that was missing or invalid becomes quarantine (make it reject if that is what you meant), and a none policy is raised to quarantine"
	broken := rec.ProblemsOf(dmarc.PolicyBroken)
	switch {
	case len(broken) > 0 && !rec.Applies():
		f.ID = "dmarc.syntax_error"
		f.Message = fmt.Sprintf("The DMARC record at %s has no valid policy (%s) and no valid rua= either, so receivers apply no DMARC to %s (RFC 9989 §4.10.1).",
			name, problemTexts(broken), domain)
		f.Fix = "Publish a valid record: " + mended + ":"
	case len(broken) == 1 && broken[0].Tag == "p" && !rec.Tags.Has("p"):
		f.ID = "dmarc.no_policy"
		f.Message = fmt.Sprintf("The DMARC record for %s (%s) has no p= tag: receivers treat it as p=none, monitoring mode, since its rua= is valid (RFC 9989 §4.10.1). Gmail rejects bulk mail whose record doesn't specify a DMARC policy.",
			domain, where)
		f.Fix = fmt.Sprintf("Say the policy: the record below asks for enforcement, p=quarantine. To read the reports sent to %s for a few weeks first, publish it with p=none (monitoring mode; preflight then warns dmarc.policy_none):", reportURIs(rec.RUA))
	case len(broken) > 0:
		f.ID = "dmarc.syntax_error"
		f.Message = fmt.Sprintf("The DMARC record at %s has an invalid policy (%s): receivers act as if it said p=none, since its rua= is valid (RFC 9989 §4.10.1)%s.",
			name, problemTexts(broken), legacyPolicyNote(disc, legacy))
		f.Fix = "Publish valid policies (none, quarantine or reject): " + mended + ":"
	case disc.Policy == dmarc.None:
		reports := "Receivers send reports but do nothing against forged mail."
		if len(rec.RUA) == 0 {
			reports = "Receivers do nothing against forged mail, and with no rua= send no reports either."
		}
		f.ID = "dmarc.policy_none"
		f.Message = fmt.Sprintf("The DMARC policy for %s is %s=none (%s): monitoring mode. %s", domain, disc.Tag, where, reports)
		f.Fix = policyNoneFix(disc, rec, legacy.Org)
	case disc.Applied != disc.Policy:
		f.ID = "dmarc.test_mode"
		f.Message = fmt.Sprintf("The DMARC policy for %s is %s=%s with t=y (%s): the domain is testing its policy, not enforcing it. RFC 9989 receivers apply one level less, %s, at most (§4.7 t); RFC 7489 receivers do not know t= and apply %s.",
			domain, disc.Tag, disc.Policy, where, disc.Applied, disc.Policy)
		f.Fix = "Remove t=y once your own mail passes SPF or DKIM aligned:"
		if len(rec.RUA) > 0 {
			f.Fix = fmt.Sprintf("When the aggregate reports sent to %s show your own mail passing, remove t=y:", reportURIs(rec.RUA))
		}
	default:
		return []report.Finding{{
			ID: "dmarc.ok", Severity: report.Pass, Subject: domain,
			Message:  fmt.Sprintf("%s is under DMARC enforcement: %s=%s (%s).", domain, disc.Tag, disc.Policy, where),
			Evidence: ev,
		}}
	}
	if disc.Source == dmarc.PSDRecord {
		f.Fix = psdAdvice(disc, plan)
	}
	return []report.Finding{f}
}

// policyNoneFix is the advice for a none policy: what to raise, and
// about reports only when the record asks for them.
func policyNoneFix(disc dmarc.Discovery, rec dmarc.Record, org string) string {
	what := "move to enforcement: quarantine, then reject"
	raise := disc.Tag
	if disc.Source != dmarc.AuthorRecord && raise == "p" {
		raise = "sp"
	}
	switch raise {
	case "sp":
		what = fmt.Sprintf("raise sp= (what subdomains get) to quarantine, then reject, keeping p=%s", rec.P)
	case "np":
		what = fmt.Sprintf("raise np= (what names that do not exist get) to quarantine, then reject, keeping p=%s", rec.P)
	}
	if len(rec.RUA) > 0 {
		return fmt.Sprintf("When the aggregate reports sent to %s show your own mail passing SPF or DKIM aligned, %s:", reportURIs(rec.RUA), what)
	}
	return fmt.Sprintf("The record has no rua=, so no receiver sends reports that would show whether your own mail passes: "+
		"the record below adds rua=mailto:%s (create that mailbox, or use your report service's address) and does the next step, %s. "+
		"To read a few weeks of reports before raising, publish it with none first.", reportAddress(org), what)
}

// psdAdvice is the fix of a finding about a public suffix operator's
// record (psd=y): not the domain's to change, so the plan gives the
// domain a record of its own.
func psdAdvice(disc dmarc.Discovery, plan *dmarcPlan) string {
	return fmt.Sprintf("The record at _dmarc.%s is a public suffix operator's, not yours to change: publish a record of your own at %s, which RFC 9989 and RFC 7489 receivers both look at before it. The one below asks for enforcement and reports; to read the reports for a few weeks first, publish it with p=none:",
		disc.Step.Domain, plan.name)
}

// existence explains np and sp for an inherited policy.
func existence(disc dmarc.Discovery) string {
	switch {
	case disc.Role == dmarc.NonExistent:
		return fmt.Sprintf(", since %s does not exist (NXDOMAIN, RFC 9989 §4.7 np)", disc.Domain)
	case disc.Step.Record.NP != "" && disc.ExistsErr == nil:
		return fmt.Sprintf(" (np= would apply only if %s did not exist)", disc.Domain)
	}
	return ""
}

// legacyPolicyNote says what RFC 7489 receivers apply when the same
// record reads differently to them (an invalid np= they do not know).
func legacyPolicyNote(disc dmarc.Discovery, legacy dmarc.Legacy) string {
	if legacy.Step == nil || legacy.Step.Domain != disc.Step.Domain || legacy.Policy == "" || legacy.Policy == dmarc.None {
		return ""
	}
	return fmt.Sprintf("; RFC 7489 receivers, which do not know np=, apply %s", legacy.Policy)
}

func problemTexts(ps []dmarc.Problem) string {
	var texts []string
	for _, p := range ps {
		texts = append(texts, p.Text)
	}
	return strings.Join(texts, "; ")
}

// tagFindings report the tags receivers ignore (invalid, unknown, a
// report URI scheme they need not support) and the tags RFC 9989
// removed, one finding per tag.
func tagFindings(domain string, disc dmarc.Discovery, plan *dmarcPlan) []report.Finding {
	rec := *disc.Step.Record
	name := "_dmarc." + disc.Step.Domain
	var out []report.Finding
	byTag := map[string][]dmarc.Problem{}
	var tags []string
	for _, p := range rec.Problems {
		if p.Kind == dmarc.Invalid || p.Kind == dmarc.Unknown || p.Kind == dmarc.Unsupported {
			if _, seen := byTag[p.Tag]; !seen {
				tags = append(tags, p.Tag)
			}
			byTag[p.Tag] = append(byTag[p.Tag], p)
		}
	}
	for _, tag := range tags {
		out = append(out, ignoredTag(domain, name, tag, byTag[tag], disc, plan))
	}
	if removed := rec.ProblemsOf(dmarc.Removed); len(removed) > 0 {
		out = append(out, removedTags(domain, name, rec, removed))
	}
	return out
}

// ignoredTag is the finding for one tag receivers ignore. An invalid
// value is a warning, since the record's author meant something by it;
// an unknown tag or a URI scheme receivers may not support is a note.
// The run's plan drops invalid and unknown tags (a report address
// written without mailto: gains it), so those findings carry it; a
// public suffix operator's record is not the domain's to change.
func ignoredTag(domain, name, tag string, ps []dmarc.Problem, disc dmarc.Discovery, plan *dmarcPlan) report.Finding {
	label := tag + "="
	if tag == "" {
		label = "a part"
	}
	f := report.Finding{
		ID: "dmarc.tag_ignored", Severity: report.Info, Subject: domain,
		Evidence: map[string]any{"tag": tag, "name": name},
	}
	still := ""
	if disc.Applies() {
		still = fmt.Sprintf(" The policy still applies: %s=%s.", disc.Tag, disc.Policy)
	}
	switch ps[0].Kind {
	case dmarc.Invalid:
		f.Severity = report.Warn
		f.Message = fmt.Sprintf("Receivers ignore %s of the DMARC record at %s (%s) and use its default (RFC 9989 §4.8).%s", label, name, problemTexts(ps), still)
		f.Fix = fmt.Sprintf("Correct %s in %s, or remove it: the record below drops it.", label, name)
		if tag == "rua" || tag == "ruf" {
			f.Fix = fmt.Sprintf("Write each report address as a mailto: URI, for example %s=mailto:%s: the record below does so for the addresses it can read, and drops the others.", tag, reportAddress(disc.Step.Domain))
		}
	case dmarc.Unknown:
		f.Message = fmt.Sprintf("%s in the DMARC record at %s is not a DMARC tag: receivers ignore it (RFC 9989 §4.7). A misspelling?%s", label, name, still)
		f.Fix = "Correct the tag's name if it is a misspelling, or remove it: the record below drops it."
	default:
		f.Message = fmt.Sprintf("In the DMARC record at %s, %s: receivers only have to support mailto:, and ignore URIs they cannot use (RFC 9989 §4.7 rua), so reports may not arrive there.", name, problemTexts(ps))
		return f
	}
	if disc.Source == dmarc.PSDRecord {
		f.Fix = fmt.Sprintf("The record at %s is a public suffix operator's: ask them to correct it, or publish a record of your own at %s (dmarc.psd_policy).", name, plan.name)
		return f
	}
	f.FixRecords = plan.records()
	return f
}

// removedTags is the note on pct, rf, ri and !size: RFC 9989 receivers
// ignore them, RFC 7489 ones may not. pct below 100 was the way to
// ease into a policy; t=y is now. The advice has no records: the
// run's plan keeps what RFC 7489 receivers still honour, and test mode
// is the domain's choice to make.
func removedTags(domain, name string, rec dmarc.Record, ps []dmarc.Problem) report.Finding {
	f := report.Finding{
		ID: "dmarc.removed_tag", Severity: report.Info, Subject: domain,
		Message: fmt.Sprintf("The DMARC record at %s uses what RFC 9989 removed (%s): RFC 9989 receivers ignore it (Appendix C.4, C.5.2), RFC 7489 receivers may still honour it.",
			name, problemTexts(ps)),
		Evidence: map[string]any{"name": name},
	}
	if rec.PCT >= 0 && rec.PCT < 100 {
		f.Message += fmt.Sprintf(" pct=%d asks RFC 7489 receivers to apply the policy to %d%% of failing mail only; RFC 9989 replaced it with t=y, which asks for one level less (Appendix A.6).", rec.PCT, rec.PCT)
		f.Fix = fmt.Sprintf("To ease into the policy, use t=y instead of pct in %s: RFC 9989 receivers then apply one level less; remove t=y once the reports show your own mail passing (preflight warns dmarc.test_mode until then).", name)
	}
	return f
}

// bothWorlds compares RFC 9989 receivers with those that still follow
// RFC 7489 and find organizational domains with a Public Suffix List
// (RFC 9989 Appendix C.3): a policy only the tree walk finds (a public
// suffix operator's, psd=y), and organizational domains that differ,
// which change the policy or relaxed alignment. The fix that works for
// both: a record of the domain's own, and strict alignment.
func bothWorlds(domain string, disc dmarc.Discovery, legacy dmarc.Legacy, plan *dmarcPlan) []report.Finding {
	var out []report.Finding
	ev := dmarcEvidence(disc, legacy)
	legacyPolicy := "no policy"
	if legacy.Err != nil {
		legacyPolicy = "unknown (" + resolver.Reason(legacy.Err) + ")"
	} else if legacy.Policy != "" {
		legacyPolicy = fmt.Sprintf("%s (from _dmarc.%s)", legacy.Policy, legacy.Step.Domain)
	}
	if disc.Source == dmarc.PSDRecord {
		out = append(out, report.Finding{
			ID: "dmarc.psd_policy", Severity: report.Warn, Subject: domain,
			Message: fmt.Sprintf("%s has no DMARC record of its own%s: the policy comes from the public suffix operator's record at _dmarc.%s (psd=y, RFC 9989 §4.10.1). RFC 7489 receivers do not look there: %s.",
				domain, orgNote(disc.Org, domain), disc.Step.Domain, legacyPolicy),
			Fix:        fmt.Sprintf("Publish a record of your own at %s, which both kinds of receivers look at first. The one below asks for enforcement and reports; to read the reports for a few weeks first, publish it with p=none:", plan.name),
			FixRecords: plan.records(),
			Evidence:   ev,
		})
	}
	if disc.Org == legacy.Org {
		return out
	}
	msg := fmt.Sprintf("The organizational domain of %s is %s by RFC 9989's DNS tree walk but %s by the Public Suffix List that RFC 7489 receivers use.", domain, disc.Org, legacy.Org)
	if legacy.Err == nil && (legacy.Step == nil || legacy.Step.Domain != disc.Step.Domain || legacy.Policy != disc.Policy) {
		msg += fmt.Sprintf(" The policies differ: RFC 9989 receivers apply %s, RFC 7489 receivers %s.", policyPhrase(disc), legacyPolicy)
	}
	msg += fmt.Sprintf(" Relaxed alignment differs too: a DKIM or SPF domain under %s but not under %s aligns with %s for one kind of receiver only.", either(disc.Org, legacy.Org), neither(disc.Org, legacy.Org), domain)
	// No record alone makes the organizational domains agree: the
	// advice has no records.
	fix := "Use strict alignment (adkim=s; aspf=s) and sign and bounce with " + domain + " itself, so the organizational domain no longer matters."
	if disc.Source != dmarc.AuthorRecord {
		own := ownRecord(disc, legacy)
		fix = fmt.Sprintf("Publish a record of your own at _dmarc.%s, which both kinds of receivers look at first:\n_dmarc.%s. TXT \"%s\"\n%s", domain, domain, own, fix)
	}
	return append(out, report.Finding{
		ID: "dmarc.org_domain_differs", Severity: report.Warn, Subject: domain,
		Message: msg, Fix: fix, Evidence: ev,
	})
}

// ownRecord is a record of the domain's own with the policy RFC 9989
// receivers apply now, or more (dmarcFinal raises none), and reports.
func ownRecord(disc dmarc.Discovery, legacy dmarc.Legacy) string {
	start, _ := dmarc.Parse("v=DMARC1; p=" + cmp.Or(disc.Policy, dmarc.None) + "; rua=mailto:" + reportAddress(legacy.Org))
	return dmarcFinal(start, dmarc.Own, legacy.Org).Format()
}

// orgNote names the organizational domain when it is not the domain.
func orgNote(org, domain string) string {
	if org == domain {
		return ""
	}
	return ", nor has its organizational domain " + org
}

// either and neither name the wider and narrower of two nested
// organizational domains.
func either(a, b string) string {
	if dns.IsSubDomain(a, b) {
		return a
	}
	return b
}

func neither(a, b string) string {
	if dns.IsSubDomain(a, b) {
		return b
	}
	return a
}

// reportAuthorization checks that each report address outside the
// domain's organization accepts its reports: DOMAIN._report._dmarc.DEST
// must hold a record starting with v=DMARC1 (RFC 9990 §3), else the
// reports are not sent there. The organizations are compared by the
// Public Suffix List, as before RFC 9989.
func reportAuthorization(ctx context.Context, env Env, domain string, rec dmarc.Record) []report.Finding {
	org := dmarc.PSLOrgDomain(env.PSL, domain)
	type dest struct{ tag, addr, host string }
	var dests []dest
	for _, u := range rec.RUA {
		if u.Scheme == "mailto" {
			dests = append(dests, dest{"rua", u.Address, u.Host})
		}
	}
	for _, u := range rec.RUF {
		if u.Scheme == "mailto" {
			dests = append(dests, dest{"ruf", u.Address, u.Host})
		}
	}
	// A record is the domain's to write, and can name hundreds of
	// addresses: each costs a lookup. Like MX and PTR names, only the
	// first few are followed.
	dests = dests[:min(len(dests), resolver.MaxNames)]
	results := make([]*report.Finding, len(dests))
	var wg sync.WaitGroup
	for i, d := range dests {
		if dmarc.PSLOrgDomain(env.PSL, d.host) == org {
			continue
		}
		wg.Go(func() {
			name := domain + "._report._dmarc." + d.host
			txts, err := env.DNS.LookupTXT(ctx, name)
			switch {
			case err != nil && !resolver.IsNotFound(err):
				f := dnsError("dmarc", d.addr, "the report authorization at "+name, err)
				results[i] = &f
			case !slices.ContainsFunc(txts, dmarc.IsRecord):
				results[i] = &report.Finding{
					ID: "dmarc.external_rua_unauthorized", Severity: report.Warn, Subject: d.addr,
					Message:    fmt.Sprintf("%s=mailto:%s is outside %s, and %s has not agreed to take its reports (no v=DMARC1 record at %s): receivers will not send them (RFC 9990 §3).", d.tag, d.addr, org, d.host, name),
					Fix:        fmt.Sprintf("Ask whoever runs %s to publish the record below, or send reports to an address in %s.", d.host, org),
					FixRecords: []report.FixRecord{{Action: report.FixAdd, Name: strings.ToLower(name), Type: "TXT", Value: "v=DMARC1"}},
				}
			}
		})
	}
	wg.Wait()
	var out []report.Finding
	for _, f := range results {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out
}

// alignment says whether SPF's domain (MAIL FROM) aligns with the From
// domain under the record's aspf mode (RFC 9989 §3.2.10, §4.4.2), for
// RFC 9989 receivers (organizational domains by the tree walk) and for
// RFC 7489 ones (by the Public Suffix List). DKIM's d= is the From
// domain for the selectors checked here, so it aligns.
func alignment(ctx context.Context, env Env, t Target, disc dmarc.Discovery, rec dmarc.Record, envWalk *dmarc.Walk) []report.Finding {
	if t.MailFrom.IsZero() {
		return nil
	}
	envDomain, _ := envelope(t)
	mode := map[string]string{"r": "relaxed", "s": "strict"}[rec.ASPF]
	al := dmarc.Align(ctx, env.DNS, env.PSL, envDomain, t.Domain, rec.ASPF)
	a9989, a7489 := al.RFC9989, al.RFC7489
	envOrg := envDomain
	if envWalk != nil {
		envOrg = envWalk.OrgDomain()
	}
	ev := map[string]any{"aspf": rec.ASPF, "org_domain": disc.Org, "envelope_org_domain": envOrg,
		"org_domain_psl": dmarc.PSLOrgDomain(env.PSL, t.Domain), "envelope_org_domain_psl": dmarc.PSLOrgDomain(env.PSL, envDomain)}
	if a9989 && a7489 {
		return []report.Finding{{
			ID: "dmarc.spf_aligned", Severity: report.Pass, Subject: t.Domain,
			Message:  fmt.Sprintf("The envelope domain %s aligns with the From domain %s (aspf %s): an SPF pass counts for DMARC.", envDomain, t.Domain, mode),
			Evidence: ev,
		}}
	}
	msg := fmt.Sprintf("The envelope domain %s does not align with the From domain %s (aspf %s): an SPF pass does not count for DMARC, which then rests on DKIM alone.", envDomain, t.Domain, mode)
	switch {
	case a9989:
		msg = fmt.Sprintf("The envelope domain %s aligns with the From domain %s for RFC 9989 receivers (organizational domain %s by the DNS tree walk) but not for RFC 7489 receivers (%s and %s by the Public Suffix List): for them an SPF pass does not count for DMARC.",
			envDomain, t.Domain, disc.Org, ev["envelope_org_domain_psl"], ev["org_domain_psl"])
	case a7489:
		msg = fmt.Sprintf("The envelope domain %s aligns with the From domain %s for RFC 7489 receivers (organizational domain %s by the Public Suffix List) but not for RFC 9989 receivers (%s and %s by the DNS tree walk): for them an SPF pass does not count for DMARC.",
			envDomain, t.Domain, ev["org_domain_psl"], envOrg, disc.Org)
	}
	return []report.Finding{{
		ID: "dmarc.spf_unaligned", Severity: report.Warn, Subject: t.Domain,
		Message:  msg,
		Fix:      fmt.Sprintf("Use a bounce address at %s itself (for example bounces@%s with its own SPF record), which aligns for every receiver, or make sure every message carries an aligned DKIM signature (d=%s).", t.Domain, t.Domain, t.Domain),
		Evidence: ev,
	}}
}
