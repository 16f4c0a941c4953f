package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/rbl"
	"github.com/preflight-mail/preflight/resolver"
)

// spamhausKeyEnv names the environment variable holding a Spamhaus DQS key.
const spamhausKeyEnv = "PREFLIGHT_SPAMHAUS_KEY"

// listOptions are the blocklist flags of rbl, ip and check.
type listOptions struct {
	lists   []string
	set     string
	keyFile string
}

func (o *listOptions) register(f *pflag.FlagSet) {
	f.StringArrayVar(&o.lists, "list", nil, "blocklist ZONE[:ip|domain][@SERVER] to query (repeatable; replaces the built-in set)")
	f.StringVar(&o.set, "lists", "default", "built-in set of blocklists: default, extended or all")
	f.StringVar(&o.keyFile, "spamhaus-key-file", "", "FILE holding a Spamhaus DQS key (or set "+spamhausKeyEnv+"); never give the key itself as a flag")
}

// resolve turns the flags into lists.
func (o *listOptions) resolve(ctx context.Context, s Streams) ([]rbl.List, error) {
	var lists []rbl.List
	if len(o.lists) > 0 {
		for _, spec := range o.lists {
			l, err := parseList(spec)
			if err != nil {
				return nil, err
			}
			lists = append(lists, l)
		}
	} else {
		var err error
		if lists, err = rbl.Set(o.set); err != nil {
			return nil, err
		}
	}
	key := strings.TrimSpace(s.Getenv(spamhausKeyEnv))
	if o.keyFile != "" {
		b, err := readSecret(ctx, s, "--spamhaus-key-file", o.keyFile)
		if err != nil {
			return nil, err
		}
		key = strings.TrimSpace(string(b))
	}
	if key != "" {
		return rbl.WithDQSKey(lists, key)
	}
	return lists, nil
}

// parseList reads a --list value (a config's lists), its server too.
func parseList(spec string) (rbl.List, error) {
	l, err := rbl.ParseList(spec)
	if err != nil {
		return l, err
	}
	if l.Server != "" {
		addr, err := resolver.ParseServer(l.Server)
		if err != nil {
			return l, fmt.Errorf("--list %s: %w", spec, err)
		}
		l.Server = addr
	}
	return l, nil
}

type rblOptions struct {
	*globalOptions
	listOptions
}

func newCmdRBL(g *globalOptions) *cobra.Command {
	o := &rblOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "rbl IP|DOMAIN... [--list ZONE[:ip|domain][@SERVER]]... [--lists default|extended|all]",
		Short: "DNS blocklists, read strictly: no false listed, no false clean",
		Long: `Look IPs up on IP blocklists and names on domain blocklists, all queries at
once. Every list is first self-tested with its RFC 5782 test points (127.0.0.2
listed, 127.0.0.1 not; TEST and INVALID for domain lists): a list that fails,
or answers with an error code such as Spamhaus's 127.255.255.254 ("public
resolver"), is reported unusable and none of its answers count. Only NXDOMAIN
means "not listed". PBL-style codes are end-user space, not abuse.

Default lists: zen.spamhaus.org, bl.spamcop.net, b.barracudacentral.org,
bl.mailspike.net, psbl.surriel.com (IP); dbl.spamhaus.org, multi.uribl.com,
multi.surbl.org (domain; URIBL and SURBL are asked about a name's registered
domain, as their policies say, DBL about the name itself). --lists extended
adds the opt-in lists. --list takes
any zone (a catalog zone keeps its code table; others use Spamhaus-style codes)
and @SERVER asks that server for it, such as a local rbldnsd or mirror.
A Spamhaus DQS key comes from ` + spamhausKeyEnv + ` or --spamhaus-key-file.` + "\n\n" + findingsHelp("rbl"),
		Example: `  preflight rbl 203.0.113.5
  preflight rbl 203.0.113.5 2001:db8::5 example.com --lists extended
  preflight rbl 203.0.113.5 --list zen.spamhaus.org@127.0.0.1:5354   # a local mirror
  PREFLIGHT_SPAMHAUS_KEY=... preflight rbl 203.0.113.5`,
		Args: wantArgs(1, -1, "IP or DOMAIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t checks.Target
			for _, a := range args {
				if ip, err := resolver.ParseIP(a); err == nil {
					t.IPs = append(t.IPs, ip)
					continue
				}
				name, err := resolver.NormalizeDomain(a)
				if err != nil {
					return fmt.Errorf("%q is neither an IP address nor a domain name", a)
				}
				t.Names = append(t.Names, name)
			}
			if len(t.IPs) > checks.MaxIPs || len(t.Names) > checks.MaxNames {
				return fmt.Errorf("%d addresses and %d names: at most %d of each at once", len(t.IPs), len(t.Names), checks.MaxIPs)
			}
			lists, err := o.resolve(cmd.Context(), o.streams)
			if err != nil {
				return err
			}
			return o.runCheck(cmd, "rbl", t, envOptions{lists: lists})
		},
	}
	o.register(c.Flags())
	return c
}
