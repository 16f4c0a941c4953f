package cmd

import (
	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/resolver"
)

type dmarcOptions struct {
	*globalOptions
	mailFrom string
}

func newCmdDMARC(g *globalOptions) *cobra.Command {
	o := &dmarcOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "dmarc DOMAIN [--mail-from ADDR]",
		Short: "DMARC policy: record, org-domain fallback, report addresses, alignment",
		Long: `Find the DMARC policy for mail From DOMAIN: at _dmarc.DOMAIN, else at the
organizational domain (Public Suffix List), where sp= applies. Several records
mean no policy (RFC 7489 §6.6.3); syntax is checked tag by tag; p=none is a
warning; report addresses outside the domain must have authorized it
(DOMAIN._report._dmarc.DEST, RFC 7489 §7.1). With --mail-from, whether the
envelope domain aligns with DOMAIN for SPF.` + "\n\n" + findingsHelp("dmarc"),
		Example: `  preflight dmarc example.com
  preflight dmarc news.example.com --mail-from bounces@esp.example.net`,
		Args: exactDomain,
		RunE: func(cmd *cobra.Command, args []string) error {
			domain, err := resolver.NormalizeDomain(args[0])
			if err != nil {
				return err
			}
			from, err := parseMailFrom(o.mailFrom)
			if err != nil {
				return err
			}
			return o.runCheck(cmd, "dmarc", checks.Target{Domain: domain, MailFrom: from}, envOptions{})
		},
	}
	c.Flags().StringVar(&o.mailFrom, "mail-from", "", "envelope sender ADDR or DOMAIN, to check SPF alignment")
	return c
}

func newCmdMX(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "mx DOMAIN",
		Short: "MX records: can the domain receive mail (bounces included)?",
		Long: `Check that DOMAIN can receive mail, bounces above all: MX records whose hosts
have addresses, or an implicit MX (the domain's own address, RFC 5321 §5.1).
A null MX (RFC 7505) says the domain receives nothing: a warning for a domain
that sends. MX hosts that are CNAMEs or IP addresses are warned about.` + "\n\n" + findingsHelp("mx"),
		Example: `  preflight mx example.com
  preflight mx example.com --format json`,
		Args: exactDomain,
		RunE: func(cmd *cobra.Command, args []string) error {
			domain, err := resolver.NormalizeDomain(args[0])
			if err != nil {
				return err
			}
			return g.runCheck(cmd, "mx", checks.Target{Domain: domain}, envOptions{})
		},
	}
}
