package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/dmarc"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/rbl"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// resolvConf is where the system's DNS servers are read from, unless
// PREFLIGHT_RESOLV_CONF names another file (tests point it at loopback).
const (
	resolvConf    = "/etc/resolv.conf"
	resolvConfEnv = "PREFLIGHT_RESOLV_CONF"
)

// envOptions are what a command adds to the Env besides DNS, the clock
// and the trace: the blocklists, the ranges to treat as public and the
// test send's dialer. Commands that need none give the zero value.
type envOptions struct {
	lists  []rbl.List
	public []netip.Prefix
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	psl    dmarc.SuffixList // --psl; nil for the built-in list
	tls    checks.TLSSettings
}

// runner makes one Env per run (per target in batch mode) from the
// global flags, parsed once, and the command's envOptions.
type runner struct {
	g     *globalOptions
	cfg   resolver.Config
	zones []string
	trace func(string, ...any)
	opts  envOptions
	// catalog is checks.Catalog(), assembled once per run, not per target.
	catalog report.Catalog
}

// newRunner checks the DNS flags and loads the zone files within ctx's
// deadline. Bad flag values and bad zone files are usage errors, and so
// are zone files that do not load in time: without them every answer
// under their apexes would be wrong.
func (g *globalOptions) newRunner(ctx context.Context, opts envOptions) (*runner, error) {
	overlay, err := resolver.LoadOverlayOver(ctx, g.configZones, g.zones)
	where := "--zone"
	if _, ok := errors.AsType[*resolver.BaseZoneError](err); ok {
		where = g.configFile + ": zones" // the config file's, not a flag's
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("%s: %w (the zone files must load within --timeout %s)", where, err, g.timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	rn := &runner{g: g, trace: g.tracer(), opts: opts, catalog: checks.Catalog()}
	rn.cfg = resolver.Config{Overlay: overlay, Offline: g.offline, Trace: rn.trace, Keys: rbl.Keys(opts.lists)}
	if g.trustAnchor != "" {
		if rn.cfg.TrustAnchors, err = resolver.LoadTrustAnchors(ctx, g.trustAnchor); err != nil {
			return nil, fmt.Errorf("--trust-anchor: %w", err)
		}
	}
	for _, s := range g.resolvers {
		addr, err := resolver.ParseServer(s)
		if err != nil {
			return nil, fmt.Errorf("--resolver: %w", err)
		}
		rn.cfg.Servers = append(rn.cfg.Servers, addr)
	}
	if len(rn.cfg.Servers) == 0 && !g.offline {
		path := resolvConf
		if p := g.streams.Getenv(resolvConfEnv); p != "" {
			path = p
		}
		servers, err := resolver.SystemServers(path)
		if err != nil {
			// Not fatal: zone files may answer everything. Lookups
			// outside them will say why they could not be made.
			rn.cfg.NoServersReason = err.Error() + "; give --resolver"
		}
		rn.cfg.Servers = servers
	}
	if g.streams.Getenv(loopbackOnlyEnv) == "1" {
		rn.cfg.Servers, rn.cfg.NoServersReason = loopbackServers(rn.cfg.Servers, rn.cfg.NoServersReason)
	}
	for _, z := range overlay.Zones() {
		rn.zones = append(rn.zones, z.File)
	}
	return rn, nil
}

// loopbackServers keeps the DNS servers on loopback, as the dialer of
// loopbackOnlyEnv keeps SMTP and HTTPS there: a test that forgot --zone
// or --resolver gets "no DNS server", not the answers of whatever
// resolver the machine running the suite has (CI's answers NXDOMAIN
// for everything). reason explains an emptied list.
func loopbackServers(servers []string, reason string) ([]string, string) {
	var kept, dropped []string
	for _, s := range servers {
		if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Unmap().IsLoopback() {
			kept = append(kept, s)
		} else {
			dropped = append(dropped, s)
		}
	}
	if len(kept) == 0 && len(dropped) > 0 {
		reason = fmt.Sprintf("%s is set (tests stay on loopback): %s not asked", loopbackOnlyEnv, strings.Join(dropped, ", "))
	}
	return kept, reason
}

// env is a fresh Env (its own resolver and cache) for one run: the one
// place an Env is made.
func (rn *runner) env() checks.Env {
	return checks.Env{
		DNS:          resolver.New(rn.cfg),
		Now:          time.Now,
		Trace:        rn.trace,
		Lists:        rn.opts.lists,
		PublicRanges: rn.opts.public,
		Dial:         rn.opts.dial,
		PSL:          rn.opts.psl,
		TLS:          rn.opts.tls,
	}
}

// report runs list against target within ctx's deadline and builds the
// report.
func (rn *runner) report(ctx context.Context, command string, target checks.Target, list []checks.Check) report.Report {
	env := rn.env()
	start := env.Now()
	results := checks.Run(ctx, env, target, list)
	st := env.DNS.Stats()
	info := &report.Resolver{Servers: rn.servers(env), Zones: rn.zones, Offline: rn.g.offline, Queries: st.Questions, Shared: st.Shared, Config: rn.g.configFile}
	rep := report.Build(report.Report{
		Tool:        report.Tool{Name: "preflight", Version: Version()},
		Command:     command,
		Target:      target.Report(),
		GeneratedAt: start.UTC().Truncate(time.Second),
		DurationMS:  env.Now().Sub(start).Milliseconds(),
		Resolver:    info,
	}, results, rn.catalog)
	if rn.cfg.Overlay != nil {
		rep.Locate(rn.locate)
	}
	return rep
}

// servers are every DNS server the run may ask: the resolvers, then the
// servers of --list ZONE@SERVER (their queries count too).
func (rn *runner) servers(env checks.Env) []string {
	out := env.DNS.Servers()
	if env.DNS.Offline() {
		return out
	}
	for _, l := range rn.opts.lists {
		if l.Server != "" && !slices.Contains(out, l.Server) {
			out = append(out, l.Server)
		}
	}
	return out
}

// locate finds where a fix record's change goes in the --zone files:
// the line of the record to replace or remove, or of the zone's SOA for
// one to add (GitHub annotations land on it in a pull request).
func (rn *runner) locate(r report.FixRecord) (string, int) {
	z := rn.cfg.Overlay.Zone(r.Name)
	if z == nil {
		return "", 0
	}
	data := r.Old
	if r.Action == report.FixAdd {
		data = ""
	}
	return z.File, z.Locate(r.Name, dns.StringToType[r.Type], data)
}

// tracer returns the --verbose trace function (nil when quiet): lines on
// stderr with the time since the start, safe for concurrent checks.
//
// The format is the caller's own text; the arguments are data (DNS
// answers, SMTP transcript lines, errors), so each is formatted with its
// verb and then shown through report.Sanitize: a line break or an escape
// sequence in them cannot start a line or drive the terminal. Each line,
// also each line of a multi-line format, starts with the time, so data
// never begins one.
func (g *globalOptions) tracer() func(string, ...any) {
	if !g.verbose {
		return nil
	}
	var mu sync.Mutex
	start := time.Now()
	return func(format string, args ...any) {
		safe := make([]any, len(args))
		for i, a := range args {
			safe[i] = traceArg{a}
			if _, ok := a.(int); ok {
				safe[i] = a // no text in it, and %*d needs an int
			}
		}
		msg := fmt.Sprintf(format, safe...)
		mu.Lock()
		defer mu.Unlock()
		at := time.Since(start).Seconds()
		for _, line := range strings.Split(msg, "\n") {
			fmt.Fprintf(g.streams.Err, "%7.3fs %s\n", at, line)
		}
	}
}

// traceArg formats a trace argument as its verb asks, then sanitises it.
type traceArg struct{ v any }

func (a traceArg) Format(f fmt.State, verb rune) {
	fmt.Fprint(f, report.Sanitize(fmt.Sprintf(fmt.FormatString(f, verb), a.v)))
}

// runCheck runs the one check id against target, writes the report and
// gates it: the run of every command but check.
func (g *globalOptions) runCheck(cmd *cobra.Command, id string, target checks.Target, opts envOptions) error {
	return g.runChecks(cmd, target, opts, id)
}

// runChecks is runCheck of several checks, in the order given (send
// with --dkim-key: dkim, then send).
func (g *globalOptions) runChecks(cmd *cobra.Command, target checks.Target, opts envOptions, ids ...string) error {
	rn, err := g.newRunner(cmd.Context(), opts)
	if err != nil {
		return err
	}
	var list []checks.Check
	for _, id := range ids {
		c, _ := checks.ByID(id)
		list = append(list, c)
	}
	return g.finish(rn.report(cmd.Context(), cmd.Name(), target, list), nil, 0)
}

// finish writes the report and returns the gate's exit code as an
// exitError (nil for 0). With a baseline the gate fails on regressions
// only (new findings at --fail-on, a score drop beyond maxDrop), and the
// difference goes to stderr.
func (g *globalOptions) finish(rep report.Report, baseline *report.Report, maxDrop int) error {
	if err := g.writer.Write(g.streams.Out, rep); err != nil {
		fmt.Fprintf(g.streams.Err, "preflight: the report could not be written: %v\n", err)
		return exitError{report.ExitIncomplete}
	}
	g.stepSummary(rep)
	if baseline == nil {
		return g.exit(g.gate.Apply(rep))
	}
	d := report.Compare(*baseline, rep, g.gate.FailOn)
	d.Write(g.streams.Err)
	return g.exit(d.Gate(rep, maxDrop))
}

// exit turns the gate's outcome into the command's error. A failed gate
// says why in one line on stderr ("gate: verdict not_ready
// (spf.ip_softfail)"), always: a CI log must show what failed without a
// rerun. Other outcomes say why with --verbose only; the report already
// says what could not be checked.
func (g *globalOptions) exit(outcome report.Outcome) error {
	switch {
	case len(outcome.Reasons) == 0:
	case outcome.Code == report.ExitGateFailed:
		fmt.Fprintf(g.streams.Err, "gate: %s\n", strings.Join(outcome.Reasons, "; "))
		if g.format == "github" {
			report.GitHubGateErrors(g.streams.Out, outcome.Reasons)
		}
	case g.verbose:
		fmt.Fprintf(g.streams.Err, "exit %d: %s\n", outcome.Code, strings.Join(outcome.Reasons, "; "))
	}
	if outcome.Code != report.ExitOK {
		return exitError{outcome.Code}
	}
	return nil
}

// parseIPs reads sending IPs; the first bad one is named in the error,
// and so is one given twice (a typo for another, most likely).
func parseIPs(args []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range args {
		for _, s := range strings.Split(a, ",") {
			ip, err := resolver.ParseIP(s)
			if err != nil {
				return nil, err
			}
			if slices.Contains(out, ip) {
				return nil, fmt.Errorf("%s given twice", ip)
			}
			out = append(out, ip)
		}
	}
	if len(out) > checks.MaxIPs {
		return nil, fmt.Errorf("%d addresses: at most %d per target; check a larger pool as several targets (--targets)", len(out), checks.MaxIPs)
	}
	return out, nil
}

// parseHELO keeps an address literal as given (the rdns check reports
// it) and normalises a name.
func parseHELO(s string) (names.Host, error) {
	h, err := names.ParseHost(s)
	if err != nil {
		return names.Host{}, fmt.Errorf("--helo: %w", err)
	}
	return h, nil
}

// parsePrefixes reads CIDR ranges (a bare address is a single-address range).
func parsePrefixes(flag string, list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			ip, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return nil, fmt.Errorf("%s %q is not a CIDR range such as 203.0.113.0/24", flag, s)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// stepSummaryEnv names the file a GitHub Actions step appends Markdown
// to for the job's page (docs.github.com, "Adding a job summary").
const stepSummaryEnv = "GITHUB_STEP_SUMMARY"

// stepSummary appends the report's Markdown summary to
// $GITHUB_STEP_SUMMARY with --format github. Failing to is said on
// stderr and changes nothing else: the annotations are the report.
func (g *globalOptions) stepSummary(rep report.Report) {
	path := g.streams.Getenv(stepSummaryEnv)
	if g.format != "github" || path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		err = report.WriteSummary(f, rep)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(g.streams.Err, "preflight: the step summary could not be written to $%s: %v\n", stepSummaryEnv, err)
	}
}
