// Package delivery makes a test send (DESIGN §9): it chooses where to
// deliver (gather.go: the recipient's MX hosts, or the relays), runs one
// SMTP session per host through package smtp (attempt.go), and returns
// every attempt for the caller to judge. It has no report wording: the
// send check in package checks turns attempts into findings. This is
// mox's split of smtpclient/gather.go from smtpclient/client.go, one
// level up.
package delivery

import (
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/preflight-mail/preflight/mtasts"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/smtp"
)

// Send describes a test send.
type Send struct {
	From, To names.Address
	// Path is "direct", "relay" or "auto" (--path); "" when Policy
	// chooses (Plan).
	Path string
	// PathFrom names where Path came from when not --path ("send.path
	// in the config"), for the plan's rule.
	PathFrom string
	Relays   []Relay
	// Policy is the gateway policy of the relays file; nil without one.
	Policy *Policy
	HELO   names.Host
	// TLS is the --tls mode; each path reads it its own way (see
	// TLSMode's direct and relay).
	TLS                TLSMode
	Port               int // direct path port; 25 when 0
	User               string
	Password           string // never printed, never in a report
	AllowPlaintextAuth bool
	Deliver            bool // send DATA; otherwise stop after RCPT TO
	DKIMKey            crypto.Signer
	DKIMSelector       string
	RootCAs            *x509.CertPool // nil: the system's roots
	Insecure           bool           // relays: send credentials over unverified TLS
	// RelayCheck, when set ("host:port"), runs the open-relay probe
	// against it instead of a send.
	RelayCheck string
	Timeouts   smtp.Timeouts
	// STS is the recipient domain's MTA-STS policy (RFC 8461), applied on
	// the direct path as a compliant MTA does: in enforce mode only MX
	// hosts its patterns match, and only over TLS whose certificate
	// verifies for the MX name. Nil: none (or not fetched). STSURL is
	// where it came from, for the report.
	STS    *mtasts.Policy
	STSURL string
	// DANE is, by MX host name (lower case, no final dot), the
	// recipient's DANE TLSA records (RFC 7672), applied on the direct
	// path as a DANE-aware MTA does: TLS required, the chain matched
	// against them. Nil: not looked up.
	DANE map[string]DANEHost
	// Delivered, when set, is given the message a server accepted at
	// DATA, exactly as sent (send --save-message).
	Delivered func(msg []byte)
	// MXBogus, when set, says why the recipient domain's MX records fail
	// DNSSEC validation: a validating MTA gets SERVFAIL for them and
	// defers without connecting (RFC 7672 §2.2), so the direct path
	// makes no connection either.
	MXBogus string
}

// enforced reports whether s applies an MTA-STS policy in enforce mode.
func (s *Send) enforced() bool { return s.STS != nil && s.STS.Mode == mtasts.Enforce }

// Relay is one smarthost.
type Relay struct {
	Addr     string  `json:"addr"`     // host:port
	Priority int     `json:"priority"` // 0 highest ... 4 low
	TLS      TLSMode `json:"tls"`      // starttls (TLSDefault), implicit or none
	Enabled  bool    `json:"enabled"`
}

// Priorities, highest first, as relay files name them.
var Priorities = []string{"highest", "high", "normal", "belownormal", "low"}

// ParsePriority reads a relay priority name. A number is refused, not
// mapped to a name: whether 0 is the highest or the lowest differs
// between MTAs, and a file that says 5 must not be read as low. "Below
// normal" is also read written as MTAs' settings show it: with a space,
// "_" or "-" ("below normal", below_normal).
func ParsePriority(s string) (int, error) {
	name := strings.NewReplacer(" ", "", "_", "", "-", "").Replace(strings.ToLower(s))
	if i := slices.Index(Priorities, name); i >= 0 {
		return i, nil
	}
	want := "want one of " + strings.Join(Priorities, ", ") + " (highest first)"
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("priority %s: a name, not a number: %s", names.Quote(s), want)
	}
	return 0, fmt.Errorf("priority %s: %s", names.Quote(s), want)
}

// Deps is what a send needs from the outside. Each field but DNS and
// DialHost has a default when nil.
type Deps struct {
	DNS *resolver.Resolver
	// DialHost makes the SMTP connections: to host (an address, or a
	// name it resolves through the run's resolver, so --zone, --resolver
	// and --offline apply and /etc/hosts does not) at port. checks.Env's
	// DialHost is the one to give.
	DialHost func(ctx context.Context, network, host string, port int) (net.Conn, error)
	// Now is the clock of the test message's Date; nil: time.Now.
	Now func() time.Time
	// Trace, when set, receives the transcripts and the fallback.
	Trace func(format string, args ...any)
}

// ErrNoDialHost is the connect error of Deps without DialHost.
var ErrNoDialHost = errors.New("delivery: Deps.DialHost is not set")

// withDefaults fills in the defaults once, so the rest of the package
// calls the fields as they are.
func (d Deps) withDefaults() Deps {
	if d.DialHost == nil {
		d.DialHost = func(context.Context, string, string, int) (net.Conn, error) { return nil, ErrNoDialHost }
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Trace == nil {
		d.Trace = func(string, ...any) {}
	}
	return d
}

// Outcome is a send: its plan, every attempt, and the fallback decision
// when the direct path failed on a path that could fall back.
type Outcome struct {
	Plan     Plan
	Attempts []Attempt
	Fallback *Fallback // nil unless the plan was auto and direct failed
}

// Run makes the send of s on the path of its plan (Send.Plan) and
// returns every attempt, each failed one with its class. On the auto
// path a direct send that is not accepted goes on to the gateways when
// the plan falls back on the class of its failure (the gateway policy
// of classic MTAs); Fallback says which class and which rule decided.
func Run(ctx context.Context, d Deps, s *Send) Outcome {
	d = d.withDefaults()
	o := Outcome{Plan: s.Plan()}
	d.Trace("send: path %s: %s", o.Plan.Path, o.Plan.Rule)
	switch o.Plan.Path {
	case "relay":
		// A recipient that cannot receive goes to no gateway, whatever
		// chose the relays (for-domains, always, --path relay).
		if end := recipientEnd(ctx, d, s.To.Domain); end != nil {
			o.Attempts = []Attempt{*end}
			break
		}
		o.Attempts = sendRelays(ctx, d, s)
	case "auto":
		o.Attempts = classify(sendDirect(ctx, d, s, len(relayOrder(s.Relays))))
		if a := Decisive(o.Attempts); a.Result != Accepted {
			o.Fallback = decideFallback(o.Plan, a)
			d.Trace("send: %s", o.Fallback)
			if o.Fallback.Allowed {
				o.Attempts = append(o.Attempts, sendRelays(ctx, d, s)...)
			}
		}
	default:
		o.Attempts = sendDirect(ctx, d, s, 0)
	}
	o.Attempts = classify(o.Attempts)
	return o
}

// classify sets the class of each failed attempt.
func classify(atts []Attempt) []Attempt {
	for i := range atts {
		atts[i].Class = classOf(atts[i])
	}
	return atts
}

// notTried is the attempt of a host the time limit left out.
func notTried(path, host string) Attempt {
	return Attempt{Path: path, Host: host, Result: NotTried, Step: "not tried", Error: "not tried: time limit (--timeout) reached before this host"}
}

// share is the context of one attempt: an even share of the time left
// in ctx among the attempts still to make (left, this one included), so
// that a server that never answers cannot hold the whole run and leave
// the hosts after it untried. The last attempt has all that is left.
func share(ctx context.Context, left int) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok || left <= 1 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Until(dl)/time.Duration(left))
}

// sendDirect delivers to the recipient domain's MX hosts (the first
// resolver.MaxNames of them), every address of each, until one gives a
// final answer. after is how many gateways may follow (the auto path):
// each host gets its share of the time left (share), and the hosts the
// time limit leaves out are reported as not tried.
func sendDirect(ctx context.Context, d Deps, s *Send, after int) []Attempt {
	if s.MXBogus != "" {
		return []Attempt{{Path: "direct", Host: s.To.Domain, Result: DANERefused, Step: "DNSSEC",
			Error: fmt.Sprintf("the MX records of %s fail DNSSEC validation (%s): a validating MTA gets SERVFAIL for them and defers the mail without connecting (RFC 7672 §2.2)", s.To.Domain, s.MXBogus)}}
	}
	hosts, end := mxHosts(ctx, d, s.To.Domain)
	if end != nil {
		return []Attempt{*end}
	}
	note := ""
	if len(hosts) > resolver.MaxNames {
		// As the mx check does: a domain with 2,000 MX hosts must not
		// get 2,000 lookups and connections.
		note = fmt.Sprintf("%s has %d MX hosts; the first %d (by preference) were tried, %d left out", s.To.Domain, len(hosts), resolver.MaxNames, len(hosts)-resolver.MaxNames)
		d.Trace("send: %s", note)
		hosts = hosts[:resolver.MaxNames]
	}
	port := cmp.Or(s.Port, 25)
	var atts []Attempt
	defer func() {
		if note != "" && len(atts) > 0 {
			atts[0].Note = note
		}
	}()
	for i, host := range hosts {
		if len(atts) >= maxAttempts {
			return atts
		}
		if ctx.Err() != nil {
			for _, h := range hosts[i:] {
				atts = append(atts, notTried("direct", h))
			}
			return atts
		}
		if s.enforced() && s.STS.Match(host) == "" {
			// RFC 8461 §4.1: in enforce mode an MX host the policy does
			// not name is not a candidate.
			atts = append(atts, Attempt{Path: "direct", Host: host, Result: STSRefused, Step: "MTA-STS",
				Error: fmt.Sprintf("%s matches no mx pattern of the MTA-STS policy (%s) in enforce mode", host, s.STS.MXList(10))})
			continue
		}
		if dh := s.DANE[strings.ToLower(strings.TrimSuffix(host, "."))]; dh.Bogus != "" && s.TLS != TLSNone {
			// RFC 7672 §2.2: a bogus TLSA lookup makes the host unusable;
			// a DANE-aware MTA does not connect to it.
			atts = append(atts, Attempt{Path: "direct", Host: host, Result: DANERefused, Step: "DNSSEC",
				Error: fmt.Sprintf("the TLSA records of %s fail DNSSEC validation (%s): a DANE-aware MTA does not connect to it (RFC 7672 §2.2)", host, dh.Bogus)})
			continue
		}
		addrs, err := d.DNS.LookupIP(ctx, "ip", host)
		if err != nil && ctx.Err() != nil {
			for _, h := range hosts[i:] {
				atts = append(atts, notTried("direct", h))
			}
			return atts
		}
		if err != nil {
			a := Attempt{Path: "direct", Host: host, Result: DNSFailed, Step: "DNS", Error: "looking up the address of " + host + ": " + resolver.Reason(err)}
			if resolver.IsNotFound(err) {
				a.Result = NoAddress
			}
			atts = append(atts, a)
			continue
		}
		for j, ip := range addrs {
			if len(atts) >= maxAttempts {
				return atts
			}
			if ctx.Err() != nil {
				atts = append(atts, notTried("direct", host))
				for _, h := range hosts[i+1:] {
					atts = append(atts, notTried("direct", h))
				}
				return atts
			}
			actx, cancel := share(ctx, len(addrs)-j+len(hosts)-i-1+after)
			a := attempt(actx, d, s, hop{path: "direct", host: host, dial: ip.String(), port: port, tls: s.TLS.direct()})
			cancel()
			atts = append(atts, a)
			if a.Result == Accepted || a.Result == Rejected {
				return atts // a final answer from the receiver
			}
		}
	}
	return atts
}

// sendRelays tries the enabled relays by priority until one accepts.
func sendRelays(ctx context.Context, d Deps, s *Send) []Attempt {
	var atts []Attempt
	relays := relayOrder(s.Relays)
	for i, r := range relays {
		if len(atts) >= maxAttempts {
			break
		}
		if ctx.Err() != nil {
			for _, r := range relays[i:] {
				atts = append(atts, notTried("relay", r.Addr))
			}
			break
		}
		host, port := splitHostPort(r.Addr)
		actx, cancel := share(ctx, len(relays)-i)
		a := attempt(actx, d, s, hop{path: "relay", host: host, dial: host, port: port, tls: r.TLS.relay(port), auth: true})
		cancel()
		a.Host = r.Addr
		atts = append(atts, a)
		if a.Result == Accepted {
			break
		}
	}
	if len(atts) == 0 {
		atts = append(atts, Attempt{Path: "relay", Result: ConnectFailed, Step: "no connection", Error: "no enabled relay"})
	}
	return atts
}

// splitHostPort splits "host:port" (checked by the caller); the port is
// 0 when it is not a number.
func splitHostPort(addr string) (string, int) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	port, _ := strconv.Atoi(p)
	return host, port
}

// Decisive picks the attempt that decides a send: the accepting one,
// else the receiver's final refusal, else the recipient domain's
// (no such domain, null MX), else the last attempt that reached a host
// or tried to — an MX host without an address says nothing of the
// others — and when every MX host lacked an address, the last of them.
func Decisive(atts []Attempt) Attempt {
	for _, res := range []Result{Accepted, Rejected, CannotReceive} {
		for _, a := range atts {
			if a.Result == res {
				return a
			}
		}
	}
	for i := len(atts) - 1; i >= 0; i-- {
		if atts[i].Result != NoAddress && atts[i].Result != NotTried {
			return atts[i]
		}
	}
	for _, a := range atts {
		if a.Result == NotTried {
			return a // nothing was learnt: the time limit decides
		}
	}
	if len(atts) == 0 {
		return Attempt{Result: ConnectFailed, Step: "no connection", Error: "no attempt"}
	}
	return atts[len(atts)-1]
}

// Port25Blocked reports whether the direct path went to port 25 and
// every connect of it timed out: ISPs that block port 25 drop the SYN,
// so the connect times out rather than being refused.
func Port25Blocked(s *Send, atts []Attempt) bool {
	if s.Port != 0 && s.Port != 25 {
		return false
	}
	n := 0
	for _, a := range atts {
		if a.Path != "direct" || a.Result == NotTried {
			continue
		}
		if !a.timedOut {
			return false
		}
		n++
	}
	return n > 0
}
