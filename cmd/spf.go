package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/names"
)

type spfOptions struct {
	*globalOptions
	ips      []string
	helo     string
	mailFrom string
}

func newCmdSPF(g *globalOptions) *cobra.Command {
	o := &spfOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "spf DOMAIN --ip IP [--ip IP] [--helo NAME] [--mail-from ADDR]",
		Short: "SPF result for each sending IP, and a lint of the whole record tree",
		Long: `Evaluate SPF (RFC 7208) for each sending IP as receivers do, and lint the
whole include/redirect tree whatever the IP: worst-case DNS lookups (limit 10;
terms after "all", and a redirect beside one, are never evaluated), void lookups
for the sending IPs' address families (limit 2), mx terms naming more than 10
hosts, syntax errors anywhere (also after the term that matched), several
records, +all/?all, ptr, includes without SPF, loops, answers over 512 octets.
With --helo, the HELO identity too (RFC 7208 §2.3).

When an IP is not allowed, the fix is the record to publish with the IP added.` + "\n\n" + findingsHelp("spf"),
		Example: `  preflight spf example.com --ip 203.0.113.5
  preflight spf example.com --ip 203.0.113.5 --ip 2001:db8::5 --helo mail.example.com
  preflight spf example.com --ip 203.0.113.5 --mail-from bounces@mail.example.com

  # Check a zone change before publishing it
  preflight spf example.com --ip 203.0.113.5 --zone dns/example.com.zone`,
		Args: exactDomain,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := o.target(args[0])
			if err != nil {
				return err
			}
			return o.runCheck(cmd, "spf", t, envOptions{})
		},
	}
	c.Flags().StringArrayVar(&o.ips, "ip", nil, "sending IP (repeatable, or comma-separated)")
	c.Flags().StringVar(&o.helo, "helo", "", "HELO name, to check its SPF too")
	c.Flags().StringVar(&o.mailFrom, "mail-from", "", "envelope sender ADDR or DOMAIN, when it differs from DOMAIN")
	return c
}

func (o *spfOptions) target(domainArg string) (checks.Target, error) {
	return parseTarget(configTarget{Domain: domainArg, IPs: o.ips, HELO: o.helo, MailFrom: o.mailFrom}, "the SPF result depends on the sending IP")
}

// parseMailFrom reads an envelope sender: ADDR (local@domain) or DOMAIN.
func parseMailFrom(s string) (names.Address, error) {
	a, err := names.ParseSender(s)
	if err != nil {
		return names.Address{}, fmt.Errorf("--mail-from %q: %w", s, err)
	}
	return a, nil
}
