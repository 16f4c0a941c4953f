package checks

import (
	"context"
	"fmt"
	"strings"
	"sync"

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
}

// DMARC checks the From domain's DMARC policy: at _dmarc.DOMAIN, else at
// the organizational domain; syntax, policy strength, and whether
// external report addresses accept reports for the domain.
func DMARC(ctx context.Context, env Env, t Target) []report.Finding {
	domain := t.Domain
	if domain == "" {
		return nil
	}
	org := dmarc.OrgDomain(domain)
	name := "_dmarc." + domain
	txts, err := env.DNS.LookupTXT(ctx, name)
	records := dmarcRecords(txts)
	source := domain
	if err == nil && len(records) == 0 || isNotFound(err) {
		if org != domain {
			name = "_dmarc." + org
			txts, err = env.DNS.LookupTXT(ctx, name)
			records = dmarcRecords(txts)
			source = org
		}
	}
	inherited := source != domain
	switch {
	case err != nil && !isNotFound(err):
		return []report.Finding{dnsError("dmarc", domain, "the DMARC record at "+name, err)}
	case len(records) == 0:
		return []report.Finding{dmarcMissing(domain, org)}
	case len(records) > 1:
		keep := strongestDMARC(records)
		rec, _ := dmarc.Parse(records[keep])
		return []report.Finding{{
			ID: "dmarc.multiple_records", Severity: report.Warn, Subject: domain,
			Message:    fmt.Sprintf("%s has %d DMARC records: receivers apply no policy at all (RFC 7489 §6.6.3).", name, len(records)),
			Fix:        fmt.Sprintf("Keep exactly one record at %s: the strongest of them, mended (tags refused dropped, a none policy raised). Replace it and remove the others:", name),
			FixRecords: oneTXT(name, records, keep, dmarcFinal(rec, inherited, org).Format()),
			Evidence:   map[string]any{"records": records},
		}}
	}
	rec, problems := dmarc.Parse(records[0])
	evidence := map[string]any{"record": rec.Raw, "name": name}
	if inherited {
		evidence["inherited_from"] = org
	}
	final := dmarcFinal(rec, inherited, org).Format()
	if len(problems) > 0 {
		return []report.Finding{{
			ID: "dmarc.syntax_error", Severity: report.Warn, Subject: domain,
			Message:    fmt.Sprintf("The DMARC record at %s is broken: %s.", name, strings.Join(problems, "; ")),
			Fix:        "Publish a valid record: the one below keeps the tags that are valid, in order after v=DMARC1 and p=, and drops the others; a p= that was missing or invalid becomes quarantine (make it reject if that is what you meant), and a none policy is raised to quarantine:",
			FixRecords: oneTXT(name, records, 0, final),
			Evidence:   evidence,
		}}
	}
	// The policy that applies to mail from domain: sp= (defaulting to p=)
	// when inherited from the organizational domain (RFC 7489 §6.6.3).
	policy := rec.Policy
	if inherited {
		policy = rec.Sub
	}
	evidence["policy"] = policy
	var out []report.Finding
	switch {
	case policy == "none":
		out = append(out, report.Finding{
			ID: "dmarc.policy_none", Severity: report.Warn, Subject: domain,
			Message:    policyNoneMessage(domain, name, rec, inherited),
			Fix:        policyNoneFix(rec, inherited, org),
			FixRecords: oneTXT(name, records, 0, final),
			Evidence:   evidence,
		})
	default:
		msg := fmt.Sprintf("%s has a DMARC policy of %s", domain, policy)
		if inherited {
			msg += fmt.Sprintf(" (inherited from %s)", name)
		}
		if rec.Pct < 100 {
			msg += fmt.Sprintf(", applied to %d%% of failing mail", rec.Pct)
		}
		out = append(out, report.Finding{ID: "dmarc.ok", Severity: report.Pass, Subject: domain, Message: msg + ".", Evidence: evidence})
	}
	out = append(out, reportAuthorization(ctx, env, source, rec)...)
	out = append(out, alignment(t, rec)...)
	return out
}

// dmarcMissing is the finding for a domain without a DMARC record; its
// fix publishes one at _dmarc.DOMAIN.
func dmarcMissing(domain, org string) report.Finding {
	start, _ := dmarc.Parse("v=DMARC1")
	rec := start.With("p", "quarantine").With("rua", "mailto:"+reportAddress(org))
	return report.Finding{
		ID: "dmarc.missing", Severity: report.Warn, Subject: domain,
		Message: fmt.Sprintf("%s has no DMARC record (looked at _dmarc.%s%s): Gmail and Yahoo require one from bulk senders, and others trust mail without it less.", domain, domain, orgNote(org, domain)),
		Fix: fmt.Sprintf("Publish a DMARC record. The one below asks receivers to quarantine mail from %s that fails both SPF and DKIM alignment, and to send aggregate reports to %s (create that mailbox, or use your report service's address). "+
			"If you are not sure all your mail is aligned yet, publish it with p=none for a few weeks and read the reports first (preflight warns dmarc.policy_none until you raise it):", domain, reportAddress(org)),
		FixRecords: []report.FixRecord{{Action: report.FixAdd, Name: "_dmarc." + domain, Type: "TXT", Value: rec.Format()}},
	}
}

// reportAddress is the address suggested for aggregate reports.
func reportAddress(org string) string { return "dmarc-reports@" + org }

// dmarcFinal is the one DMARC record a run's fixes publish where rec is:
// rec's valid tags kept (a rua= or ruf= with its valid addresses), the
// rest dropped, a missing p= set to quarantine, and what is weak for the
// checked domain raised to quarantine: p= of its own record, or sp= of
// the organizational domain's record it inherits, whose p= then stays as
// it is (it is the organizational domain's own policy). A policy raised
// from none with no rua= gets one, so reports say whether mail passes.
func dmarcFinal(rec dmarc.Record, inherited bool, org string) dmarc.Record {
	for _, tag := range rec.Invalid {
		addrs := map[string][]string{"rua": rec.RUA, "ruf": rec.RUF}[tag]
		if len(addrs) == 0 {
			rec = rec.Without(tag)
			continue
		}
		uris := make([]string, len(addrs))
		for i, a := range addrs {
			uris[i] = "mailto:" + a
		}
		rec = rec.With(tag, strings.Join(uris, ","))
	}
	raised := false
	if _, ok := rec.Tags["p"]; !ok {
		rec, raised = rec.With("p", "quarantine"), true // p= is required (RFC 7489 §6.3)
	}
	sub, ok := rec.Tags["sp"]
	if !ok {
		sub = rec.Tags["p"]
	}
	switch {
	case !inherited && strings.EqualFold(rec.Tags["p"], "none"):
		rec, raised = rec.With("p", "quarantine"), true
	case inherited && strings.EqualFold(sub, "none"):
		rec, raised = rec.With("sp", "quarantine"), true
	}
	if _, ok := rec.Tags["rua"]; raised && !ok {
		rec = rec.With("rua", "mailto:"+reportAddress(org))
	}
	return rec
}

// strongestDMARC picks, among several records at one name, the one to
// keep: the first valid one with the strongest policy, a record with
// rua= before one without; else the first.
func strongestDMARC(records []string) int {
	rank := map[string]int{"none": 2, "quarantine": 4, "reject": 6}
	best, bestRank := 0, 0
	for i, txt := range records {
		rec, problems := dmarc.Parse(txt)
		r := rank[rec.Policy]
		if len(rec.RUA) > 0 {
			r++
		}
		if len(problems) == 0 && r > bestRank {
			best, bestRank = i, r
		}
	}
	return best
}

// policyNoneMessage says which tag makes the policy none: p= of the
// domain's own record, or sp= (or the p= it defaults to) of the
// organizational domain's.
func policyNoneMessage(domain, name string, rec dmarc.Record, inherited bool) string {
	const tail = ": receivers report but do nothing against forged mail."
	switch {
	case !inherited:
		return fmt.Sprintf("The DMARC policy for %s is p=none (at %s)%s", domain, name, tail)
	case rec.Tags["sp"] != "":
		return fmt.Sprintf("The DMARC policy for %s is sp=none, inherited from %s, whose p=%s covers only the organizational domain itself%s", domain, name, rec.Policy, tail)
	}
	return fmt.Sprintf("The DMARC policy for %s is p=none, inherited from %s (no sp=, so subdomains get p=)%s", domain, name, tail)
}

// policyNoneFix is the advice for a none policy: about reports only when
// the record asks for them.
func policyNoneFix(rec dmarc.Record, inherited bool, org string) string {
	what := "raise the policy to quarantine, then reject"
	if inherited && rec.Policy != "none" {
		what = fmt.Sprintf("raise sp= (what subdomains get) to quarantine, then reject, keeping p=%s", rec.Policy)
	}
	if len(rec.RUA) > 0 {
		return fmt.Sprintf("When the aggregate reports sent to %s show your own mail passing SPF or DKIM aligned, %s:", strings.Join(rec.RUA, ", "), what)
	}
	return fmt.Sprintf("The record has no rua=, so no receiver sends reports that would show whether your own mail passes: "+
		"the record below adds rua=mailto:%s (create that mailbox, or use your report service's address) and does the next step, %s. "+
		"To read a few weeks of reports before raising, publish it with none first.", reportAddress(org), what)
}

func orgNote(org, domain string) string {
	if org == domain {
		return ""
	}
	return " and _dmarc." + org
}

// dmarcRecords picks the DMARC records among TXT strings (RFC 7489
// §6.6.3: those starting with "v=DMARC1").
func dmarcRecords(txts []string) []string {
	var out []string
	for _, t := range txts {
		if strings.HasPrefix(strings.ReplaceAll(t, " ", ""), "v=DMARC1") {
			out = append(out, t)
		}
	}
	return out
}

// reportAuthorization checks that each report address outside the
// domain's organization accepts its reports: DOMAIN._report._dmarc.DEST
// must hold a v=DMARC1 record (RFC 7489 §7.1), else the reports are
// not sent there.
func reportAuthorization(ctx context.Context, env Env, domain string, rec dmarc.Record) []report.Finding {
	org := dmarc.OrgDomain(domain)
	type dest struct{ tag, addr, host string }
	var dests []dest
	for _, a := range rec.RUA {
		dests = append(dests, dest{"rua", a, a[strings.LastIndexByte(a, '@')+1:]})
	}
	for _, a := range rec.RUF {
		dests = append(dests, dest{"ruf", a, a[strings.LastIndexByte(a, '@')+1:]})
	}
	// A record is the domain's to write, and can name hundreds of
	// addresses: each costs a lookup. Like MX and PTR names, only the
	// first few are followed.
	dests = dests[:min(len(dests), resolver.MaxNames)]
	results := make([]*report.Finding, len(dests))
	var wg sync.WaitGroup
	for i, d := range dests {
		host := strings.ToLower(d.host)
		if dmarc.OrgDomain(host) == org {
			continue
		}
		wg.Go(func() {
			name := domain + "._report._dmarc." + host
			txts, err := env.DNS.LookupTXT(ctx, name)
			switch {
			case err != nil && !resolver.IsNotFound(err):
				f := dnsError("dmarc", d.addr, "the report authorization at "+name, err)
				results[i] = &f
			case len(dmarcRecords(txts)) == 0:
				results[i] = &report.Finding{
					ID: "dmarc.external_rua_unauthorized", Severity: report.Warn, Subject: d.addr,
					Message:    fmt.Sprintf("%s=mailto:%s is outside %s, and %s has not agreed to take its reports (no v=DMARC1 record at %s): receivers will not send them (RFC 7489 §7.1).", d.tag, d.addr, org, host, name),
					Fix:        fmt.Sprintf("Ask whoever runs %s to publish the record below, or send reports to an address in %s.", host, org),
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
// domain under the record's aspf mode (RFC 7489 §3.1.2). DKIM's d= is
// the From domain for the selectors checked here, so it aligns.
func alignment(t Target, rec dmarc.Record) []report.Finding {
	if t.MailFrom.IsZero() {
		return nil
	}
	envDomain, _ := envelope(t)
	aligned := envDomain == t.Domain
	if !aligned && rec.ASPF == "r" {
		aligned = dmarc.OrgDomain(envDomain) == dmarc.OrgDomain(t.Domain)
	}
	mode := map[string]string{"r": "relaxed", "s": "strict"}[rec.ASPF]
	if aligned {
		return []report.Finding{{
			ID: "dmarc.spf_aligned", Severity: report.Pass, Subject: t.Domain,
			Message: fmt.Sprintf("The envelope domain %s aligns with the From domain %s (aspf %s): an SPF pass counts for DMARC.", envDomain, t.Domain, mode),
		}}
	}
	return []report.Finding{{
		ID: "dmarc.spf_unaligned", Severity: report.Warn, Subject: t.Domain,
		Message: fmt.Sprintf("The envelope domain %s does not align with the From domain %s (aspf %s): an SPF pass does not count for DMARC, which then rests on DKIM alone.", envDomain, t.Domain, mode),
		Fix:     fmt.Sprintf("Use a bounce address under %s (for example bounces@%s with its own SPF record), or make sure every message carries an aligned DKIM signature (d=%s).", dmarc.OrgDomain(t.Domain), t.Domain, t.Domain),
	}}
}
