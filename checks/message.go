package checks

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/preflight-mail/preflight/dkim"
	"github.com/preflight-mail/preflight/dmarc"
	"github.com/preflight-mail/preflight/message"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/spf"
)

// Message is a received message to judge as receivers did (preflight
// message, check --message): what its signatures, its envelope and its
// headers prove. The DKIM verification is made once per run and shared
// by the dkim, dmarc and unsubscribe checks.
type Message struct {
	*message.Message
	// Name is the file it was read from ("-": standard input).
	Name string
	// ReceivedBy is the receiver whose Received and
	// Authentication-Results fields are trusted (--received-by); empty:
	// the topmost that names a client address.
	ReceivedBy string
	// ClientIP overrides the connecting address (--ip).
	ClientIP netip.Addr

	once sync.Once
	sigs []message.Verified
	cut  int
}

// Signatures returns the message's DKIM signatures verified through the
// run's resolver (--zone and --offline apply).
func (m *Message) Signatures(ctx context.Context, env Env) ([]message.Verified, int) {
	m.once.Do(func() {
		m.sigs, m.cut = m.Verify(env.DNS.TXTFunc(ctx))
		for i := range m.sigs {
			if s := &m.sigs[i]; s.Result == message.DKIMPass {
				if err := afterVerify(ctx, env, s.Signature); err != nil {
					s.Result, s.Reason, s.Err = message.DKIMPermError, message.ReasonOther, err
				}
			}
		}
	})
	return m.sigs, m.cut
}

// futureSlack is how far ahead of the clock a signature's t= may be
// (clocks differ by minutes at most).
const futureSlack = 15 * time.Minute

// afterVerify is what go-msgauth does not check of a signature that
// verifies: a signing time t= in the future (RFC 6376 §3.5 lets
// verifiers ignore it; dkimpy does), and a key with t=s (strict) used
// for an i= in a subdomain of d= (§3.6.1: then the signature fails).
func afterVerify(ctx context.Context, env Env, s message.Signature) error {
	if !s.Signed.IsZero() && s.Signed.After(env.now().Add(futureSlack)) {
		return fmt.Errorf("its signing time t=%s is in the future", s.Signed.UTC().Format("2006-01-02 15:04 UTC"))
	}
	_, id, ok := strings.Cut(s.Identity, "@")
	if !ok || strings.EqualFold(strings.TrimSuffix(id, "."), s.Domain) || s.Selector == "" {
		return nil
	}
	txts, err := env.DNS.LookupTXT(ctx, s.Selector+"._domainkey."+s.Domain)
	if err != nil {
		return nil
	}
	for _, txt := range txts {
		if k, _ := dkim.ParseKey(txt); dkim.IsKeyRecord(txt) && slices.Contains(k.Flags, "s") {
			return fmt.Errorf("its key has t=s (strict): i=%s must be in d=%s itself, not a subdomain (RFC 6376 §3.6.1)", s.Identity, s.Domain)
		}
	}
	return nil
}

// Envelope is what the message says of its SMTP session: the client
// address and HELO from the trusted Received field (or --ip), and the
// envelope sender from Return-Path ("" for the null sender <>).
type Envelope struct {
	IP         netip.Addr
	HELO       string
	MailFrom   string // the address as in Return-Path, without <>
	NullSender bool
	// Hop is the trusted hop, where the message entered the receiver;
	// nil when there is none (Why says why).
	Hop *message.Entry
	Why string
	// NoReturnPath is set when the message has no Return-Path: it was
	// saved before delivery, and MAIL FROM is not known.
	NoReturnPath bool
}

// Envelope reads the session's facts from the message.
func (m *Message) Envelope() Envelope {
	var e Envelope
	if h, why := m.Trusted(m.ReceivedBy); why == "" {
		e.IP, e.HELO, e.Hop = h.IP, h.HELO, &h
	} else {
		e.Why = why
	}
	if m.ClientIP.IsValid() {
		e.IP = m.ClientIP
	}
	if rp, ok := m.First("Return-Path"); ok {
		rp = strings.TrimSpace(rp)
		rp = strings.TrimSuffix(strings.TrimPrefix(rp, "<"), ">")
		e.MailFrom, e.NullSender = rp, rp == ""
	} else {
		e.NoReturnPath = true
	}
	return e
}

// messageDKIMKinds are the findings about a message's DKIM signatures
// (the dkim check's, with a message). Like every DKIM finding they are
// warnings: DKIM is no required fact of direct delivery.
var messageDKIMKinds = []report.Kind{
	{ID: "dkim.signature_pass"},
	{ID: "dkim.aligned"},
	{ID: "dkim.not_aligned", Penalty: report.Penalty{Warn: 15}},
	{ID: "dkim.no_signature", Penalty: report.Penalty{Warn: 15}},
	{ID: "dkim.body_hash_mismatch", Penalty: report.Penalty{Warn: 10}},
	{ID: "dkim.signature_invalid", Penalty: report.Penalty{Warn: 10}},
	{ID: "dkim.signature_error", Penalty: report.Penalty{Warn: 10}},
	{ID: "dkim.signature_expired", Penalty: report.Penalty{Warn: 10}},
	{ID: "dkim.from_not_signed", Penalty: report.Penalty{Warn: 10}},
	{ID: "dkim.body_length", Penalty: report.Penalty{Warn: 5}},
	{ID: "dkim.weak_algorithm", Penalty: report.Penalty{Warn: 10}},
	{ID: "dkim.too_many_signatures", Penalty: minorPenalty},
	{ID: "dkim.not_oversigned"},
	// check --message --offline with another sender's message: its key
	// is outside the zone files (foreignOffline).
	{ID: "dkim.not_checked"},
}

// messageDKIM reports each signature of the message: verified or why
// not, what it covers, and whether one that verifies aligns with From.
func messageDKIM(ctx context.Context, env Env, t Target) []report.Finding {
	m := t.Message
	sigs, cut := m.Signatures(ctx, env)
	_, fromDomain, _ := m.FromAddress()
	if len(sigs) == 0 {
		return []report.Finding{{ID: "dkim.no_signature", Severity: report.Warn, Subject: fromDomain,
			Message: "The message has no DKIM-Signature: DMARC rests on SPF alone, which breaks on forwarding.",
			Fix:     "Sign outgoing mail with DKIM (d= the From domain, or its organizational domain)."}}
	}
	var out []report.Finding
	if cut > 0 {
		out = append(out, report.Finding{ID: "dkim.too_many_signatures", Severity: report.Warn, Subject: fromDomain,
			Message:  fmt.Sprintf("The message has %d DKIM signatures; %d were verified (those whose d= relates to the From domain first, then in header order) and %d were not (receivers stop after a few too).", len(sigs)+cut, len(sigs), cut),
			Fix:      "Sign once or twice (for example RSA and Ed25519); remove stale signatures before re-signing.",
			Evidence: map[string]any{"verified": len(sigs), "not_verified": cut}})
	}
	org := orgOf(ctx, env, fromDomain)
	adkim := adkimOf(ctx, env, fromDomain)
	aligned, half := "", ""
	unknown := false // an aligned signature whose key could not be looked up
	for i, s := range sigs {
		subj := fmt.Sprintf("%s/%s", s.Selector, s.Domain)
		ev := signatureEvidence(ctx, env, s, i)
		al := alignOf(ctx, env, s.Domain, fromDomain, adkim)
		ev["aligned"] = fromDomain != "" && al.Aligned()
		if h := halfAligned("d="+s.Domain, al); h != "" {
			ev["alignment"] = h
			if s.Result == message.DKIMPass && half == "" {
				half = "; " + h + ", and receivers of the other kind fail it"
			}
		}
		switch s.Result {
		case message.DKIMPass:
			out = append(out, report.Finding{ID: "dkim.signature_pass", Severity: report.Pass, Subject: subj,
				Message:  fmt.Sprintf("DKIM signature %d (d=%s, s=%s, %s%s) verifies.", i+1, s.Domain, s.Selector, ev["algorithm"], keyNote(ev)),
				Evidence: ev})
			if ev["aligned"] == true && aligned == "" {
				aligned = s.Domain
			}
		case message.DKIMTempError:
			what := fmt.Sprintf("DKIM signature %d (the key at %s._domainkey.%s)", i+1, s.Selector, s.Domain)
			if ev["aligned"] == true {
				unknown = true
			}
			if foreignOffline(env, t) {
				out = append(out, notChecked("dkim", subj, what, t, s.Err))
				break
			}
			out = append(out, dnsError("dkim", subj, what, s.Err))
		case message.DKIMPolicy: // l=: dkim.body_length below says so
		default:
			out = append(out, signatureFailure(i, s, ev))
		}
		if s.Length >= 0 || s.Reason == message.ReasonLength {
			out = append(out, bodyLength(i, s, ev))
		}
		if s.Result == message.DKIMPass && s.Signs("From") && s.SignCount("From") <= len(m.Get("From")) {
			out = append(out, report.Finding{ID: "dkim.not_oversigned", Severity: report.Info, Subject: subj,
				Message: fmt.Sprintf("DKIM signature %d signs From once: a second From field added in transit would not break it, and some clients show that one (RFC 6376 §8.15).", i+1),
				Fix:     "Name From (and Subject, To) one more time in h= than it appears (over-signing): most signers have an option for it."})
		}
	}
	switch {
	case fromDomain == "":
	case aligned == "" && unknown:
		// Whether it aligns and verifies is not known: the finding of
		// the key lookup says so.
	case aligned != "":
		out = append(out, report.Finding{ID: "dkim.aligned", Severity: report.Pass, Subject: fromDomain,
			Message:  fmt.Sprintf("A DKIM signature that verifies (d=%s) aligns with the From domain %s (adkim=%s): DMARC passes on DKIM.", aligned, fromDomain, adkim),
			Evidence: map[string]any{"d": aligned, "from_domain": fromDomain, "org_domain": org, "adkim": adkim}})
	default:
		out = append(out, report.Finding{ID: "dkim.not_aligned", Severity: report.Warn, Subject: fromDomain,
			Message:  fmt.Sprintf("No DKIM signature that verifies aligns with the From domain %s (organizational domain %s, adkim=%s) for every receiver%s: DMARC can pass on SPF alone, and forwarding breaks that.", fromDomain, org, adkim, half),
			Fix:      fmt.Sprintf("Sign with d=%s%s, and make sure the signature verifies.", fromDomain, map[bool]string{true: " (strict alignment: exactly that domain)", false: " (or a domain under " + org + ")"}[adkim == "s"]),
			Evidence: map[string]any{"from_domain": fromDomain, "org_domain": org, "adkim": adkim}})
	}
	return out
}

// signatureEvidence is what a signature says of itself, with its key's
// size from the key record (looked up by go-msgauth already: cached).
func signatureEvidence(ctx context.Context, env Env, s message.Verified, i int) map[string]any {
	ev := map[string]any{"index": i + 1, "d": s.Domain, "s": s.Selector, "algorithm": s.Algorithm, "canonicalization": s.Canon,
		"headers": s.Headers, "result": s.Result}
	if s.Identity != "" {
		ev["i"] = s.Identity
	}
	if s.Length >= 0 {
		ev["l"] = s.Length
	}
	if !s.Expires.IsZero() {
		ev["x"] = s.Expires.Format("2006-01-02T15:04:05Z")
	}
	if s.Err != nil {
		ev["error"] = s.Err.Error()
	}
	if s.Domain != "" && s.Selector != "" {
		if txts, err := env.DNS.LookupTXT(ctx, s.Selector+"._domainkey."+s.Domain); err == nil {
			for _, txt := range txts {
				if !dkim.IsKeyRecord(txt) {
					continue
				}
				if k, _ := dkim.ParseKey(txt); k.Public != nil {
					ev["key"] = k.Describe()
					ev["key_bits"] = k.Bits
					break
				}
			}
		}
	}
	return ev
}

// keyNote names the signing key's size when a 1024-bit RSA key signed:
// it still verifies, but signers should use 2048 bits (RFC 8301 §3.2).
func keyNote(ev map[string]any) string {
	if bits, ok := ev["key_bits"].(int); ok && bits < goodRSABits && ev["key"] != "Ed25519 key" {
		return fmt.Sprintf(", a %d-bit RSA key: rotate to 2048 bits", bits)
	}
	if k, ok := ev["key"].(string); ok {
		return ", " + article(k)
	}
	return ""
}

// signatureFailure is the finding for a signature that does not verify.
func signatureFailure(i int, s message.Verified, ev map[string]any) report.Finding {
	subj := fmt.Sprintf("%s/%s", s.Selector, s.Domain)
	f := report.Finding{Severity: report.Warn, Subject: subj, Evidence: ev}
	what := fmt.Sprintf("DKIM signature %d (d=%s, s=%s)", i+1, s.Domain, s.Selector)
	switch s.Reason {
	case message.ReasonBodyHash:
		f.ID = "dkim.body_hash_mismatch"
		f.Message = what + " fails: the body hash does not match: the body was changed after signing (a footer added by a list or a gateway, a line-ending or encoding change)."
		f.Fix = "Sign after every step that changes the body (footers, disclaimers, MIME conversion), or have that step re-sign."
	case message.ReasonSignature:
		f.ID = "dkim.signature_invalid"
		f.Message = what + " fails: the signature does not verify with the published key: a signed header field was changed in transit, or the key published is not the signing key."
		f.Fix = fmt.Sprintf("Compare the key at %s._domainkey.%s with the signer's (preflight dkim %s --selector %s --dkim-key FILE); sign after header rewriting.", s.Selector, s.Domain, s.Domain, s.Selector)
	case message.ReasonExpired:
		f.ID = "dkim.signature_expired"
		f.Message = fmt.Sprintf("%s has expired (x=%s): receivers treat it as failing.", what, s.Expires.Format("2006-01-02 15:04 UTC"))
		f.Fix = "Give signatures an expiry of days, not hours (x=), or none: a message can wait in queues."
	case message.ReasonFromUnsig:
		f.ID = "dkim.from_not_signed"
		f.Message = what + " does not sign the From field (RFC 6376 §5.4 requires it): verifiers reject it."
		f.Fix = "Add From to the signer's header list (h=)."
	case message.ReasonWeakHash:
		f.ID = "dkim.weak_algorithm"
		f.Message = fmt.Sprintf("%s uses %s: verifiers no longer accept SHA-1 (RFC 8301 §3.1).", what, s.Algorithm)
		f.Fix = "Sign with rsa-sha256 (or ed25519-sha256 beside it)."
	case message.ReasonMalformed:
		f.ID = "dkim.signature_error"
		f.Message = fmt.Sprintf("%s is malformed: %s; verifiers fail it.", what, s.Err)
		f.Fix = "Fix the signer's configuration: a DKIM-Signature needs d= (the signing domain), s= (the selector) and, if any, a body length l= in octets (better none)."
	default:
		f.ID = "dkim.signature_error"
		f.Message = fmt.Sprintf("%s cannot be verified: %s.", what, s.Err)
		f.Fix = fmt.Sprintf("Publish a usable key at %s._domainkey.%s (preflight dkim %s --selector %s), and check the signature's tags.", s.Selector, s.Domain, s.Domain, s.Selector)
	}
	return f
}

// bodyLength is the warning for l=: the body after l octets is unsigned.
func bodyLength(i int, s message.Verified, ev map[string]any) report.Finding {
	msg := fmt.Sprintf("DKIM signature %d (d=%s) covers only the first %d octets of the body (l=): anyone can append text that still verifies, and many receivers ignore such signatures", i+1, s.Domain, s.Length)
	if s.Reason == message.ReasonLength {
		msg += "; not verified by preflight: l= (go-msgauth refuses such signatures), so its result is unknown, neither pass nor fail"
	}
	return report.Finding{ID: "dkim.body_length", Severity: report.Warn, Subject: fmt.Sprintf("%s/%s", s.Selector, s.Domain),
		Message: msg + ".", Fix: "Turn off the body length limit (l=) in the signer.", Evidence: ev}
}

// adkimOf is the DKIM alignment mode of the From domain's DMARC policy
// ("s" strict, else "r"; relaxed when there is none).
func adkimOf(ctx context.Context, env Env, from string) string {
	if from == "" {
		return "r"
	}
	if d := dmarc.Discover(ctx, env.DNS, from); d.Step != nil && d.Step.Record != nil && d.Step.Record.ADKIM == "s" {
		return "s"
	}
	return "r"
}

// orgOf is the organizational domain of domain by RFC 9989's tree walk
// (answers cached for the run).
func orgOf(ctx context.Context, env Env, domain string) string {
	if domain == "" {
		return ""
	}
	return dmarc.TreeWalk(ctx, env.DNS, domain).OrgDomain()
}

// messageDMARCKinds are the findings of a message's DMARC evaluation.
// A message that fails DMARC under a quarantine or reject policy is not
// delivered as sent: that blocks.
var messageDMARCKinds = []report.Kind{
	{ID: "dmarc.message_pass"},
	{ID: "dmarc.message_fail", Penalty: report.Penalty{Fail: 30, Warn: 15}, Blocks: true},
	// Several From fields: receivers reject the message (Gmail, and
	// DMARC verifiers such as dkimpy and mailauth fail it), and a From
	// added on top of a signed one is how a signature is replayed for
	// another author: at fail, blocking. Otherwise (no From, one From
	// that cannot be read) a warning.
	{ID: "dmarc.no_author_domain", Penalty: report.Penalty{Fail: 30, Warn: 15}, Blocks: true},
	// No policy applies: DMARC's result is none (dmarc.missing costs).
	{ID: "dmarc.message_none"},
	// SPF or an aligned DKIM key could not be looked up and nothing
	// else passes: receivers answer temperror (RFC 9989), never fail.
	{ID: "dmarc.message_unknown"},
	// No Return-Path: MAIL FROM is not recorded, so SPF alignment
	// cannot be judged (an ESP's bounce domain would not show).
	{ID: "dmarc.no_return_path", Penalty: report.Penalty{Warn: 5}},
	// check --message --offline with another sender's message: its
	// policy, SPF or keys are outside the zone files (foreignOffline).
	{ID: "dmarc.not_checked"},
}

// dmarcResult is a message's DMARC result.
type dmarcResult struct {
	adkim, aspf          string
	spfDomain, spfResult string
	spfAligned           bool
	dkimAligned          []string // d= of verified, aligned signatures
	dkimTemp             []string // d= of aligned signatures whose key lookup failed
	dkimUnverified       []string // d= of aligned signatures with l=, not verified
	// halfAligned: passes that align for one kind of receiver only
	// (RFC 9989's tree walk or RFC 7489's Public Suffix List).
	halfAligned []string
	pass        bool
}

// messageDMARC evaluates DMARC (RFC 9989 §4.4) for the message: an
// SPF pass for an aligned envelope domain, or a verified DKIM signature
// with an aligned d=, and what the policy makes a receiver do otherwise.
func messageDMARC(ctx context.Context, env Env, t Target) []report.Finding {
	out := messageDMARCResult(ctx, env, t)
	if e := t.Message.Envelope(); e.NoReturnPath {
		out = append(out, report.Finding{ID: "dmarc.no_return_path", Severity: report.Warn,
			Message: "The message has no Return-Path field: the envelope sender (MAIL FROM) is not recorded (the message was saved before delivery, or by a client), so SPF and its alignment with From cannot be judged; a bounce domain that does not align would not show.",
			Fix:     "Check the message as the receiver saved it (Gmail: Show original, Download original), where Return-Path holds MAIL FROM."})
	}
	return out
}

// messageDMARCResult is the message's DMARC result finding.
func messageDMARCResult(ctx context.Context, env Env, t Target) []report.Finding {
	m := t.Message
	_, from, why := m.FromAddress()
	if from == "" {
		if n := len(m.Get("From")); n > 1 {
			return []report.Finding{{ID: "dmarc.no_author_domain", Severity: report.Fail,
				Message:  fmt.Sprintf("The message has %d From fields: receivers reject it (RFC 5322 allows one; RFC 9989 §4.4 needs exactly one author domain), and a From added above a signed one is how a DKIM signature is replayed for another author.", n),
				Fix:      "Send with exactly one From field, and sign From once more than it appears (over-signing), so that an added From breaks the signature.",
				Evidence: map[string]any{"from_fields": n}}}
		}
		return []report.Finding{{ID: "dmarc.no_author_domain", Severity: report.Warn,
			Message: "DMARC cannot be evaluated: " + why + " (RFC 9989 §4.4 needs exactly one author domain); receivers reject or junk such mail.",
			Fix:     "Send with exactly one From field holding one address."}}
	}
	r, disc, err := evalDMARC(ctx, env, m, from)
	if err != nil {
		if foreignOffline(env, t) {
			return []report.Finding{notChecked("dmarc", from, "the message's DMARC result (the policy of "+from+")", t, err)}
		}
		return []report.Finding{dnsError("dmarc", from, "the DMARC policy of "+from, err)}
	}
	adkim, aspf, e := r.adkim, r.aspf, m.Envelope()
	ev := map[string]any{"from_domain": from, "org_domain": disc.Org, "adkim": adkim, "aspf": aspf,
		"spf_domain": r.spfDomain, "spf_result": r.spfResult, "spf_aligned": r.spfAligned, "dkim_aligned": r.dkimAligned}
	if e.IP.IsValid() {
		ev["client_ip"] = e.IP.String()
	}
	if disc.Applies() {
		ev["policy"], ev["applied"] = disc.Policy, disc.Applied
	}
	if !disc.Applies() {
		would := "would fail: neither an aligned SPF pass nor an aligned DKIM pass"
		if len(r.halfAligned) > 0 && !r.pass {
			// Without records the tree walk makes every name its own
			// organizational domain; the record published decides it.
			would = "would pass for some receivers only (" + strings.Join(r.halfAligned, "; ") + "; RFC 9989 receivers find organizational domains by the DMARC records, so where the policy is published decides)"
		}
		if r.pass {
			would = "would pass: it is aligned"
		}
		return []report.Finding{{ID: "dmarc.message_none", Severity: report.Info, Subject: from,
			Message:  fmt.Sprintf("No DMARC policy applies to %s, so the message's DMARC result is none; with a policy it %s.", from, would),
			Evidence: ev}}
	}
	if r.pass {
		how := []string{}
		if r.spfAligned {
			how = append(how, fmt.Sprintf("SPF pass for %s", r.spfDomain))
		}
		if len(r.dkimAligned) > 0 {
			how = append(how, fmt.Sprintf("DKIM pass for d=%s", strings.Join(r.dkimAligned, ", d=")))
		}
		return []report.Finding{{ID: "dmarc.message_pass", Severity: report.Pass, Subject: from,
			Message:  fmt.Sprintf("The message passes DMARC for %s: %s, aligned with From.", from, strings.Join(how, " and ")),
			Evidence: ev}}
	}
	if (r.spfResult == spf.TempError || len(r.dkimTemp) > 0) && foreignOffline(env, t) {
		f := notChecked("dmarc", from, "the message's DMARC result (SPF for "+cmp.Or(r.spfDomain, "its envelope")+" and its DKIM keys)", t, nil)
		f.Evidence = ev
		return []report.Finding{f}
	}
	if r.spfResult == spf.TempError || len(r.dkimTemp) > 0 || len(r.dkimUnverified) > 0 || r.spfDomain != "" && !e.IP.IsValid() || e.NoReturnPath {
		var what []string
		switch {
		case e.NoReturnPath:
			what = append(what, "SPF could not be evaluated (no Return-Path: MAIL FROM is not recorded)")
		case r.spfResult == spf.TempError:
			what = append(what, "SPF for "+r.spfDomain+" could not be evaluated (a lookup failed)")
		case r.spfResult == "":
			what = append(what, "SPF for "+r.spfDomain+" could not be evaluated (no trusted client address: --received-by, --ip)")
		}
		if len(r.dkimTemp) > 0 {
			what = append(what, "the DKIM key of d="+strings.Join(r.dkimTemp, ", d=")+" could not be looked up")
		}
		if len(r.dkimUnverified) > 0 {
			what = append(what, "the aligned DKIM signature of d="+strings.Join(r.dkimUnverified, ", d=")+" has l= and is not verified by preflight (receivers differ: many ignore l= signatures, some verify them)")
		}
		return []report.Finding{{ID: "dmarc.message_unknown", Severity: report.Error, Subject: from,
			Message:  fmt.Sprintf("The message's DMARC result for %s is unknown: %s, and nothing else passes aligned; a receiver that could evaluate it would pass or fail it (on a lookup failure it answers temperror), so preflight says neither.", from, strings.Join(what, " and ")),
			Fix:      dnsFix,
			Evidence: ev}}
	}
	action := "the policy is none: receivers deliver it as they judge, and report it"
	switch disc.Applied {
	case dmarc.Reject:
		action = "the policy is reject: receivers that follow DMARC refuse it"
	case dmarc.Quarantine:
		action = "the policy is quarantine: receivers that follow DMARC put it in spam"
	}
	spfWhy := "SPF was not evaluated (no client address)"
	switch {
	case r.spfDomain == "":
		spfWhy = "no envelope domain to check SPF for"
	case r.spfResult == spf.Pass:
		spfWhy = fmt.Sprintf("SPF passes for %s, which does not align with %s", r.spfDomain, from)
	case r.spfResult != "":
		spfWhy = fmt.Sprintf("SPF is %s for %s", r.spfResult, r.spfDomain)
	}
	half := ""
	if len(r.halfAligned) > 0 {
		half = " (" + strings.Join(r.halfAligned, "; ") + ": receivers of the one kind pass it, the others fail it)"
		ev["half_aligned"] = r.halfAligned
	}
	return []report.Finding{{ID: "dmarc.message_fail", Severity: dmarcFailSeverity(disc.Applied), Subject: from,
		Message:  fmt.Sprintf("The message fails DMARC for %s: %s, and no verified DKIM signature aligns with From%s; %s.", from, spfWhy, half, action),
		Fix:      fmt.Sprintf("Sign with an aligned DKIM key (d=%s) — it survives forwarding — and send with a bounce address at %s whose SPF allows the sending IP.", from, from),
		Evidence: ev}}
}

// dmarcFailSeverity: a DMARC failure blocks where the policy receivers
// apply keeps the message from the inbox (quarantine, reject).
func dmarcFailSeverity(applied string) report.Severity {
	if applied == dmarc.Reject || applied == dmarc.Quarantine {
		return report.Fail
	}
	return report.Warn
}

// evalDMARC is the message's DMARC evaluation for the author domain
// from: the policy found, and the aligned results. err is the lookup
// error of _dmarc.FROM, when it had no usable answer.
func evalDMARC(ctx context.Context, env Env, m *Message, from string) (r dmarcResult, disc dmarc.Discovery, err error) {
	disc = dmarc.Discover(ctx, env.DNS, from)
	if s := disc.Walk.Steps[0]; s.Err != nil {
		return r, disc, s.Err
	}
	var rec dmarc.Record
	if disc.Step != nil && disc.Step.Record != nil {
		rec = *disc.Step.Record
	}
	r.adkim, r.aspf = cmp.Or(rec.ADKIM, "r"), cmp.Or(rec.ASPF, "r")
	sigs, _ := m.Signatures(ctx, env)
	for _, s := range sigs {
		al := alignOf(ctx, env, s.Domain, from, r.adkim)
		switch {
		case !al.Aligned():
			if half := halfAligned("DKIM d="+s.Domain, al); half != "" && s.Result == message.DKIMPass {
				r.halfAligned = append(r.halfAligned, half)
			}
		case s.Result == message.DKIMPass:
			r.dkimAligned = append(r.dkimAligned, s.Domain)
		case s.Result == message.DKIMTempError:
			r.dkimTemp = append(r.dkimTemp, s.Domain)
		case s.Result == message.DKIMPolicy:
			r.dkimUnverified = append(r.dkimUnverified, s.Domain)
		}
	}
	r.spfDomain, r.spfResult = messageSPF(ctx, env, m)
	if r.spfResult == spf.Pass {
		al := alignOf(ctx, env, r.spfDomain, from, r.aspf)
		r.spfAligned = al.Aligned()
		if half := halfAligned("the SPF domain "+r.spfDomain, al); half != "" {
			r.halfAligned = append(r.halfAligned, half)
		}
	}
	r.pass = r.spfAligned || len(r.dkimAligned) > 0
	return r, disc, nil
}

// messageSPF is check_host() for the message's envelope: the domain
// checked and the result ("" when there is no domain or no client).
func messageSPF(ctx context.Context, env Env, m *Message) (domain, result string) {
	e := m.Envelope()
	_, from, _ := m.FromAddress()
	domain = mailDomain(e, from)
	if domain == "" || !e.IP.IsValid() {
		return domain, ""
	}
	sender := e.MailFrom
	if e.NullSender || !strings.Contains(sender, "@") {
		sender = "postmaster@" + domain
	}
	return domain, spf.CheckHost(ctx, env.DNS, spf.Args{IP: e.IP, Sender: sender, HELO: cmp.Or(e.HELO, domain), Now: env.now()}).Result
}

// mailDomain is the domain SPF is checked for: the envelope sender's,
// or the HELO name's for the null sender (RFC 7208 §2.4).
//
// A message without Return-Path was saved before delivery (send
// --save-message, a Sent folder): MAIL FROM is not recorded, and there
// is no domain (dmarc.no_return_path says so; the From domain standing
// in would be aligned by construction).
func mailDomain(e Envelope, from string) string {
	switch {
	case e.NoReturnPath:
		return ""
	case e.NullSender:
		if e.HELO != "" && !strings.HasPrefix(e.HELO, "[") && strings.Contains(e.HELO, ".") {
			return strings.ToLower(strings.TrimSuffix(e.HELO, "."))
		}
		return ""
	case e.MailFrom == "":
		return from
	}
	if _, d, ok := strings.Cut(e.MailFrom, "@"); ok {
		return strings.ToLower(strings.TrimSuffix(d, "."))
	}
	return ""
}

// alignOf is identifier alignment of domain with the From domain: the
// dmarc check's predicate (dmarc.Align), so a message and the setup are
// judged alike. Only alignment for every receiver counts as aligned.
func alignOf(ctx context.Context, env Env, domain, from, mode string) dmarc.Alignment {
	return dmarc.Align(ctx, env.DNS, env.PSL, domain, from, mode)
}

// halfAligned says which receivers a domain aligns for when it aligns
// for one kind only ("" otherwise).
func halfAligned(what string, a dmarc.Alignment) string {
	switch {
	case a.RFC9989 && !a.RFC7489:
		return fmt.Sprintf("%s aligns for RFC 9989 receivers (organizational domain %s by the DNS tree walk) but not for RFC 7489 receivers (%s and %s by the Public Suffix List)", what, a.AuthorOrg, a.OrgPSL, a.AuthorOrgPSL)
	case a.RFC7489 && !a.RFC9989:
		return fmt.Sprintf("%s aligns for RFC 7489 receivers (organizational domain %s by the Public Suffix List) but not for RFC 9989 receivers (%s and %s by the DNS tree walk)", what, a.AuthorOrgPSL, a.Org, a.AuthorOrg)
	}
	return ""
}

// formatKinds are the format check's findings: RFC 5322 and the rules
// large receivers add (Gmail's bulk sender guidelines ask for RFC 5322
// compliance; a message without Message-ID or with two From fields is
// refused or junked). Warnings: they judge one message, not the setup.
var formatKinds = []report.Kind{
	{ID: "format.ok"},
	{ID: "format.from_count", Penalty: report.Penalty{Warn: 15}},
	{ID: "format.from_addresses", Penalty: report.Penalty{Warn: 10}},
	{ID: "format.no_date", Penalty: report.Penalty{Warn: 5}},
	{ID: "format.no_message_id", Penalty: report.Penalty{Warn: 5}},
	{ID: "format.duplicate_field", Penalty: report.Penalty{Warn: 5}},
	{ID: "format.long_line", Penalty: minorPenalty},
	{ID: "format.bad_encoded_word", Penalty: minorPenalty},
	{ID: "format.control_chars", Penalty: report.Penalty{Warn: 5}},
	{ID: "format.not_utf8", Penalty: minorPenalty},
	{ID: "format.not_a_field", Penalty: report.Penalty{Warn: 5}},
	{ID: "format.bare_lf"},
}

// Format checks the message against RFC 5322's rules (one finding per
// rule broken; format.ok when none is).
func Format(ctx context.Context, env Env, t Target) []report.Finding {
	if t.Message == nil {
		return nil
	}
	probs := t.Message.Lint()
	var out []report.Finding
	for _, p := range probs {
		f := report.Finding{ID: "format." + p.Rule, Severity: report.Warn, Message: p.Detail + ".", Fix: formatFix[p.Rule]}
		switch p.Rule {
		case message.RuleBareLF:
			f.ID, f.Severity = "format.bare_lf", report.Info
		case message.RuleFromCount:
			f.ID = "format.from_count"
		case message.RuleFromAddresses:
			f.ID = "format.from_addresses"
		}
		out = append(out, f)
	}
	if !slices.ContainsFunc(out, func(f report.Finding) bool { return f.Severity == report.Warn }) {
		out = append(out, report.Finding{ID: "format.ok", Severity: report.Pass,
			Message: fmt.Sprintf("The header follows RFC 5322: one From with one address, Date, Message-ID, no repeated single fields, lines within %d octets.", message.MaxLine)})
	}
	return out
}

var formatFix = map[string]string{
	message.RuleFromCount:     "Send with exactly one From field.",
	message.RuleFromAddresses: "Put exactly one address in From (several authors go in From only with a Sender field, which receivers dislike).",
	message.RuleNoDate:        "Add a Date field in RFC 5322 form (Mon, 02 Jan 2006 15:04:05 -0700).",
	message.RuleNoMessageID:   "Add a Message-ID such as <unique@your-domain>.",
	message.RuleDuplicate:     "Send each of these fields once.",
	message.RuleLongLine:      "Encode long lines (quoted-printable or base64) instead of sending them raw.",
	message.RuleEncodedWord:   "Encode non-ASCII header text as valid RFC 2047 words (=?utf-8?B?...?=).",
	message.RuleControl:       "Remove control characters from header fields.",
	message.RuleNotUTF8:       "Encode non-ASCII header text as RFC 2047 encoded-words (=?utf-8?B?...?=), or send it as UTF-8 (SMTPUTF8).",
	message.RuleNotField:      "Fix the header line: every line is Name: value, or a continuation starting with a space.",
}

// unsubscribeKinds are the bulk-mail header findings (RFC 2369, RFC
// 8058; Gmail and Yahoo require one-click unsubscribe of bulk senders,
// Outlook.com uses the mailto: URI). Warnings: they matter to bulk mail
// only, which one message cannot tell.
var unsubscribeKinds = []report.Kind{
	{ID: "unsubscribe.none"},
	{ID: "unsubscribe.one_click"},
	{ID: "unsubscribe.one_click_missing", Penalty: report.Penalty{Warn: 10}},
	{ID: "unsubscribe.not_signed", Penalty: report.Penalty{Warn: 10}},
	{ID: "unsubscribe.mailto"},
	{ID: "unsubscribe.no_mailto", Penalty: minorPenalty},
	{ID: "unsubscribe.insecure_uri", Penalty: minorPenalty},
	{ID: "unsubscribe.feedback_id"},
	{ID: "unsubscribe.feedback_id_malformed", Penalty: minorPenalty},
	{ID: "unsubscribe.feedback_id_not_signed", Penalty: minorPenalty},
	{ID: "unsubscribe.no_feedback_id"},
}

// feedbackID is Gmail's Feedback-ID shape: up to four colon-separated
// parameters, the last the sender's ID ("campaign:customer:type:sender").
var feedbackID = regexp.MustCompile(`^[^:\s]+(:[^:\s]*){0,3}$`)

// Unsubscribe checks the bulk-mail headers: one-click unsubscribe (an
// https URI and List-Unsubscribe-Post, both signed by a verified DKIM
// signature aligned with From), a mailto: URI, and Feedback-ID.
func Unsubscribe(ctx context.Context, env Env, t Target) []report.Finding {
	m := t.Message
	if m == nil {
		return nil
	}
	var out []report.Finding
	signedBy := func(fields ...string) string {
		_, from, _ := m.FromAddress()
		sigs, _ := m.Signatures(ctx, env)
		for _, s := range sigs {
			if s.Result != message.DKIMPass || from == "" || !alignOf(ctx, env, s.Domain, from, adkimOf(ctx, env, from)).Aligned() {
				continue
			}
			if !slices.ContainsFunc(fields, func(f string) bool { return !s.Signs(f) }) {
				return s.Domain
			}
		}
		return ""
	}
	u, ok := m.ListUnsubscribe()
	switch {
	case !ok:
		out = append(out, report.Finding{ID: "unsubscribe.none", Severity: report.Info,
			Message: "No List-Unsubscribe field. Gmail and Yahoo require one-click unsubscribe (RFC 8058) of bulk and marketing mail; personal and transactional mail needs none.",
			Fix:     "For bulk mail add List-Unsubscribe: <https://...>, <mailto:...> and List-Unsubscribe-Post: List-Unsubscribe=One-Click, and sign both with DKIM."})
	case len(u.HTTPS) > 0 && u.OneClick:
		ev := map[string]any{"https": u.HTTPS, "post": u.Post}
		if d := signedBy("List-Unsubscribe", "List-Unsubscribe-Post"); d != "" {
			ev["signed_by"] = d
			out = append(out, report.Finding{ID: "unsubscribe.one_click", Severity: report.Pass,
				Message:  fmt.Sprintf("One-click unsubscribe (RFC 8058): an https URI and List-Unsubscribe-Post, both signed by a verified DKIM signature aligned with From (d=%s).", d),
				Evidence: ev})
		} else {
			out = append(out, report.Finding{ID: "unsubscribe.not_signed", Severity: report.Warn,
				Message:  "List-Unsubscribe and List-Unsubscribe-Post are there, but no verified DKIM signature aligned with From covers both (RFC 8058 §4): receivers ignore one-click unsubscribe then.",
				Fix:      "Add List-Unsubscribe and List-Unsubscribe-Post to the signer's header list (h=), with a key aligned with From.",
				Evidence: ev})
		}
	default:
		why := "no List-Unsubscribe-Post: List-Unsubscribe=One-Click"
		if len(u.HTTPS) == 0 {
			why = "no https URI in List-Unsubscribe"
		}
		if u.Post != "" && !u.OneClick {
			why += fmt.Sprintf("; List-Unsubscribe-Post is %q, not List-Unsubscribe=One-Click", u.Post)
		}
		out = append(out, report.Finding{ID: "unsubscribe.one_click_missing", Severity: report.Warn,
			Message:  "List-Unsubscribe is there, but not one-click (RFC 8058): " + why + ". Gmail and Yahoo require one-click of bulk senders.",
			Fix:      "Add an https URI that unsubscribes on a POST, and List-Unsubscribe-Post: List-Unsubscribe=One-Click; sign both with DKIM.",
			Evidence: map[string]any{"https": u.HTTPS, "mailto": u.Mailto, "post": u.Post}})
	}
	if ok && u.Fields > 0 {
		if len(u.Mailto) > 0 {
			out = append(out, report.Finding{ID: "unsubscribe.mailto", Severity: report.Pass,
				Message: "List-Unsubscribe has a mailto: URI (Outlook.com uses only that).", Evidence: map[string]any{"mailto": u.Mailto}})
		} else {
			out = append(out, report.Finding{ID: "unsubscribe.no_mailto", Severity: report.Warn,
				Message: "List-Unsubscribe has no mailto: URI: Outlook.com offers unsubscribe through mailto: only.",
				Fix:     "Add <mailto:unsubscribe@your-domain?subject=unsubscribe> beside the https URI."})
		}
		if len(u.Other) > 0 {
			out = append(out, report.Finding{ID: "unsubscribe.insecure_uri", Severity: report.Warn,
				Message:  fmt.Sprintf("List-Unsubscribe has URIs receivers do not use for one-click: %s (http: or unknown schemes).", strings.Join(u.Other, ", ")),
				Fix:      "Use https: and mailto: URIs only.",
				Evidence: map[string]any{"uris": u.Other}})
		}
	}
	fb, ok := m.First("Feedback-ID")
	if !ok {
		return append(out, report.Finding{ID: "unsubscribe.no_feedback_id", Severity: report.Info,
			Message: "No Feedback-ID field: Gmail's Feedback Loop reports spam rates per Feedback-ID to bulk senders who add one (optional)."})
	}
	{
		ev := map[string]any{"feedback_id": fb}
		switch {
		case !feedbackID.MatchString(fb):
			out = append(out, report.Finding{ID: "unsubscribe.feedback_id_malformed", Severity: report.Warn,
				Message:  fmt.Sprintf("Feedback-ID %q is not Gmail's form a:b:c:SenderId (at most four colon-separated fields, no spaces).", fb),
				Fix:      "Write Feedback-ID as CampaignId:CustomerId:MailType:SenderId (fewer fields are fine; the last is the sender).",
				Evidence: ev})
		case signedBy("Feedback-ID") == "":
			out = append(out, report.Finding{ID: "unsubscribe.feedback_id_not_signed", Severity: report.Warn,
				Message:  "Feedback-ID is not covered by a verified DKIM signature aligned with From: Gmail's Feedback Loop ignores it then.",
				Fix:      "Add Feedback-ID to the signer's header list (h=).",
				Evidence: ev})
		default:
			out = append(out, report.Finding{ID: "unsubscribe.feedback_id", Severity: report.Pass,
				Message: fmt.Sprintf("Feedback-ID %q is well formed and signed.", fb), Evidence: ev})
		}
	}
	return out
}

// arcKinds: ARC chains are reported as present, not validated: no
// maintained Go library validates them (DESIGN, Changes 28).
var arcKinds = []report.Kind{
	{ID: "arc.present"},
	{ID: "arc.none"},
	{ID: "arc.incomplete", Penalty: minorPenalty},
}

// ARC reports the message's ARC sets (RFC 8617) as present.
func ARC(ctx context.Context, env Env, t Target) []report.Finding {
	if t.Message == nil {
		return nil
	}
	a, ok := t.Message.ARCSets()
	if !ok {
		return []report.Finding{{ID: "arc.none", Severity: report.Info, Message: "No ARC sets: the message was not forwarded through an ARC sealer (mailing lists and forwarders add them)."}}
	}
	ev := map[string]any{"instances": len(a.Instances), "sealers": a.Sealers, "cv": a.Validation}
	if !a.Complete {
		return []report.Finding{{ID: "arc.incomplete", Severity: report.Warn,
			Message:  fmt.Sprintf("ARC fields are present but the chain is incomplete (instances %v): receivers treat it as failing.", a.Instances),
			Evidence: ev}}
	}
	return []report.Finding{{ID: "arc.present", Severity: report.Info,
		Message:  fmt.Sprintf("An ARC chain of %d sets, sealed by %s (newest cv=%s); not validated: preflight reports ARC as present only.", len(a.Instances), strings.Join(a.Sealers, ", "), a.Validation),
		Evidence: ev}}
}

// maxPathHops bounds the hops the evidence lists.
const maxPathHops = 20

// pathEvidence lists the Received hops, newest first: who received the
// message from whom, with what, over which TLS version.
func pathEvidence(m *Message) []string {
	var out []string
	for _, h := range m.Hops() {
		if len(out) == maxPathHops {
			out = append(out, "…")
			break
		}
		line := "by " + cmp.Or(h.By, "?")
		if h.HELO != "" || h.IP.IsValid() {
			line = "from " + cmp.Or(h.HELO, "?")
			if h.IP.IsValid() {
				line += " [" + h.IP.String() + "]"
			}
			line += " by " + cmp.Or(h.By, "?")
		}
		if h.With != "" {
			line += " with " + h.With
		}
		if h.TLS != "" {
			line += " " + h.TLS
		}
		out = append(out, line)
	}
	return out
}

// receivedKinds: the path the message took (TLS on the trusted hop) and
// the receiver's own Authentication-Results compared with ours.
var receivedKinds = []report.Kind{
	{ID: "received.tls"},
	{ID: "received.no_tls", Penalty: report.Penalty{Warn: 5}},
	{ID: "received.no_trusted_hop", Penalty: minorPenalty},
	{ID: "received.authres_agrees"},
	{ID: "received.authres_differs", Penalty: minorPenalty},
	{ID: "received.no_authres"},
	// check DOMAIN --ip IP --message FILE with a message from another
	// domain or client: its findings are about another sender.
	{ID: "received.other_target", Penalty: report.Penalty{Warn: 5}},
}

// otherSender reports whether the message's From domain is another
// sender's than the target's (check DOMAIN --message FILE): neither
// DOMAIN nor a name under it.
func otherSender(m *Message, t Target) bool {
	_, from, _ := m.FromAddress()
	return t.Domain != "" && from != "" && from != t.Domain && !strings.HasSuffix(from, "."+t.Domain)
}

// foreignOffline: --offline, and the message is another sender's. Its
// names are outside the zone files of the target, so a lookup the
// zones cannot answer was not made: the message's part is not checked,
// which says nothing of the target, and the target's run stays complete
// (an error would make it incomplete, without score).
func foreignOffline(env Env, t Target) bool {
	return env.DNS != nil && env.DNS.Offline() && t.Message != nil && otherSender(t.Message, t)
}

// notChecked is the finding for a lookup of another sender's message
// that --offline did not make (foreignOffline).
func notChecked(check, subject, what string, t Target, err error) report.Finding {
	_, from, _ := t.Message.FromAddress()
	f := report.Finding{ID: check + ".not_checked", Severity: report.Info, Subject: subject,
		Message: fmt.Sprintf("Not checked: %s; the message is another sender's (From domain %s, not %s), and --offline asks nothing outside the zone files.", what, from, t.Domain),
		Fix:     fmt.Sprintf("Give zone files for %s too, run without --offline, or check the message alone (preflight message FILE).", from)}
	if err != nil {
		f.Evidence = map[string]any{"error": err.Error()}
	}
	return f
}

// otherTarget warns when the message is not the target's: check DOMAIN
// --ip IP --message FILE with a message from another domain (other than
// DOMAIN or a name under it) or another client address.
func otherTarget(m *Message, e Envelope, t Target) []report.Finding {
	_, from, _ := m.FromAddress()
	var diffs []string
	if otherSender(m, t) {
		diffs = append(diffs, fmt.Sprintf("its From domain is %s, not %s", from, t.Domain))
	}
	if e.IP.IsValid() && len(t.IPs) > 0 && !slices.Contains(t.IPs, e.IP) {
		diffs = append(diffs, fmt.Sprintf("it came from %s, not %s", e.IP, t.IPs[0]))
	}
	if len(diffs) == 0 {
		return nil
	}
	return []report.Finding{{ID: "received.other_target", Severity: report.Warn,
		Message:  "The message is not the checked target's: " + strings.Join(diffs, ", and ") + "; its findings (dkim, dmarc, received) are about that sender, beside the target's.",
		Fix:      "Check a message sent by the target (preflight send --deliver --save-message FILE), or run preflight message FILE alone.",
		Evidence: map[string]any{"from_domain": from, "client_ip": e.IP.String(), "target_domain": t.Domain}}}
}

// Received reads the trusted hop (TLS) and compares the receiver's
// Authentication-Results with what preflight finds now.
func Received(ctx context.Context, env Env, t Target) []report.Finding {
	m := t.Message
	if m == nil {
		return nil
	}
	var out []report.Finding
	e := m.Envelope()
	out = append(out, otherTarget(m, e, t)...)
	if h := e.Hop; h == nil {
		out = append(out, report.Finding{ID: "received.no_trusted_hop", Severity: report.Warn,
			Message:  "The connecting client is unknown: " + e.Why + ", so SPF, the path and TLS cannot be judged.",
			Fix:      "Check the message as the receiver saved it (Gmail: Show original, Download original), or give --received-by HOST / --ip.",
			Evidence: map[string]any{"path": pathEvidence(m)}})
	} else {
		ev := map[string]any{"by": h.By, "from": h.HELO, "ip": h.IP.String(), "with": h.With, "hop": h.Index + 1, "path": pathEvidence(m)}
		if h.TLS != "" {
			ev["tls"] = h.TLS
		}
		if len(h.Internal) > 0 {
			ev["internal_hops"] = len(h.Internal)
		}
		if h.Unverified {
			ev["local_client"] = true
		}
		if h.Encrypted() {
			out = append(out, report.Finding{ID: "received.tls", Severity: report.Pass, Subject: h.IP.String(),
				Message:  fmt.Sprintf("%s received the message from %s over TLS (%s).", h.By, h.IP, cmp.Or(h.TLS, h.With)),
				Evidence: ev})
		} else {
			out = append(out, report.Finding{ID: "received.no_tls", Severity: report.Warn, Subject: h.IP.String(),
				Message:  fmt.Sprintf("%s recorded no TLS for the connection from %s (with %s): the message crossed the network in clear text.", h.By, h.IP, cmp.Or(h.With, "unknown")),
				Fix:      "Use STARTTLS when sending (preflight send --tls required shows whether the receiver offers it).",
				Evidence: ev})
		}
	}
	if e.Hop == nil {
		return append(out, report.Finding{ID: "received.no_authres", Severity: report.Info,
			Message: "No Authentication-Results field is compared: without a trusted hop, any of them may be the sender's."})
	}
	v, ok := m.AuthResults(*e.Hop, m.ReceivedBy)
	if !ok {
		return append(out, report.Finding{ID: "received.no_authres", Severity: report.Info,
			Message: fmt.Sprintf("No Authentication-Results field of %s to compare with (the receiver adds one above or right below its Received field; a message saved before delivery has none; fields from other hosts or further down may be the sender's and are not read).", e.Hop.By)})
	}
	if len(v.DKIM) == 0 && v.SPF == "" && v.DMARC == "" && v.ARC == "" {
		return append(out, report.Finding{ID: "received.no_authres", Severity: report.Info,
			Message:  fmt.Sprintf("%s's Authentication-Results record no results (none): it evaluated nothing to compare with.", v.ServID),
			Evidence: map[string]any{"authserv_id": v.ServID}})
	}
	sigs, _ := m.Signatures(ctx, env)
	var diffs []string
	for _, d := range v.DKIM {
		i := slices.IndexFunc(sigs, func(s message.Verified) bool { return strings.EqualFold(s.Domain, d.Domain) })
		switch {
		case d.Result == "" || d.Result == "none" && len(sigs) == 0:
		case i < 0:
			diffs = append(diffs, fmt.Sprintf("%s saw dkim=%s for d=%s, but the message has no signature with d=%s (the field is not about this message, or a signature was removed)", v.ServID, d.Result, d.Domain, d.Domain))
		case d.Result != sigs[i].Result:
			diffs = append(diffs, fmt.Sprintf("%s saw dkim=%s for d=%s, preflight sees %s now (the key may have rotated, or the message was changed after it arrived)", v.ServID, d.Result, d.Domain, sigs[i].Result))
		}
	}
	if v.SPF != "" {
		if d, res := messageSPF(ctx, env, m); res != "" && res != v.SPF {
			diffs = append(diffs, fmt.Sprintf("%s saw spf=%s, preflight sees %s for %s now (the SPF record changed since, or --ip/--received-by name another client)", v.ServID, v.SPF, res, d))
		}
	}
	if _, from, _ := m.FromAddress(); v.DMARC != "" && from != "" {
		if r, disc, err := evalDMARC(ctx, env, m, from); err == nil && disc.Applies() {
			ours := map[bool]string{true: "pass", false: "fail"}[r.pass]
			if v.DMARC != ours {
				diffs = append(diffs, fmt.Sprintf("%s saw dmarc=%s, preflight sees %s now", v.ServID, v.DMARC, ours))
			}
		}
	}
	ev := map[string]any{"authserv_id": v.ServID, "spf": v.SPF, "dmarc": v.DMARC, "arc": v.ARC, "below_hop": v.Below}
	var dk []string
	for _, d := range v.DKIM {
		dk = append(dk, d.Result+" d="+d.Domain)
	}
	ev["dkim"] = dk
	if len(diffs) > 0 {
		// One sentence per difference: a receiver's field may name one
		// d= for several selectors.
		seen := map[string]bool{}
		diffs = slices.DeleteFunc(diffs, func(d string) bool { dup := seen[d]; seen[d] = true; return dup })
		return append(out, report.Finding{ID: "received.authres_differs", Severity: report.Warn,
			Message: strings.Join(diffs, "; ") + ".", Evidence: ev})
	}
	return append(out, report.Finding{ID: "received.authres_agrees", Severity: report.Pass,
		Message:  fmt.Sprintf("%s's Authentication-Results agree with what preflight finds now (as it recorded: spf=%s, dmarc=%s, %d DKIM results).", v.ServID, cmp.Or(v.SPF, "none"), cmp.Or(v.DMARC, "none"), len(v.DKIM)),
		Evidence: ev})
}
