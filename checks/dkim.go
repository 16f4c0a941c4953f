package checks

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
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
	// 1024 bits: still accepted, below the 2048 signers should use (RFC
	// 8301 §3.2). A key under 1024 bits is dkim.key_unusable.
	{ID: "dkim.weak_key", Penalty: report.Penalty{Warn: 4}},
	{ID: "dkim.testing_mode", Penalty: report.Penalty{Warn: 3}},
	{ID: "dkim.syntax_error", Penalty: report.Penalty{Warn: 10}},
	// No signature can verify with the record (RFC 8301, RFC 6376 §3.2).
	{ID: "dkim.key_unusable", Penalty: report.Penalty{Warn: 15}},
	{ID: "dkim.key_mismatch", Penalty: report.Penalty{Warn: 10}},
	{ID: "dkim.no_known_selector", Penalty: minorPenalty},
	{ID: "dkim.key_ok"},
	{ID: "dkim.key_matches"},
	{ID: "dkim.selectors_guessed"},
	{ID: "dkim.key_not_compared"},
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

// goodRSABits is the key size signers should use (RFC 8301 §3.2:
// verifiers MUST accept 1024-4096 bits; keys under 1024 are unusable,
// see dkim.Key.Unusable).
const goodRSABits = 2048

// DKIM checks the DKIM key records of the selectors (or common ones):
// present, well formed, key type and size, flags, and, with a private
// key, that it matches the published one.
//
// With a message, its signatures are verified too (messageDKIM); the
// key records are then checked only for the selectors given.
func DKIM(ctx context.Context, env Env, t Target) []report.Finding {
	if t.Message == nil {
		return dkimKeys(ctx, env, t)
	}
	out := messageDKIM(ctx, env, t)
	if len(t.Selectors) > 0 {
		out = append(dkimKeys(ctx, env, t), out...)
	}
	return out
}

// dkimKeys checks the key records of the selectors.
func dkimKeys(ctx context.Context, env Env, t Target) []report.Finding {
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
// mends (no key, a revoked, broken, unusable, weak or other key at the
// selector)
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
			f.ID == "dkim.key_unusable" && len(key.Unusable) == 0,
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
	if len(key.Unusable) > 0 {
		return []report.Finding{keyUnusable(name, selector, txt, key, via, evidence)}
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

// keyUnusable is the finding for a key record that parses but that no
// signature can verify with: verifiers discard the key or the hash.
// When the key itself is good and only tags written as verifiers do
// not read them stand in the way (k=RSA, h= or s= leaving sha256 or
// email out), the fix is the mended record; a key too short or of a
// type verifiers do not know needs a new key, and the fix is advice.
func keyUnusable(name, selector, txt string, key dkim.Key, via string, evidence map[string]any) report.Finding {
	evidence["unusable"] = key.Unusable
	f := report.Finding{
		ID: "dkim.key_unusable", Severity: report.Warn, Subject: selector,
		Message: fmt.Sprintf("No signature can verify with the DKIM key at %s: %s. Receivers treat signatures with selector %q as failed.", name, strings.Join(key.Unusable, "; "), selector),
		Fix: fmt.Sprintf("Generate a %d-bit RSA key (an Ed25519 key only beside it: Gmail and others verify RSA signatures only), publish it under a new selector as verifiers read it, values in lower case, without h= (or with h=sha256) and without s= (or with s=email), and switch signing to it. No record alone mends this: the signer must change keys. The record looks like:\n%s. TXT \"v=DKIM1; k=%s; p=<base64 public key>\"",
			goodRSABits, name, unusableFixType(key)),
		Evidence: evidence,
	}
	mended := dkim.Mend(txt)
	if mk, problems := dkim.ParseKey(mended); via == "" && len(problems) == 0 && len(mk.Unusable) == 0 {
		// Mend the record here; behind a CNAME it is the provider's.
		f.Fix = "Publish the same key as verifiers read it: the record below writes k= in lower case and drops an h= without sha256, an s= without email and the testing flag t=y."
		f.FixRecords = []report.FixRecord{{Action: report.FixReplace, Name: name, Type: "TXT", Old: txt, Value: mended}}
	}
	return f
}

// unusableFixType is the k= to suggest: the key's own type in lower
// case when verifiers know it, else rsa.
func unusableFixType(key dkim.Key) string {
	if t := strings.ToLower(key.Type); t == "ed25519" {
		return t
	}
	return "rsa"
}

// keyStrength judges the size of a usable key (RFC 8301 §3.2): keys
// under 1024 bits are unusable (keyUnusable), 1024 bits is the least
// verifiers must accept, signers should use 2048.
func keyStrength(name, selector string, key dkim.Key, via string, evidence map[string]any) report.Finding {
	desc := key.Describe()
	if key.Type == "rsa" && key.Bits < goodRSABits {
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

// keyFlags reports the key's testing flag (t=y; flags are
// case-sensitive and unknown ones ignored, RFC 6376 §3.6.1).
func keyFlags(name, selector string, key dkim.Key) []report.Finding {
	if !key.Testing() {
		return nil
	}
	return []report.Finding{{
		ID: "dkim.testing_mode", Severity: report.Warn, Subject: selector,
		Message: fmt.Sprintf("The DKIM key at %s has t=y: the domain says it is testing DKIM, and verifiers may treat its signatures as unsigned (RFC 6376 §3.6.1).", name),
		Fix:     "Remove t=y from the key record once signing works.",
	}}
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

// dkimKeyMatch compares the private key's public half with the keys
// published for the one selector. Only different keys are a mismatch;
// when they are the same key, a message signed in memory must verify
// through go-msgauth, and if it does not, the finding says what else
// stops it (an unusable record, several records, a key too short).
func dkimKeyMatch(ctx context.Context, env Env, t Target) report.Finding {
	selector := string(t.Selectors[0])
	name := selector + "._domainkey." + t.Domain
	txts, err := env.DNS.LookupTXT(ctx, name) // asked already by dkimSelector: from the cache
	if err != nil && !isNotFound(err) {
		return dnsError("dkim", selector, "the key match for selector "+selector, err)
	}
	txts = slices.DeleteFunc(txts, func(txt string) bool { return !dkim.IsKeyRecord(txt) })
	match, why := matchingKey(t.DKIMKey, txts)
	switch {
	case match == nil && why != "":
		return report.Finding{ID: "dkim.key_not_compared", Severity: report.Info, Subject: selector,
			Message: fmt.Sprintf("Could not compare the private key with selector %q: %s.", selector, why)}
	case match == nil:
		return report.Finding{
			ID: "dkim.key_mismatch", Severity: report.Warn, Subject: selector,
			Message: fmt.Sprintf("The private key is not the key published for selector %q: its public key differs from the one at %s, so signatures made with it fail.", selector, name),
			Fix:     fmt.Sprintf("Publish the public key of this private key at %s (openssl pkey -pubout), or sign with the key that is published.", name),
		}
	}
	verr := verifyTestSignature(ctx, env, t, selector)
	switch {
	case verr == nil:
		return report.Finding{ID: "dkim.key_matches", Severity: report.Pass, Subject: selector,
			Message: fmt.Sprintf("The private key matches the key published for selector %q: a test message signed with it verifies.", selector)}
	case msgdkim.IsTempFail(verr):
		return dnsError("dkim", selector, "the key match for selector "+selector, verr)
	}
	reason := verr.Error()
	// The record's own findings (key_unusable, syntax_error) carry the
	// failure when they explain it; otherwise it is this finding's.
	var known []string
	if len(txts) > 1 {
		known = append(known, fmt.Sprintf("%s has %d key records (RFC 6376 §3.6.2.2)", name, len(txts)))
	}
	known = append(known, match.Unusable...)
	msg := fmt.Sprintf("The private key matches the key published for selector %q, but a test message signed with it does not verify", selector)
	if len(known) > 0 {
		return report.Finding{ID: "dkim.key_matches", Severity: report.Info, Subject: selector,
			Message: fmt.Sprintf("%s: %s (%s).", msg, strings.Join(known, "; "), reason)}
	}
	return report.Finding{ID: "dkim.key_unusable", Severity: report.Warn, Subject: selector,
		Message: fmt.Sprintf("%s: %s.", msg, reason),
		Fix:     fmt.Sprintf("Republish the key record at %s exactly as your signer prints it.", name)}
}

// matchingKey finds the published key that is the private key's public
// half. Without one, why says what kept the comparison from being made
// (empty: there were keys, and they differ).
func matchingKey(priv crypto.Signer, txts []string) (match *dkim.Key, why string) {
	pub, ok := priv.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return nil, fmt.Sprintf("a %T key cannot be compared", priv.Public())
	}
	compared := false
	for _, txt := range txts {
		k, _ := dkim.ParseKey(txt)
		if k.Public == nil {
			continue
		}
		compared = true
		if pub.Equal(k.Public) {
			return &k, ""
		}
	}
	switch {
	case compared:
		return nil, ""
	case len(txts) == 0:
		return nil, "no key record is published there"
	}
	return nil, "the published record holds no public key to compare (revoked, or p= unreadable)"
}

// verifyTestSignature signs a test message with the private key and
// verifies it against the published key through go-msgauth: nil when
// it verifies, else why not.
func verifyTestSignature(ctx context.Context, env Env, t Target, selector string) error {
	signed, err := dkim.Sign(testMessage(t.Domain, env), t.Domain, selector, t.DKIMKey)
	if err != nil {
		return fmt.Errorf("signing failed: %w", err)
	}
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(signed), &msgdkim.VerifyOptions{LookupTXT: env.DNS.TXTFunc(ctx)})
	switch {
	case err != nil:
		return err
	case len(vs) != 1:
		return errors.New("no signature")
	}
	return vs[0].Err
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
