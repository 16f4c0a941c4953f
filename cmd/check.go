package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/internal/inputfile"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

type checkOptions struct {
	*globalOptions
	listOptions
	ips           []string
	selectors     []string
	treatAsPublic []string
	helo          string
	mailFrom      string
	dkimKey       string
	configPath    string
	baseline      string
	maxDrop       int
	targetsFile   string
	jobs          int
	batchTimeout  time.Duration
	send          sendOptions
	cfgRelays     []configRelay
	cfg           *config        // the config file, nil without one
	sendBase      *delivery.Send // the test send from the flags, made once (testSend)
}

func newCmdCheck(g *globalOptions) *cobra.Command {
	o := &checkOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "check [DOMAIN --ip IP...] [--helo NAME] [--selector S]... [--mail-from ADDR]",
		Short: "Every check at once: the score, the direct-delivery verdict, the fixes",
		Long: `Run every check concurrently over one resolver: ip, rdns, rbl, spf, dkim,
dmarc and mx. Print a score (0-100, README explains the weights; none when
something could not be checked), the verdict for direct delivery (ready only
when every sending IP is public, does not look dynamic, has forward-confirmed
reverse DNS, is on no abuse blocklist and passes SPF, and, with --send-to on
the direct path, the recipient's MX accepted) and the fixes that matter most,
with the exact records to publish. A test send through relays gets a verdict
of its own.

Settings can come from preflight.yaml (--config, or the file in the working
directory); flags win. For CI: --fail-on and --min-score gate the exit code;
--baseline previous.json gates on regressions only. --targets FILE checks many
targets (one per line: "domain ip[,ip] [helo] [selector,...]", or JSON lines)
and writes one JSON report per line.`,
		Example: `  preflight check example.com --ip 203.0.113.5 --helo mail.example.com --selector s1
  preflight check --config ci/preflight.yaml --format github

  # CI on a DNS change: check the zone in the pull request, fail only on regressions
  preflight check example.com --ip 203.0.113.5 --zone dns/ --baseline main.json --format json

  # The bundled demo, with no network
  preflight check --config testdata/demo/preflight.yaml`,
		Args: wantArgs(0, 1, "DOMAIN"),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	g.mergeConfig[c] = o.mergeConfig
	g.runLimit[c] = o.runLimit
	f := c.Flags()
	f.StringArrayVar(&o.ips, "ip", nil, "sending IP (repeatable, or comma-separated)")
	f.StringVar(&o.helo, "helo", "", "the name the server says in HELO/EHLO")
	f.StringArrayVarP(&o.selectors, "selector", "s", nil, "DKIM selector (repeatable; default: try common ones)")
	f.StringVar(&o.mailFrom, "mail-from", "", "envelope sender ADDR or DOMAIN, when it differs from DOMAIN")
	f.StringVar(&o.dkimKey, "dkim-key", "", "private key FILE to check against the one --selector")
	f.StringArrayVar(&o.treatAsPublic, "treat-as-public", nil, "treat addresses in CIDR as public although special-purpose (labs, demos)")
	f.StringVar(&o.configPath, "config", "", "config FILE (default: "+ConfigFile+" in the working directory, if present)")
	f.StringVar(&o.baseline, "baseline", "", "earlier JSON report: gate on regressions only, and print the difference")
	f.IntVar(&o.maxDrop, "max-drop", 0, "with --baseline: score drop allowed before the gate fails")
	f.StringVar(&o.targetsFile, "targets", "", "FILE of targets to check in batch (NDJSON out)")
	f.IntVar(&o.jobs, "jobs", 8, "targets checked at once in batch mode")
	f.DurationVar(&o.batchTimeout, "batch-timeout", 0, "time limit for the whole batch (default: none; --timeout bounds each target)")
	o.register(f)
	o.send.register(f, "send-to")
	return c
}

// mergeConfig reads the config file (--config, or preflight.yaml when
// present) into the options the command line did not set. It runs
// before the global options are validated (see globalOptions.prepare).
func (o *checkOptions) mergeConfig(cmd *cobra.Command) error {
	cfg, err := o.loadConfig(cmd.Context())
	if err != nil || cfg == nil {
		return err
	}
	changed := func(name string) bool { f := cmd.Flag(name); return f != nil && f.Changed }
	cfg.applyGlobal(o.globalOptions, changed)
	cfg.applyLists(&o.listOptions, changed)
	if !changed("treat-as-public") {
		o.treatAsPublic = cfg.TreatAsPublic
	}
	if !changed("max-drop") && cfg.Thresholds.MaxDrop != nil {
		o.maxDrop = *cfg.Thresholds.MaxDrop
	}
	if !changed("batch-timeout") && cfg.BatchTimeout != "" {
		o.batchTimeout, _ = time.ParseDuration(cfg.BatchTimeout)
	}
	cfg.applySend(&o.send, changed)
	o.cfgRelays = cfg.Relays
	o.cfg = cfg
	return nil
}

// isBatch says whether run checks many targets: --targets, or a config
// with several, and no DOMAIN argument.
func (o *checkOptions) isBatch(args []string) bool {
	return len(args) == 0 && (o.targetsFile != "" || o.cfg != nil && len(o.cfg.targets()) > 1)
}

// runLimit is the time limit of the whole run: --timeout, or in batch
// mode --batch-timeout (0: none).
func (o *checkOptions) runLimit(args []string) time.Duration {
	if o.isBatch(args) {
		return max(o.batchTimeout, 0)
	}
	return o.timeout
}

// run validates check's own options, then checks what was asked for:
// the command line, a targets file, or the config.
func (o *checkOptions) run(cmd *cobra.Command, args []string) error {
	if o.jobs < 1 {
		return fmt.Errorf("--jobs %d: want 1 or more", o.jobs)
	}
	if o.maxDrop < 0 {
		return fmt.Errorf("--max-drop %d: want 0 or more", o.maxDrop)
	}
	if o.batchTimeout < 0 {
		return fmt.Errorf("--batch-timeout %s: want a positive duration such as 10m", o.batchTimeout)
	}
	if o.batchTimeout > 0 && !o.isBatch(args) {
		return errors.New("--batch-timeout is for batch mode (--targets FILE, or a config with several targets); --timeout bounds a single run")
	}
	env, err := o.envOptions(cmd.Context())
	if err != nil {
		return err
	}
	var baseline *report.Report
	if o.baseline != "" {
		if baseline, err = readBaseline(cmd.Context(), o.baseline); err != nil {
			return err
		}
	}
	cfg := o.cfg
	switch {
	case len(args) == 1:
		t, err := o.target(cmd.Context(), configTarget{Domain: args[0], IPs: o.ips, HELO: o.helo, Selectors: o.selectors, MailFrom: o.mailFrom, DKIMKey: o.dkimKey}, "")
		if err != nil {
			return err
		}
		return o.single(cmd, t, env, baseline)
	case o.targetsFile != "":
		return o.batch(cmd, env)
	case cfg != nil && len(cfg.targets()) == 1:
		t, err := o.target(cmd.Context(), cfg.targets()[0], cfg.dir)
		if err != nil {
			return fmt.Errorf("%s: %w", o.configName(), err)
		}
		return o.single(cmd, t, env, baseline)
	case cfg != nil && len(cfg.targets()) > 1:
		return o.batchTargets(cmd, cfg.targets(), cfg.dir, env)
	}
	return errors.New("give DOMAIN --ip IP, --targets FILE, or a config file with a target")
}

// envOptions reads the blocklist, public-range and dialer options.
func (o *checkOptions) envOptions(ctx context.Context) (envOptions, error) {
	lists, err := o.resolve(ctx, o.streams)
	if err != nil {
		return envOptions{}, err
	}
	public, err := parsePrefixes("--treat-as-public", o.treatAsPublic)
	if err != nil {
		return envOptions{}, err
	}
	dial, err := o.send.dialer(o.streams.Getenv)
	if err != nil {
		return envOptions{}, err
	}
	return envOptions{lists: lists, public: public, dial: dial}, nil
}

func (o *checkOptions) configName() string {
	if o.configPath != "" {
		return o.configPath
	}
	return ConfigFile
}

// loadConfig reads --config, or preflight.yaml when it exists.
func (o *checkOptions) loadConfig(ctx context.Context) (*config, error) {
	path := o.configPath
	if path == "" {
		if _, err := os.Stat(ConfigFile); err != nil {
			return nil, nil
		}
		path = ConfigFile
	}
	return loadConfig(ctx, path)
}

// target checks and normalises one target; dir resolves relative paths.
func (o *checkOptions) target(ctx context.Context, ct configTarget, dir string) (checks.Target, error) {
	t, err := o.baseTarget(ctx, ct, dir)
	if err == nil && o.send.to != "" {
		t.Send, err = o.testSend(ctx, t)
	}
	return t, err
}

// baseTarget is the target without the test send.
func (o *checkOptions) baseTarget(ctx context.Context, ct configTarget, dir string) (checks.Target, error) {
	t, err := parseTarget(ct, "the checks are about the IPs that send")
	if err != nil {
		return t, err
	}
	if ct.DKIMKey != "" {
		if len(t.Selectors) != 1 {
			return t, fmt.Errorf("--dkim-key needs exactly one --selector, the one the key belongs to")
		}
		path := ct.DKIMKey
		if dir != "" && !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if t.DKIMKey, err = loadKey(ctx, path); err != nil {
			return t, err
		}
	}
	return t, nil
}

// single checks one target, writes the report and gates.
func (o *checkOptions) single(cmd *cobra.Command, t checks.Target, env envOptions, baseline *report.Report) error {
	rn, err := o.newRunner(cmd.Context(), env)
	if err != nil {
		return err
	}
	return o.finish(rn.report(cmd.Context(), "check", t, checks.For(t)), baseline, o.maxDrop)
}

// readBaseline reads an earlier JSON report of this schema version. Its
// errors name file:line:col, and quote nothing of a file that is not
// JSON. A version 1 report is refused, not converted: version 2 moved
// findings between warn and fail (fail now means "blocks a verdict"), so
// every moved finding would show as a regression or a fix that did not
// happen.
func readBaseline(ctx context.Context, path string) (*report.Report, error) {
	b, _, err := inputfile.ReadFile(ctx, path, inputfile.Report)
	if err != nil {
		return nil, fmt.Errorf("--baseline: %w", err)
	}
	if err := inputfile.CheckText(path, b, inputfile.Report); err != nil {
		return nil, fmt.Errorf("--baseline: %w", err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return nil, fmt.Errorf("--baseline %s: not a preflight JSON report: it does not start with {", path)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		at := ""
		if offset, ok := jsonOffset(err); ok {
			line, col := inputfile.LineCol(b, offset)
			at = fmt.Sprintf(":%d:%d", line, col)
		}
		return nil, fmt.Errorf("--baseline %s%s: not a preflight JSON report: %s", path, at, inputfile.Message(err.Error()))
	}
	switch {
	case r.SchemaVersion == 1:
		return nil, fmt.Errorf("--baseline %s: a schema_version 1 report, from an older preflight; version %d changed which findings fail, so the comparison would show regressions that are not: make the baseline again with this version",
			path, report.SchemaVersion)
	case r.SchemaVersion != report.SchemaVersion:
		return nil, fmt.Errorf("--baseline %s: schema_version %d, want %d", path, r.SchemaVersion, report.SchemaVersion)
	}
	return &r, nil
}

// jsonOffset is where in its input a JSON error is, when it says.
func jsonOffset(err error) (int64, bool) {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return se.Offset, true
	case errors.As(err, &te):
		return te.Offset, true
	}
	return 0, false
}

// testSend builds the --send-to test send of a target: from the
// envelope sender, else postmaster@DOMAIN; EHLO with the HELO name.
// What comes from the flags, the password, CA and relays files among
// it, is built once per run (o.sendBase); each target gets a copy with
// its own sender, HELO name and DKIM key.
func (o *checkOptions) testSend(ctx context.Context, t checks.Target) (*delivery.Send, error) {
	from := "postmaster@" + t.Domain
	if !t.MailFrom.IsZero() {
		from = t.MailFrom.Sender().String()
	}
	helo := t.HELO
	if helo.IsZero() {
		var err error
		if helo, err = heloOrHostname(""); err != nil {
			return nil, err
		}
	}
	if o.sendBase == nil {
		base, err := o.send.build(ctx, o.streams, helo, from, o.cfgRelays, nil)
		if err != nil {
			return nil, err
		}
		o.sendBase = base
	}
	s := *o.sendBase
	var err error
	if s.From, err = parseAddress("--from", from); err != nil {
		return nil, err
	}
	s.HELO = helo
	if t.DKIMKey != nil && len(t.Selectors) == 1 {
		s.DKIMKey, s.DKIMSelector = t.DKIMKey, string(t.Selectors[0])
	}
	return &s, nil
}

// parseTarget checks and normalises a target's names, IPs and selectors;
// why says why --ip is required.
func parseTarget(ct configTarget, why string) (checks.Target, error) {
	domain, err := resolver.NormalizeDomain(ct.Domain)
	if err != nil {
		return checks.Target{}, err
	}
	if len(ct.IPs) == 0 {
		return checks.Target{}, fmt.Errorf("%s: --ip is required: %s", domain, why)
	}
	ips, err := parseIPs(ct.IPs)
	if err != nil {
		return checks.Target{}, fmt.Errorf("--ip: %w", err)
	}
	helo, err := parseHELO(ct.HELO)
	if err != nil {
		return checks.Target{}, err
	}
	from, err := parseMailFrom(ct.MailFrom)
	if err != nil {
		return checks.Target{}, err
	}
	sels, err := parseSelectors(ct.Selectors)
	if err != nil {
		return checks.Target{}, err
	}
	return checks.Target{Domain: domain, IPs: ips, HELO: helo, MailFrom: from, Selectors: sels}, nil
}
