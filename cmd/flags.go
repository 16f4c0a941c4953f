package cmd

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// One name per concept across commands (issue #16): the names a flag
// had before are kept as hidden aliases that set the same value and say,
// in one line on stderr, which name to use.

// aliasOf is the annotation naming the flag an alias stands for.
const aliasOf = "preflight/alias-of"

// alias registers old as a hidden, deprecated name of the flag name, set
// on f already: both set the same value.
func alias(f *pflag.FlagSet, old, name string) {
	nf := f.Lookup(name)
	f.AddFlag(&pflag.Flag{
		Name:        old,
		Usage:       "deprecated: use --" + name,
		Value:       nf.Value,
		DefValue:    nf.DefValue,
		NoOptDefVal: nf.NoOptDefVal,
		Hidden:      true,
		Annotations: map[string][]string{aliasOf: {name}},
	})
}

// resolveAliases says on stderr, once per alias used, which name to use
// instead, and marks that flag as given, so the rest of the run sees one
// flag. Both names at once are a usage error: one of the values would be
// dropped.
func (g *globalOptions) resolveAliases(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		names := f.Annotations[aliasOf]
		if len(names) == 0 || !f.Changed || err != nil {
			return
		}
		to := cmd.Flags().Lookup(names[0])
		if to.Changed {
			err = fmt.Errorf("--%s and --%s: the same setting twice (--%s is its old name): give --%s", f.Name, to.Name, f.Name, to.Name)
			return
		}
		to.Changed = true
		fmt.Fprintf(g.streams.Err, "%s: --%s is deprecated: use --%s\n", cmd.CommandPath(), f.Name, to.Name)
	})
	return err
}

// changedFlag reports whether the command line gave the flag name.
func changedFlag(cmd *cobra.Command, name string) bool {
	f := cmd.Flags().Lookup(name)
	return f != nil && f.Changed
}

// exclusive are flags that make each other meaningless: given together
// on the command line they are a usage error naming both. (A config
// file's value gives way to the command line's instead: see
// config.applyGlobal.)
var exclusive = []struct{ a, b, why string }{
	{"offline", "resolver", "--offline sends no DNS packet to any server"},
	{"list", "lists", "--list replaces the built-in sets that --lists chooses from"},
	{"password-env", "password-file", "one password: give one of them"},
	{"deliver", "probe", "--deliver sends a message, --probe (the default) stops after RCPT TO: give --deliver alone, or neither"},
}

// checkExclusive refuses the exclusive pairs the command line gave. A
// switch given as false (--offline=false) excludes nothing.
func checkExclusive(cmd *cobra.Command) error {
	on := func(name string) bool {
		f := cmd.Flags().Lookup(name)
		return f != nil && f.Changed && !(f.Value.Type() == "bool" && f.Value.String() == "false")
	}
	for _, x := range exclusive {
		if on(x.a) && on(x.b) {
			return conflict("--"+x.a, "--"+x.b, x.why)
		}
	}
	return nil
}

// validating are the commands whose checks validate DNSSEC
// (resolver.LookupSecure: the dnssec and tls checks, send's DANE): a
// trust anchor means nothing to the others.
var validating = []string{"check", "dnssec", "tls", "send"}

// checkTrustAnchor refuses --trust-anchor for a command that validates
// nothing: accepted and ignored, it would read as if that command's
// answers were validated from it.
func checkTrustAnchor(cmd *cobra.Command) error {
	if !changedFlag(cmd, "trust-anchor") || slices.Contains(validating, cmd.Name()) {
		return nil
	}
	return fmt.Errorf("--trust-anchor: %s validates no DNSSEC (check, dnssec, tls and send do): leave it out", cmd.Name())
}

// conflict is the usage error of two settings that do not go together.
func conflict(a, b, why string) error {
	return fmt.Errorf("%s and %s: %s", a, b, why)
}

// needs is the usage error of a setting without the one it works with.
func needs(a, b, why string) error {
	return fmt.Errorf("%s needs %s: %s", a, b, why)
}
