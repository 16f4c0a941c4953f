package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/preflight-mail/preflight/internal/inputfile"
	"github.com/preflight-mail/preflight/report"
)

// globalOptions are the flags every command takes (DESIGN §4).
type globalOptions struct {
	streams   Streams
	format    string
	resolvers []string
	zones     []string // --zone, on top of configZones
	// trustAnchor is --trust-anchor: DS/DNSKEY records replacing the IANA
	// root's for DNSSEC validation.
	trustAnchor string
	// configZones are the config file's zones (check), configFile its
	// path, for the report to name.
	configZones []string
	configFile  string
	offline     bool
	timeout     time.Duration
	noColor     bool
	failOn      string
	minScore    int
	verbose     bool

	// mergeConfig, for the commands that read a config file (check),
	// merges it into their options before validate.
	mergeConfig map[*cobra.Command]func(*cobra.Command) error
	// runLimit, for the commands that can check many targets (check),
	// is the time limit of the whole run for these args: --timeout, or in
	// batch mode --batch-timeout (0 for none), --timeout then bounding
	// each target.
	runLimit map[*cobra.Command]func(args []string) time.Duration
	// stopDeadline releases the run's deadline (set by prepare, called
	// by endRun).
	stopDeadline context.CancelFunc

	// Set by validate.
	writer report.Writer
	gate   report.Gate
}

// DefaultTimeout bounds a whole run (each target in batch mode) unless
// --timeout says otherwise.
const DefaultTimeout = 30 * time.Second

// newRootCmd makes the command tree over s, and returns it with the
// global options, for Run to end the run with (endRun).
func newRootCmd(s Streams) (*cobra.Command, *globalOptions) {
	g := &globalOptions{streams: s, mergeConfig: map[*cobra.Command]func(*cobra.Command) error{},
		runLimit: map[*cobra.Command]func([]string) time.Duration{}}
	root := &cobra.Command{
		Use:   "preflight",
		Short: "Check whether receivers will trust mail from your IP and domain",
		Long: `preflight checks, before you switch a server to direct delivery or merge a
DNS change, whether receiving mail servers will trust mail from your IP and
domain: reverse DNS, blocklists, SPF, DKIM, DMARC and MX. It prints a score,
a go/no-go verdict for direct delivery and the exact records to fix.

A finding is at fail exactly when it makes a required fact of a verdict false.
Exit codes: 0 gate passed, 1 gate failed (a verdict is not_ready, a warning
with --fail-on warn, or the score below --min-score; one "gate:" line on
stderr says why), 2 usage error, 3 incomplete (something could not be
checked: no score).

The text report wraps at the terminal's width (stdout's, or stderr's when
stdout is a pipe); with no terminal, as in CI logs, a finding stays on one
line. A flag the run would not use, or two that exclude each other, are a
usage error naming both.`,
		Example: `  # Is 203.0.113.5 ready to send mail as mail.example.com?
  preflight rdns 203.0.113.5 --helo mail.example.com

  # Check a zone change before publishing it, with no network at all
  preflight rdns 203.0.113.5 --zone example.com.zone --zone 113.0.203.in-addr.arpa.zone --offline`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return g.prepare(cmd, args)
		},
	}
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })

	f := root.PersistentFlags()
	f.StringVar(&g.format, "format", "text", "output format: text, json or github (GitHub Actions annotations; with $GITHUB_STEP_SUMMARY set, also a Markdown summary there)")
	f.StringArrayVar(&g.resolvers, "resolver", nil, "DNS server IP, IP:port or [IPv6]:port to query (repeatable; default: /etc/resolv.conf)")
	f.StringArrayVar(&g.zones, "zone", nil, "zone FILE, or DIR of *.zone files, answering every name under its apex instead of the network (repeatable; check: added to the config's zones)")
	f.StringVar(&g.trustAnchor, "trust-anchor", "", "DNSSEC trust anchor FILE: DS or DNSKEY records in zone-file syntax, instead of the IANA root's (labs, signed --zone files, private roots); check, dnssec, tls and send only")
	f.BoolVar(&g.offline, "offline", false, "send no DNS packet: names outside --zone files cannot be checked")
	f.DurationVar(&g.timeout, "timeout", DefaultTimeout, "time limit for the whole run; in batch mode (check --targets), for each target")
	f.BoolVar(&g.noColor, "no-color", false, "no colors in text output (also NO_COLOR, or when stdout is not a terminal)")
	f.StringVar(&g.failOn, "fail-on", "fail", "lowest severity that fails the gate (exit 1): warn or fail")
	f.IntVar(&g.minScore, "min-score", 0, "fail the gate (exit 1) when the score is below N (0-100)")
	f.BoolVarP(&g.verbose, "verbose", "v", false, "evidence in the report, and a trace on stderr of every DNS question and every SMTP line as it is sent or received")

	root.AddCommand(
		newCmdIP(g),
		newCmdRDNS(g),
		newCmdRBL(g),
		newCmdSPF(g),
		newCmdDKIM(g),
		newCmdDMARC(g),
		newCmdMX(g),
		newCmdDNSSEC(g),
		newCmdTLS(g),
		newCmdCheck(g),
		newCmdSend(g),
		newCmdRoute(g),
		newCmdMessage(g),
		newCmdExplain(g),
		newCmdVersion(g),
		newCmdMan(g),
	)
	// --version prints what version prints (cobra runs it before any
	// other flag is looked at).
	root.Version = Version()
	root.SetVersionTemplate(versionText())
	root.Flags().Bool("version", false, "print the version, as preflight version does")
	completionArgs(root)
	return root, g
}

// completionArgs makes "completion" without a shell it knows a usage
// error: cobra's prints its help and exits 0 for "completion tcsh".
func completionArgs(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		var shells []string
		for _, sub := range c.Commands() {
			shells = append(shells, sub.Name())
		}
		c.Args = func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("want a shell: %s", strings.Join(shells, ", "))
			}
			return fmt.Errorf("unknown shell %s: want %s", inputfile.Excerpt(args[0]), strings.Join(shells, ", "))
		}
		c.RunE = func(*cobra.Command, []string) error { return nil }
	}
}

// endRun releases the run's deadline, if prepare set one.
func (g *globalOptions) endRun() {
	if g.stopDeadline != nil {
		g.stopDeadline()
	}
}

// prepare runs before every command, once cobra has parsed the flags:
// the command's config file, if it reads one, fills in what the command
// line did not set (flags win), then the options are validated, once.
// From then on the run is under its deadline, --timeout: reading the
// other files and the zones is part of the run. In batch mode that is
// --batch-timeout, if any, and each target gets --timeout of its own
// (checkOptions.runBatch).
func (g *globalOptions) prepare(cmd *cobra.Command, args []string) error {
	if err := g.resolveAliases(cmd); err != nil {
		return err
	}
	if err := checkExclusive(cmd); err != nil {
		return err
	}
	if err := checkTrustAnchor(cmd); err != nil {
		return err
	}
	if merge := g.mergeConfig[cmd]; merge != nil {
		if err := merge(cmd); err != nil {
			return err
		}
	}
	if err := g.validate(); err != nil {
		return err
	}
	limit := g.timeout
	if f := g.runLimit[cmd]; f != nil {
		limit = f(args)
	}
	if limit > 0 {
		ctx, stop := context.WithTimeout(cmd.Context(), limit)
		cmd.SetContext(ctx)
		g.stopDeadline = stop
	}
	return nil
}

// validate checks the global options and makes the writer and the gate.
func (g *globalOptions) validate() error {
	failOn, err := report.ParseFailOn(g.failOn)
	if err != nil {
		return err
	}
	if g.minScore < 0 || g.minScore > 100 {
		return fmt.Errorf("--min-score %d: want 0 to 100", g.minScore)
	}
	if g.timeout <= 0 {
		return fmt.Errorf("--timeout %s: want a positive duration such as 30s", g.timeout)
	}
	g.gate = report.Gate{FailOn: failOn, MinScore: g.minScore}
	g.writer, err = report.NewWriter(g.format, report.Options{Color: g.color(), Verbose: g.verbose, Width: g.width()})
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	return nil
}

// width is the terminal width to wrap the text report at: stdout's when
// it is a terminal; else stderr's, when the report goes through a pipe
// or into a file from a terminal (| less, | awk, > out.txt) and will be
// read in it; 0, no wrapping, when neither is a terminal (CI logs, cron,
// a job's files: a line per finding, for grep).
func (g *globalOptions) width() int {
	for _, w := range []io.Writer{g.streams.Out, g.streams.Err} {
		if f, ok := w.(*os.File); ok && isTerminal(f) {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
				return cols
			}
		}
	}
	return 0
}

// color decides colored output: never with --no-color, NO_COLOR
// (no-color.org), TERM=dumb, or when stdout is not a terminal.
func (g *globalOptions) color() bool {
	if g.noColor || g.streams.Getenv("NO_COLOR") != "" || g.streams.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := g.streams.Out.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
