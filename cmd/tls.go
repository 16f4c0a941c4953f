package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/resolver"
)

type tlsOptions struct {
	*globalOptions
	port, httpsPort int
	caFile          string
	sourceIP        string
}

func newCmdTLS(g *globalOptions) *cobra.Command {
	o := &tlsOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "tls DOMAIN [--port N] [--ca-file FILE]",
		Short: "Transport security of the MX hosts: STARTTLS, certificates, MTA-STS, TLS-RPT",
		Long: `Check DOMAIN's MX hosts the way a sending MTA meets them: connect to every
address (IPv4 and IPv6) of every MX host on port 25, read the banner, EHLO,
STARTTLS, and report per address the TLS version and cipher, and whether the
certificate verifies against the system's roots (or --ca-file), is valid for
the MX host name (RFC 7672 §3.2.3, RFC 8461 §4.2: a wildcard covers one
leftmost label), expires soon, and has a strong key. Addresses of one host
that answer differently are reported, and the banner's name beside the PTR.

MTA-STS (RFC 8461): the _mta-sts TXT record, the policy fetched from
https://mta-sts.DOMAIN/.well-known/mta-sts.txt through preflight's own
resolver (certificate verified, no redirect followed, text/plain, at most
64 KiB), its syntax, MX hosts and mx patterns matched both ways, and in
enforce mode every MX certificate valid for its name: otherwise compliant
senders do not deliver. TLS-RPT (RFC 8460): the _smtp._tls TXT record.

Connections run in parallel within --timeout; with --offline only loopback
addresses are connected to. The tls check is part of check (--skip tls
leaves it out).` + "\n\n" + findingsHelp("tls"),
		Example: `  preflight tls example.com
  preflight tls example.com --format json

  # A lab: MX hosts on another port, certificates from a private CA
  preflight tls lab.example --zone lab.zone --offline --port 2525 --https-port 8443 --ca-file ca.pem`,
		Args: exactDomain,
		RunE: func(cmd *cobra.Command, args []string) error {
			domain, err := resolver.NormalizeDomain(args[0])
			if err != nil {
				return err
			}
			for _, p := range []struct {
				name string
				v    int
			}{{"port", o.port}, {"https-port", o.httpsPort}} {
				if changedFlag(cmd, p.name) && (p.v < 1 || p.v > 65535) {
					return fmt.Errorf("--%s %d: want 1 to 65535", p.name, p.v)
				}
			}
			so := sendOptions{caFile: o.caFile, sourceIP: o.sourceIP}
			roots, err := so.rootCAs(cmd.Context())
			if err != nil {
				return err
			}
			dial, err := so.dialer(o.streams.Getenv)
			if err != nil {
				return err
			}
			env := envOptions{dial: dial, tls: checks.TLSSettings{Port: o.port, HTTPSPort: o.httpsPort, Roots: roots}}
			return o.runCheck(cmd, "tls", checks.Target{Domain: domain}, env)
		},
	}
	f := c.Flags()
	f.IntVar(&o.port, "port", 0, "SMTP port of the MX hosts, 1 to 65535 (default 25; labs use others)")
	f.IntVar(&o.httpsPort, "https-port", 0, "port of the MTA-STS policy server, 1 to 65535 (default 443; labs use others)")
	f.StringVar(&o.caFile, "ca-file", "", "PEM FILE of CA certificates to verify servers with (default: the system's)")
	f.StringVar(&o.sourceIP, "source-ip", "", "local IP to connect from")
	return c
}
