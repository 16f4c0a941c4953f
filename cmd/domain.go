package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/dmarc"
	"github.com/preflight-mail/preflight/resolver"
)

type dmarcOptions struct {
	*globalOptions
	mailFrom string
	psl      string
}

func newCmdDMARC(g *globalOptions) *cobra.Command {
	o := &dmarcOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "dmarc DOMAIN [--mail-from ADDR] [--psl FILE]",
		Short: "DMARC policy (RFC 9989): record, tree walk, report addresses, alignment",
		Long: `Find the DMARC policy for mail From DOMAIN as RFC 9989 receivers do: at
_dmarc.DOMAIN, else by the DNS tree walk (at most 8 queries, psd=y|n) at the
organizational domain, else at a public suffix operator's record (psd=y),
where sp= applies, or np= when DOMAIN does not exist. The record is read tag by
tag: invalid optional tags are ignored with a warning and the policy in force
is still reported; a missing p= is p=none when rua= is valid; t=y is test
mode, not enforcement; pct, rf and ri are gone (RFC 7489 receivers may still
honour them). Receivers that still follow RFC 7489 find the organizational
domain with the Public Suffix List (built in, or --psl FILE): where the two
differ, a warning says so with a fix that works for both. Report addresses
outside the domain must have authorized it (DOMAIN._report._dmarc.DEST, RFC
9990 §3). With --mail-from, whether the envelope domain aligns for SPF.` + "\n\n" + findingsHelp("dmarc"),
		Example: `  preflight dmarc example.com
  preflight dmarc news.example.com --mail-from bounces@esp.example.net
  preflight dmarc alice.github.io --psl public_suffix_list.dat`,
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
			psl, err := loadPSL(cmd.Context(), o.psl)
			if err != nil {
				return err
			}
			return o.runCheck(cmd, "dmarc", checks.Target{Domain: domain, MailFrom: from}, envOptions{psl: psl})
		},
	}
	c.Flags().StringVar(&o.mailFrom, "mail-from", "", "envelope sender ADDR or DOMAIN, to check SPF alignment")
	c.Flags().StringVar(&o.psl, "psl", "", pslUsage)
	return c
}

// pslUsage is --psl's help, on dmarc and check.
const pslUsage = "Public Suffix List FILE (public_suffix_list.dat) for the RFC 7489 comparison, instead of the built-in list"

// loadPSL reads --psl FILE; nil (the built-in list) without one.
func loadPSL(ctx context.Context, path string) (dmarc.SuffixList, error) {
	if path == "" {
		return nil, nil
	}
	l, err := dmarc.LoadPSL(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("--psl: %w", err)
	}
	return l, nil
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
