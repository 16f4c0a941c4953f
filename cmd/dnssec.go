package cmd

import (
	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/resolver"
)

func newCmdDNSSEC(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "dnssec DOMAIN [--trust-anchor FILE]",
		Short: "DNSSEC: do the zones of DOMAIN and its MX hosts validate (secure, insecure, bogus)?",
		Long: `Validate DNSSEC for DOMAIN's MX records and each MX host's addresses, from a
trust anchor down: the IANA root's built in (KSK-2017 and KSK-2024), or
--trust-anchor FILE (DS or DNSKEY records in zone-file syntax) for labs, signed
--zone files and private roots. preflight validates itself, asking with the DO
bit and checking every signature, DS and DNSKEY and the NSEC/NSEC3 proofs of
names that do not exist; it never trusts a resolver's AD bit.

A bogus zone fails: validating resolvers answer SERVFAIL for its names, so mail
to and from the domain fails. An unsigned zone is information (DANE needs a
signed one). Signatures expiring within 3 days, and zones signed with RSA/SHA-1
(algorithms 5 and 7, which preflight treats as unsigned), are warnings.
Algorithms validated: 8, 13, 14, 15.` + "\n\n" + findingsHelp("dnssec"),
		Example: `  preflight dnssec example.com
  preflight dnssec example.com --format json
  # Signed zone files, offline, from their own DS
  preflight dnssec example.test --zone signed/ --offline --trust-anchor signed/anchor.ds`,
		Args: exactDomain,
		RunE: func(cmd *cobra.Command, args []string) error {
			domain, err := resolver.NormalizeDomain(args[0])
			if err != nil {
				return err
			}
			return g.runCheck(cmd, "dnssec", checks.Target{Domain: domain}, envOptions{})
		},
	}
}
