package checks

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/dane"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// daneEnv runs an MX for example.test on loopback presenting a leaf and
// its CA, and answers from example.test signed with opt (nil: unsigned)
// with the TLSA records tlsa(leaf, ca) at _25._tcp.mx1, validated from
// the zone's own DS.
func daneEnv(t *testing.T, opt *dnstest.SignOptions, addr string, tlsa func(leaf, ca *x509.Certificate) []string) Env {
	return daneEnvCert(t, opt, addr, "mx1.example.test", tlsa)
}

// daneEnvCert is daneEnv with the leaf certificate for certName.
func daneEnvCert(t *testing.T, opt *dnstest.SignOptions, addr, certName string, tlsa func(leaf, ca *x509.Certificate) []string) Env {
	t.Helper()
	ca := smtptest.NewCA(t)
	block, _ := pem.Decode(ca.PEM)
	caCert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ca.ServerTLSUntil(t, time.Now().Add(90*24*time.Hour), certName)
	cfg.Certificates[0].Certificate = append(cfg.Certificates[0].Certificate, caCert.Raw)
	leaf, _ := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	port := freePort(t)
	smtptest.Start(t, smtptest.Options{TLS: cfg, Listen: net.JoinHostPort(addr, strconv.Itoa(port)), Domain: "mx1.example.test", Local: []string{"example.test"}})
	var z strings.Builder
	z.WriteString("$ORIGIN example.test.\n@ 3600 IN SOA ns. host. 1 3600 600 86400 60\n@ 3600 IN MX 10 mx1\n")
	fmt.Fprintf(&z, "mx1 3600 IN A %s\n", addr)
	for _, r := range tlsa(leaf, caCert) {
		fmt.Fprintf(&z, "_25._tcp.mx1 3600 IN TLSA %s\n", r)
	}
	var anchors []dns.RR
	text := z.String()
	if opt != nil {
		s, err := dnstest.SignText(text, *opt)
		if err != nil {
			t.Fatal(err)
		}
		text, anchors = s.Text(), s.DS
	}
	zone, err := resolver.ParseZone(strings.NewReader(text), "example.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	o, _ := resolver.NewOverlay(zone)
	env := Env{DNS: resolver.New(resolver.Config{Overlay: o, Offline: true, TrustAnchors: anchors}), Now: time.Now}
	env.TLS = TLSSettings{Port: port, Roots: ca.Pool}
	return env
}

func TestDANE(t *testing.T) {
	signed := &dnstest.SignOptions{}
	ee := func(leaf, _ *x509.Certificate) []string { return []string{dane.Record(3, 1, 1, leaf)} }
	for i, tc := range []struct {
		name string
		opt  *dnstest.SignOptions
		tlsa func(leaf, ca *x509.Certificate) []string
		want []string // the dane findings, "ID severity"
	}{
		{"3 1 1 matches", signed, ee, []string{"dane.ok pass"}},
		{"2 1 1 matches the CA", signed, func(_, ca *x509.Certificate) []string { return []string{dane.Record(2, 1, 1, ca)} }, []string{"dane.ok pass"}},
		{"rollover pair, the next key first", signed, func(leaf, ca *x509.Certificate) []string {
			return []string{"3 1 1 " + strings.Repeat("ab", 32), dane.Record(3, 1, 1, leaf)}
		}, []string{"dane.ok pass"}},
		{"mismatch", signed, func(_, _ *x509.Certificate) []string { return []string{"3 1 1 " + strings.Repeat("ab", 32)} }, []string{"dane.mismatch fail"}},
		{"PKIX usages flagged", signed, func(leaf, _ *x509.Certificate) []string { return []string{dane.Record(1, 1, 1, leaf)} }, []string{"dane.unusable_records warn"}},
		{"PKIX beside DANE-EE", signed, func(leaf, _ *x509.Certificate) []string {
			return []string{dane.Record(1, 1, 1, leaf), dane.Record(3, 1, 1, leaf)}
		}, []string{"dane.unusable_records warn", "dane.ok pass"}},
		// RSA/SHA-1 is insecure to preflight, but validators that accept
		// it (most) make their senders enforce the records: matched.
		{"RSA/SHA-1 zone: matched, with a warning", &dnstest.SignOptions{Algorithm: dns.RSASHA1}, ee, []string{"dane.insecure warn", "dane.ok pass"}},
		{"RSA/SHA-1 zone: mismatch fails", &dnstest.SignOptions{Algorithm: dns.RSASHA1}, func(_, _ *x509.Certificate) []string { return []string{"3 1 1 " + strings.Repeat("ab", 32)} }, []string{"dane.insecure warn", "dane.mismatch fail"}},
		{"bogus", &dnstest.SignOptions{Inception: time.Now().Add(-9 * 24 * time.Hour), Expiration: time.Now().Add(-time.Hour)}, ee, []string{"dane.bogus fail"}},
		{"no anchor", nil, ee, []string{"dane.not_validated info"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := daneEnv(t, tc.opt, fmt.Sprintf("127.0.3.%d", i+1), tc.tlsa)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var got []string
			for _, f := range TLS(ctx, env, Target{Domain: "example.test"}) {
				if strings.HasPrefix(f.ID, "dane.") {
					got = append(got, f.ID+" "+f.Severity.String())
					if f.ID == "dane.mismatch" && !strings.Contains(f.Fix, "3 1 1 ") {
						t.Errorf("%s without the records to publish: %s", f.ID, f.Fix)
					}
				}
			}
			if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// An address that DANE authenticates is judged as DANE senders judge it:
// with DANE-EE the certificate's name (and expiry, issuer) do not
// matter, with DANE-TA its trust in the public roots does not; those
// findings are information then, not warnings.
func TestDANEAuthenticatedAddress(t *testing.T) {
	signed := &dnstest.SignOptions{}
	for i, tc := range []struct {
		name     string
		certName string
		roots    bool // the run trusts the test CA
		tlsa     func(leaf, ca *x509.Certificate) []string
		want     map[string]string // finding ID → severity
	}{
		{"DANE-EE, wrong name", "other.example.test", true, func(leaf, _ *x509.Certificate) []string { return []string{dane.Record(3, 1, 1, leaf)} },
			map[string]string{"tls.name_mismatch": "info", "dane.ok": "pass"}},
		{"DANE-EE, private CA", "mx1.example.test", false, func(leaf, _ *x509.Certificate) []string { return []string{dane.Record(3, 1, 1, leaf)} },
			map[string]string{"tls.cert_unverified": "info", "dane.ok": "pass"}},
		{"DANE-TA, private CA", "mx1.example.test", false, func(_, ca *x509.Certificate) []string { return []string{dane.Record(2, 1, 1, ca)} },
			map[string]string{"tls.cert_unverified": "info", "dane.ok": "pass"}},
		{"no match: the warnings stand", "other.example.test", true, func(_, _ *x509.Certificate) []string { return []string{"3 1 1 " + strings.Repeat("ab", 32)} },
			map[string]string{"tls.name_mismatch": "warn", "dane.mismatch": "fail"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := daneEnvCert(t, signed, fmt.Sprintf("127.0.4.%d", i+1), tc.certName, tc.tlsa)
			if !tc.roots {
				env.TLS.Roots = x509.NewCertPool()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got := map[string]string{}
			for _, f := range TLS(ctx, env, Target{Domain: "example.test"}) {
				if _, ok := tc.want[f.ID]; ok {
					got[f.ID] = f.Severity.String()
					if f.Severity == report.Info && !strings.Contains(f.Message, "RFC 7672") {
						t.Errorf("%s softened without saying why: %s", f.ID, f.Message)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
