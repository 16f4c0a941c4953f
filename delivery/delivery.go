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
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

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
}

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

// Deps is what a send needs from the outside. Each field but DNS has a
// default when nil.
type Deps struct {
	DNS *resolver.Resolver
	// Dial makes the SMTP connections (tests; a source address). Nil:
	// a plain net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Now is the clock of the test message's Date; nil: time.Now.
	Now func() time.Time
	// Trace, when set, receives the transcripts and the fallback.
	Trace func(format string, args ...any)
}

// withDefaults fills in the defaults once, so the rest of the package
// calls the fields as they are.
func (d Deps) withDefaults() Deps {
	if d.Dial == nil {
		d.Dial = new(net.Dialer).DialContext
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

// sendDirect delivers to the recipient domain's MX hosts, every address
// of each, until one gives a final answer.
func sendDirect(ctx context.Context, d Deps, s *Send) []Attempt {
	hosts, end := mxHosts(ctx, d, s.To.Domain)
	if end != nil {
		return []Attempt{*end}
	}
	port := uint16(cmp.Or(s.Port, 25))
	var atts []Attempt
	for _, host := range hosts {
		addrs, err := d.DNS.LookupIP(ctx, "ip", host)
		if err != nil {
			atts = append(atts, Attempt{Path: "direct", Host: host, Result: ConnectFailed, Error: "no address: " + err.Error()})
			continue
		}
		for _, ip := range addrs {
			if len(atts) >= maxAttempts || ctx.Err() != nil {
				return atts
			}
			a := attempt(ctx, d, s, hop{path: "direct", host: host, addr: netip.AddrPortFrom(ip, port).String(), tls: s.TLS.direct()})
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
		host, _, _ := net.SplitHostPort(r.Addr)
		a := attempt(ctx, d, s, hop{path: "relay", host: host, addr: r.Addr, tls: r.TLS.relay(), auth: true})
		a.Host = r.Addr
		atts = append(atts, a)
		if a.Result == Accepted {
			break
		}
	}
	if len(atts) == 0 {
		atts = append(atts, Attempt{Path: "relay", Result: ConnectFailed, Error: "no enabled relay"})
	}
	return atts
}

// Decisive picks the attempt that decides a send: the accepting one,
// else the receiver's final refusal, else the last.
func Decisive(atts []Attempt) Attempt {
	for _, res := range []Result{Accepted, Rejected} {
		for _, a := range atts {
			if a.Result == res {
				return a
			}
		}
	}
	if len(atts) == 0 {
		return Attempt{Result: ConnectFailed, Error: "no attempt"}
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
