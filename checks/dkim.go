package checks

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"github.com/miekg/dns"
	"github.com/preflight-mail/preflight/dkim"
	"github.com/preflight-mail/preflight/names"

	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// dkimKinds are the dkim check's findings. DKIM is no required fact of
// direct delivery (many receivers take mail without it), so none of
// them blocks: they are warnings, weighted by how much receivers care.
var dkimKinds = []report.Kind{
	{ID: "dkim.missing", Penalty: report.Penalty{Warn: 15}},
	{ID: "dkim.revoked", Penalty: report.Penalty{Warn: 10}},
	// Under 1024 bits (verifiers must ignore the signature, RFC 8301
	// §3.2) or 1024 (below the 2048 signers should use): one weight.
	{ID: "dkim.weak_key", Penalty: report.Penalty{Warn: 10}},
	{ID: "dkim.testing_mode", Penalty: report.Penalty{Warn: 3}},
	{ID: "dkim.syntax_error", Penalty: report.Penalty{Warn: 10}},
	{ID: "dkim.sha1_only", Penalty: minorPenalty},
	{ID: "dkim.key_mismatch", Penalty: report.Penalty{Warn: 10}},
	{ID: "dkim.no_known_selector", Penalty: minorPenalty},
	{ID: "dkim.key_ok"},
	{ID: "dkim.key_matches"},
	{ID: "dkim.selectors_guessed"},
}

// CommonSelectors are tried when no selector is given: the defaults of
// widespread mail systems and providers. A key found under none of them
// proves nothing: selectors are free-form.
var CommonSelectors = []names.Selector{
	"default", "dkim", "mail", "selector1", "selector2", // generic; Microsoft 365
	"google",         // Google Workspace
	"k1", "k2", "k3", // Mailchimp / Mandrill
	"s1", "s2", // SendGrid
	"mandrill", "mailjet", "pm", // Mandrill, Mailjet, Postmark
	"sig1",              // iCloud
	"fm1", "fm2", "fm3", // Fastmail
	"zmail", "zoho", // Zoho
	"protonmail", "protonmail2", "protonmail3",
	"smtp", "dkim1", "key1", "mx", "cm", "everlytickey1",
}

// Key sizes (RFC 8301 §3.2: verifiers MUST accept 1024-4096 bits;
// signers SHOULD use at least 2048; under 1024 MUST NOT be used).
const (
	minRSABits  = 1024
	goodRSABits = 2048
)

// DKIM checks the DKIM key records of the selectors (or common ones):
// present, well formed, key type and size, flags, and, with a private
// key, that it matches the published one.
func DKIM(ctx context.Context, env Env, t Target) []report.Finding {
	if t.Domain == "" {
		return nil
	}
	selectors, guessed := t.Selectors, false
	if len(selectors) == 0 {
		selectors, guessed = CommonSelectors, true
	}
	results := make([][]report.Finding, len(selectors))
	var wg sync.WaitGroup
	for i, s := range selectors {
		wg.Go(func() { results[i] = dkimSelector(ctx, env, t.Domain, string(s), guessed) })
	}
	wg.Wait()
	var out []report.Finding
	var found []string
	var failed []report.Finding
	for i, fs := range results {
		if guessed && len(fs) == 1 && fs[0].Severity == report.Error {
			failed = append(failed, fs[0])
			continue
		}
		out = append(out, fs...)
		if len(fs) > 0 && guessed {
			found = append(found, string(selectors[i]))
		}
	}
	if len(failed) > 0 {
		// One finding for the guesses that could not be checked.
		f := failed[0]
		f.Subject = t.Domain
		f.Message = fmt.Sprintf("Could not check %d of %d common selectors (%s: %s).", len(failed), len(selectors), failed[0].Subject, f.Evidence["error"])
		out = append(out, f)
		if len(found) == 0 {
			return out
		}
	}
	if guessed {
		if len(found) == 0 {
			out = append(out, report.Finding{
				ID: "dkim.no_known_selector", Severity: report.Warn, Subject: t.Domain,
				Message:  fmt.Sprintf("No DKIM key under %d common selectors of %s. That proves nothing: selectors are free-form.", len(CommonSelectors), t.Domain),
				Fix:      "Give the selectors you sign with (--selector; the s= tag of your DKIM-Signature headers). If you do not sign yet, set up DKIM: receivers weigh it heavily, and DMARC needs it.",
				Evidence: map[string]any{"tried": CommonSelectors},
			})
		} else {
			out = append(out, report.Finding{
				ID: "dkim.selectors_guessed", Severity: report.Info, Subject: t.Domain,
				Message:  fmt.Sprintf("Found keys under common selectors: %s. Others you sign with were not checked: give them with --selector.", strings.Join(found, ", ")),
				Evidence: map[string]any{"tried": CommonSelectors, "found": found},
			})
		}
	}
	if t.DKIMKey != nil && len(t.Selectors) == 1 {
		out = append(out, dkimKeyMatch(ctx, env, t))
		publishKey(ctx, env, t, out)
	}
	return out
}

// publishKey gives the findings that publishing the key of --dkim-key
// mends (no key, a revoked, broken, weak or other key at the selector)
// the record that publishes it, replacing what is there. Not through a
// CNAME: the record then lives in the provider's zone.
func publishKey(ctx context.Context, env Env, t Target, fs []report.Finding) {
	selector := string(t.Selectors[0])
	name := selector + "._domainkey." + t.Domain
	rec, err := dkim.KeyRecord(t.DKIMKey.Public())
	if err != nil {
		return
	}
	key, _ := dkim.ParseKey(rec)
	ans, err := env.DNS.Lookup(ctx, name, dns.TypeTXT)
	var old []string
	switch {
	case err == nil && len(ans.CNAMEs) > 0:
		return
	case err == nil:
		old = slices.DeleteFunc(resolver.TXTStrings(ans.Records), func(txt string) bool { return !dkim.IsKeyRecord(txt) })
	case !isNotFound(err):
		return
	}
	change := oneTXT(name, old, 0, rec)
	for i, f := range fs {
		switch {
		case f.Subject != selector:
		case f.ID == "dkim.missing", f.ID == "dkim.revoked", f.ID == "dkim.syntax_error", f.ID == "dkim.key_mismatch",
			f.ID == "dkim.weak_key" && (key.Type != "rsa" || key.Bits >= goodRSABits):
			fs[i].Fix = fmt.Sprintf("Publish the public key of the private key you sign with (--dkim-key) at %s:", name)
			fs[i].FixRecords = change
		}
	}
}

// dkimSelector checks one selector. A guessed selector that does not
// exist gives no finding.
func dkimSelector(ctx context.Context, env Env, domain, selector string, guessed bool) []report.Finding {
	name := selector + "._domainkey." + domain
	ans, err := env.DNS.Lookup(ctx, name, dns.TypeTXT)
	evidence := map[string]any{"name": name}
	if ans != nil && len(ans.CNAMEs) > 0 {
		evidence["cname"] = ans.CNAMEs
	}
	var txts []string
	if err == nil {
		// RFC 6376 §3.6.1: a record whose v= is not DKIM1 is not a key
		// record (a wildcard SPF record, a site verification): discard.
		txts = slices.DeleteFunc(resolver.TXTStrings(ans.Records), func(txt string) bool { return !dkim.IsKeyRecord(txt) })
		if len(txts) == 0 {
			err = &resolver.LookupError{Name: name, Type: "TXT", Kind: resolver.ErrNoData, Reason: "no DKIM key record among the TXT records"}
		}
	}
	switch {
	case isNotFound(err) && guessed:
		return nil
	case isNotFound(err):
		return []report.Finding{dkimMissing(name, selector, err, evidence)}
	case err != nil:
		return []report.Finding{dnsError("dkim", selector, "the DKIM key at "+name, err)}
	}
	evidence["records"] = txts
	if len(txts) > 1 {
		return []report.Finding{{
			ID: "dkim.syntax_error", Severity: report.Warn, Subject: selector,
			Message:  fmt.Sprintf("%s has %d TXT records: verifiers may use either, or fail (RFC 6376 §3.6.2.2).", name, len(txts)),
			Fix:      fmt.Sprintf("Keep exactly one key record at %s.", name),
			Evidence: evidence,
		}}
	}
	return judgeKey(name, selector, txts[0], via(ans), evidence)
}

// dkimMissing is the finding for a selector with no key record.
func dkimMissing(name, selector string, err error, evidence map[string]any) report.Finding {
	msg := fmt.Sprintf("No DKIM key at %s: receivers cannot verify signatures with selector %q, and treat them as failed.", name, selector)
	var le *resolver.LookupError
	if errors.As(err, &le) && strings.Contains(le.Reason, "via CNAME") {
		msg = fmt.Sprintf("%s is delegated by CNAME (%s) to a name with no DKIM key: signatures with selector %q fail.", name, le.Reason, selector)
	}
	return report.Finding{
		ID: "dkim.missing", Severity: report.Warn, Subject: selector, Message: msg,
		Fix:      fmt.Sprintf("Publish the public key of selector %q:\n%s. TXT \"v=DKIM1; k=rsa; p=<base64 public key>\"\n(or the CNAME your provider gives you), or stop signing with this selector.", selector, name),
		Evidence: evidence,
	}
}

// judgeKey parses one key record and judges it: broken, revoked, its
// strength, its flags.
func judgeKey(name, selector, txt, via string, evidence map[string]any) []report.Finding {
	key, problems := dkim.ParseKey(txt)
	evidence["key_type"] = key.Type
	if key.Bits > 0 {
		evidence["bits"] = key.Bits
	}
	if len(key.Flags) > 0 {
		evidence["flags"] = key.Flags
	}
	if len(problems) > 0 {
		return []report.Finding{{
			ID: "dkim.syntax_error", Severity: report.Warn, Subject: selector,
			Message:  fmt.Sprintf("The DKIM key record at %s is broken: %s. Signatures with selector %q fail.", name, strings.Join(problems, "; "), selector),
			Fix:      fmt.Sprintf("Republish the key record exactly as your signer prints it:\n%s. TXT \"v=DKIM1; k=%s; p=<base64 public key>\"", name, cmp.Or(key.Type, "rsa")),
			Evidence: evidence,
		}}
	}
	if key.Revoked {
		return []report.Finding{{
			ID: "dkim.revoked", Severity: report.Warn, Subject: selector,
			Message:  fmt.Sprintf("The DKIM key at %s is revoked (empty p=): signatures with selector %q fail.", name, selector),
			Fix:      fmt.Sprintf("Stop signing with %q, or publish a new key there.", selector),
			Evidence: evidence,
		}}
	}
	flags := keyFlags(name, selector, key)
	if via == "" {
		// Mend the record here; behind a CNAME it is the provider's.
		for i := range flags {
			flags[i].FixRecords = []report.FixRecord{{Action: report.FixReplace, Name: name, Type: "TXT", Old: txt, Value: dkim.Mend(txt)}}
		}
	}
	return append([]report.Finding{keyStrength(name, selector, key, via, evidence)}, flags...)
}

// keyStrength judges the key's type and size (RFC 8301 §3.2).
func keyStrength(name, selector string, key dkim.Key, via string, evidence map[string]any) report.Finding {
	desc := key.Describe()
	switch {
	case key.Type == "rsa" && key.Bits < minRSABits:
		return report.Finding{
			ID: "dkim.weak_key", Severity: report.Warn, Subject: selector,
			Message:  fmt.Sprintf("The DKIM key at %s is %s: keys under %d bits can be forged, and receivers ignore their signatures (RFC 8301 §3.2).", name, desc, minRSABits),
			Fix:      fmt.Sprintf("Generate a %d-bit RSA (or Ed25519 alongside) key, publish it under a new selector, and switch signing to it. No record alone mends this: the signer must change keys.", goodRSABits),
			Evidence: evidence,
		}
	case key.Type == "rsa" && key.Bits < goodRSABits:
		return report.Finding{
			ID: "dkim.weak_key", Severity: report.Warn, Subject: selector,
			Message:  fmt.Sprintf("The DKIM key at %s is %s: still accepted, but signers should use %d bits (RFC 8301 §3.2).", name, desc, goodRSABits),
			Fix:      fmt.Sprintf("Rotate to a %d-bit RSA key under a new selector. No record alone mends this: the signer must change keys.", goodRSABits),
			Evidence: evidence,
		}
	}
	return report.Finding{
		ID: "dkim.key_ok", Severity: report.Pass, Subject: selector,
		Message:  fmt.Sprintf("%s has %s%s.", name, article(desc), via),
		Evidence: evidence,
	}
}

// keyFlags reports the key's testing flag and a hash list without sha256.
func keyFlags(name, selector string, key dkim.Key) []report.Finding {
	var out []report.Finding
	if slices.Contains(key.Flags, "y") {
		out = append(out, report.Finding{
			ID: "dkim.testing_mode", Severity: report.Warn, Subject: selector,
			Message: fmt.Sprintf("The DKIM key at %s has t=y: the domain says it is testing DKIM, and verifiers may treat its signatures as unsigned (RFC 6376 §3.6.1).", name),
			Fix:     "Remove t=y from the key record once signing works.",
		})
	}
	if len(key.Hashes) > 0 && !slices.Contains(key.Hashes, "sha256") {
		out = append(out, report.Finding{
			ID: "dkim.sha1_only", Severity: report.Warn, Subject: selector,
			Message: fmt.Sprintf("The DKIM key at %s allows only h=%s: rsa-sha1 signatures are no longer accepted (RFC 8301 §3.1).", name, strings.Join(key.Hashes, ":")),
			Fix:     "Remove h= (or set h=sha256) and sign with rsa-sha256.",
		})
	}
	return out
}

func via(ans *resolver.Answer) string {
	if len(ans.CNAMEs) == 0 {
		return ""
	}
	return fmt.Sprintf(" (delegated by CNAME to %s)", ans.CNAMEs[len(ans.CNAMEs)-1])
}

// article puts "a" or "an" before a key description.
func article(s string) string {
	if strings.HasPrefix(s, "Ed") || strings.HasPrefix(s, "8") {
		return "an " + s
	}
	return "a " + s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// dkimKeyMatch signs a test message with the private key and verifies
// it against the published key, through go-msgauth.
func dkimKeyMatch(ctx context.Context, env Env, t Target) report.Finding {
	selector := string(t.Selectors[0])
	signed, err := dkim.Sign(testMessage(t.Domain, env), t.Domain, selector, t.DKIMKey)
	if err != nil {
		return report.Finding{ID: "dkim.key_mismatch", Severity: report.Warn, Subject: selector,
			Message: "Could not sign a test message with the private key: " + err.Error()}
	}
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(signed), &msgdkim.VerifyOptions{LookupTXT: env.DNS.TXTFunc(ctx)})
	switch {
	case err == nil && len(vs) == 1 && vs[0].Err == nil:
		return report.Finding{ID: "dkim.key_matches", Severity: report.Pass, Subject: selector,
			Message: fmt.Sprintf("The private key matches the key published for selector %q: a test message signed with it verifies.", selector)}
	case err == nil && len(vs) == 1 && msgdkim.IsTempFail(vs[0].Err):
		return dnsError("dkim", selector, "the key match for selector "+selector, vs[0].Err)
	}
	reason := "no signature"
	if err != nil {
		reason = err.Error()
	} else if len(vs) > 0 && vs[0].Err != nil {
		reason = vs[0].Err.Error()
	}
	return report.Finding{
		ID: "dkim.key_mismatch", Severity: report.Warn, Subject: selector,
		Message: fmt.Sprintf("A test message signed with the private key does not verify against the key published for selector %q: %s.", selector, reason),
		Fix:     fmt.Sprintf("Publish the public key of this private key at %s._domainkey.%s (openssl pkey -pubout), or sign with the key that is published.", selector, t.Domain),
	}
}

func testMessage(domain string, env Env) []byte {
	date := env.now().UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700")
	return []byte("From: preflight <postmaster@" + domain + ">\r\n" +
		"To: preflight <postmaster@" + domain + ">\r\n" +
		"Subject: preflight DKIM key check\r\n" +
		"Date: " + date + "\r\n" +
		"Message-ID: <dkim-check@" + domain + ">\r\n" +
		"\r\n" +
		"This message is signed and verified in memory; it is never sent.\r\n")
}
