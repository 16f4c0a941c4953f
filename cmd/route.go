package cmd

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/delivery"
)

// maxRouteRecipients bounds the recipients of one route run.
const maxRouteRecipients = 32

type routeOptions struct {
	*globalOptions
	to         []string
	path       string
	relays     []string
	relaysFile string
}

func newCmdRoute(g *globalOptions) *cobra.Command {
	o := &routeOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "route --to ADDR... --relays FILE [--path direct|relay|auto]",
		Short: "The way mail to each recipient would go under the gateway policy, without sending",
		Long: `For each --to recipient, say which path the gateway policy of the relays file
chooses (direct to the recipient's MX, through the gateways, or direct with the
gateways on failure), the policy line that chose it, and the hosts in the order
a send would try them: the MX hosts by preference (equal preferences are
shuffled at send time), then the gateways by priority; disabled gateways are
listed as skipped. Nothing connects anywhere: only DNS, through --resolver,
--zone and --offline like every command. This is the dry run before a policy
change goes to production.

The relays file (README, "Gateway policy") holds policy: never, on-error,
for-domains or always; fallback_on: [dns, connect, smtp] for on-error;
domains: [...] for for-domains; and the relays. --path overrides the policy,
and the report says so. A policy that falls back on dns errors is warned
about: a recipient domain that does not exist would go to a gateway, which can
only bounce it.` + "\n\n" + findingsHelp("route"),
		Example: `  # Which way would mail to these go with my policy?
  preflight route --relays relays.yaml --to someone@gmail.com --to me@example.net

  # Before publishing a zone change: the zone file answers for its names
  preflight route --relays relays.yaml --to user@example.org --zone example.org.zone --format json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := c.Flags()
	f.StringArrayVar(&o.to, "to", nil, "recipient ADDR (repeatable)")
	f.StringVar(&o.relaysFile, "relays", "", "relays FILE with the gateway policy (YAML, README)")
	f.StringArrayVar(&o.relays, "relay", nil, "relay HOST:PORT, repeatable, after the file's, tried in the order given")
	f.StringVar(&o.path, "path", "", "direct, relay or auto: override the file's policy")
	return c
}

func (o *routeOptions) run(cmd *cobra.Command) error {
	if f := cmd.Flags().Lookup("min-score"); f != nil && f.Changed {
		// A plan has no score: the gate would pass it unread.
		return errors.New("--min-score: route is a dry run and has no score; leave it out (--fail-on warn gates on its warnings)")
	}
	if len(o.to) == 0 {
		return errors.New("--to is required: the recipient ADDR to route, such as someone@example.net (repeatable)")
	}
	if len(o.to) > maxRouteRecipients {
		return fmt.Errorf("--to given %d times: at most %d recipients at once", len(o.to), maxRouteRecipients)
	}
	if o.relaysFile == "" && len(o.relays) == 0 && o.path == "" {
		return needs("route", "--relays FILE", "the gateway policy and the gateways are in it (or give --path and --relay)")
	}
	so := sendOptions{path: o.path, relays: o.relays, relaysFile: o.relaysFile, pathSet: o.path != ""}
	if o.path != "" {
		if err := checkPath(o.path); err != nil {
			return fmt.Errorf("--path %w", err)
		}
	} else {
		so.path = "direct"
	}
	relays, policy, err := so.relayList(cmd.Context(), nil, delivery.TLSDefault)
	if err != nil {
		return err
	}
	if policy == nil && o.path == "" {
		return needs("route", "a policy: in the relays file, or --path", "without either, mail goes direct and the relays are not used")
	}
	if (o.path == "relay" || o.path == "auto") && len(relays) == 0 {
		return fmt.Errorf("--path %s needs --relay HOST:PORT or --relays FILE", o.path)
	}
	var routes []*delivery.Send
	for _, a := range o.to {
		to, err := parseAddress("--to", a)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(routes, func(r *delivery.Send) bool { return r.To.String() == to.String() }) {
			continue // the same recipient given twice is planned once
		}
		s := &delivery.Send{To: to, Path: o.path, Relays: relays, Policy: policy}
		routes = append(routes, s)
	}
	return o.runCheck(cmd, "route", checks.Target{Routes: routes}, envOptions{})
}
