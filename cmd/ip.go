package cmd

import (
	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
)

type ipOptions struct {
	*globalOptions
	listOptions
	treatAsPublic []string
}

func newCmdIP(g *globalOptions) *cobra.Command {
	o := &ipOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "ip IP...",
		Short: "Does the sending IP look static and mail-worthy, or dynamic/residential?",
		Long: `Judge whether each IP looks like a static address fit to send mail directly:
not in a special-purpose range (private, loopback, CGNAT, documentation,
reserved, multicast, ULA, IPv4-mapped...), not listed as end-user space on a
policy blocklist (Spamhaus PBL style, through the --list/--lists flags), and
without a PTR name that looks like a dynamic or residential pool (dsl, dhcp,
pool, the IP's octets...).` + "\n\n" + findingsHelp("ip"),
		Example: `  preflight ip 203.0.113.5
  preflight ip 203.0.113.5 2001:db8::5 --format json

  # A lab on documentation addresses: judge 203.0.113.0/24 as if public
  preflight ip 203.0.113.5 --treat-as-public 203.0.113.0/24 --zone lab.zone --offline`,
		Args: wantArgs(1, -1, "IP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ips, err := parseIPs(args)
			if err != nil {
				return err
			}
			public, err := parsePrefixes("--treat-as-public", o.treatAsPublic)
			if err != nil {
				return err
			}
			lists, err := o.resolve(cmd.Context(), o.streams)
			if err != nil {
				return err
			}
			return o.runCheck(cmd, "ip", checks.Target{IPs: ips}, envOptions{lists: lists, public: public})
		},
	}
	c.Flags().StringArrayVar(&o.treatAsPublic, "treat-as-public", nil, "treat addresses in CIDR as public although special-purpose (labs, demos); repeatable")
	o.register(c.Flags())
	return c
}

type rdnsOptions struct {
	*globalOptions
	helo string
}

func newCmdRDNS(g *globalOptions) *cobra.Command {
	o := &rdnsOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "rdns IP... [--helo NAME]",
		Short: "Forward-confirmed reverse DNS, and whether the HELO name fits",
		Long: `Check that each IP has a PTR record whose name resolves back to the IP
(forward-confirmed reverse DNS, what receivers call iprev), and with --helo
that the HELO name is a public, fully qualified name resolving to the IP.` + "\n\n" + findingsHelp("rdns"),
		Example: `  preflight rdns 203.0.113.5 --helo mail.example.com
  preflight rdns 2001:db8::5 --format json

  # Check the bundled demo zones with no network at all
  preflight rdns 198.51.100.7 --helo mail.demo.example \
    --zone testdata/demo/demo.example.zone --zone testdata/demo/100.51.198.in-addr.arpa.zone --offline`,
		Args: wantArgs(1, -1, "IP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ips, err := parseIPs(args)
			if err != nil {
				return err
			}
			helo, err := parseHELO(o.helo)
			if err != nil {
				return err
			}
			return o.runCheck(cmd, "rdns", checks.Target{IPs: ips, HELO: helo}, envOptions{})
		},
	}
	c.Flags().StringVar(&o.helo, "helo", "", "the name the server says in HELO/EHLO")
	return c
}
