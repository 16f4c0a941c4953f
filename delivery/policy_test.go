package delivery

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/preflight-mail/preflight/mtasts"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

var rcpt550 = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "IP listed on a blocklist"}

// TestPolicy sends under each gateway policy to an MX server and two
// gateways (one disabled), all of which count their connections.
func TestPolicy(t *testing.T) {
	type counts struct{ mx, gw, disabled int }
	tests := []struct {
		name   string
		policy Policy
		to     string
		refuse bool     // the MX port refuses connections
		rcpt   bool     // the MX refuses RCPT TO with a 550
		want   []string // attempts, with the gateway as GW
		class  ErrorClass
		fb     string // the fallback decision: "", "allowed" or "refused"
		rule   string // in the plan's rule or the fallback's
		n      counts
	}{
		{"for-domains, listed", Policy{Name: PolicyForDomains, Domains: []string{"example.test"}}, "u@example.test", false, false,
			[]string{"GW accepted"}, "", "", "example.test matches example.test", counts{0, 1, 0}},
		{"for-domains, suffix", Policy{Name: PolicyForDomains, Domains: []string{".example.test"}}, "u@two.example.test", false, false,
			[]string{"GW accepted"}, "", "", "matches .example.test", counts{0, 1, 0}},
		{"for-domains, suffix is not the domain", Policy{Name: PolicyForDomains, Domains: []string{".example.test"}}, "u@example.test", false, false,
			[]string{"mx.example.test accepted"}, "", "", "matches no entry", counts{1, 0, 0}},
		{"for-domains, unlisted", Policy{Name: PolicyForDomains, Domains: []string{"other.test"}}, "u@example.test", false, false,
			[]string{"mx.example.test accepted"}, "", "", "matches no entry", counts{1, 0, 0}},
		{"never, refused", Policy{Name: PolicyNever}, "u@example.test", true, false,
			[]string{"mx.example.test connect_failed"}, ClassConnect, "", "never", counts{0, 0, 0}},
		{"always", Policy{Name: PolicyAlways}, "u@example.test", false, false,
			[]string{"GW accepted"}, "", "", "always", counts{0, 1, 0}},
		{"on-error connect, refused", Policy{Name: PolicyOnError, FallbackOn: []ErrorClass{ClassConnect}}, "u@example.test", true, false,
			[]string{"mx.example.test connect_failed", "GW accepted"}, ClassConnect, "allowed", "fallback_on: [connect]", counts{0, 1, 0}},
		{"on-error connect, NXDOMAIN", Policy{Name: PolicyOnError, FallbackOn: []ErrorClass{ClassConnect}}, "u@nx.example.test", false, false,
			[]string{"nx.example.test recipient_cannot_receive"}, ClassDNS, "refused", "cannot receive", counts{0, 0, 0}},
		{"on-error dns, NXDOMAIN", Policy{Name: PolicyOnError, FallbackOn: ErrorClasses}, "u@nx.example.test", false, false,
			[]string{"nx.example.test recipient_cannot_receive"}, ClassDNS, "refused", "could only bounce", counts{0, 0, 0}},
		{"on-error dns, null MX", Policy{Name: PolicyOnError, FallbackOn: ErrorClasses}, "u@null.example.test", false, false,
			[]string{"null.example.test recipient_cannot_receive"}, ClassDNS, "refused", "could only bounce", counts{0, 0, 0}},
		// No MX host with an address: the domain cannot receive, and a
		// gateway could only bounce it (review of #22, item 3).
		{"on-error dns, no address", Policy{Name: PolicyOnError, FallbackOn: []ErrorClass{ClassDNS}}, "u@gone.example.test", false, false,
			[]string{"nohost.example.test no_address", "nohost2.example.test no_address"}, ClassDNS, "refused", "could only bounce", counts{0, 0, 0}},
		// A recipient that cannot receive goes to no gateway under any
		// policy (review of #22, item 4).
		{"always, NXDOMAIN", Policy{Name: PolicyAlways}, "u@nx.example.test", false, false,
			[]string{"nx.example.test recipient_cannot_receive"}, ClassDNS, "", "always", counts{0, 0, 0}},
		{"always, no address", Policy{Name: PolicyAlways}, "u@gone.example.test", false, false,
			[]string{"gone.example.test recipient_cannot_receive"}, ClassDNS, "", "always", counts{0, 0, 0}},
		{"for-domains, null MX", Policy{Name: PolicyForDomains, Domains: []string{".example.test"}}, "u@null.example.test", false, false,
			[]string{"null.example.test recipient_cannot_receive"}, ClassDNS, "", "matches .example.test", counts{0, 0, 0}},
		{"on-error connect, 550", Policy{Name: PolicyOnError, FallbackOn: []ErrorClass{ClassConnect}}, "u@example.test", false, true,
			[]string{"mx.example.test rejected"}, ClassSMTP, "refused", "does not include smtp", counts{1, 0, 0}},
		{"on-error smtp, 550", Policy{Name: PolicyOnError, FallbackOn: []ErrorClass{ClassSMTP}}, "u@example.test", false, true,
			[]string{"mx.example.test rejected", "GW accepted"}, ClassSMTP, "allowed", "fallback_on: [smtp]", counts{1, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mx := smtptest.Start(t, smtptest.Options{Local: []string{"example.test", "two.example.test"}})
			if tt.rcpt {
				mx = smtptest.Start(t, smtptest.Options{RcptError: rcpt550})
			}
			gw := smtptest.Start(t, smtptest.Options{Open: true})
			off := smtptest.Start(t, smtptest.Options{Open: true})
			s := sender()
			s.To, s.Port = names.MustAddress(tt.to), port(mx.Addr)
			if tt.refuse {
				s.Port = 1
			}
			p := tt.policy
			p.At = map[string]string{"policy": "relays.yaml:1", "fallback_on": "relays.yaml:2", "domains": "relays.yaml:2"}
			s.Policy = &p
			// The disabled gateway has the highest priority: it would be
			// tried first if disabled meant anything less than never.
			s.Relays = []Relay{{Addr: gw.Addr, Priority: 2, TLS: TLSNone, Enabled: true}, {Addr: off.Addr, Priority: 0, TLS: TLSNone}}
			o := Run(context.Background(), recipientDeps(t), &s)
			got := strings.ReplaceAll(strings.Join(results(o.Attempts), ", "), gw.Addr, "GW")
			if want := strings.Join(tt.want, ", "); got != want {
				t.Errorf("attempts %s, want %s", got, want)
			}
			c := Decisive(o.Attempts).Class
			if o.Fallback != nil {
				c = o.Fallback.Class
			}
			if c != tt.class {
				t.Errorf("class %q, want %q", c, tt.class)
			}
			fb, rule := "", o.Plan.Rule
			if o.Fallback != nil {
				fb, rule = map[bool]string{true: "allowed", false: "refused"}[o.Fallback.Allowed], o.Fallback.String()
			}
			if fb != tt.fb || !strings.Contains(rule, tt.rule) {
				t.Errorf("fallback %q %q, want %q with %q", fb, rule, tt.fb, tt.rule)
			}
			if n := (counts{mx.Conns(), gw.Conns(), off.Conns()}); n != tt.n {
				t.Errorf("connections %+v, want %+v", n, tt.n)
			}
		})
	}
}

// TestPathOverridesPolicy: --path wins over the policy, and the plan says
// which policy it overrode.
func TestPathOverridesPolicy(t *testing.T) {
	s := sender()
	s.To, s.Path = names.MustAddress("u@example.test"), "direct"
	s.Policy = &Policy{Name: PolicyAlways, At: map[string]string{"policy": "r.yaml:1"}}
	pl := s.Plan()
	if pl.Path != "direct" || pl.Rule != "--path direct" || pl.Overrides != "r.yaml:1 (policy: always)" {
		t.Errorf("plan %+v", pl)
	}
	// A config's send.path is named as such, not as --path (review of #22).
	s.PathFrom = "send.path in the config"
	if pl := s.Plan(); pl.Rule != "send.path in the config direct" {
		t.Errorf("plan from a config %+v", pl)
	}
	s.Path = ""
	if pl := s.Plan(); pl.Path != "relay" || pl.Overrides != "" {
		t.Errorf("plan without --path %+v", pl)
	}
}

// --path auto with an on-error policy falls back on the file's classes,
// not on every class (review of #22).
func TestPathAutoKeepsFallbackOn(t *testing.T) {
	s := sender()
	s.To, s.Path = names.MustAddress("u@example.test"), "auto"
	s.Policy = &Policy{Name: PolicyOnError, FallbackOn: []ErrorClass{ClassConnect}, At: map[string]string{"policy": "r.yaml:1", "fallback_on": "r.yaml:2"}}
	pl := s.Plan()
	if !slices.Equal(pl.FallbackOn, []ErrorClass{ClassConnect}) || pl.Overrides != "" || !strings.Contains(pl.Rule, "r.yaml:2 (fallback_on: [connect])") {
		t.Errorf("plan %+v", pl)
	}
}

func TestPolicyMatch(t *testing.T) {
	p := Policy{Domains: []string{"example.com", ".example.org", "xn--bcher-kva.example"}}
	for d, want := range map[string]string{
		"example.com": "example.com", "EXAMPLE.COM.": "example.com", "a.example.com": "",
		"example.org": "", "a.example.org": ".example.org", "a.b.example.org": ".example.org",
		"badexample.org": "", "xn--bcher-kva.example": "xn--bcher-kva.example",
	} {
		if got, _ := p.Match(d); got != want {
			t.Errorf("Match(%q) = %q, want %q", d, got, want)
		}
	}
	if d, err := NormalizePolicyDomain(".Bücher.example"); err != nil || d != ".xn--bcher-kva.example" {
		t.Errorf("NormalizePolicyDomain: %q %v", d, err)
	}
	if _, err := NormalizePolicyDomain("."); err == nil {
		t.Error(`NormalizePolicyDomain("."): no error`)
	}
}

func TestClassOf(t *testing.T) {
	for r, want := range map[Result]ErrorClass{
		Accepted: "", DNSFailed: ClassDNS, NoAddress: ClassDNS, CannotReceive: ClassDNS, ConnectFailed: ClassConnect,
		Rejected: ClassSMTP, Deferred: ClassSMTP, TLSFailed: ClassSMTP, NoTLS: ClassSMTP, SMTPFailed: ClassSMTP, AuthFailed: ClassSMTP,
	} {
		if got := ClassOf(r); got != want {
			t.Errorf("ClassOf(%s) = %q, want %q", r, got, want)
		}
	}
	if !slices.Equal(ErrorClasses, []ErrorClass{"dns", "connect", "smtp"}) {
		t.Error(ErrorClasses)
	}
}

// TestPlanRoute lists the hosts a send would try, from DNS only: MX
// hosts by preference, then the gateways by priority, the disabled ones
// as skipped.
func TestPlanRoute(t *testing.T) {
	relays := []Relay{
		{Addr: "low.gw.test:587", Priority: 4, Enabled: true},
		{Addr: "off.gw.test:587", Priority: 0},
		{Addr: "high.gw.test:587", Priority: 1, Enabled: true},
	}
	onError := &Policy{Name: PolicyOnError, FallbackOn: []ErrorClass{ClassConnect, ClassSMTP}, At: map[string]string{"policy": "r.yaml:1", "fallback_on": "r.yaml:2"}}
	tests := []struct {
		to     string
		policy *Policy
		path   string
		want   string // host[/skipped], in order
		end    Result
	}{
		{"u@two.example.test", onError, "auto", "mx.example.test mx2.example.test off.gw.test:587/skipped high.gw.test:587 low.gw.test:587", ""},
		{"u@two.example.test", &Policy{Name: PolicyNever}, "direct", "mx.example.test mx2.example.test", ""},
		{"u@two.example.test", &Policy{Name: PolicyAlways}, "relay", "off.gw.test:587/skipped high.gw.test:587 low.gw.test:587", ""},
		{"u@nx.example.test", onError, "auto", "off.gw.test:587/skipped high.gw.test:587/skipped low.gw.test:587/skipped", CannotReceive},
	}
	for _, tt := range tests {
		s := sender()
		s.To, s.Policy, s.Relays = names.MustAddress(tt.to), tt.policy, relays
		r := PlanRoute(context.Background(), recipientDeps(t), &s)
		var got []string
		for _, h := range r.Hosts {
			if h.Skipped != "" {
				h.Host += "/skipped"
			}
			got = append(got, h.Host)
		}
		end := Result("")
		if r.End != nil {
			end = r.End.Result
		}
		if r.Plan.Path != tt.path || strings.Join(got, " ") != tt.want || end != tt.end {
			t.Errorf("%s %s: %s %v %s, want %s %s %s", tt.to, tt.policy.Name, r.Plan.Path, got, end, tt.path, tt.want, tt.end)
		}
	}
}

// A 5.1.x refusal is about the recipient's address: no gateway would do
// better, so no fallback, whatever the policy (review of #22, item 7).
func TestNoFallbackOnAddressRefusal(t *testing.T) {
	mx := smtptest.Start(t, smtptest.Options{RcptError: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}})
	gw := smtptest.Start(t, smtptest.Options{Open: true})
	s := sender()
	s.To, s.Port = names.MustAddress("u@example.test"), port(mx.Addr)
	s.Policy = &Policy{Name: PolicyOnError, FallbackOn: ErrorClasses, At: map[string]string{"policy": "r.yaml:1"}}
	s.Relays = []Relay{{Addr: gw.Addr, TLS: TLSNone, Enabled: true}}
	o := Run(context.Background(), recipientDeps(t), &s)
	if d := Decisive(o.Attempts); !d.AboutAddress() || o.Fallback == nil || o.Fallback.Allowed || gw.Conns() != 0 {
		t.Errorf("attempts %v, fallback %v, gateway connections %d", results(o.Attempts), o.Fallback, gw.Conns())
	}
}

// A delivery the recipient's MTA-STS policy (enforce) or DANE records
// forbid is deferred, never handed to a gateway, whatever fallback_on
// says: the gateway might carry it without the TLS the recipient asks
// for (review of the merged round: a clear-text gateway got it).
func TestNoFallbackOnTLSPolicyRefusal(t *testing.T) {
	mx := smtptest.Start(t, smtptest.Options{Open: true})
	gw := smtptest.Start(t, smtptest.Options{Open: true})
	s := sender()
	s.To, s.Port = names.MustAddress("u@example.test"), port(mx.Addr)
	s.STS = &mtasts.Policy{Version: "STSv1", Mode: mtasts.Enforce, MX: []string{"elsewhere.example.test"}, MaxAge: 86400}
	s.Policy = &Policy{Name: PolicyOnError, FallbackOn: ErrorClasses, At: map[string]string{"policy": "r.yaml:1"}}
	s.Relays = []Relay{{Addr: gw.Addr, TLS: TLSNone, Enabled: true}}
	o := Run(context.Background(), recipientDeps(t), &s)
	if d := Decisive(o.Attempts); d.Result != STSRefused || o.Fallback == nil || o.Fallback.Allowed || gw.Conns() != 0 || mx.Conns() != 0 {
		t.Errorf("attempts %v, fallback %v, gateway connections %d, MX connections %d", results(o.Attempts), o.Fallback, gw.Conns(), mx.Conns())
	}
}
