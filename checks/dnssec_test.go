package checks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

const dnssecZone = `mail.test. 3600 IN SOA ns.mail.test. h.mail.test. 1 7200 3600 1209600 3600
mail.test. IN NS ns.mail.test.
mail.test. IN MX 10 mx.mail.test.
mail.test. IN MX 20 mx.other.test.
ns.mail.test. IN A 192.0.2.1
mx.mail.test. IN A 192.0.2.2
`

const otherZone = `other.test. 3600 IN SOA ns.other.test. h.other.test. 1 7200 3600 1209600 3600
mx.other.test. IN A 192.0.2.3
`

// signedEnv answers from mail.test signed with opt and other.test
// unsigned, offline, with mail.test's DS as the trust anchor.
func signedEnv(t *testing.T, opt dnstest.SignOptions, anchor bool) Env {
	t.Helper()
	s, err := dnstest.SignText(dnssecZone, opt)
	if err != nil {
		t.Fatal(err)
	}
	z, err := s.Zone()
	if err != nil {
		t.Fatal(err)
	}
	other, err := resolver.ParseZone(strings.NewReader(otherZone), "other.zone")
	if err != nil {
		t.Fatal(err)
	}
	o, err := resolver.NewOverlay(z, other)
	if err != nil {
		t.Fatal(err)
	}
	cfg := resolver.Config{Overlay: o, Offline: true, TrustAnchors: s.DS}
	if !anchor {
		cfg.TrustAnchors = nil
	}
	return Env{DNS: resolver.New(cfg), Now: time.Now}
}

func TestDNSSEC(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name   string
		opt    dnstest.SignOptions
		anchor bool
		want   string
	}{
		{"secure", dnstest.SignOptions{}, true, "dnssec.secure:pass mail.test; dnssec.not_validated:info mx.other.test"},
		{"NSEC3", dnstest.SignOptions{NSEC3: true}, true, "dnssec.secure:pass mail.test; dnssec.not_validated:info mx.other.test"},
		{"expiring", dnstest.SignOptions{Expiration: now.Add(36 * time.Hour)}, true, "dnssec.expiring:warn mail.test; dnssec.not_validated:info mx.other.test"},
		{"bogus", dnstest.SignOptions{Inception: now.Add(-10 * 24 * time.Hour), Expiration: now.Add(-time.Hour)}, true, "dnssec.bogus:fail mail.test; dnssec.not_validated:info mx.other.test"},
		{"insecure algorithm", dnstest.SignOptions{Algorithm: dns.RSASHA1}, true, "dnssec.weak_algorithm:warn mail.test; dnssec.not_validated:info mx.other.test"},
		{"offline, root anchor", dnstest.SignOptions{}, false, "dnssec.not_validated:info mail.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := signedEnv(t, tc.opt, tc.anchor)
			fs := DNSSEC(context.Background(), env, Target{Domain: "mail.test"})
			var got []string
			for _, f := range fs {
				got = append(got, f.ID+":"+f.Severity.String()+" "+f.Subject)
				if f.Severity == report.Fail && (f.Fix == "" || !strings.Contains(f.Message, "SERVFAIL")) {
					t.Errorf("%s: no fix or reason: %+v", f.ID, f)
				}
			}
			if g := strings.Join(got, "; "); g != tc.want {
				t.Errorf("got  %s\nwant %s", g, tc.want)
			}
		})
	}
}

// A --trust-anchor that covers other zones: the fix names what it
// covers and what to add, not "give --trust-anchor FILE", which the user
// did. With the root's anchor (offline) the advice stays the general one.
func TestDNSSECNotValidatedFix(t *testing.T) {
	fs := DNSSEC(context.Background(), signedEnv(t, dnstest.SignOptions{}, true), Target{Domain: "mail.test"})
	f, ok := find(fs, "dnssec.not_validated")
	if !ok || f.Subject != "mx.other.test" {
		t.Fatalf("no dnssec.not_validated for mx.other.test in %v", ids(fs))
	}
	if want := "The --trust-anchor given covers mail.test, not mx.other.test: add the DS or DNSKEY of the signed zone above mx.other.test"; !strings.HasPrefix(f.Fix, want) {
		t.Errorf("fix %q\nwant it to start %q", f.Fix, want)
	}
	fs = DNSSEC(context.Background(), signedEnv(t, dnstest.SignOptions{}, false), Target{Domain: "mail.test"})
	if f, ok := find(fs, "dnssec.not_validated"); !ok || !strings.HasPrefix(f.Fix, "With zone files or a lab, give --trust-anchor FILE") {
		t.Errorf("root anchor: %+v", f)
	}
}

// A DNS server that never answers, or refuses, leaves DNSSEC unknown:
// dnssec.dns_error (error, the run incomplete), never the information
// that the zone could not be validated, which reads as a clean result.
func TestDNSSECDNSFailure(t *testing.T) {
	s, err := dnstest.SignText(dnssecZone, dnstest.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	z, err := s.Zone()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		break_ func(*dnstest.Server)
		why    string
	}{
		{"no answer", func(srv *dnstest.Server) { srv.DropAll(true) }, "timeout"},
		{"refused", func(srv *dnstest.Server) { srv.SetRcode("", dns.RcodeRefused) }, "REFUSED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := dnstest.StartZones(z)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			tc.break_(srv)
			env := Env{DNS: resolver.New(resolver.Config{Servers: []string{srv.Addr}, TrustAnchors: s.DS, AttemptTimeout: 100 * time.Millisecond, Attempts: 1}), Now: time.Now}
			fs := DNSSEC(context.Background(), env, Target{Domain: "mail.test"})
			if len(fs) == 0 {
				t.Fatal("no findings")
			}
			for _, f := range fs {
				if f.ID != "dnssec.dns_error" || f.Severity != report.Error {
					t.Errorf("%s:%s %s, want dnssec.dns_error:error", f.ID, f.Severity, f.Message)
				}
				if !strings.Contains(f.Message, tc.why) {
					t.Errorf("message %q does not say %q", f.Message, tc.why)
				}
			}
		})
	}
}

// A name the zone proves not to exist is not said to "validate": the
// finding says it does not exist, and that the proof is (or is not)
// DNSSEC's.
func TestDNSSECNonexistent(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  dnstest.SignOptions
		want string
	}{
		{"proven", dnstest.SignOptions{}, "dnssec.secure:pass nope.mail.test does not exist: the zone mail.test proves it"},
		{"opt-out span", dnstest.SignOptions{NSEC3: true, OptOut: true}, "dnssec.insecure:info nope.mail.test does not exist, and that is not DNSSEC-proven"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := signedEnv(t, tc.opt, true)
			fs := DNSSEC(context.Background(), env, Target{Domain: "nope.mail.test"})
			if len(fs) != 1 || !strings.HasPrefix(fs[0].ID+":"+fs[0].Severity.String()+" "+fs[0].Message, tc.want) {
				t.Errorf("got %+v, want %s", fs, tc.want)
			}
		})
	}
}

// A server that answers the name but not the anchor's zone (a lab's
// authoritative server, no root): not validated, information, as before.
func TestDNSSECAnchorZoneNotServed(t *testing.T) {
	s, err := dnstest.SignText(dnssecZone, dnstest.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	z, err := s.Zone()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := dnstest.StartZones(z)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.SetRcode(".", dns.RcodeRefused)
	root := dns.Copy(s.DS[0]).(*dns.DS)
	root.Hdr.Name = "."
	env := Env{DNS: resolver.New(resolver.Config{Servers: []string{srv.Addr}, TrustAnchors: []dns.RR{root}, AttemptTimeout: time.Second, Attempts: 1}), Now: time.Now}
	fs := DNSSEC(context.Background(), env, Target{Domain: "mail.test"})
	if len(fs) == 0 || fs[0].ID != "dnssec.not_validated" || fs[0].Severity != report.Info {
		t.Errorf("got %+v, want dnssec.not_validated info", fs)
	}
}
