// Package checks holds preflight's checks. A check is a plain function
// over an Env (everything with I/O) and a Target (what to check) that
// returns findings; it never prints. All lists the checks in run order.
package checks

import (
	"context"
	"crypto"
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"slices"
	"time"

	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/dmarc"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/rbl"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// Target is what a run checks, parsed and normalised by the caller
// (package names): checks never re-parse it.
type Target struct {
	Domain    string
	IPs       []netip.Addr
	HELO      names.Host // a host name, or an address literal
	Selectors []names.Selector
	// MailFrom is the envelope sender (local@domain) or its domain alone,
	// when it differs from Domain.
	MailFrom names.Address
	// DKIMKey is the private key to check against the published one.
	DKIMKey crypto.Signer
	// Names are more names to look up on domain blocklists.
	Names []string
	// Send, when set, is the test send to make.
	Send *delivery.Send
	// Routes are the sends preflight route plans, one per recipient,
	// and never makes (the route check); nil for every other command.
	Routes []*delivery.Send
	// Message, when set, is a received message to judge (preflight
	// message, check --message).
	Message *Message
}

// Bounds on a Target, enforced where one is made (the command line, a
// config, a targets file: in CI a pull request writes them). A check's
// work grows with each list: a target with 4,000 IPs took 1.26 GB with
// --jobs 16, and its questions would pass resolver.MaxQuestions anyway.
const (
	// MaxIPs bounds the sending IPs of a target. A full check asks up to
	// about 60 questions per IP (PTR, the names it gives, blocklists), so
	// 32 keep a target within resolver.MaxQuestions; a larger pool is
	// several targets (--targets).
	MaxIPs = 32
	// MaxSelectors bounds a target's DKIM selectors: a domain signs with
	// one or two at a time, and keeps a few more for rotation.
	MaxSelectors = 32
	// MaxNames bounds the extra names of a target (rbl's arguments).
	MaxNames = 32
)

// Report returns the target in the report's shape.
func (t Target) Report() report.Target {
	rt := report.Target{Domain: t.Domain, HELO: t.HELO.String(), Selectors: names.Strings(t.Selectors), MailFrom: t.MailFrom.String(), Names: t.Names}
	if s := t.Send; s != nil {
		// send_to is an address, never the server a relay check probes.
		rt.SendTo, rt.RelayCheck = s.To.String(), s.RelayCheck
	}
	for _, ip := range t.IPs {
		rt.IPs = append(rt.IPs, ip.String())
	}
	for _, s := range t.Routes {
		rt.RouteTo = append(rt.RouteTo, s.To.String())
	}
	return rt
}

// Env is everything a check may use to reach the world. Nothing else:
// no package globals.
type Env struct {
	DNS *resolver.Resolver
	Now func() time.Time
	// Lists are the DNS blocklists to query.
	Lists []rbl.List
	// PublicRanges are special-purpose ranges the user asked to treat as
	// public (labs and demos on documentation addresses).
	PublicRanges []netip.Prefix
	// Dial, when set, makes the test send's connections (tests; a
	// source address). Nil: a plain net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Trace, when set, receives progress for --verbose.
	Trace func(format string, args ...any)
	// PSL is the Public Suffix List the dmarc check compares RFC 9989's
	// tree walk with (RFC 7489 receivers use one); nil for the embedded
	// list (--psl FILE gives a newer one).
	PSL dmarc.SuffixList
	// TLS holds the tls check's settings (--port, --https-port, --ca-file).
	TLS TLSSettings
	// policies are the run's MTA-STS policy fetches, shared by the tls
	// and send checks (Run makes them; nil: each fetch is made).
	policies *policyFetches
}

// now is the clock, time.Now when unset.
func (e Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e Env) tracef(format string, args ...any) {
	if e.Trace != nil {
		e.Trace(format, args...)
	}
}

// Func is a check.
type Func func(ctx context.Context, env Env, t Target) []report.Finding

// Check is a registered check: its ID, its function and the findings
// it declares (the catalogue, with the facts of the verdict they
// establish).
type Check struct {
	ID    string
	Run   Func
	Kinds []report.Kind
}

// All lists every check in run order. Adding a check: a file in this
// package with its function and its kinds, and one line here.
var All = []Check{
	{ID: "ip", Run: IP, Kinds: ipKinds},
	{ID: "rdns", Run: RDNS, Kinds: rdnsKinds},
	{ID: "rbl", Run: RBL, Kinds: rblKinds},
	{ID: "spf", Run: SPF, Kinds: spfKinds},
	{ID: "dkim", Run: DKIM, Kinds: slices.Concat(dkimKinds, messageDKIMKinds)},
	{ID: "dmarc", Run: DMARC, Kinds: slices.Concat(dmarcKinds, messageDMARCKinds)},
	{ID: "mx", Run: MX, Kinds: mxKinds},
	{ID: "dnssec", Run: DNSSEC, Kinds: dnssecKinds},
	{ID: "tls", Run: TLS, Kinds: append(tlsKinds, daneKinds...)},
	{ID: "send", Run: SendCheck, Kinds: sendKinds},
	{ID: "route", Run: Route, Kinds: routeKinds},
	// A received message's checks (issue #18).
	{ID: "format", Run: Format, Kinds: formatKinds},
	{ID: "unsubscribe", Run: Unsubscribe, Kinds: unsubscribeKinds},
	{ID: "arc", Run: ARC, Kinds: arcKinds},
	{ID: "received", Run: Received, Kinds: receivedKinds},
}

// MessageChecks are the checks of a received message, in report order
// (preflight message).
var MessageChecks = []string{"spf", "dkim", "dmarc", "format", "unsubscribe", "arc", "received"}

// MessageOnly reports whether a check judges a message only.
func MessageOnly(id string) bool {
	return id == "format" || id == "unsubscribe" || id == "arc" || id == "received"
}

// For returns the checks that apply to t: all, but the test send only
// when t asks for one.
func For(t Target) []Check {
	var out []Check
	for _, c := range All {
		if c.ID == "send" && t.Send == nil || c.ID == "route" && len(t.Routes) == 0 || MessageOnly(c.ID) && t.Message == nil {
			continue
		}
		out = append(out, c)
	}
	return out
}

// ByID returns the registered check with that ID.
func ByID(id string) (Check, bool) {
	i := slices.IndexFunc(All, func(c Check) bool { return c.ID == id })
	if i < 0 {
		return Check{}, false
	}
	return All[i], true
}

// grace is how long Run waits past the end of a run without deadline
// for a check that has not returned before it reports the check as
// unfinished. Checks stop at the deadline on their own; this is the
// guarantee for when one does not.
const grace = 200 * time.Millisecond

// Run runs checks concurrently, each with a view of the resolver that
// counts its queries, and returns their results in the order given. A
// question several checks ask is sent once and counted once, for the
// first of them in the order given (resolver.QuestionsByAsker): the
// counts are the same in every run of the same data, and add up to the
// run's. A
// check that panics, or has not returned shortly after ctx ends, gets an
// error finding instead of taking the run with it.
func Run(ctx context.Context, env Env, t Target, list []Check) []report.CheckResult {
	// Each check gets a deadline before the run's, so a slow check ends
	// in time for the report to be built and written within --timeout:
	// the run's last fifth (at most a second) is kept for that, and a
	// check that has not returned a quarter of it later is given up on.
	// A tenth was not enough for 20 runs at once on 2 CPUs, each also
	// starting a process (issue #13 item 12).
	wait := grace
	if d, ok := ctx.Deadline(); ok {
		reserve := min(max(time.Until(d)/5, 20*time.Millisecond), time.Second)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-reserve))
		defer cancel()
		wait = reserve / 4
	}
	type outcome struct {
		findings []report.Finding
		took     time.Duration
	}
	outs := make([]chan outcome, len(list))
	if env.policies == nil {
		env.policies = &policyFetches{}
	}
	for i, c := range list {
		outs[i] = make(chan outcome, 1) // never blocks a late check
		cenv := env
		if env.DNS != nil {
			cenv.DNS = env.DNS.Asker(i)
		}
		go func() {
			start := time.Now()
			fs := runOne(ctx, cenv, t, c)
			outs[i] <- outcome{fs, time.Since(start)}
		}()
	}

	// giveUp closes grace after ctx ends.
	giveUp := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		time.AfterFunc(wait, func() { close(giveUp) })
	})
	defer stop()

	start := time.Now()
	results := make([]report.CheckResult, len(list))
	for i, c := range list {
		results[i].ID = c.ID
		var (
			o        outcome
			finished bool
		)
		select {
		case o, finished = <-outs[i]:
		default: // not yet: wait for it, or for the end of the grace
			select {
			case o, finished = <-outs[i]:
			case <-giveUp:
			}
		}
		if finished {
			results[i].Findings = o.findings
			results[i].DurationMS = o.took.Milliseconds()
		} else {
			results[i].DurationMS = time.Since(start).Milliseconds()
			results[i].Findings = []report.Finding{{
				ID:       c.ID + ".unfinished",
				Severity: report.Error,
				Message:  fmt.Sprintf("The %s check did not finish within the time limit.", c.ID),
				Fix:      "Run again with a longer --timeout, or check which servers are slow with --verbose.",
				Evidence: map[string]any{"reason": context.Cause(ctx).Error()},
			}}
		}
	}
	if env.DNS != nil {
		for i, n := range env.DNS.QuestionsByAsker(len(list)) {
			results[i].DNSQueries = n
		}
	}
	return results
}

// runOne runs a check and turns a panic into a finding: a bug in one
// check must not cost the user the other checks' results.
func runOne(ctx context.Context, env Env, t Target, c Check) (fs []report.Finding) {
	defer func() {
		if v := recover(); v != nil {
			env.tracef("check %s panicked: %v\n%s", c.ID, v, debug.Stack())
			fs = append(fs, report.Finding{
				ID:       c.ID + ".internal_error",
				Severity: report.Error,
				Message:  fmt.Sprintf("The %s check crashed (a bug in preflight): %v", c.ID, v),
				Fix:      "Please report this with the command line and --verbose output.",
			})
		}
	}()
	return c.Run(ctx, env, t)
}
