package delivery

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/dane"
)

// DANERefused is the end of a direct session that a DANE-aware MTA
// would not continue (RFC 7672 §2.2): the MX host has DNSSEC-secure TLSA
// records and no STARTTLS, or presents a chain none of them matches, or
// its TLSA lookup was bogus; or the domain's MX lookup was bogus, and a
// validating MTA makes no connection at all (Send.MXBogus).
const DANERefused Result = "dane_refused"

// DANEHost is what the direct path knows of one MX host's DANE TLSA
// records, looked up with DNSSEC (the check fills it, as for MTA-STS).
type DANEHost struct {
	// TLSA are the host's records at _25._tcp.HOST, secure, MX RRset
	// secure too; empty: DANE does not apply.
	TLSA []*dns.TLSA
	// Bogus, when set, says why the TLSA lookup failed validation: a
	// DANE-aware MTA does not deliver to the host.
	Bogus string
}

// daneFor returns the host's DANE state on the direct path.
func (ss *session) daneFor() (DANEHost, bool) {
	if ss.h.path != "direct" || ss.s.DANE == nil {
		return DANEHost{}, false
	}
	d, ok := ss.s.DANE[strings.ToLower(strings.TrimSuffix(ss.h.host, "."))]
	return d, ok && (len(d.TLSA) > 0 || d.Bogus != "")
}

// daneBeforeTLS ends the session when DANE forbids going on without TLS
// (no STARTTLS offered) or at all (bogus TLSA).
func (ss *session) daneBeforeTLS(starttls bool) *failure {
	d, ok := ss.daneFor()
	switch {
	case !ok:
		return nil
	case d.Bogus != "":
		ss.c.Quit()
		return newFailure(DANERefused, "STARTTLS", fmt.Errorf("the TLSA records of %s fail DNSSEC validation (%s): a DANE-aware MTA does not deliver here (RFC 7672 §2.2)", ss.h.host, d.Bogus))
	case !starttls:
		ss.c.Quit()
		return newFailure(DANERefused, "STARTTLS", errors.New("the server does not offer STARTTLS, and it publishes DANE TLSA records: a DANE-aware MTA does not deliver in clear text (RFC 7672 §2.2)"))
	}
	return nil
}

// daneAfterTLS matches the chain the server presented against its TLSA
// records, as a DANE-aware MTA does: authenticated when one matches
// (then MTA-STS's certificate check does not apply, RFC 8461 §2), the
// session ends when usable records match nothing.
func (ss *session) daneAfterTLS(now time.Time) (authenticated bool, f *failure) {
	d, ok := ss.daneFor()
	st := ss.c.TLS()
	if !ok || st == nil {
		return false, nil
	}
	r := dane.Verify(d.TLSA, st.PeerCertificates, []string{ss.h.host}, now)
	switch r.Outcome {
	case dane.Matched:
		ss.daneMatched = r.Record
		return true, nil
	case dane.NoMatch:
		ss.c.Quit()
		return false, newFailure(DANERefused, "TLS", fmt.Errorf("no TLSA record of %s matches the certificate it presents (%s): a DANE-aware MTA does not deliver here (RFC 7672 §2.2)", ss.h.host, strings.Join(r.Reasons, "; ")))
	}
	return false, nil // no usable record: TLS, unauthenticated (RFC 7672 §2.2)
}

// tlsInfo is the session's TLS evidence, with the TLSA record that
// authenticated the server.
func (ss *session) tlsInfo() *TLSInfo {
	t := tlsEvidence(ss.c.TLS(), ss.verify)
	if t != nil && ss.daneMatched != "" {
		t.DANE = "TLSA " + ss.daneMatched + " matched"
	}
	return t
}
