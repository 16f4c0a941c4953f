package delivery

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"
)

// TLSMode is how a session uses TLS, as --tls (the direct path),
// --relay-tls and relay files (the relays) name it. The two paths have
// their own modes and defaults: a mode of the other path leaves a path
// at its default.
type TLSMode uint8

// TLS modes.
const (
	TLSDefault       TLSMode = iota // not given: opportunistic direct; relays starttls, implicit on port 465
	TLSOpportunistic                // direct: STARTTLS when offered (RFC 3207)
	TLSRequired                     // direct: STARTTLS, or nothing is sent
	TLSStartTLS                     // relays: STARTTLS, or nothing is sent
	TLSImplicit                     // relays: TLS from the first byte (RFC 8314 §3.3)
	TLSNone                         // both: plaintext, even when STARTTLS is offered
)

var tlsModeNames = [...]string{"", "opportunistic", "required", "starttls", "implicit", "none"}

// ErrTLSMode is ParseTLSMode's error for a name it does not know.
var ErrTLSMode = errors.New("delivery: unknown TLS mode")

// ParseTLSMode reads a TLS mode by its name; "" is TLSDefault.
func ParseTLSMode(s string) (TLSMode, error) {
	if i := slices.Index(tlsModeNames[:], s); i >= 0 {
		return TLSMode(i), nil
	}
	return TLSDefault, fmt.Errorf("%w %q", ErrTLSMode, s)
}

// String is the mode's name; "" for TLSDefault.
func (m TLSMode) String() string {
	if int(m) < len(tlsModeNames) {
		return tlsModeNames[m]
	}
	return fmt.Sprintf("TLSMode(%d)", m)
}

// MarshalText writes the mode's name.
func (m TLSMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// ForDirect reports whether the mode is one the direct path can have.
func (m TLSMode) ForDirect() bool {
	return m == TLSDefault || m == TLSOpportunistic || m == TLSRequired || m == TLSNone
}

// ForRelays reports whether the mode is one a relay can have.
func (m TLSMode) ForRelays() bool {
	return m == TLSDefault || m == TLSStartTLS || m == TLSImplicit || m == TLSNone
}

// direct is the mode of a session on the direct path.
func (m TLSMode) direct() TLSMode {
	if m == TLSRequired || m == TLSNone {
		return m
	}
	return TLSOpportunistic
}

// relay is the mode of a session with a relay on port: port 465 is
// implicit TLS (RFC 8314 §3.3) unless the mode says otherwise.
func (m TLSMode) relay(port int) TLSMode {
	switch {
	case m == TLSImplicit || m == TLSNone || m == TLSStartTLS:
		return m
	case port == 465:
		return TLSImplicit
	}
	return TLSStartTLS
}

// mandatory reports whether a session without TLS must not go on.
func (m TLSMode) mandatory() bool { return m == TLSRequired || m == TLSStartTLS }

// TLSInfo is the TLS of a session, for the report.
type TLSInfo struct {
	Version     string `json:"version"`
	Cipher      string `json:"cipher"`
	Subject     string `json:"subject,omitempty"`
	Issuer      string `json:"issuer,omitempty"`
	NotAfter    string `json:"not_after,omitempty"`
	Verified    bool   `json:"verified"`
	VerifyError string `json:"verify_error,omitempty"`
	// DANE names the TLSA record that authenticated the server on the
	// direct path (RFC 7672), when one did.
	DANE string `json:"dane,omitempty"`
}

// verification is what the TLS handshake's certificate check found.
type verification struct {
	ok  bool
	err string
}

// tlsConfig verifies the certificate itself (against roots, or the
// system's) and records the result instead of failing the handshake:
// MX hosts often have certificates that do not verify, and mail to them
// is still encrypted (RFC 3207 §4.1 leaves the decision to the client);
// relays get no credentials over an unverified one.
func tlsConfig(host string, roots *x509.CertPool, v *verification) *tls.Config {
	return &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: true, // verified below, into v
		MinVersion:         tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				v.err = "no certificate"
				return nil
			}
			opts := x509.VerifyOptions{Roots: roots, DNSName: host, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				v.err = err.Error()
				return nil
			}
			v.ok = true
			return nil
		},
	}
}

// tlsEvidence describes the session's TLS; nil without TLS.
func tlsEvidence(st *tls.ConnectionState, v *verification) *TLSInfo {
	if st == nil {
		return nil
	}
	info := &TLSInfo{Version: tls.VersionName(st.Version), Cipher: tls.CipherSuiteName(st.CipherSuite), Verified: v.ok, VerifyError: v.err}
	if len(st.PeerCertificates) > 0 {
		c := st.PeerCertificates[0]
		info.Subject, info.Issuer = c.Subject.String(), c.Issuer.String()
		info.NotAfter = c.NotAfter.UTC().Format(time.RFC3339)
	}
	return info
}
