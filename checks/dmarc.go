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
var dmarcKinds = []report.Kind{
	{ID: "dmarc.missing", Penalty: report.Penalty{Fail: 15}},
	{ID: "dmarc.multiple_records", Penalty: report.Penalty{Fail: 15}},
	{ID: "dmarc.syntax_error", Penalty: report.Penalty{Fail: 15}},
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
// SPF alignment.
func DMARC(ctx context.Context, env Env, t Target) []report.Finding {
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
	out := discardedRecord(domain, first, disc)
	if f, ok := multipleRecords(domain, disc, legacy); ok {
		return append(out, f)
	}
	if f, ok := unresolvedWalk(domain, disc, legacy); ok {
		return append(out, f)
	}
	if disc.Step == nil {
		if len(out) == 0 {
			out = append(out, dmarcMissing(domain, disc, legacy, env.PSL))
		}
		return out
	}
	out = append(out, policyFinding(domain, disc, legacy)...)
	out = append(out, tagFindings(domain, disc)...)
	out = append(out, bothWorlds(domain, disc, legacy)...)
	if disc.Source == dmarc.AuthorRecord {
		out = append(out, ownAuth...)
	} else {
		out = append(out, reportAuthorization(ctx, env, disc.Step.Domain, *disc.Step.Record)...)
	}
	if disc.Applies() {
		out = append(out, alignment(t, env.PSL, disc, *disc.Step.Record, envWalk)...)
	}
	return out
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
// (RFC 9989 §4.7 v): v=DMARC10, v=dmarc1, v not first.
func discardedRecord(domain string, first dmarc.Step, disc dmarc.Discovery) []report.Finding {
	var out []report.Finding
	for _, txt := range first.TXT {
		if dmarc.IsRecord(txt) || !dmarc.LooksLikeDMARC(txt) {
			continue
		}
		instead := "No other record applies, so receivers apply no DMARC to " + domain + "."
		if disc.Applies() && disc.Source != dmarc.AuthorRecord {
			instead = fmt.Sprintf("Receivers apply the policy found up the DNS tree instead: %s=%s at _dmarc.%s.", disc.Tag, disc.Policy, disc.Step.Domain)
		} else if disc.Source == dmarc.AuthorRecord {
			instead = "Receivers use the other record there."
		}
		out = append(out, report.Finding{
			ID: "dmarc.syntax_error", Severity: report.Fail, Subject: domain,
			Message:  fmt.Sprintf("The TXT record at _dmarc.%s is not a DMARC record: %s, and receivers ignore such records (RFC 9989 §4.7 v). %s", domain, dmarc.NotRecordReason(txt), instead),
			Fix:      fmt.Sprintf("Start the record with v=DMARC1, exactly so:\n_dmarc.%s. TXT \"%s\"", domain, fixedVersion(txt)),
			Evidence: map[string]any{"record": txt, "name": "_dmarc." + domain},
		})
	}
	return out
}

// fixedVersion is txt with v=DMARC1 as its first tag.
func fixedVersion(txt string) string {
	var rest []string
	for _, part := range strings.Split(txt, ";") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		if strings.TrimSpace(part) == "" || strings.EqualFold(strings.TrimSpace(name), "v") {
			continue
		}
		rest = append(rest, strings.TrimSpace(part))
	}
	return strings.Join(append([]string{"v=" + dmarc.Version}, rest...), "; ")
}

// multipleRecords is the finding for a name on the way to the policy
// with several DMARC records. Receivers discard them all, and then
// differ: RFC 7489 ones stop (§6.6.3), RFC 9989 ones walk on up the tree
// (§4.10 step 2).
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
		return report.Finding{
			ID: "dmarc.multiple_records", Severity: report.Fail, Subject: domain,
			Message: fmt.Sprintf("_dmarc.%s has %d DMARC records, and receivers discard them all (RFC 9989 §4.10 step 2). What follows differs between receivers: %s%s.",
				s.Domain, len(s.Records), then, legacyNote),
			Fix:      fmt.Sprintf("Keep exactly one record at _dmarc.%s.", s.Domain),
			Evidence: map[string]any{"records": s.Records, "name": "_dmarc." + s.Domain},
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

// dmarcMissing is the finding for a domain no DMARC record applies to.
func dmarcMissing(domain string, disc dmarc.Discovery, legacy dmarc.Legacy, psl dmarc.SuffixList) report.Finding {
	note := ""
	if unchecked := uncheckedNames(disc.Walk); len(unchecked) > 0 {
		note = fmt.Sprintf("; %s could not be checked, where a public suffix operator's record could add a policy", strings.Join(unchecked, ", "))
	}
	return report.Finding{
		ID: "dmarc.missing", Severity: report.Fail, Subject: domain,
		Message: fmt.Sprintf("%s has no DMARC record: none at _dmarc.%s nor up the DNS tree (RFC 9989 §4.10)%s. Gmail and Yahoo require one from bulk senders, and others trust mail without it less.",
			domain, domain, note),
		Fix: fmt.Sprintf("Start in monitoring mode, with a policy that only asks for reports:\n_dmarc.%s. TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\"\n"+
			"then, once the reports show all your mail passing SPF or DKIM aligned, move to enforcement: p=quarantine, then p=reject.", domain, dmarc.PSLOrgDomain(psl, domain)),
		Evidence: dmarcEvidence(disc, legacy),
	}
}

// policyFinding is the one finding about the policy in force: broken,
// missing p=, monitoring mode, test mode, or enforcement.
func policyFinding(domain string, disc dmarc.Discovery, legacy dmarc.Legacy) []report.Finding {
	rec := *disc.Step.Record
	name := "_dmarc." + disc.Step.Domain
	ev := dmarcEvidence(disc, legacy)
	where := "at " + name
	if disc.Source != dmarc.AuthorRecord {
		where = fmt.Sprintf("inherited from %s, where %s= applies to %s%s", name, disc.Tag, domain, existence(disc))
	}
	broken := rec.ProblemsOf(dmarc.PolicyBroken)
	switch {
	case len(broken) > 0 && !rec.Applies():
		return []report.Finding{{
			ID: "dmarc.syntax_error", Severity: report.Fail, Subject: domain,
			Message: fmt.Sprintf("The DMARC record at %s has no valid policy (%s) and no valid rua= either, so receivers apply no DMARC to %s (RFC 9989 §4.10.1).",
				name, problemTexts(broken), domain),
			Fix:      fmt.Sprintf("Publish a valid policy, for example:\n%s. TXT \"%s\"", name, withTags(rec.Raw, map[string]string{"p": cmp.Or(rec.P, dmarc.None), "sp": rec.SP, "np": rec.NP})),
			Evidence: ev,
		}}
	case len(broken) == 1 && broken[0].Tag == "p" && !rec.Tags.Has("p"):
		return []report.Finding{{
			ID: "dmarc.no_policy", Severity: report.Warn, Subject: domain,
			Message: fmt.Sprintf("The DMARC record for %s (%s) has no p= tag: receivers treat it as p=none, monitoring mode, since its rua= is valid (RFC 9989 §4.10.1). Gmail rejects bulk mail whose record doesn't specify a DMARC policy.",
				domain, where),
			Fix:      fmt.Sprintf("Say the policy, p=none while you read the reports:\n%s. TXT \"%s\"", name, withTags(rec.Raw, map[string]string{"p": dmarc.None})),
			Evidence: ev,
		}}
	case len(broken) > 0:
		return []report.Finding{{
			ID: "dmarc.syntax_error", Severity: report.Fail, Subject: domain,
			Message: fmt.Sprintf("The DMARC record at %s has an invalid policy (%s): receivers act as if it said p=none, since its rua= is valid (RFC 9989 §4.10.1)%s.",
				name, problemTexts(broken), legacyPolicyNote(disc, legacy)),
			Fix:      fmt.Sprintf("Publish valid policies (none, quarantine or reject):\n%s. TXT \"%s\"", name, withTags(rec.Raw, map[string]string{"p": cmp.Or(rec.P, dmarc.None), "sp": rec.SP, "np": rec.NP})),
			Evidence: ev,
		}}
	case disc.Policy == dmarc.None:
		return []report.Finding{{
			ID: "dmarc.policy_none", Severity: report.Warn, Subject: domain,
			Message: fmt.Sprintf("The DMARC policy for %s is %s=none (%s): monitoring mode. Receivers send reports but do nothing against forged mail.",
				domain, disc.Tag, where),
			Fix: fmt.Sprintf("When the aggregate reports show your own mail passing, move to enforcement, quarantine, then reject:\n%s. TXT \"%s\"",
				name, withTags(rec.Raw, map[string]string{disc.Tag: dmarc.Quarantine})),
			Evidence: ev,
		}}
	case disc.Applied != disc.Policy:
		return []report.Finding{{
			ID: "dmarc.test_mode", Severity: report.Warn, Subject: domain,
			Message: fmt.Sprintf("The DMARC policy for %s is %s=%s with t=y (%s): the domain is testing its policy, not enforcing it. RFC 9989 receivers apply one level less, %s, at most (§4.7 t); RFC 7489 receivers do not know t= and apply %s.",
				domain, disc.Tag, disc.Policy, where, disc.Applied, disc.Policy),
			Fix:      fmt.Sprintf("When the aggregate reports show your own mail passing, remove t=y:\n%s. TXT \"%s\"", name, withTags(rec.Raw, map[string]string{"t": ""})),
			Evidence: ev,
		}}
	}
	return []report.Finding{{
		ID: "dmarc.ok", Severity: report.Pass, Subject: domain,
		Message:  fmt.Sprintf("%s is under DMARC enforcement: %s=%s (%s).", domain, disc.Tag, disc.Policy, where),
		Evidence: ev,
	}}
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

// withTags sets tags in a record: a value replaces the tag's (or is
// added at the end), "" removes it. Tag names match in any case.
func withTags(raw string, set map[string]string) string {
	parts := strings.Split(raw, ";")
	var out []string
	done := map[string]bool{}
	for _, part := range parts {
		name, _, ok := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		v, change := set[name]
		switch {
		case strings.TrimSpace(part) == "":
			continue
		case !ok || !change:
			out = append(out, strings.TrimSpace(part))
		case v != "" && !done[name]:
			out = append(out, name+"="+v)
		}
		done[name] = true
	}
	for _, name := range []string{"p", "sp", "np", "t"} {
		if v := set[name]; v != "" && !done[name] {
			if name == "p" && len(out) > 0 {
				// Right after v=: RFC 7489's grammar wants it there.
				out = slices.Insert(out, 1, name+"="+v)
				continue
			}
			out = append(out, name+"="+v)
		}
	}
	return strings.Join(out, "; ")
}

// tagFindings report the tags receivers ignore (invalid, unknown, a
// report URI scheme they need not support) and the tags RFC 9989
// removed, one finding per tag.
func tagFindings(domain string, disc dmarc.Discovery) []report.Finding {
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
		out = append(out, ignoredTag(domain, name, tag, byTag[tag], disc))
	}
	if removed := rec.ProblemsOf(dmarc.Removed); len(removed) > 0 {
		out = append(out, removedTags(domain, name, rec, removed))
	}
	return out
}

// ignoredTag is the finding for one tag receivers ignore. An invalid
// value is a warning, since the record's author meant something by it;
// an unknown tag or a URI scheme receivers may not support is a note.
func ignoredTag(domain, name, tag string, ps []dmarc.Problem, disc dmarc.Discovery) report.Finding {
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
		f.Fix = fmt.Sprintf("Correct %s in %s, or remove it.", label, name)
		if tag == "rua" || tag == "ruf" {
			f.Fix = fmt.Sprintf("Write each report address as a mailto: URI, for example %s=mailto:dmarc-reports@%s.", tag, disc.Step.Domain)
		}
	case dmarc.Unknown:
		f.Message = fmt.Sprintf("%s in the DMARC record at %s is not a DMARC tag: receivers ignore it (RFC 9989 §4.7). A misspelling?%s", label, name, still)
	default:
		f.Message = fmt.Sprintf("In the DMARC record at %s, %s: receivers only have to support mailto:, and ignore URIs they cannot use (RFC 9989 §4.7 rua), so reports may not arrive there.", name, problemTexts(ps))
	}
	return f
}

// removedTags is the note on pct, rf, ri and !size: RFC 9989 receivers
// ignore them, RFC 7489 ones may not. pct below 100 was the way to
// ease into a policy; t=y is now.
func removedTags(domain, name string, rec dmarc.Record, ps []dmarc.Problem) report.Finding {
	f := report.Finding{
		ID: "dmarc.removed_tag", Severity: report.Info, Subject: domain,
		Message: fmt.Sprintf("The DMARC record at %s uses what RFC 9989 removed (%s): RFC 9989 receivers ignore it (Appendix C.4, C.5.2), RFC 7489 receivers may still honour it.",
			name, problemTexts(ps)),
		Evidence: map[string]any{"name": name},
	}
	if rec.PCT >= 0 && rec.PCT < 100 {
		f.Message += fmt.Sprintf(" pct=%d asks RFC 7489 receivers to apply the policy to %d%% of failing mail only; RFC 9989 replaced it with t=y, which asks for one level less (Appendix A.6).", rec.PCT, rec.PCT)
		f.Fix = fmt.Sprintf("To ease into the policy, use t=y instead of pct:\n%s. TXT \"%s\"", name, withTags(withoutTag(rec.Raw, "pct"), map[string]string{"t": "y"}))
	}
	return f
}

// withoutTag removes a tag from a record.
func withoutTag(raw, tag string) string {
	var out []string
	for _, part := range strings.Split(raw, ";") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		if strings.TrimSpace(part) != "" && !strings.EqualFold(strings.TrimSpace(name), tag) {
			out = append(out, strings.TrimSpace(part))
		}
	}
	return strings.Join(out, "; ")
}

// bothWorlds compares RFC 9989 receivers with those that still follow
// RFC 7489 and find organizational domains with a Public Suffix List
// (RFC 9989 Appendix C.3): a policy only the tree walk finds (a public
// suffix operator's, psd=y), and organizational domains that differ,
// which change the policy or relaxed alignment. The fix that works for
// both: a record at the domain itself, and strict alignment.
func bothWorlds(domain string, disc dmarc.Discovery, legacy dmarc.Legacy) []report.Finding {
	var out []report.Finding
	ev := dmarcEvidence(disc, legacy)
	legacyPolicy := "no policy"
	if legacy.Err != nil {
		legacyPolicy = "unknown (" + resolver.Reason(legacy.Err) + ")"
	} else if legacy.Policy != "" {
		legacyPolicy = fmt.Sprintf("%s (from _dmarc.%s)", legacy.Policy, legacy.Step.Domain)
	}
	ownRecord := fmt.Sprintf("Publish a record of your own at _dmarc.%s, which both kinds of receivers look at first:\n_dmarc.%s. TXT \"v=DMARC1; p=%s; rua=mailto:dmarc-reports@%s\"",
		domain, domain, cmp.Or(disc.Policy, dmarc.None), legacy.Org)
	if disc.Source == dmarc.PSDRecord {
		out = append(out, report.Finding{
			ID: "dmarc.psd_policy", Severity: report.Warn, Subject: domain,
			Message: fmt.Sprintf("%s has no DMARC record of its own%s: the policy comes from the public suffix operator's record at _dmarc.%s (psd=y, RFC 9989 §4.10.1). RFC 7489 receivers do not look there: %s.",
				domain, orgNote(disc.Org, domain), disc.Step.Domain, legacyPolicy),
			Fix:      ownRecord,
			Evidence: ev,
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
	fix := "Use strict alignment (adkim=s; aspf=s) and sign and bounce with " + domain + " itself, so the organizational domain no longer matters."
	if disc.Source != dmarc.AuthorRecord {
		fix = ownRecord + "\n" + fix
	}
	return append(out, report.Finding{
		ID: "dmarc.org_domain_differs", Severity: report.Warn, Subject: domain,
		Message: msg, Fix: fix, Evidence: ev,
	})
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
					Message: fmt.Sprintf("%s=mailto:%s is outside %s, and %s has not agreed to take its reports (no v=DMARC1 record at %s): receivers will not send them (RFC 9990 §3).", d.tag, d.addr, org, d.host, name),
					Fix:     fmt.Sprintf("Ask whoever runs %s to publish\n%s. TXT \"v=DMARC1\"\nor send reports to an address in %s.", d.host, name, org),
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
func alignment(t Target, psl dmarc.SuffixList, disc dmarc.Discovery, rec dmarc.Record, envWalk *dmarc.Walk) []report.Finding {
	if t.MailFrom.IsZero() {
		return nil
	}
	envDomain, _ := envelope(t)
	mode := map[string]string{"r": "relaxed", "s": "strict"}[rec.ASPF]
	a9989, a7489 := envDomain == t.Domain, envDomain == t.Domain
	envOrg := envDomain
	if envWalk != nil {
		envOrg = envWalk.OrgDomain()
	}
	if !a9989 && rec.ASPF == "r" {
		a9989 = envOrg == disc.Org
		a7489 = dmarc.PSLOrgDomain(psl, envDomain) == dmarc.PSLOrgDomain(psl, t.Domain)
	}
	ev := map[string]any{"aspf": rec.ASPF, "org_domain": disc.Org, "envelope_org_domain": envOrg,
		"org_domain_psl": dmarc.PSLOrgDomain(psl, t.Domain), "envelope_org_domain_psl": dmarc.PSLOrgDomain(psl, envDomain)}
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
