package cmd

import (
	"context"
	"crypto"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/dkim"
	"github.com/preflight-mail/preflight/internal/inputfile"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/resolver"
)

type dkimOptions struct {
	*globalOptions
	selectors []string
	keyFile   string
}

func newCmdDKIM(g *globalOptions) *cobra.Command {
	o := &dkimOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "dkim DOMAIN [--selector S]... [--dkim-key FILE]",
		Short: "DKIM keys for the selectors: present, type, size, flags",
		Long: `Check the DKIM key record of each selector (queried concurrently, CNAME
delegation to an ESP followed) as verifiers read it (RFC 6376 §3.2: values
are case-sensitive): well formed, revoked (empty p=), testing (t=y), and
usable: a record no signature can verify with (an RSA key under 1024 bits,
h= without sha256, an unknown or wrong-case k= such as k=RSA, s= without
email) is dkim.key_unusable; a 1024-bit RSA key warns; Ed25519 is fine. DKIM
is no required fact of direct delivery, so these are warnings. Without
--selector, a list of common selectors is tried; finding nothing there proves
nothing. With --dkim-key and one selector, the private key's public half is
compared with the published key: only a different key is dkim.key_mismatch;
the same key is then used to sign a test message in memory that must verify,
and if it does not, the finding says what else stops it.` + "\n\n" + findingsHelp("dkim"),
		Example: `  preflight dkim example.com --selector s2048 --selector ed2026
  preflight dkim example.com                       # tries common selectors
  preflight dkim example.com --selector s1 --dkim-key /etc/dkim/s1.pem`,
		Args: exactDomain,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := o.target(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return o.runCheck(cmd, "dkim", t, envOptions{})
		},
	}
	c.Flags().StringArrayVarP(&o.selectors, "selector", "s", nil, "DKIM selector (repeatable, or comma-separated)")
	c.Flags().StringVar(&o.keyFile, "dkim-key", "", "private key FILE (PEM) to check against the published key of the one --selector")
	return c
}

func (o *dkimOptions) target(ctx context.Context, domainArg string) (checks.Target, error) {
	domain, err := resolver.NormalizeDomain(domainArg)
	if err != nil {
		return checks.Target{}, err
	}
	sels, err := parseSelectors(o.selectors)
	if err != nil {
		return checks.Target{}, err
	}
	t := checks.Target{Domain: domain, Selectors: sels}
	if o.keyFile != "" {
		if len(sels) != 1 {
			return t, fmt.Errorf("--dkim-key needs exactly one --selector, the one the key belongs to")
		}
		if t.DKIMKey, err = loadKey(ctx, o.keyFile); err != nil {
			return t, err
		}
	}
	return t, nil
}

// loadKey reads a DKIM private key (PEM, a few KB at most).
func loadKey(ctx context.Context, path string) (crypto.Signer, error) {
	b, _, err := inputfile.ReadFile(ctx, path, inputfile.Key)
	if err != nil {
		return nil, fmt.Errorf("--dkim-key: %w", err)
	}
	k, err := dkim.LoadPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("--dkim-key %s: %w", path, err)
	}
	return k, nil
}

// parseSelectors checks selectors: DNS labels, dot-separated (RFC 6376 §3.1).
func parseSelectors(list []string) ([]names.Selector, error) {
	var out []names.Selector
	for _, a := range list {
		for _, s := range strings.Split(a, ",") {
			n, err := names.ParseSelector(s)
			if err != nil {
				return nil, fmt.Errorf("--selector: %w", err)
			}
			out = append(out, n)
		}
	}
	if len(out) > checks.MaxSelectors {
		return nil, fmt.Errorf("--selector: %d selectors: at most %d per target", len(out), checks.MaxSelectors)
	}
	return out, nil
}
