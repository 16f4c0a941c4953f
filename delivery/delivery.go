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
	Path     string // "direct", "relay" or "auto"
	Relays   []Relay
	HELO     names.Host
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

// ParsePriority reads a relay priority name, or its index in Priorities.
func ParsePriority(s string) (int, error) {
	if i := slices.Index(Priorities, strings.ToLower(s)); i >= 0 {
		return i, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < len(Priorities) {
		return n, nil
	}
	return 0, fmt.Errorf("priority %q: want %s", s, strings.Join(Priorities, ", "))
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

// Run makes the send of s on its path and returns every attempt. On the
// auto path a direct send that is not accepted falls back to the relays
// (the gateway policy of classic MTAs); fallback then says why.
func Run(ctx context.Context, d Deps, s *Send) (atts []Attempt, fallback string) {
	d = d.withDefaults()
	switch s.Path {
	case "relay":
		return sendRelays(ctx, d, s), ""
	case "auto":
		atts = sendDirect(ctx, d, s)
		if a := Decisive(atts); a.Result != Accepted {
			fallback = fmt.Sprintf("the direct path ended in %s (%s)", a.Result, a.Error)
			d.Trace("send: %s; falling back to the relays", fallback)
			atts = append(atts, sendRelays(ctx, d, s)...)
		}
		return atts, fallback
	}
	return sendDirect(ctx, d, s), ""
}

// sendDirect delivers to the recipient domain's MX hosts (the first
// resolver.MaxNames of them), every address of each, until one gives a
// final answer.
func sendDirect(ctx context.Context, d Deps, s *Send) []Attempt {
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
	for _, host := range hosts {
		if len(atts) >= maxAttempts || ctx.Err() != nil {
			return atts
		}
		if s.enforced() && s.STS.Match(host) == "" {
			// RFC 8461 §4.1: in enforce mode an MX host the policy does
			// not name is not a candidate.
			atts = append(atts, Attempt{Path: "direct", Host: host, Result: STSRefused, Step: "MTA-STS",
				Error: fmt.Sprintf("%s matches no mx pattern of the MTA-STS policy (%s) in enforce mode", host, strings.Join(s.STS.MX, ", "))})
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
		if err != nil {
			a := Attempt{Path: "direct", Host: host, Result: DNSFailed, Step: "DNS", Error: "looking up the address of " + host + ": " + resolver.Reason(err)}
			if resolver.IsNotFound(err) {
				a.Result = NoAddress
			}
			atts = append(atts, a)
			continue
		}
		for _, ip := range addrs {
			if len(atts) >= maxAttempts || ctx.Err() != nil {
				return atts
			}
			a := attempt(ctx, d, s, hop{path: "direct", host: host, dial: ip.String(), port: port, tls: s.TLS.direct()})
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
	for _, r := range relayOrder(s.Relays) {
		if len(atts) >= maxAttempts || ctx.Err() != nil {
			break
		}
		host, port := splitHostPort(r.Addr)
		a := attempt(ctx, d, s, hop{path: "relay", host: host, dial: host, port: port, tls: r.TLS.relay(port), auth: true})
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
		if atts[i].Result != NoAddress {
			return atts[i]
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
		if a.Path != "direct" {
			continue
		}
		if !a.timedOut {
			return false
		}
		n++
	}
	return n > 0
}
