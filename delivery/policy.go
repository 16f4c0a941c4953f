package delivery

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/preflight-mail/preflight/resolver"
)

// The gateway policy of a relays file (issue #22), as mail servers that
// deliver directly configure their smarthosts: never use them, use them
// when direct delivery fails with one of some error classes, use them
// for a list of recipient domains, or always.

// ErrorClass is what a failed direct attempt ran into, as a policy's
// fallback_on names it.
type ErrorClass string

// Error classes of a failed attempt.
const (
	// ClassDNS: no usable MX or address for the recipient, SERVFAIL, a
	// DNS timeout, or a recipient domain that does not exist.
	ClassDNS ErrorClass = "dns"
	// ClassConnect: no connection (refused, timed out, port 25 blocked).
	ClassConnect ErrorClass = "connect"
	// ClassSMTP: a 4xx or 5xx reply, or a TLS failure, in the session.
	ClassSMTP ErrorClass = "smtp"
)

// ErrorClasses are every class, in the order policies name them.
var ErrorClasses = []ErrorClass{ClassDNS, ClassConnect, ClassSMTP}

// ParseErrorClass reads a class of fallback_on.
func ParseErrorClass(s string) (ErrorClass, error) {
	c := ErrorClass(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(ErrorClasses, c) {
		return c, nil
	}
	return "", fmt.Errorf("error class %q: want dns, connect or smtp", s)
}

// ClassOf classifies the result of an attempt; "" for an accepted one.
// An attempt that reached a server and ended in its reply, or in TLS,
// is smtp; one that never reached a server is connect; one that never
// had a server to reach is dns.
func ClassOf(r Result) ErrorClass {
	switch r {
	case Accepted, NotTried:
		return ""
	case DNSFailed, NoAddress, CannotReceive:
		return ClassDNS
	case ConnectFailed:
		return ClassConnect
	}
	return ClassSMTP
}

// classOf classifies an attempt: as ClassOf, but a session that broke
// off before the server's greeting (a silent server: nothing but a TCP
// handshake) is connect, like a connect that timed out.
func classOf(a Attempt) ErrorClass {
	if a.Result == SMTPFailed && a.Step == "greeting" {
		return ClassConnect
	}
	return ClassOf(a.Result)
}

// Policy names, as a relays file's policy: key gives them.
const (
	PolicyNever      = "never"
	PolicyOnError    = "on-error"
	PolicyForDomains = "for-domains"
	PolicyAlways     = "always"
)

// PolicyNames are the policies, in the order the README lists them.
var PolicyNames = []string{PolicyNever, PolicyOnError, PolicyForDomains, PolicyAlways}

// Policy is the gateway policy of a relays file.
type Policy struct {
	Name string `json:"policy"`
	// FallbackOn are the classes of a failed direct attempt that send
	// the mail on to the gateways (on-error; default every class).
	FallbackOn []ErrorClass `json:"fallback_on,omitempty"`
	// Domains are the recipient domains the gateways are for
	// (for-domains), in ASCII: "example.com" is that domain, ".example.com"
	// its subdomains.
	Domains []string `json:"domains,omitempty"`
	// At says where each key was read ("relays.yaml:3"), for the
	// decisions that quote it: "policy", "fallback_on", "domains".
	At map[string]string `json:"-"`
}

// NormalizePolicyDomain reads an entry of domains: a domain, or
// ".domain" for its subdomains, in ASCII (A-labels) and lower case.
func NormalizePolicyDomain(s string) (string, error) {
	suffix := strings.HasPrefix(s, ".")
	d, err := resolver.NormalizeDomain(strings.TrimPrefix(s, "."))
	if err != nil {
		return "", err
	}
	if suffix {
		return "." + d, nil
	}
	return d, nil
}

// Match returns the entry of Domains that domain (in ASCII) matches.
func (p *Policy) Match(domain string) (string, bool) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, d := range p.Domains {
		if d == domain || strings.HasPrefix(d, ".") && strings.HasSuffix(domain, d) {
			return d, true
		}
	}
	return "", false
}

// line is a key of the policy as the file wrote it, with where:
// "relays.yaml:3 (fallback_on: [connect])".
func (p *Policy) line(key string) string {
	var val string
	switch key {
	case "policy":
		val = p.Name
	case "fallback_on":
		val = "[" + joinClasses(p.FallbackOn, ", ") + "]"
		if p.At[key] == "" {
			return p.where("policy") + " (policy: on-error, no fallback_on: every class)"
		}
	case "domains":
		val = "[" + strings.Join(p.Domains, ", ") + "]"
	}
	return p.where(key) + " (" + key + ": " + val + ")"
}

// where is where key was read, or "the relays file".
func (p *Policy) where(key string) string {
	if w := p.At[key]; w != "" {
		return w
	}
	return "the relays file"
}

func joinClasses(cs []ErrorClass, sep string) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, sep)
}

// FallsBackOnDNS reports whether the policy hands mail to the gateways
// when the recipient's DNS fails: a recipient domain that does not exist
// would then go to a gateway, which can only bounce it. Sends never fall
// back for a domain that does not exist (Run); the policy is still worth
// a warning, since a real MTA with it would.
func (p *Policy) FallsBackOnDNS() bool {
	return p != nil && p.Name == PolicyOnError && slices.Contains(p.FallbackOn, ClassDNS)
}

// DNSWarning is the warning for a policy that falls back on dns, and the
// fix: the lines to write instead.
func (p *Policy) DNSWarning() (msg, fix string) {
	msg = fmt.Sprintf("The gateway policy at %s falls back to the gateways on dns errors: mail to a recipient domain that does not exist (a typo, an expired domain) would be handed to a gateway, which can only bounce it, and a DNS outage here would send every message through the gateways.", p.line("fallback_on"))
	fix = "Fall back on connection and SMTP errors only; in the relays file:\n  policy: on-error\n  fallback_on: [connect, smtp]"
	return msg, fix
}

// Plan is the way a send goes: its path, and what chose it.
type Plan struct {
	// Path is direct, relay, or auto (direct, then the gateways on a
	// failure of a class of FallbackOn).
	Path       string       `json:"path"`
	FallbackOn []ErrorClass `json:"fallback_on,omitempty"`
	// Rule is the policy line or the flag that chose the path.
	Rule string `json:"rule"`
	// Overrides is the policy --path overrode, as its file wrote it;
	// empty when the policy chose.
	Overrides string `json:"overrides,omitempty"`
}

// Choose is the plan of the policy for a recipient at domain (ASCII).
func (p *Policy) Choose(domain string) Plan {
	switch p.Name {
	case PolicyNever:
		return Plan{Path: "direct", Rule: p.line("policy") + ": never through the gateways"}
	case PolicyAlways:
		return Plan{Path: "relay", Rule: p.line("policy") + ": always through the gateways"}
	case PolicyForDomains:
		if m, ok := p.Match(domain); ok {
			return Plan{Path: "relay", Rule: fmt.Sprintf("%s: %s matches %s in %s", p.line("policy"), domain, m, p.line("domains"))}
		}
		return Plan{Path: "direct", Rule: fmt.Sprintf("%s: %s matches no entry of %s", p.line("policy"), domain, p.line("domains"))}
	}
	return Plan{Path: "auto", FallbackOn: p.FallbackOn, Rule: p.line("fallback_on")}
}

// Plan is the way s goes: the path --path forced (Path), else the
// policy's choice for the recipient, else direct.
func (s *Send) Plan() Plan {
	if s.Path == "" && s.Policy != nil {
		return s.Policy.Choose(s.To.Domain)
	}
	pl := Plan{Path: s.Path, Rule: cmp.Or(s.PathFrom, "--path") + " " + s.Path}
	if pl.Path == "" {
		pl.Path, pl.Rule = "direct", "the default path (no --path, no policy)"
	}
	if pl.Path == "auto" {
		pl.FallbackOn = ErrorClasses
		pl.Rule += " (direct, then the gateways on dns, connect and smtp errors)"
		if s.Policy != nil && s.Policy.Name == PolicyOnError {
			// The file's on-error chooses the classes (README, auto):
			// --path auto is the policy's own path, not an override.
			pl.FallbackOn = s.Policy.FallbackOn
			pl.Rule = cmp.Or(s.PathFrom, "--path") + " auto, with the classes of " + s.Policy.line("fallback_on")
			return pl
		}
	}
	if s.Policy != nil {
		pl.Overrides = s.Policy.line("policy")
	}
	return pl
}

// Fallback is the decision, after a failed direct path, whether to go on
// to the gateways: the class of the failure and the rule that allowed or
// refused it.
type Fallback struct {
	Class   ErrorClass `json:"class"`
	Allowed bool       `json:"allowed"`
	// Reason is how the direct path ended; Rule the policy line (or
	// flag) that decided.
	Reason string `json:"reason"`
	Rule   string `json:"rule"`
}

// String says the decision in words.
func (f *Fallback) String() string {
	if f.Allowed {
		return fmt.Sprintf("the direct path failed, its last attempt with %s error (%s); %s allows a fallback on %s errors", f.Class.Article(), f.Reason, f.Rule, f.Class)
	}
	return fmt.Sprintf("the direct path failed, its last attempt with %s error (%s); no fallback: %s", f.Class.Article(), f.Reason, f.Rule)
}

// Article is the class with its indefinite article: "a dns", "an smtp".
func (c ErrorClass) Article() string {
	if c == ClassSMTP {
		return "an " + string(c)
	}
	return "a " + string(c)
}

// decideFallback decides whether the failed direct attempt d goes on to
// the gateways under pl.
func decideFallback(pl Plan, d Attempt) *Fallback {
	// The last attempt decides (Decisive): the one that says most of
	// how the direct path ended; Reason names its host, since the
	// attempts before it may have failed otherwise.
	f := &Fallback{Class: classOf(d), Reason: fmt.Sprintf("%s: %s: %s", cmp.Or(d.Addr, d.Host), d.Result, d.Error), Rule: pl.Rule}
	if d.Error == "" {
		f.Reason = string(d.Result)
	}
	switch {
	case d.Result == CannotReceive || d.Result == NoAddress:
		// The receiver's final answer, from DNS (no such domain, a null
		// MX, no MX host with an address; Decisive gives NoAddress only
		// when every host lacks one): a gateway would take the message
		// and bounce it. Never a fallback, whatever the policy.
		f.Rule = "the recipient domain cannot receive mail, and a gateway could only bounce it (whatever the policy says)"
	case d.AboutAddress():
		f.Rule = "the recipient's server refused the address itself (a 5.1.x reply: no such mailbox), and a gateway would get the same answer (whatever the policy says)"
	case d.Result == DANERefused || d.Result == STSRefused:
		// The recipient's DANE TLSA records or MTA-STS policy (enforce)
		// forbid this delivery without verified TLS: a compliant MTA
		// defers it. A gateway would carry it on with TLS preflight
		// cannot vouch for (review of the merged round: an on-error
		// policy handed such mail to a clear-text gateway).
		f.Rule = "the recipient's DANE or MTA-STS policy forbids delivery without verified TLS, which a compliant MTA defers rather than hand to a gateway (whatever the policy says)"
	case d.Result == NotTried:
		f.Rule = "the time limit (--timeout) was reached before the direct path was tried, so nothing is known of it"
	case slices.Contains(pl.FallbackOn, f.Class):
		f.Allowed = true
	default:
		f.Rule = fmt.Sprintf("%s does not include %s", pl.Rule, f.Class)
	}
	return f
}
