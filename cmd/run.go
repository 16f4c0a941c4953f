package cmd

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// resolvConf is where the system's DNS servers are read from, unless
// PREFLIGHT_RESOLV_CONF names another file (tests point it at loopback).
const (
	resolvConf    = "/etc/resolv.conf"
	resolvConfEnv = "PREFLIGHT_RESOLV_CONF"
)

// newEnv builds the run's Env from the global flags. Bad flag values and
// bad zone files are usage errors.
func (g *globalOptions) newEnv() (checks.Env, *report.Resolver, error) {
	overlay, err := resolver.LoadOverlay(g.zones...)
	if err != nil {
		return checks.Env{}, nil, fmt.Errorf("--zone: %w", err)
	}
	cfg := resolver.Config{Overlay: overlay, Offline: g.offline, Trace: g.tracer()}
	for _, s := range g.resolvers {
		addr, err := resolver.ParseServer(s)
		if err != nil {
			return checks.Env{}, nil, fmt.Errorf("--resolver: %w", err)
		}
		cfg.Servers = append(cfg.Servers, addr)
	}
	if len(cfg.Servers) == 0 && !g.offline {
		path := resolvConf
		if p := g.streams.Getenv(resolvConfEnv); p != "" {
			path = p
		}
		servers, err := resolver.SystemServers(path)
		if err != nil {
			// Not fatal: zone files may answer everything. Lookups
			// outside them will say why they could not be made.
			cfg.NoServersReason = err.Error() + "; give --resolver"
		}
		cfg.Servers = servers
	}
	r := resolver.New(cfg)
	info := &report.Resolver{Servers: r.Servers(), Offline: g.offline}
	for _, z := range overlay.Zones() {
		info.Zones = append(info.Zones, z.File)
	}
	env := checks.Env{DNS: r, Now: time.Now, Trace: g.tracer()}
	return env, info, nil
}

// tracer returns the --verbose trace function (nil when quiet): lines on
// stderr with the time since the start, safe for concurrent checks.
func (g *globalOptions) tracer() func(string, ...any) {
	if !g.verbose {
		return nil
	}
	var mu sync.Mutex
	start := time.Now()
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(g.streams.Err, "%7.3fs %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
}

// runChecks runs list against target, writes the report and returns the
// gate's exit code as an exitError (nil for 0).
func (g *globalOptions) runChecks(cmd *cobra.Command, target checks.Target, list []checks.Check, adjust func(*checks.Env)) error {
	env, info, err := g.newEnv()
	if err != nil {
		return err
	}
	if adjust != nil {
		adjust(&env)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), g.timeout)
	defer cancel()
	start := env.Now()
	results := checks.Run(ctx, env, target, list)
	info.Queries = env.DNS.Stats().Questions
	rep := report.Build(report.Report{
		Tool:        report.Tool{Name: "preflight", Version: Version()},
		Command:     cmd.Name(),
		Target:      target.Report(),
		GeneratedAt: start.UTC().Truncate(time.Second),
		DurationMS:  env.Now().Sub(start).Milliseconds(),
		Resolver:    info,
	}, results)
	if err := g.writer.Write(g.streams.Out, rep); err != nil {
		return exitError{report.ExitIncomplete}
	}
	outcome := g.gate.Apply(rep)
	if g.verbose && len(outcome.Reasons) > 0 {
		fmt.Fprintf(g.streams.Err, "exit %d: %s\n", outcome.Code, strings.Join(outcome.Reasons, "; "))
	}
	if outcome.Code != report.ExitOK {
		return exitError{outcome.Code}
	}
	return nil
}

// parseIPs reads sending IPs; the first bad one is named in the error.
func parseIPs(args []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range args {
		for _, s := range strings.Split(a, ",") {
			ip, err := resolver.ParseIP(s)
			if err != nil {
				return nil, err
			}
			out = append(out, ip)
		}
	}
	return out, nil
}

// parseHELO keeps an address literal as given (the rdns check reports
// it) and normalises a name.
func parseHELO(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return s, nil
	}
	name, err := resolver.NormalizeDomain(s)
	if err != nil {
		return "", fmt.Errorf("--helo: %w", err)
	}
	return name, nil
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
