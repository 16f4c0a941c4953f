package checks

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"

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
	switch {
	case err != nil && !isNotFound(err):
		return []report.Finding{dnsError("dmarc", domain, "the DMARC record at "+name, err)}
	case len(records) == 0:
		return []report.Finding{{
			ID: "dmarc.missing", Severity: report.Fail, Subject: domain,
			Message: fmt.Sprintf("%s has no DMARC record (looked at _dmarc.%s%s): Gmail and Yahoo require one from bulk senders, and others trust mail without it less.", domain, domain, orgNote(org, domain)),
			Fix: fmt.Sprintf("Start with a policy that only reports:\n_dmarc.%s. TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\"\n"+
				"then, once the reports show all your mail passes SPF or DKIM aligned, move to p=quarantine and p=reject.", domain, org),
		}}
	case len(records) > 1:
		return []report.Finding{{
			ID: "dmarc.multiple_records", Severity: report.Fail, Subject: domain,
			Message:  fmt.Sprintf("%s has %d DMARC records: receivers apply no policy at all (RFC 7489 §6.6.3).", name, len(records)),
			Fix:      fmt.Sprintf("Keep exactly one record at %s.", name),
			Evidence: map[string]any{"records": records},
		}}
	}
	rec, problems := dmarc.Parse(records[0])
	evidence := map[string]any{"record": rec.Raw, "name": name}
	if source != domain {
		evidence["inherited_from"] = org
	}
	if len(problems) > 0 {
		return []report.Finding{{
			ID: "dmarc.syntax_error", Severity: report.Fail, Subject: domain,
			Message:  fmt.Sprintf("The DMARC record at %s is broken: %s.", name, strings.Join(problems, "; ")),
			Fix:      fmt.Sprintf("Publish a valid record, for example:\n%s. TXT \"v=DMARC1; p=%s; rua=mailto:dmarc-reports@%s\"", name, cmp.Or(rec.Policy, "none"), org),
			Evidence: evidence,
		}}
	}
	// The policy that applies to mail from domain.
	policy := rec.Policy
	if source != domain {
		policy = rec.Sub
	}
	evidence["policy"] = policy
	var out []report.Finding
	switch {
	case policy == "none":
		out = append(out, report.Finding{
			ID: "dmarc.policy_none", Severity: report.Warn, Subject: domain,
			Message:  fmt.Sprintf("The DMARC policy for %s is p=none (at %s): receivers report but do nothing against forged mail.", domain, name),
			Fix:      fmt.Sprintf("When the aggregate reports show your own mail passing, move to quarantine, then reject:\n%s. TXT \"%s\"", name, withPolicy(rec.Raw, "quarantine")),
			Evidence: evidence,
		})
	default:
		msg := fmt.Sprintf("%s has a DMARC policy of %s", domain, policy)
		if source != domain {
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

// withPolicy sets p= in a record.
func withPolicy(raw, p string) string {
	parts := strings.Split(raw, ";")
	for i, part := range parts {
		if name, _, ok := strings.Cut(strings.TrimSpace(part), "="); ok && strings.EqualFold(strings.TrimSpace(name), "p") {
			parts[i] = " p=" + p
		}
	}
	return strings.Join(parts, ";")
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
					Message: fmt.Sprintf("%s=mailto:%s is outside %s, and %s has not agreed to take its reports (no v=DMARC1 record at %s): receivers will not send them (RFC 7489 §7.1).", d.tag, d.addr, org, host, name),
					Fix:     fmt.Sprintf("Ask whoever runs %s to publish\n%s. TXT \"v=DMARC1\"\nor send reports to an address in %s.", host, name, org),
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
